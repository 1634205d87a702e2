#include "config.h"
#include "util.h"
#include "errcode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void oom(void)
{
	fputs("iken: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void sbuf_grow(struct sbuf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	sbuf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void sbuf_putc(struct sbuf *b, char c)
{
	sbuf_add(b, &c, 1);
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	sbuf_grow(b, (size_t)n);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

char *sbuf_take(struct sbuf *b)
{
	char *s = b->s ? b->s : xstrdup("");
	b->s = NULL;
	b->len = b->cap = 0;
	return s;
}

void sbuf_free(struct sbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int iken_parse_ymdhms(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	if (strlen(s) != 14 || strspn(s, "0123456789") != 14 ||
	    sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec) != 6)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	*out = mktime(&tm);
	return 0;
}

time_t iken_now(void)
{
	const char *t = getenv("IKEN_TEST_NOW");
	if (t && *t) {
		time_t when;
		if (iken_parse_ymdhms(t, &when) == 0)
			return when;
		uint64_t v;
		if (parse_u64(t, &v) == 0)
			return (time_t)v;
	}
	return time(NULL);
}

void iken_ymd(time_t t, char out[9])
{
	char full[15];
	iken_ymdhms(t, full);
	memcpy(out, full, 8);
	out[8] = '\0';
}

void iken_ymdhms(time_t t, char out[15])
{
	struct tm tm;
	localtime_r(&t, &tm);
	char buf[64];
	snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, buf, 14);
	out[14] = '\0';
}

const char *iken_user(void)
{
	static char name[64];
	const char *e = getenv("IKEN_TEST_USER");
	if (e && *e)
		return e;
	if (!name[0]) {
		struct passwd *pw = getpwuid(geteuid());
		if (pw && pw->pw_name)
			snprintf(name, sizeof(name), "%s", pw->pw_name);
		else
			snprintf(name, sizeof(name), "uid%ld", (long)geteuid());
	}
	return name;
}

int iken_lang_ja(void)
{
	static const char *vars[] = { "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG" };
	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return strncmp(v, "ja", 2) == 0;
	}
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct sbuf b = { 0 };
	char chunk[65536];
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		if (b.len + (size_t)n > max) {
			rc = IKEN_ELIMIT;
			break;
		}
		sbuf_add(&b, chunk, (size_t)n);
	}
	close(fd);
	if (rc) {
		sbuf_free(&b);
		return rc;
	}
	if (len)
		*len = b.len;
	*out = sbuf_take(&b);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int list_dir(const char *dir, char ***names, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	*names = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		v = xrealloc(v, (cnt + 1) * sizeof(*v));
		v[cnt++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* readdir order differs between file systems; what callers do with the names should not. */
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_names);
	*names = v;
	*n = cnt;
	return 0;
}

void list_dir_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) < 0 && errno != EINVAL ? -errno : 0;
	close(fd);
	return rc;
}

int file_write_sync(const char *path, const void *data, size_t len, unsigned mode)
{
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	if (!rc && fsync(fd) < 0)
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

int file_rename_sync_split(const char *from, const char *to, int *sync_rc)
{
	*sync_rc = 0;
	if (rename(from, to) < 0)
		return -errno;
	*sync_rc = fsync_dir_of(to);
	return 0;
}

int file_rename_sync(const char *from, const char *to)
{
	int sync_rc;
	int rc = file_rename_sync_split(from, to, &sync_rc);
	return rc ? rc : sync_rc;
}

int file_move(const char *from, const char *to)
{
	if (rename(from, to) == 0)
		return fsync_dir_of(to);
	if (errno != EXDEV)
		return -errno;
	char *data;
	size_t len;
	struct sbuf tmp = { 0 };
	int rc = read_file(from, (size_t)1 << 30, &data, &len);
	if (rc)
		return rc;
	sbuf_printf(&tmp, "%s.part", to);
	rc = file_write_sync(tmp.s, data, len, 0600);
	free(data);
	if (!rc)
		rc = file_rename_sync(tmp.s, to);
	if (!rc && unlink(from) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp.s);
	sbuf_free(&tmp);
	return rc;
}

int write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	struct sbuf tmp = { 0 };
	const char *slash = strrchr(path, '/');
	/* A dot-name in the same folder: readers of the folder ignore it, rename() is atomic. */
	if (slash)
		sbuf_printf(&tmp, "%.*s/.%s.tmp.%ld", (int)(slash - path), path, slash + 1,
			    (long)getpid());
	else
		sbuf_printf(&tmp, ".%s.tmp.%ld", path, (long)getpid());
	int rc = file_write_sync(tmp.s, data, len, mode);
	if (!rc)
		rc = file_rename_sync(tmp.s, path);
	if (rc)
		unlink(tmp.s);
	sbuf_free(&tmp);
	return rc;
}

int mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST) {
				rc = -errno;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return IKEN_EDATA;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return IKEN_EDATA;
		if (v > (UINT64_MAX - 9) / 10)
			return IKEN_ELIMIT;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}
