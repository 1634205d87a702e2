/* gettext wiring: English source strings, translations in po/. */
#ifndef IKEN_I18N_H
#define IKEN_I18N_H

#include <libintl.h>
#define _(s) gettext(s)
#define N_(s) (s)

#endif
