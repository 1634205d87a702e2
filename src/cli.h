/* The command line: iken [--data DIR] [--forms DIR] COMMAND …  Exit status: 0 success, 1 problems
 * in the data, 2 usage, 3 store or I/O error. */
#ifndef IKEN_CLI_H
#define IKEN_CLI_H

enum { EXIT_OK = 0, EXIT_DATA = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

int cli_main(int argc, char **argv);

#endif
