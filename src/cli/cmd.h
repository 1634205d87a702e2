/* What the command files (src/cli/cmd_*.c) share: the parsed global options, option parsing,
 * opening the app, the exit statuses for errors, and the command table entry each file fills. */
#ifndef IKEN_CLI_CMD_H
#define IKEN_CLI_CMD_H

#include <stddef.h>
#include <stdint.h>
#include "cli/cli.h"

struct app;
struct form;

struct cli {
	const char *data;
	const char *forms;
	struct app *app; /* opened by cli_open_app(), closed by cli_main() */
};

/* One command: name, what it does, and its lines in `iken --help`: the synopsis (not
 * translated) and what it does (N_(), translated when printed; "\n" starts another line). */
struct cli_command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *synopsis;
	const char *help;
};

/* The command tables of the command files, each ended by an entry with a NULL name; cli.c lists
 * them in the order `iken --help` shows them. */
extern const struct cli_command cli_cmds_docs[];
extern const struct cli_command cli_cmds_exchange[];
extern const struct cli_command cli_cmds_audit[];

/* A command's option: a flag (set to 1 when given) or one with an argument (the last given). */
struct cmd_opt {
	const char *name;
	int *flag;
	const char **arg;
};

/* Reads the options of a command (argv[0] is its name) into opts, which a NULL name ends; the
 * operands are argv[optind] on. Returns 0, or EXIT_USAGE after saying which is unknown. */
int cli_parse_opts(int argc, char **argv, const struct cmd_opt *opts);
/* Says "iken: " + fmt (a translated message with at most one %s, filled with arg) and where to
 * find help; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, const char *arg);
/* The exit status for an IKEN_E* / errno code (0: EXIT_OK). */
int cli_exit_for(int rc);
/* Says what went wrong (when rc is an error) and returns cli_exit_for(rc). */
int cli_exit_error(int rc);
/* Reads the file a command names, up to max bytes (*buf freed by the caller), and says why when
 * it cannot. Returns 0 or EXIT_IO. */
int cli_read_input(const char *path, size_t max, char **buf, size_t *len);
/* Opens forms and store into c->app; says why not. Returns 0 or an exit status. */
int cli_open_app(struct cli *c);
/* Opens the app and finds the form id names. Returns 0, or the exit status after saying why. */
int cli_open_form(struct cli *c, const char *id, const struct form **f);
/* A record status for --status (-1, any status, when s is NULL). 0 or EXIT_USAGE. */
int cli_parse_status(const char *s, int *out);
/* Document ids argv[first…] into *ids (the caller frees, even on failure). 0 or EXIT_USAGE. */
int cli_parse_ids(int argc, char **argv, int first, uint64_t **ids, size_t *n);

#endif
