#include "config.h"
#include "fuzzlib.h"
#include "errcode.h"
#include "util.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

/* Larger than any parser's own limit, so that their refusals of large inputs are replayed too. */
#define REPLAY_MAX (32 * 1024 * 1024)

int fuzz_replay_main(int argc, char **argv, const char *corpus, const char *what,
		     fuzz_check_fn *check)
{
	struct sbuf dflt = { 0 };
	char **names = NULL;
	size_t n = 0;

#ifdef SRCDIR
	sbuf_printf(&dflt, "%s/tests/fuzz/%s", SRCDIR, corpus);
#else
	sbuf_printf(&dflt, "tests/fuzz/%s", corpus);
#endif
	const char *dir = argc > 1 ? argv[1] : dflt.s;
	if (!ok(list_dir(dir, &names, &n) == 0, "corpus folder %s opens", dir)) {
		sbuf_free(&dflt);
		return done_testing();
	}
	for (size_t i = 0; i < n; i++) {
		struct sbuf path = { 0 };
		const char *problem;
		char *data;
		size_t len;

		sbuf_printf(&path, "%s/%s", dir, names[i]);
		int rc = read_file(path.s, REPLAY_MAX, &data, &len);
		if (rc == 0) {
			problem = check((const uint8_t *)data, len);
			free(data);
		} else {
			problem = iken_strerror(rc);
		}
		if (!ok(!problem, "%s%s%s", names[i], what ? ": " : "", what ? what : ""))
			printf("#   %s\n", problem);
		sbuf_free(&path);
	}
	list_dir_free(names, n);
	sbuf_free(&dflt);
	return done_testing();
}
