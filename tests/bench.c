/* make bench: speed and memory of what staff wait for, measured, never asserted.
 * Imports N generated opinions through the real import path into a real store, exports them,
 * runs index queries and the checks, and prints wall time per step and the peak resident size. */
#include "config.h"
#include "model/check.h"
#include "model/docio.h"
#include "exchange/envelope.h"
#include "model/form.h"
#include "genlib.h"
#include "store/audit.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_kib(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

struct find_ctx {
	struct store_query *q;
	uint64_t **ids;
	size_t *n;
};

static int find_txn(struct store_txn *t, void *vctx)
{
	struct find_ctx *c = vctx;
	return store_find(t, c->q, c->ids, c->n);
}

static int bench_find(struct store *s, struct store_query *q, uint64_t **ids, size_t *n)
{
	struct find_ctx c = { q, ids, n };
	return store_read(s, find_txn, &c);
}

/* --- the audit trail: what an entry costs where staff wait --- */

struct add_ctx {
	unsigned long n;
};

static int add_many(struct store_txn *t, void *vctx)
{
	struct add_ctx *c = vctx;
	int rc = 0;
	for (unsigned long i = 0; i < c->n && !rc; i++) {
		uint64_t id = i + 1;
		struct audit_event ev = { .action = AUDIT_UPDATE, .user = "bench", .form = "ikensho",
					  .ids = &id, .nids = 1, .fields = "name,address",
					  .detail = "r2" };
		rc = audit_add(t, &ev);
	}
	return rc;
}

static int count_cb(const struct audit_entry *e, void *ctx)
{
	(void)e;
	(*(size_t *)ctx)++;
	return 0;
}

static int scan_txn(struct store_txn *t, void *ctx)
{
	return audit_scan(t, count_cb, ctx);
}

static int verify_txn(struct store_txn *t, void *ctx)
{
	return audit_verify(t, NULL, NULL, ctx);
}

static void bench_audit(struct store *st, unsigned long n)
{
	const int opens = 200;
	double t0 = now_s();
	for (int i = 0; i < opens; i++) {
		struct record *r = NULL;
		store_get(st, (uint64_t)(i % (int)n) + 1, &r);
		rec_free(r);
	}
	double t1 = now_s();
	for (int i = 0; i < opens; i++) {
		struct record *r = NULL;
		audit_get_record(st, (uint64_t)(i % (int)n) + 1, AUDIT_OPEN, "bench", &r);
		rec_free(r);
	}
	double t2 = now_s();
	struct add_ctx ac = { n };
	store_write(st, add_many, &ac);
	double t3 = now_s();
	struct audit_summary sum;
	store_read(st, verify_txn, &sum);
	double t4 = now_s();
	size_t shown = 0;
	store_read(st, scan_txn, &shown);
	double t5 = now_s();
	printf("open a document         %.2f ms read only, %.2f ms with its audit entry (one "
	       "synchronous write)\n", (t1 - t0) * 1000 / opens, (t2 - t1) * 1000 / opens);
	printf("%lu audit entries       %.3f s in one transaction  %.1f us each\n", n, t3 - t2,
	       (t3 - t2) * 1e6 / (double)n);
	printf("audit verify            %.3f s  %llu entries  %zu problems\n", t4 - t3,
	       (unsigned long long)sum.entries, sum.problems);
	printf("audit show (scan)       %.3f s  %zu entries\n", t5 - t4, shown);
}

int main(int argc, char **argv)
{
	unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
	struct sbuf err = { 0 }, csv = { 0 }, report = { 0 }, out = { 0 };
	struct formset *fs;
	if (formset_load(forms_dir_default(), &fs, &err)) {
		fputs(err.s, stderr);
		return 1;
	}
	const struct form *f = formset_get(fs, "ikensho");
	char dir[] = "/tmp/iken-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	struct store *st;
	if (store_open(dir, &st))
		return 1;
	struct store_index_spec spec = { "ikensho", "insured_no", "name_kana", "written_date" };
	store_set_index(st, &spec);

	double t0 = now_s();
	struct gen g;
	gen_seed(&g, 1);
	docio_header_csv(f, &csv);
	for (unsigned long i = 0; i < n; i++) {
		struct record *r = gen_record(&g, fs, f, i);
		docio_record_csv(f, r, 0, &csv);
		rec_free(r);
	}
	double t1 = now_s();
	struct import_result res;
	int rc = docio_import(st, fs, f, csv.s, csv.len, 0, "bench", &report, &res);
	double t2 = now_s();
	docio_export(st, f, -1, "bench", &out);
	double t3 = now_s();
	size_t found = 0;
	for (int q = 0; q < 100; q++) {
		struct store_query sq = { .form = "ikensho", .status = -1, .kana = "テスト" };
		uint64_t *ids = NULL;
		size_t k = 0;
		bench_find(st, &sq, &ids, &k);
		found += k;
		free(ids);
	}
	double t4 = now_s();
	/* envelopes: CSV for sending → Base64 → XML, and the SHA-256 kept as evidence */
	struct terminal_conf *tc = NULL;
	struct sbuf tpath = { 0 }, xml = { 0 };
	sbuf_printf(&tpath, "%s/terminal.xml", forms_dir_default());
	size_t nenv = n < 1000 ? n : 1000, env_bytes = 0;
	if (terminal_conf_load(tpath.s, &tc, &err) == 0) {
		gen_seed(&g, 2);
		for (size_t i = 0; i < nenv; i++) {
			struct record *r = gen_record(&g, fs, f, i);
			char sha[65];
			sbuf_reset(&xml);
			envelope_build(tc, f, r, "9912345678", "99123456782026040109300000", iken_now(), &xml);
			sha256_hex(xml.s, xml.len, sha);
			env_bytes += xml.len;
			rec_free(r);
		}
		terminal_conf_free(tc);
	}
	double t5 = now_s();
	sbuf_free(&tpath);
	sbuf_free(&xml);
	printf("records                 %lu\n", n);
	printf("generate CSV            %.3f s (%zu bytes)\n", t1 - t0, csv.len);
	printf("import (check + store)  %.3f s  %.0f records/s  rc=%d imported=%zu\n", t2 - t1,
	       (double)n / (t2 - t1), rc, res.imported);
	printf("export                  %.3f s  identical=%s\n", t3 - t2,
	       out.len == csv.len && memcmp(out.s, csv.s, csv.len) == 0 ? "yes" : "no");
	printf("100 kana-prefix queries %.3f s  (%zu hits)\n", t4 - t3, found);
	printf("%zu envelopes           %.3f s  %.0f/s  (%zu bytes each on average)\n", nenv, t5 - t4,
	       (double)nenv / (t5 - t4), nenv ? env_bytes / nenv : 0);
	bench_audit(st, n);
	printf("store map size          %zu KiB\n", store_map_size(st) / 1024);
	printf("peak resident size      %ld KiB\n", peak_kib());
	store_close(st);
	formset_free(fs);
	sbuf_free(&csv);
	sbuf_free(&out);
	sbuf_free(&report);
	sbuf_free(&err);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}

