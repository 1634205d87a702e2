/* docops: new records with their prefills, 前回コピー, saving against a revision, autosave,
 * finalize and reopen, on a real store in a temporary folder. */
#include "config.h"
#include "model/docops.h"
#include "errcode.h"
#include "genlib.h"
#include "model/wareki.h"
#include "tap.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char root[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct app *open_app(void)
{
	struct app *a = NULL;
	struct sbuf err = { 0 };
	int rc = app_open(root, getenv("IKEN_FORMS"), &a, &err);
	if (rc) {
		printf("# app_open: %s\n%s", iken_strerror(rc), err.s ? err.s : "");
		sbuf_free(&err);
		exit(1);
	}
	sbuf_free(&err);
	return a;
}

static const struct form *form(struct app *a, const char *id)
{
	const struct form *f = formset_get(a->fs, id);
	if (!f) {
		printf("# no form %s\n", id);
		exit(1);
	}
	return f;
}

/* A generated record stored as is (a master or a document). */
static struct record *stored(struct app *a, struct record *r)
{
	int rc = docops_save(a, r, 0, NULL);
	if (rc) {
		printf("# store: %s\n", iken_strerror(rc));
		exit(1);
	}
	return r;
}

static size_t errors_on(const struct problems *ps, const char *field)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].sev == SEV_ERROR && ps->v[i].field && strcmp(ps->v[i].field->id, field) == 0)
			n++;
	return n;
}

