/* iken-termsim: plays the オンライン資格確認 terminal and the 電送 service for the demo and the
 * tests. It polls the request folder like the terminal's linkage software, takes each request
 * away, checks it the way the service would (XML, encoding, Base64, the CSV record against the
 * form's layout and rules, header against body) and after a delay writes the result into the
 * result folder. Faults make it misbehave on purpose. It verifies nothing else (no signatures).
 * Logs name files and outcomes only: never the content of a document. */
#include "config.h"
#include "model/charset.h"
#include "model/check.h"
#include "model/csvrec.h"
#include "exchange/envelope.h"
#include "exchange/sign.h"
#include "errcode.h"
#include "model/form.h"
#include "model/record.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define POLL_SECONDS 0.2
#define SLOW_SECONDS 2.0      /* the slow fault writes a result over this long */
#define SLOW_PIECES 8
#define ONCE_DUP_WAIT 10.0    /* --once: how long a duplicate waits for the first copy to go */

enum fault {
	F_DELAY = 1 << 0,
	F_NOANSWER = 1 << 1,
	F_MALFORMED = 1 << 2,
	F_SLOW = 1 << 3,
	F_DUPLICATE = 1 << 4,
	F_UNKNOWN = 1 << 5,
	F_SJIS = 1 << 6,
	F_ERR = 1 << 7,
	F_REJECT = 1 << 8,
};

static const struct {
	const char *name;
	unsigned bit;
} fault_names[] = {
	{ "delay", F_DELAY }, { "noanswer", F_NOANSWER }, { "malformed", F_MALFORMED },
	{ "slow", F_SLOW }, { "duplicate", F_DUPLICATE }, { "unknown", F_UNKNOWN },
	{ "sjis", F_SJIS }, { "err", F_ERR },
};

/* Error codes by kind of problem (the simulator's own; the service's are not public). */
#define E_REQUIRED   "E001"  /* a required item is empty */
#define E_VALUE      "E002"  /* type, length, code of one item */
#define E_RULE       "E003"  /* a rule between items */
#define E_CHARSET    "E004"  /* a character outside the permitted set */
#define E_MISMATCH   "E005"  /* header and CSV disagree */
#define E_UNKNOWN    "E006"  /* a problem of the whole record */
#define E_XML        "E901"  /* not well-formed, too large, DTD */
#define E_FORMAT     "E902"  /* BOM, encoding, elements missing, Base64 */
#define E_CHARCODE   "E903"  /* CharacterCodeIdentifier */
#define E_FILEID     "E904"  /* identifier in the header differs from the file name */
#define E_SIGNATURE  "E910"  /* the signature is missing (when required) or does not verify */
#define E_DOCCLASS   "E905"  /* unknown document class / prefix */
#define E_LAYOUT     "E906"  /* layout version */
#define E_CSV        "E907"  /* CSV not one row of the layout's columns */
#define E_TERMINAL   "E950"  /* the err fault */
#define E_TEST       "E999"  /* the reject= fault */

struct pending {
	double due;            /* monotonic seconds */
	char *name;            /* in the result folder */
	struct sbuf data;
	int slow;              /* write in pieces under the final name */
	int duplicate;         /* after writing: write again once the first copy is gone */
	int waiting;           /* written; waiting for it to be taken (duplicate) */
	double give_up;        /* --once: stop waiting at this time */
};

