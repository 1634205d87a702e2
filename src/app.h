/* The application context every front end opens: the data directory, the forms, the store (with
 * each form's indexes registered) and the signed-in user. */
#ifndef IKEN_APP_H
#define IKEN_APP_H

#include "exchange/envelope.h"
#include "model/form.h"
#include "model/record.h"
#include "store/store.h"

struct sign_key;

struct app {
	char *data_dir;
	struct formset *fs;
	struct store *st;
	const char *user;   /* Unix login */
	struct terminal_conf *tc; /* names of the terminal exchange (forms/terminal.xml) */
	struct sign_key *sign_key; /* the doctor's signing key while sending, borrowed; NULL */
};

/* The terminal folders and timings from the settings record; relative paths are taken from the
 * data directory. Defaults: terminal/req, terminal/res, archive, quarantine; 10 s; 24 h. */
struct term_conf {
	char *req, *res, *archive, *quarantine;
	char *clinic_code;
	int poll_seconds;
	int wait_hours;
	int stable_seconds; /* a result file must be this old and unchanged before it is read */
	int sign_required;  /* opinions are signed before they are queued */
	char *sign_ca_file, *sign_crl_file;
};
/* Reads the settings into tc (cleared with term_conf_clear()). */
int app_term_conf(struct app *a, struct term_conf *tc);
void term_conf_clear(struct term_conf *tc);
/* The settings record (caller frees), or IKEN_ENOTFOUND before settings were imported. */
int app_settings(struct app *a, struct record **out);

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
