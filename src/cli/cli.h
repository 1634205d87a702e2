/* The command line: iken [--data DIR] [--forms DIR] COMMAND …  Exit status: 0 success, 1 problems
 * in the data, 2 usage, 3 store or I/O error. */
#ifndef IKEN_CLI_H
#define IKEN_CLI_H

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

struct app;
/* Runs the command line. ui_entry, when not NULL, runs the screens: `iken` with no command or
 * `iken ui` (the screens live in the program, not in the library the tests link). */
int cli_main(int argc, char **argv, int (*ui_entry)(struct app *a));

#endif