struct sim {
	const char *req, *res;
	struct sbuf work;      /* private folder the requests are taken into */
	double delay;
	unsigned faults;
	int *reject_items;
	size_t nreject;
	int once;
	const char *ca;          /* CA certificates: a signature must verify against them */
	int require_signature;   /* an unsigned opinion is rejected */
	struct formset *fs;
	struct terminal_conf *tc;
	size_t npending;
	struct pending *pending;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(double seconds)
{
	struct timespec ts;
	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL); /* a signal cuts it short: the loop looks at stop */
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	fputs("iken-termsim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- the result being made --- */

static void add_error(struct result *r, int item, const char *code, const char *msg)
{
	r->errors = xrealloc(r->errors, (r->nerrors + 1) * sizeof(*r->errors));
	struct result_error *e = &r->errors[r->nerrors++];
	e->item = item;
	e->code = xstrdup(code);
	e->message = xstrdup(msg);
}

static void add_errorf(struct result *r, int item, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add_errorf(struct result *r, int item, const char *code, const char *fmt, ...)
{
	struct sbuf m = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&m, fmt, ap);
	va_end(ap);
	add_error(r, item, code, m.s ? m.s : "");
	sbuf_free(&m);
}

/* The first line of an error text, for a message. */
static void first_line(const struct sbuf *err, struct sbuf *out)
{
	const char *s = err->s ? err->s : "";
	size_t n = strcspn(s, "\n");
	sbuf_add(out, s, n > 200 ? 200 : n);
}

/* Which kind of problem check_record reported, for the error code. */
static const char *problem_code(const struct field *fld, const char *value, const struct problem *p)
{
	if (!fld)
		return E_UNKNOWN;
	if (field_value_empty(fld, value) && (fld->required || fld->fill != FILL_NONE))
		return E_REQUIRED;
	struct problems alone = { 0 };
	const char *code = E_RULE;
	check_value(fld, value, &alone);
	for (size_t i = 0; i < alone.n; i++)
		if (alone.v[i].sev == SEV_ERROR && strcmp(alone.v[i].msg_ja, p->msg_ja) == 0)
			code = E_VALUE;
	problems_free(&alone);
	return code;
}

struct csv_one {
	size_t rows;
	size_t n;
	char **vals;
};

static int take_row(const struct csv_row *row, void *ctx)
{
	struct csv_one *c = ctx;
	if (c->rows++ == 0) {
		c->n = row->n;
		c->vals = xcalloc(row->n + 1, sizeof(char *));
		for (size_t i = 0; i < row->n; i++) {
			c->vals[i] = row->vals[i];
			row->vals[i] = NULL;
		}
	}
	return 0;
}

static const struct form *form_by_prefix(const struct formset *fs, const char *prefix)
{
	for (size_t i = 0; i < fs->nforms; i++)
		if (fs->forms[i]->env_prefix && strcmp(fs->forms[i]->env_prefix, prefix) == 0)
			return fs->forms[i];
	return NULL;
}

static const struct form *form_by_class(const struct formset *fs, const char *doc_class)
{
	for (size_t i = 0; doc_class && i < fs->nforms; i++)
		if (fs->forms[i]->env_doc_class && strcmp(fs->forms[i]->env_doc_class, doc_class) == 0)
			return fs->forms[i];
	return NULL;
}

/* The CSV against the layout and its rules, and the header against the CSV. */
static void check_document(struct sim *s, const struct form *f, const struct envelope_hdr *h,
			   const struct sbuf *csv, struct result *res)
{
	struct csv_one one = { 0 };
	struct sbuf err = { 0 }, bad = { 0 }, m = { 0 };
	struct problems ps = { 0 };
	struct record *r = NULL;
	char today[9];

	if (!utf8_valid(csv->s ? csv->s : "", csv->len)) {
		add_error(res, 0, E_CSV, "CSVの文字コードがUTF-8ではありません");
		goto cleanup;
	}
	int rc = csvrec_parse(csv->s ? csv->s : "", csv->len, take_row, &one, &err);
	if (rc) {
		first_line(&err, &m);
		add_errorf(res, 0, E_CSV, "CSVの形式が正しくありません(%s)", m.s ? m.s : "");
		goto cleanup;
	}
	if (one.rows != 1) {
		add_errorf(res, 0, E_CSV, "CSVのレコード数が1件ではありません(%zu件)", one.rows);
		goto cleanup;
	}
	if (one.n != f->nfields) {
		add_errorf(res, 0, E_CSV, "CSVの項目数が%zu個ではありません(%zu個)", f->nfields, one.n);
		goto cleanup;
	}
	r = rec_new(f->id, f->layout_version);
	for (size_t i = 0; i < f->nfields; i++) {
		rec_set(r, f->fields[i].id, one.vals[i]);
		sbuf_reset(&bad);
		if (charset_outside(one.vals[i], &bad))
			add_errorf(res, f->fields[i].no, E_CHARSET, "送信できない文字が含まれています(%s)",
				   bad.s);
	}
	iken_ymd(iken_now(), today);
	check_record(s->fs, f, r, CHECK_SEND, today, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		const struct problem *p = &ps.v[i];
		if (p->sev != SEV_ERROR)
			continue;
		const char *v = p->field ? rec_val(r, p->field->id) : "";
		add_error(res, p->field ? p->field->no : 0, problem_code(p->field, v, p), p->msg_ja);
	}
	static const struct {
		enum terminal_field which;
		const char *label;
	} same[] = {
		{ TF_CLINIC_CODE, "医療機関コード" },
		{ TF_INSURER_NO, "保険者番号" },
		{ TF_INSURED_NO, "被保険者番号" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(same); i++) {
		const struct field *fld = form_field(f, terminal_field(s->tc, same[i].which));
		const char *hv = same[i].which == TF_CLINIC_CODE ? h->clinic_code :
				 same[i].which == TF_INSURER_NO ? h->insurer_no : h->insured_no;
		if (fld && strcmp(rec_val(r, fld->id), hv) != 0)
			add_errorf(res, fld->no, E_MISMATCH, "ヘッダの%sが記録の値と一致しません",
				   same[i].label);
	}
cleanup:
	for (size_t i = 0; one.vals && i < one.n; i++)
		free(one.vals[i]);
	free(one.vals);
	rec_free(r);
	problems_free(&ps);
	sbuf_free(&err);
	sbuf_free(&bad);
	sbuf_free(&m);
}

/* The next reception number: "R" + date + 6 digits, the counter kept in the work folder so
 * that numbers stay unique across runs. */
static char *next_reception(struct sim *s)
{
	struct sbuf path = { 0 }, v = { 0 };
	char *old = NULL, ymd[9];
	uint64_t n = 0;
	sbuf_printf(&path, "%s/reception-counter", s->work.s);
	if (read_file(path.s, 64, &old, NULL) == 0) {
		old[strcspn(old, "\n")] = '\0';
		if (parse_u64(old, &n))
			n = 0;
	}
	free(old);
	n++;
	sbuf_printf(&v, "%llu\n", (unsigned long long)n);
	if (write_file_atomic(path.s, v.s, v.len, 0600))
		logf_("cannot keep the reception counter in %s", path.s);
	iken_ymd(iken_now(), ymd);
	sbuf_reset(&v);
	sbuf_printf(&v, "R%s%06llu", ymd, (unsigned long long)(n % 1000000));
	sbuf_free(&path);
	return sbuf_take(&v);
}

/* Fills res for the request bytes buf (read_rc: how reading went) that came under the name
 * name_prefix + req_ + name_id. */
/* A signature, when there is one, must verify (the service rejects a file whose signature
 * fails); with --require-signature an opinion without one is rejected too. */
static void check_signature(struct sim *s, const struct form *f, const char *buf, size_t len,
			    struct result *res)
{
	struct sbuf report = { 0 };
	int rc = sign_verify(buf, len, terminal_data_element(s->tc), s->ca, NULL, iken_now(), &report);
	if (rc == SIGN_ENOSIG) {
		if (s->require_signature && strcmp(f->env_doc_class, "1") == 0)
			add_error(res, 0, E_SIGNATURE, "電子署名がありません");
	} else if (rc && !(rc == SIGN_EUNTRUSTED && !s->ca)) {
		add_errorf(res, 0, E_SIGNATURE, "電子署名を検証できません(%s)", sign_strerror(rc));
	}
	sbuf_free(&report);
}

static void evaluate(struct sim *s, const char *name_prefix, const char *name_id, const char *buf,
		     size_t len, int read_rc, struct result *res)
{
	struct envelope_hdr h = { 0 };
	struct sbuf csv = { 0 }, err = { 0 }, m = { 0 };
	const struct form *f = NULL;
	char now[15];
	int rc = read_rc;

	iken_ymdhms(iken_now(), now);
	res->file_id = xstrdup(name_id);
	res->exec_time = xstrdup(now);
	res->segment = SEG_OK;
	if (!rc)
		rc = envelope_parse(s->tc, buf, len, &h, &csv, &err);
	else
		sbuf_printf(&err, "%s\n", iken_strerror(rc));
	if (rc) {
		first_line(&err, &m);
		if (rc == IKEN_EDATA) {
			add_errorf(res, 0, E_FORMAT, "ファイルの形式が正しくありません(%s)", m.s);
		} else {
			/* the file cannot be read at all: the processing itself ends abnormally */
			res->segment = SEG_FAILED;
			res->hdr_error_code = xstrdup(E_XML);
			res->hdr_error_message = xstrdup("XMLファイルを読み取れません");
			add_errorf(res, 0, E_XML, "XMLファイルを読み取れません(%s)", m.s);
		}
		goto done;
	}
	res->clinic_code = xstrdup(h.clinic_code);
	if (strcmp(h.charset, "0") != 0)
		add_errorf(res, 0, E_CHARCODE, "文字コード識別が正しくありません(%s)", h.charset);
	if (strcmp(h.file_id, name_id) != 0)
		add_error(res, 0, E_FILEID, "ファイル識別子がファイル名と一致しません");
	f = form_by_prefix(s->fs, name_prefix);
	if (!f)
		f = form_by_class(s->fs, h.doc_class);
	if (!f || strcmp(f->env_doc_class, h.doc_class) != 0) {
		add_errorf(res, 0, E_DOCCLASS, "文書種別が正しくありません(%s)", h.doc_class);
		goto done;
	}
	if (strcmp(h.layout_version, f->layout_version ? f->layout_version : "") != 0) {
		add_errorf(res, 0, E_LAYOUT, "レイアウトバージョンが正しくありません(%s)", h.layout_version);
		goto done;
	}
	check_signature(s, f, buf, len, res);
	check_document(s, f, &h, &csv, res);
done:
	if (!res->clinic_code && strspn(name_id, "0123456789") >= 10)
		res->clinic_code = xstrndup(name_id, 10); /* the identifier starts with it */
	for (size_t i = 0; (s->faults & F_REJECT) && i < s->nreject; i++) {
		const struct field *fld = NULL;
		for (size_t j = 0; f && j < f->nfields; j++)
			if (f->fields[j].no == s->reject_items[i])
				fld = &f->fields[j];
		add_errorf(res, s->reject_items[i], E_TEST, "%s: 受入テスト用の模擬エラーです",
			   fld ? fld->label : "項目");
	}
	if (res->nerrors) {
		res->status = RES_ERROR;
		res->code = xstrdup("E000");
		sbuf_reset(&m);
		sbuf_printf(&m, "エラーがあるため受け付けませんでした(%zu件)", res->nerrors);
		res->message = sbuf_take(&m);
	} else {
		res->status = RES_ACCEPTED;
		res->code = xstrdup("0000");
		res->message = xstrdup("正常に受け付けました");
		res->reception_no = next_reception(s);
	}
	envelope_hdr_clear(&h);
	sbuf_free(&csv);
	sbuf_free(&err);
	sbuf_free(&m);
}

/* --- answering --- */

static void schedule(struct sim *s, double due, const char *name, const char *data, size_t len,
		     int slow, int duplicate)
{
	s->pending = xrealloc(s->pending, (s->npending + 1) * sizeof(*s->pending));
	struct pending *p = &s->pending[s->npending++];
	memset(p, 0, sizeof(*p));
	p->due = due;
	p->name = xstrdup(name);
	sbuf_add(&p->data, data, len);
	p->slow = slow;
	p->duplicate = duplicate;
}

static void pending_free(struct pending *p)
{
	free(p->name);
	sbuf_free(&p->data);
}

/* The slow fault: the final name from the first byte, filled in pieces. */
static int write_slowly(const char *path, const struct sbuf *data)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	size_t piece = data->len / SLOW_PIECES + 1, off = 0;
	int rc = 0;
	while (off < data->len && !rc) {
		size_t n = data->len - off < piece ? data->len - off : piece;
		ssize_t w = write(fd, data->s + off, n);
		if (w < 0 && errno != EINTR)
			rc = -errno;
		else if (w > 0)
			off += (size_t)w;
		if (off < data->len)
			nap(SLOW_SECONDS / SLOW_PIECES);
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* Runs what is due; returns 1 while something is still pending. */
static int run_pending(struct sim *s)
{
	double now = mono_now();
	struct sbuf path = { 0 };
	size_t keep = 0;
	for (size_t i = 0; i < s->npending; i++) {
		struct pending *p = &s->pending[i];
		int done = 0;
		sbuf_reset(&path);
		sbuf_printf(&path, "%s/%s", s->res, p->name);
		if (p->waiting) {
			struct stat st;
			if (stat(path.s, &st) < 0 && errno == ENOENT) {
				int rc = write_file_atomic(path.s, p->data.s, p->data.len, 0644);
				if (rc)
					logf_("%s: cannot write the duplicate: %s", p->name, iken_strerror(rc));
				else
					logf_("%s: written again (duplicate)", p->name);
				done = 1;
			} else if (s->once && now > p->give_up) {
				logf_("%s: the first copy was not taken; no duplicate", p->name);
				done = 1;
			}
		} else if (now >= p->due) {
			int rc = p->slow ? write_slowly(path.s, &p->data)
					 : write_file_atomic(path.s, p->data.s, p->data.len, 0644);
			if (rc)
				logf_("%s: cannot write: %s", p->name, iken_strerror(rc));
			else
				logf_("%s: written%s", p->name, p->slow ? " slowly" : "");
			if (!rc && p->duplicate) {
				p->waiting = 1;
				p->give_up = mono_now() + ONCE_DUP_WAIT;
			} else {
				done = 1;
			}
		}
		if (done)
			pending_free(p);
		else
			s->pending[keep++] = *p;
	}
	s->npending = keep;
	sbuf_free(&path);
	return s->npending > 0;
}

/* One request file of the folder: taken, checked, answered (later). */
static void handle(struct sim *s, const char *name)
{
	struct sbuf from = { 0 }, to = { 0 }, prefix = { 0 }, id = { 0 }, out = { 0 }, rname = { 0 };
	struct result res = { 0 };
	char *buf = NULL;
	size_t len = 0;
	char kind;

	sbuf_printf(&from, "%s/%s", s->req, name);
	sbuf_printf(&to, "%s/%s", s->work.s, name);
	/* taken away as the linkage software does: from now on the request is not in req/ */
	if (rename(from.s, to.s) < 0) {
		if (errno != ENOENT)
			logf_("%s: cannot take: %s", name, strerror(errno));
		goto cleanup;
	}
	int rc = read_file(to.s, ENVELOPE_MAX_FILE, &buf, &len);
	unlink(to.s);
	if (envelope_name_parse(s->tc, name, &kind, &prefix, &id) || kind != 'q') {
		logf_("%s: taken; not a request name, no answer", name);
		goto cleanup;
	}
	if (rc && rc != IKEN_ELIMIT) {
		logf_("%s: cannot read: %s", name, iken_strerror(rc));
		goto cleanup;
	}
	evaluate(s, prefix.s, id.s, buf, len, rc, &res);
	if (s->faults & F_NOANSWER) {
		logf_("%s: taken; %s; no answer (fault)", name,
		      res.status == RES_ACCEPTED ? "valid" : "invalid");
		goto cleanup;
	}
	if (res.status == RES_ACCEPTED)
		logf_("%s: accepted, reception number %s", name, res.reception_no);
	else
		logf_("%s: rejected, %zu error(s)", name, res.nerrors);

	double due = mono_now() + s->delay;
	if (s->faults & F_DELAY)
		due += 5 * s->delay; /* the service is slow today: 6× the usual delay */
	if (s->faults & F_ERR) {
		envelope_name(s->tc, 'e', prefix.s, id.s, &rname);
		sbuf_printf(&out, "%s 資格確認端末から送信できませんでした(模擬障害)\r\n", E_TERMINAL);
		schedule(s, due, rname.s, out.s, out.len, 0, 0);
		goto cleanup;
	}
	envelope_name(s->tc, 'r', prefix.s, id.s, &rname);
	rc = result_build(s->tc, &res, (s->faults & F_SJIS) != 0, &out);
	if (rc) {
		logf_("%s: cannot build the result: %s", name, iken_strerror(rc));
		goto cleanup;
	}
	if (s->faults & F_MALFORMED) {
		/* cut in the middle of an element: not well-formed, and says so at once */
		out.len /= 2;
		out.s[out.len] = '\0';
		sbuf_puts(&out, "<<\n");
	}
	schedule(s, due, rname.s, out.s, out.len, (s->faults & F_SLOW) != 0,
		 (s->faults & F_DUPLICATE) != 0);
	if (s->faults & F_UNKNOWN) {
		/* an identifier one character longer than any iken makes: never sent */
		struct result u = { 0 };
		struct sbuf uid = { 0 };
		sbuf_printf(&uid, "%s9", id.s);
		u.clinic_code = res.clinic_code ? xstrdup(res.clinic_code) : NULL;
		u.file_id = sbuf_take(&uid);
		u.exec_time = xstrdup(res.exec_time);
		u.segment = SEG_OK;
		u.status = RES_ACCEPTED;
		u.code = xstrdup("0000");
		u.message = xstrdup("正常に受け付けました");
		u.reception_no = next_reception(s);
		sbuf_reset(&out);
		sbuf_reset(&rname);
		envelope_name(s->tc, 'r', prefix.s, u.file_id, &rname);
		if (result_build(s->tc, &u, (s->faults & F_SJIS) != 0, &out) == 0)
			schedule(s, due, rname.s, out.s, out.len, 0, 0);
		result_clear(&u);
	}
cleanup:
	result_clear(&res);
	free(buf);
	sbuf_free(&from);
	sbuf_free(&to);
	sbuf_free(&prefix);
	sbuf_free(&id);
	sbuf_free(&out);
	sbuf_free(&rname);
}

/* Every request now in the folder, in name order. */
static void scan(struct sim *s, const char *pattern)
{
	char **names = NULL;
	size_t n = 0;
	int rc = list_dir(s->req, &names, &n);
	if (rc) {
		logf_("%s: cannot open: %s", s->req, strerror(-rc));
		return;
	}
	for (size_t i = 0; i < n && !stop; i++)
		if (fnmatch(pattern, names[i], 0) == 0)
			handle(s, names[i]);
	list_dir_free(names, n);
}

/* --- options --- */

static int parse_faults(struct sim *s, const char *arg)
{
	char *copy = xstrdup(arg), *save = NULL;
	int rc = 0;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int known = 0;
		for (size_t i = 0; i < ARRAY_SIZE(fault_names); i++)
			if (strcmp(w, fault_names[i].name) == 0) {
				s->faults |= fault_names[i].bit;
				known = 1;
			}
		if (!known && strncmp(w, "reject=", 7) == 0) {
			char *save2 = NULL;
			for (char *no = strtok_r(w + 7, ":", &save2); no; no = strtok_r(NULL, ":", &save2)) {
				uint64_t v;
				if (parse_u64(no, &v) || v == 0 || v > 100000) {
					rc = -1;
					break;
				}
				s->reject_items = xrealloc(s->reject_items,
							   (s->nreject + 1) * sizeof(*s->reject_items));
				s->reject_items[s->nreject++] = (int)v;
			}
			known = s->nreject > 0 && !rc;
			s->faults |= F_REJECT;
		}
		if (!known) {
			fprintf(stderr, "iken-termsim: unknown fault '%s'\n", w);
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

static const char usage[] =
"Usage: iken-termsim --req DIR --res DIR [--delay SECONDS] [--fault MODE[,MODE...]]\n"
"                    [--forms DIR] [--once] [--ca CA.pem] [--require-signature]\n"
"Plays the terminal and the service: takes request files from --req, checks them and\n"
"writes results into --res after the delay. Runs until SIGTERM/SIGINT; with --once it\n"
"handles the requests there now, waits for their answers to be written, and exits.\n"
"A signed request must verify (against --ca when given); --require-signature rejects an\n"
"unsigned opinion.\n"
"Faults: delay noanswer malformed slow duplicate unknown sjis err reject=NO[:NO...]\n";

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "req", required_argument, NULL, 'q' },
		{ "res", required_argument, NULL, 'r' },
		{ "delay", required_argument, NULL, 'd' },
		{ "fault", required_argument, NULL, 'f' },
		{ "forms", required_argument, NULL, 'F' },
		{ "once", no_argument, NULL, 'o' },
		{ "ca", required_argument, NULL, 'c' },
		{ "require-signature", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim s = { 0 };
	struct sbuf errs = { 0 }, tpath = { 0 }, pattern = { 0 };
	const char *forms = NULL;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': s.req = optarg; break;
		case 'r': s.res = optarg; break;
		case 'F': forms = optarg; break;
		case 'o': s.once = 1; break;
		case 'c': s.ca = optarg; break;
		case 'S': s.require_signature = 1; break;
		case 'd': {
			char *end;
			s.delay = strtod(optarg, &end);
			if (end == optarg || *end || !(s.delay >= 0 && s.delay <= 3600)) {
				fprintf(stderr, "iken-termsim: --delay takes 0 to 3600 seconds\n");
				return 2;
			}
			break;
		}
		case 'f':
			if (parse_faults(&s, optarg))
				return 2;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!s.req || !s.res || optind != argc) {
		fputs(usage, stderr);
		free(s.reject_items);
		return 2;
	}
	if (!forms)
		forms = forms_dir_default();
	sbuf_printf(&tpath, "%s/terminal.xml", forms);
	if (formset_load(forms, &s.fs, &errs) || terminal_conf_load(tpath.s, &s.tc, &errs)) {
		fprintf(stderr, "%s", errs.s ? errs.s : "iken-termsim: cannot load the forms\n");
		goto cleanup;
	}
	sbuf_printf(&s.work, "%s/../.termsim", s.req);
	int mrc = mkdir_p(s.work.s, 0700);
	if (!mrc)
		mrc = mkdir_p(s.res, 0755);
	if (mrc) {
		logf_("cannot create the work or result folder: %s", iken_strerror(mrc));
		goto cleanup;
	}
	/* "*req_*.xml" with the parts of terminal.xml */
	sbuf_puts(&pattern, "*");
	envelope_name(s.tc, 'q', "", "*", &pattern);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	logf_("watching %s, answering into %s (delay %gs)", s.req, s.res, s.delay);
	int first = 1;
	while (!stop) {
		if (!s.once || first)
			scan(&s, pattern.s);
		first = 0;
		int busy = run_pending(&s);
		if (s.once && !busy)
			break;
		nap(POLL_SECONDS);
	}
	if (s.npending)
		logf_("stopping with %zu answer(s) not written", s.npending);
	rc = 0;
cleanup:
	for (size_t i = 0; i < s.npending; i++)
		pending_free(&s.pending[i]);
	free(s.pending);
	free(s.reject_items);
	formset_free(s.fs);
	terminal_conf_free(s.tc);
	sbuf_free(&s.work);
	sbuf_free(&errs);
	sbuf_free(&tpath);
	sbuf_free(&pattern);
	return rc;
}