static int has_key(char **keys, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i], key) == 0)
			return 1;
	return 0;
}

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int main(void)
{
	setenv("TZ", "Asia/Tokyo", 1);
	setenv("IKEN_TEST_NOW", "20260401093000", 1);
	setenv("IKEN_TEST_USER", "doc1", 1);
	if (!getenv("IKEN_FORMS"))
		setenv("IKEN_FORMS", SRCDIR "/forms", 1);
	snprintf(root, sizeof(root), "/tmp/iken-docops.XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	struct app *a = open_app();
	const struct form *fi = form(a, "ikensho"), *fsk = form(a, "seikyu");
	const struct form *fu = form(a, "user"), *fa = form(a, "applicant"), *fst = form(a, "settings");
	struct gen g;
	gen_seed(&g, 42);

	/* masters: the clinic settings, a doctor, a clerk and one applicant */
	struct record *settings = stored(a, gen_record(&g, a->fs, fst, 0));
	struct record *doctor = gen_record(&g, a->fs, fu, 0);
	rec_set(doctor, "login", "doc1");
	rec_set(doctor, "role", "1");
	rec_set(doctor, "name", "検証　医師");
	rec_set(doctor, "doctor_no", "D01");
	stored(a, doctor);
	struct record *clerk = gen_record(&g, a->fs, fu, 1);
	rec_set(clerk, "login", "clerk1");
	rec_set(clerk, "role", "2");
	rec_set(clerk, "name", "検証　事務");
	stored(a, clerk);
	struct record *appl = gen_record(&g, a->fs, fa, 0);
	rec_set(appl, "birth_date", "19450101");
	stored(a, appl);
	const char *insured = rec_val(appl, "insured_no");

	/* --- new with prefills --- */
	struct record *r = docops_new(a, fi, doctor, appl);
	is_str(rec_val(r, "clinic_code"), rec_val(settings, "clinic_code"), "new: clinic code from the settings");
	is_str(rec_val(r, "clinic_name"), rec_val(settings, "clinic_name"), "new: clinic name from the settings");
	is_str(rec_val(r, "doctor_name"), "検証　医師", "new: doctor name from the signed-in doctor");
	is_str(rec_val(r, "doctor_no"), "D01", "new: doctor number from the signed-in doctor");
	is_str(rec_val(r, "insured_no"), insured, "new: insured number from the applicant");
	is_str(rec_val(r, "name"), rec_val(appl, "name"), "new: name from the applicant");
	is_str(rec_val(r, "written_date"), "20260401", "new: date written is today");
	is_str(rec_val(r, "age"), "81", "new: age derived from birth date and date written");
	is_str(rec_val(r, "other_depts"), "0000000000000", "new: check boxes start unchecked");
	is_str(rec_val(r, "paralysis"), "0", "new: any-set derivation computed");
	is_str(rec_val(r, "timestamp"), "", "new: fill items empty");
	is_int(r->id, 0, "new: not stored yet");
	rec_free(r);
	r = docops_new(a, fi, clerk, NULL);
	is_str(rec_val(r, "doctor_name"), "", "new by a clerk: the doctor name is left for the doctor");
	is_str(rec_val(r, "insured_no"), "", "new without a source: no applicant values");
	is_str(rec_val(r, "written_date"), "20260401", "new by a clerk: today still prefilled");
	rec_free(r);

	/* --- 前回コピー --- */
	struct record *old1 = gen_record(&g, a->fs, fi, 1);
	rec_set(old1, "insured_no", insured);
	rec_set(old1, "birth_date", "19450101");
	rec_set(old1, "written_date", "20250310");
	rec_set(old1, "last_exam_date", "20250301");
	rec_set(old1, "diag1", "古い診断名");
	derive_record(a->fs, fi, old1, 0);
	stored(a, old1);
	struct record *old2 = gen_record(&g, a->fs, fi, 2);
	rec_set(old2, "insured_no", insured);
	rec_set(old2, "birth_date", "19450101");
	rec_set(old2, "written_date", "20251001");
	rec_set(old2, "last_exam_date", "20250920");
	rec_set(old2, "request_date", "20250915");
	rec_set(old2, "diag1", "新しい診断名");
	rec_set(old2, "doctor_name", "前任　医師");
	derive_record(a->fs, fi, old2, 0);
	stored(a, old2);
	/* an older one made later must not win */
	struct record *old0 = gen_record(&g, a->fs, fi, 3);
	rec_set(old0, "insured_no", insured);
	rec_set(old0, "birth_date", "19450101");
	rec_set(old0, "written_date", "20240105");
	rec_set(old0, "last_exam_date", "20240101");
	rec_set(old0, "diag1", "最古の診断名");
	derive_record(a->fs, fi, old0, 0);
	stored(a, old0);
	is_str(rec_val(old2, "age"), "80", "fixture: the previous opinion says 80");
	/* the applicant moved since */
	rec_set(appl, "address", "試験県新住所1-2-3");
	is_int(docops_save(a, appl, appl->revision, NULL), 0, "fixture: applicant updated");

	struct record *cp = NULL;
	is_int(docops_copy_previous(a, insured, doctor, &cp), 0, "copy previous: found");
	is_str(rec_val(cp, "diag1"), "新しい診断名", "copy previous: the latest written opinion is copied");
	is_str(rec_val(cp, "course_treatment"), rec_val(old2, "course_treatment"), "copy previous: text copied");
	is_str(rec_val(cp, "adl_bedridden"), rec_val(old2, "adl_bedridden"), "copy previous: codes copied");
	is_str(rec_val(cp, "written_date"), "20260401", "copy previous: date written is today");
	is_str(rec_val(cp, "last_exam_date"), "", "copy previous: last examination date cleared");
	is_str(rec_val(cp, "request_date"), "", "copy previous: request date cleared");
	is_str(rec_val(cp, "birth_date"), "19450101", "copy previous: birth date kept");
	is_str(rec_val(cp, "age"), "81", "copy previous: age recomputed for today");
	is_str(rec_val(cp, "doctor_name"), "検証　医師", "copy previous: the signed-in doctor");
	is_str(rec_val(cp, "clinic_name"), rec_val(settings, "clinic_name"), "copy previous: clinic from the settings");
	is_str(rec_val(cp, "address"), "試験県新住所1-2-3", "copy previous: applicant values refreshed");
	is_str(rec_val(cp, "sent_date"), "", "copy previous: sent date (fill item) cleared");
	is_int(cp->id, 0, "copy previous: a new draft");
	is_int(cp->status, ST_DRAFT, "copy previous: status draft");
	struct record *cp2 = NULL;
	is_int(docops_copy_previous(a, insured, clerk, &cp2), 0, "copy previous by a clerk");
	is_str(rec_val(cp2, "doctor_name"), "前任　医師", "copy previous by a clerk keeps the previous doctor");
	rec_free(cp2);
	cp2 = NULL;
	is_int(docops_copy_previous(a, "9900000000", doctor, &cp2), IKEN_ENOTFOUND,
	       "copy previous: none for an unknown applicant");
	ok(cp2 == NULL, "copy previous: nothing returned when none");

	/* --- save: insert, update --- */
	is_int(docops_save(a, cp, 0, NULL), 0, "save: insert");
	ok(cp->id > 0, "save: an id assigned");
	is_int(cp->revision, 1, "save: revision 1");
	rec_set(cp, "last_exam_date", "20260325");
	rec_set(cp, "birth_date", "19450402"); /* age must follow on save */
	is_int(docops_save(a, cp, 1, NULL), 0, "save: update at the revision read");
	is_int(cp->revision, 2, "save: revision 2");
	is_str(rec_val(cp, "age"), "80", "save: derived items recomputed");
	struct record *back = NULL;
	is_int(store_get(a->st, cp->id, &back), 0, "save: stored");
	is_str(rec_val(back, "last_exam_date"), "20260325", "save: value stored");
	is_int(back->revision, 2, "save: stored revision");

	/* --- stale save --- */
	struct record *mine = rec_dup(back);   /* session A started from revision 2 */
	struct record *start = rec_dup(back);
	rec_set(back, "diag2", "別端末の診断名");  /* session B saves first */
	rec_set(back, "name", "試験　変更");
	is_int(docops_save(a, back, 2, NULL), 0, "stale: the other session saves");
	rec_set(mine, "remarks", "こちらの入力");
	struct record *cur = NULL;
	is_int(docops_save(a, mine, 2, &cur), IKEN_ECONFLICT, "stale: the second save is refused");
	ok(cur != NULL, "stale: the current record is returned");
	is_int(cur ? cur->revision : 0, 3, "stale: current revision");
	is_int(mine->revision, 2, "stale: the refused record keeps its revision");
	is_str(rec_val(mine, "remarks"), "こちらの入力", "stale: the user's values are kept");
	struct sbuf diff = { 0 };
	if (cur)
		docops_diff(fi, start, cur, &diff);
	is_str(diff.s, "name,diag2", "stale: diff names the fields the other session changed, layout order");
	sbuf_reset(&diff);
	docops_diff(fi, start, start, &diff);
	is_str(diff.s ? diff.s : "", "", "diff: nothing for equal records");
	sbuf_free(&diff);
	is_int(docops_save(a, mine, 0, NULL), IKEN_ECONFLICT, "stale: revision 0 on a stored record is refused too");
	rec_free(cur);

	/* --- autosave --- */
	struct sbuf key = { 0 }, key0 = { 0 };
	docops_autosave_key(a, "ikensho", mine->id, &key);
	docops_autosave_key(a, "ikensho", 0, &key0);
	char want[64];
	snprintf(want, sizeof(want), "doc1:ikensho:%llu", (unsigned long long)mine->id);
	is_str(key.s, want, "autosave: key user:form:id");
	is_str(key0.s, "doc1:ikensho:0", "autosave: key of a new record");
	struct record *got = NULL;
	is_int(docops_autosave_get(a, key.s, &got), IKEN_ENOTFOUND, "autosave: none yet");
	is_int(docops_autosave_put(a, key.s, mine), 0, "autosave: put");
	rec_set(mine, "remarks", "こちらの入力、続き");
	is_int(docops_autosave_put(a, key.s, mine), 0, "autosave: put replaces");
	struct record *fresh = docops_new(a, fi, doctor, NULL);
	is_int(docops_autosave_put(a, key0.s, fresh), 0, "autosave: put a new record's draft");
	is_int(docops_autosave_get(a, key.s, &got), 0, "autosave: get");
	ok(got && rec_same_values(got, mine), "autosave: values round trip");
	is_int(got ? got->revision : 0, 2, "autosave: the revision the edit started from is kept");
	is_int(got ? (long long)got->id : 0, (long long)mine->id, "autosave: the id is kept");
	rec_free(got);
	a->user = "clerk1";
	is_int(docops_autosave_put(a, "clerk1:seikyu:0", fresh), 0, "autosave: another user's draft");
	char **keys = NULL;
	size_t nk = 0;
	is_int(docops_autosave_list(a, &keys, &nk), 0, "autosave: list (clerk)");
	is_int(nk, 1, "autosave: the clerk sees only their own draft");
	free_keys(keys, nk);
	a->user = "doc1";
	is_int(docops_autosave_list(a, &keys, &nk), 0, "autosave: list");
	is_int(nk, 2, "autosave: two drafts of the doctor");
	ok(has_key(keys, nk, key.s) && has_key(keys, nk, key0.s), "autosave: both keys listed");
	free_keys(keys, nk);
	is_int(docops_autosave_del(a, key.s), 0, "autosave: del");
	is_int(docops_autosave_get(a, key.s, &got), IKEN_ENOTFOUND, "autosave: gone after del");
	is_int(docops_autosave_del(a, key.s), 0, "autosave: del of a missing draft is fine");
	is_int(docops_autosave_list(a, &keys, &nk), 0, "autosave: list again");
	is_int(nk, 1, "autosave: one left");
	free_keys(keys, nk);
	rec_free(fresh);
	sbuf_free(&key);
	sbuf_free(&key0);

	/* --- finalize --- */
	struct record *doc = gen_record(&g, a->fs, fi, 10);
	stored(a, doc);
	struct problems ps = { 0 };
	is_int(docops_finalize(a, doc, doc->revision, clerk, &ps), IKEN_EPERM,
	       "finalize: a clerk cannot finalize an opinion");
	is_int(doc->status, ST_DRAFT, "finalize: still a draft");
	problems_free(&ps);
	struct record *bad = rec_dup(doc);
	rec_set(bad, "diag1", "");
	rec_set(bad, "stability", "0");
	is_int(docops_finalize(a, bad, bad->revision, doctor, &ps), IKEN_EDATA,
	       "finalize: refused with errors");
	ok(errors_on(&ps, "diag1") == 1 && errors_on(&ps, "stability") == 1,
	   "finalize: the problems name the fields");
	problems_free(&ps);
	rec_free(bad);
	struct record *st = NULL;
	store_get(a->st, doc->id, &st);
	is_int(st ? (int)st->status : -1, ST_DRAFT, "finalize: nothing stored on errors");
	rec_free(st);
	is_int(docops_finalize(a, doc, doc->revision + 1, doctor, &ps), IKEN_ECONFLICT,
	       "finalize: refused at a stale revision");
	problems_free(&ps);
	uint32_t rev = doc->revision;
	is_int(docops_finalize(a, doc, rev, doctor, &ps), 0, "finalize: a doctor finalizes");
	is_int(ps.nerrors, 0, "finalize: no errors");
	problems_free(&ps);
	is_int(doc->status, ST_FINAL, "finalize: status final");
	is_int(doc->revision, rev + 1, "finalize: a new revision");
	store_get(a->st, doc->id, &st);
	is_int(st ? (int)st->status : -1, ST_FINAL, "finalize: stored final");
	rec_free(st);
	rec_set(doc, "remarks", "確定後の変更");
	is_int(docops_save(a, doc, doc->revision, NULL), IKEN_ESTATE, "save: a final document is not changed");
	struct record *inv = gen_record(&g, a->fs, fsk, 0);
	stored(a, inv);
	is_int(docops_finalize(a, inv, inv->revision, clerk, &ps), 0, "finalize: a clerk may finalize an invoice");
	problems_free(&ps);
	is_int(docops_finalize(a, settings, settings->revision, doctor, &ps), IKEN_ESTATE,
	       "finalize: only documents");
	problems_free(&ps);

	/* --- reopen --- */
	rev = doc->revision;
	is_int(docops_reopen(a, doc, rev), 0, "reopen: a final document");
	is_int(doc->status, ST_DRAFT, "reopen: a draft again");
	is_int(doc->revision, rev + 1, "reopen: a new revision");
	is_int(docops_save(a, doc, doc->revision, NULL), 0, "reopen: then it can be saved");
	is_str(rec_val(doc, "remarks"), "確定後の変更", "reopen: the change saved");
	is_int(docops_reopen(a, doc, doc->revision), IKEN_ESTATE, "reopen: a draft is refused");

	/* --- a new invoice from an opinion: amounts derived from the fee table --- */
	struct record *iv = docops_new(a, fsk, clerk, old2);
	is_str(rec_val(iv, "insured_no"), insured, "invoice: insured number from the opinion");
	is_str(rec_val(iv, "written_date"), "20251001", "invoice: date written from the opinion");
	is_str(rec_val(iv, "invoice_date"), "20260401", "invoice: invoice date today");
	is_str(rec_val(iv, "bank_code"), rec_val(settings, "bank_code"), "invoice: bank from the settings");
	is_str(rec_val(iv, "fee"), "", "invoice: no fee before the category");
	rec_set(iv, "fee_category", "1");
	rec_set(iv, "exam_done", "2");
	derive_record(a->fs, fsk, iv, 0);
	is_str(rec_val(iv, "fee"), "5000", "invoice: fee for category 1");
	is_str(rec_val(iv, "subtotal"), "5000", "invoice: subtotal");
	is_str(rec_val(iv, "tax"), "500", "invoice: tax 10%%");
	is_str(rec_val(iv, "total"), "5500", "invoice: total");
	rec_free(iv);

	rec_free(inv);
	rec_free(doc);
	rec_free(mine);
	rec_free(start);
	rec_free(back);
	rec_free(cp);
	rec_free(old0);
	rec_free(old1);
	rec_free(old2);
	rec_free(appl);
	rec_free(clerk);
	rec_free(doctor);
	rec_free(settings);
	app_close(a);
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
