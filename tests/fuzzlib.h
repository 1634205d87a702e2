/* What the fuzz harnesses (tests/fuzz_*.c) share when built without libFuzzer: the replay of a
 * corpus folder as TAP, for make check. */
#ifndef IKEN_FUZZLIB_H
#define IKEN_FUZZLIB_H

#include <stddef.h>
#include <stdint.h>

/* A harness's checks of one input: NULL when every property holds, else what failed (a static
 * string). */
typedef const char *fuzz_check_fn(const uint8_t *data, size_t size);

/* main() of a harness: replays every file of the folder argv[1] (default: tests/fuzz/<corpus> of
 * the source tree) in name order through check, and prints TAP: one case per file, described as
 * "<file>: <what>" ("<file>" alone when what is NULL). Returns the exit status. */
int fuzz_replay_main(int argc, char **argv, const char *corpus, const char *what,
		     fuzz_check_fn *check);

#endif
