/* Fuzz harness for form_load. Built with -DFUZZING and -fsanitize=fuzzer it is a libFuzzer target;
 * otherwise main() replays every file of a corpus folder (argv[1], default tests/fuzz/form in the
 * source tree) and prints TAP, one case per file.
 * Each input is written to input.xml in a temporary folder that holds a copy of form.rng (taken
 * from $IKEN_FORMS, else the default forms folder, at the first call) and loaded from there.
 * Beyond not crashing, each input checks: a load either gives a form and no message, or
 * IKEN_EFORM, no form and only "file:line: text" messages naming the input or the schema; a
 * loaded form is consistent (sections cover the fields in order, item numbers rise, every rule
 * and reference names a field of the form, digit references are in range, code fields have a
 * code list, bits fields one label per box). */
#include "config.h"
#include "errcode.h"
#include "model/form.h"
#include "fuzzlib.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char workdir[64];
static char input_path[128], schema_path[128];

static void remove_workdir(void)
{
	if (!workdir[0])
		return;
	unlink(input_path);
	unlink(schema_path);
	rmdir(workdir);
	workdir[0] = '\0';
}

static int write_all(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	size_t n = len ? fwrite(data, 1, len, fp) : 0;
	return (fclose(fp) == 0 && n == len) ? 0 : -1;
}

/* The temporary folder with form.rng, made once. */
static void setup(void)
{
	if (workdir[0])
		return;
	snprintf(workdir, sizeof(workdir), "/tmp/iken-fuzz-form-XXXXXX");
	if (!mkdtemp(workdir)) {
		perror("fuzz_form: mkdtemp");
		abort();
	}
	snprintf(input_path, sizeof(input_path), "%s/input.xml", workdir);
	snprintf(schema_path, sizeof(schema_path), "%s/form.rng", workdir);
	struct sbuf src = { 0 };
	sbuf_printf(&src, "%s/form.rng", forms_dir_default());
	char *rng = NULL;
	size_t len = 0;
	if (read_file(src.s, 1 << 20, &rng, &len) || write_all(schema_path, rng, len)) {
		fprintf(stderr, "fuzz_form: cannot copy %s into %s\n", src.s, workdir);
		abort();
	}
	free(rng);
	sbuf_free(&src);
	atexit(remove_workdir);
}

/* Every line "FILE:LINE: text" with FILE the input or the schema. */
static int messages_located(const char *s)
{
	if (!s || !*s)
		return 0;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		const char *file = strncmp(s, input_path, strlen(input_path)) == 0 ? input_path
				   : strncmp(s, schema_path, strlen(schema_path)) == 0 ? schema_path : NULL;
		if (!file)
			return 0;
		const char *q = s + strlen(file);
		if (*q++ != ':')
			return 0;
		size_t nd = strspn(q, "0123456789");
		if (nd == 0 || q[nd] != ':' || q[nd + 1] != ' ' || (size_t)(q + nd + 2 - s) >= len)
			return 0;
		if (!nl)
			return 0; /* every message ends with a newline */
		s = nl + 1;
	}
	return 1;
}

static int is_form_field(const struct form *f, const struct field *fld)
{
	return fld && fld >= f->fields && fld < f->fields + f->nfields;
}

static int ref_ok(const struct form *f, const struct fref *ref)
{
	if (!is_form_field(f, ref->field))
		return 0;
	if (ref->digit && (ref->digit < 1 || ref->digit > ref->field->length ||
			   (ref->field->type != FT_BITS && ref->field->type != FT_DIGITS)))
		return 0;
	return 1;
}

/* What is wrong with a loaded form, or NULL. */
static const char *form_problem(const struct form *f)
{
	size_t next = 0;
	if (!f->id || !f->nfields || !f->npages)
		return "loaded form without id, fields or pages";
	for (size_t p = 0; p < f->npages; p++)
		for (size_t s = 0; s < f->pages[p].nsections; s++) {
			const struct section *sec = &f->pages[p].sections[s];
			if (sec->first != next)
				return "sections do not cover the fields in order";
			next += sec->count;
		}
	if (next != f->nfields)
		return "sections do not cover every field";
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (i && fld->no <= f->fields[i - 1].no)
			return "item numbers do not rise";
		if (form_field(f, fld->id) != fld)
			return "field id not unique";
		if (fld->type == FT_CODE && !fld->codes)
			return "code field without a code list";
		if (fld->type == FT_BITS) {
			int n = 0;
			while (fld->bit_labels && fld->bit_labels[n])
				n++;
			if (n != fld->length)
				return "bits field with a label count other than its length";
		}
	}
	for (size_t i = 0; i < f->nrules; i++) {
		const struct rule *ru = &f->rules[i];
		if (!is_form_field(f, ru->field))
			return "rule without a field of the form";
		if (ru->field2 && !is_form_field(f, ru->field2))
			return "rule with a second field outside the form";
		if (ru->field3 && !is_form_field(f, ru->field3))
			return "rule with a third field outside the form";
		for (size_t j = 0; j < ru->nrefs; j++)
			if (!ref_ok(f, &ru->refs[j]))
				return "rule reference out of the form or out of range";
		if (ru->kind == RULE_EXCLUSIVE && !ref_ok(f, &ru->ref))
			return "exclusive reference out of the form or out of range";
		if (ru->cond.op != COND_NONE && !ref_ok(f, &ru->cond.ref))
			return "condition reference out of the form or out of range";
		if ((ru->cond.op == COND_EQ || ru->cond.op == COND_NE) && !ru->cond.value)
			return "eq/ne condition without a value";
	}
	return NULL;
}

/* Returns NULL when every property holds, else what failed. */
static const char *check_input(const uint8_t *data, size_t size)
{
	setup();
	if (write_all(input_path, data, size))
		return "cannot write the input file";
	struct form *f = (struct form *)&f; /* form_load must set it */
	struct sbuf errs = { 0 };
	const char *problem = NULL;
	int rc = form_load(input_path, schema_path, &f, &errs);
	if (rc == 0) {
		if (!f)
			problem = "loaded, but no form";
		else if (errs.len)
			problem = "loaded, but with messages";
		else
			problem = form_problem(f);
		form_free(f);
	} else if (rc != IKEN_EFORM) {
		problem = "refused with a code other than IKEN_EFORM";
	} else if (f != NULL) {
		problem = "refused, but a form was handed out";
	} else if (!messages_located(errs.s)) {
		problem = "a message is not 'file:line: text' naming the input or the schema";
	}
	if (problem && errs.s)
		fprintf(stderr, "fuzz_form: messages:\n%s", errs.s);
	sbuf_free(&errs);
	return problem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *problem = check_input(data, size);

	if (problem) {
		fprintf(stderr, "fuzz_form: %s\n", problem);
		abort();
	}
	return 0;
}

#ifndef FUZZING
int main(int argc, char **argv)
{
	return fuzz_replay_main(argc, argv, "form", "did not crash", check_input);
}
#endif
