/* The application context every front end opens: the data directory, the forms, the store (with
 * each form's indexes registered) and the signed-in user. */
#ifndef IKEN_APP_H
#define IKEN_APP_H

#include "form.h"
#include "record.h"
#include "store.h"

struct app {
	char *data_dir;
	struct formset *fs;
	struct store *st;
	const char *user;   /* Unix login */
};

/* Data directory: data_opt, else $IKEN_DATA, else $XDG_DATA_HOME/iken, else ~/.local/share/iken.
 * The caller frees the result. */
char *app_data_dir(const char *data_opt);

/* Loads the forms (forms_opt or forms_dir_default()) and opens the store. Errors (form file
 * problems "file:line: …", store errors) are written to err. The caller frees with app_close(). */
int app_open(const char *data_opt, const char *forms_opt, struct app **out, struct sbuf *err);
void app_close(struct app *a);

/* The user record of the signed-in Unix user (caller frees), or IKEN_ENOTFOUND. */
int app_current_user(struct app *a, struct record **out);
/* Role code of a user record: "1" doctor, "2" clerk, "3" admin (the user form's codes). */
const char *app_role(const struct record *user);

#endif
