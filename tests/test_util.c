/* util: string buffers, the test clock, atomic file writes, number parsing. */
#include "config.h"
#include "util.h"
#include "errcode.h"
#include "tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
	struct sbuf b = { 0 };
	sbuf_puts(&b, "abc");
	sbuf_printf(&b, "-%d-", 42);
	sbuf_putc(&b, 'x');
	is_str(b.s, "abc-42-x", "sbuf appends");
	is_int(b.len, 8, "sbuf length");
	char *s = sbuf_take(&b);
	ok(b.s == NULL && b.len == 0, "sbuf_take empties the buffer");
	free(s);

	setenv("TZ", "Asia/Tokyo", 1);
	setenv("IKEN_TEST_NOW", "20260401093000", 1);
	char ymd[9], full[15];
	iken_ymd(iken_now(), ymd);
	iken_ymdhms(iken_now(), full);
	is_str(ymd, "20260401", "fixed clock: date");
	is_str(full, "20260401093000", "fixed clock: time");
	setenv("IKEN_TEST_NOW", "0", 1);
	iken_ymdhms(iken_now(), full);
	is_str(full, "19700101090000", "fixed clock in Unix seconds, local time");

	uint64_t v;
	ok(parse_u64("12345", &v) == 0 && v == 12345, "parse_u64");
	ok(parse_u64("12a", &v) == IKEN_EDATA, "parse_u64 refuses junk");
	ok(parse_u64("", &v) == IKEN_EDATA, "parse_u64 refuses empty");
	ok(parse_u64("99999999999999999999999", &v) == IKEN_ELIMIT, "parse_u64 refuses overflow");

	char dir[] = "/tmp/iken-util-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp dir");
	struct sbuf p = { 0 };
	sbuf_printf(&p, "%s/a/b/c", dir);
	ok(mkdir_p(p.s, 0700) == 0, "mkdir_p makes parents");
	ok(mkdir_p(p.s, 0700) == 0, "mkdir_p on an existing folder");
	sbuf_puts(&p, "/f.txt");
	ok(write_file_atomic(p.s, "hello", 5, 0600) == 0, "atomic write");
	char *data;
	size_t len;
	ok(read_file(p.s, 100, &data, &len) == 0 && len == 5 && strcmp(data, "hello") == 0,
	   "read back");
	free(data);
	ok(read_file(p.s, 3, &data, &len) == IKEN_ELIMIT, "read_file size limit");
	struct stat st;
	ok(stat(p.s, &st) == 0 && (st.st_mode & 0777) == 0600, "atomic write mode 0600");
	ok(write_file_atomic("/nonexistent-dir/x", "a", 1, 0600) < 0, "atomic write into a missing folder fails");
	sbuf_free(&p);
	sbuf_printf(&p, "rm -rf %s", dir);
	ok(system(p.s) == 0, "cleanup");
	sbuf_free(&p);

	setenv("LANG", "ja_JP.UTF-8", 1);
	unsetenv("LC_ALL");
	unsetenv("LC_MESSAGES");
	unsetenv("LANGUAGE");
	ok(iken_lang_ja(), "Japanese when LANG=ja_JP.UTF-8");
	setenv("LC_ALL", "C.UTF-8", 1);
	ok(!iken_lang_ja(), "English when LC_ALL=C.UTF-8");
	setenv("IKEN_TEST_USER", "someone", 1);
	is_str(iken_user(), "someone", "test user override");
	return done_testing();
}
