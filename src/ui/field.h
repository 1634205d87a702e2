#ifndef IKEN_UI_FIELD_H
#define IKEN_UI_FIELD_H
#endif
