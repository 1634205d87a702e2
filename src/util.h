/* Small shared helpers: checked allocation, growable string buffer, the clock. */
#ifndef IKEN_UTIL_H
#define IKEN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that aborts on out-of-memory (no caller can do better). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Growable NUL-terminated byte buffer. Zero-initialise, then sbuf_free() the contents. */
struct sbuf {
	char *s;
	size_t len, cap;
};
void sbuf_add(struct sbuf *b, const void *p, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
void sbuf_reset(struct sbuf *b);
/* Hands the string to the caller (who frees it); the buffer is empty afterwards. */
char *sbuf_take(struct sbuf *b);
void sbuf_free(struct sbuf *b);

/* The current time; IKEN_TEST_NOW (YYYYMMDDHHMMSS, local time, or Unix seconds) fixes it for tests. */
time_t iken_now(void);
/* Parses local time YYYYMMDDHHMMSS (as iken_ymdhms() writes it); 0 or -EINVAL. */
int iken_parse_ymdhms(const char *s, time_t *out);
/* Local date of t as YYYYMMDD into out[9]. */
void iken_ymd(time_t t, char out[9]);
/* Local time of t as YYYYMMDDHHMMSS into out[15]. */
void iken_ymdhms(time_t t, char out[15]);

/* Login name of the Unix user running the program (IKEN_TEST_USER overrides for tests). */
const char *iken_user(void);

/* 1 when the user's messages should be Japanese (LC_MESSAGES/LANG start with "ja"). */
int iken_lang_ja(void);

/* Reads a whole file up to max bytes; *out is NUL-terminated and freed by the caller.
 * Returns 0, -errno, or IKEN_ELIMIT when the file is larger than max. */
int read_file(const char *path, size_t max, char **out, size_t *len);

/* The names in dir but those starting with '.', sorted by strcmp(): *names and *n. The caller
 * frees them with list_dir_free(). Returns 0 or -errno (then *names is NULL and *n 0). */
int list_dir(const char *dir, char ***names, size_t *n);
/* Frees each of the n names and the array. */
void list_dir_free(char **names, size_t n);

/* Writes a file atomically: temporary name in the same folder, fsync, rename, fsync of the
 * folder. mode is the new file's permission bits. Returns 0 or -errno. */
int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode);

/* The two halves of write_file_atomic, for callers that record progress in between (the send
 * queue): file_write_sync writes and fsyncs path (created or truncated); file_rename_sync renames
 * from → to and fsyncs the destination folder. Both return 0 or -errno. */
int file_write_sync(const char *path, const void *data, size_t len, unsigned mode);
int file_rename_sync(const char *from, const char *to);
/* file_rename_sync telling its two steps apart, for callers that must know whether the file moved
 * (a publisher deciding whether a document went out): returns -errno when rename() failed, and
 * then nothing moved; else 0 — the file is under its new name — with *sync_rc 0 or the -errno of
 * the folder's fsync. */
int file_rename_sync_split(const char *from, const char *to, int *sync_rc);
/* Moves a file to another folder: rename, or copy + fsync + unlink across file systems. */
int file_move(const char *from, const char *to);

/* Creates a directory and its parents with the given mode; existing ones are fine. */
int mkdir_p(const char *path, unsigned mode);

/* Parses a decimal unsigned integer that must fill the whole string. */
int parse_u64(const char *s, uint64_t *out);

#endif
