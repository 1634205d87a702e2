#include "config.h"
#include "app.h"
#include "model/docio.h"
#include "store/audit.h"
#include "errcode.h"

#include <stdlib.h>
#include <string.h>

char *app_data_dir(const char *data_opt)
{
	struct sbuf b = { 0 };
	const char *e;
	if (data_opt && *data_opt)
		return xstrdup(data_opt);
	if ((e = getenv("IKEN_DATA")) && *e)
		return xstrdup(e);
	if ((e = getenv("XDG_DATA_HOME")) && *e)
		sbuf_printf(&b, "%s/iken", e);
	else
		sbuf_printf(&b, "%s/.local/share/iken", (e = getenv("HOME")) && *e ? e : ".");
	return sbuf_take(&b);
}

/* Each form's index="…" fields feed the store's secondary indexes. */
static void register_indexes(struct app *a)
{
	for (size_t i = 0; i < a->fs->nforms; i++) {
		const struct form *f = a->fs->forms[i];
		struct store_index_spec spec = { .form = f->id };
		for (size_t j = 0; j < f->nfields; j++) {
			const struct field *fld = &f->fields[j];
			if (!fld->index)
				continue;
			if (strcmp(fld->index, "insured") == 0)
				spec.insured = fld->id;
			else if (strcmp(fld->index, "kana") == 0)
				spec.kana = fld->id;
			else if (strcmp(fld->index, "date") == 0)
				spec.date = fld->id;
		}
		store_set_index(a->st, &spec);
	}
}

/* The audit trail names each user's role: the role field of the user record of that login. */
static void role_of(struct store_txn *t, const char *login, struct sbuf *out, void *ctx)
{
	const struct form *uf = formset_get(((struct app *)ctx)->fs, "user");
	struct record *u;
	uint64_t id;
	if (uf && docio_find_key(t, uf, login, &id) == 0 && store_rec_get(t, id, &u) == 0) {
		sbuf_puts(out, app_role(u));
		rec_free(u);
	}
}

int app_open(const char *data_opt, const char *forms_opt, struct app **out, struct sbuf *err)
{
	struct app *a = xcalloc(1, sizeof(*a));
	const char *forms = forms_opt && *forms_opt ? forms_opt : forms_dir_default();
	int rc = formset_load(forms, &a->fs, err);
	*out = NULL;
	if (rc)
		goto fail;
	a->data_dir = app_data_dir(data_opt);
	rc = store_open(a->data_dir, &a->st);
	if (rc) {
		sbuf_printf(err, "%s: %s\n", a->data_dir, iken_strerror(rc));
		goto fail;
	}
	register_indexes(a);
	audit_attach(a->st, role_of, a);
	struct sbuf tpath = { 0 };
	sbuf_printf(&tpath, "%s/terminal.xml", forms);
	rc = terminal_conf_load(tpath.s, &a->tc, err);
	sbuf_free(&tpath);
	if (rc)
		goto fail;
	a->user = iken_user();
	*out = a;
	return 0;
fail:
	app_close(a);
	return rc;
}

void app_close(struct app *a)
{
	if (!a)
		return;
	if (a->st)
		store_close(a->st);
	terminal_conf_free(a->tc);
	formset_free(a->fs);
	free(a->data_dir);
	free(a);
}

struct user_ctx {
	const struct form *f;
	const char *login;
	struct record *rec;
};

static int find_user(struct store_txn *t, void *vctx)
{
	struct user_ctx *c = vctx;
	uint64_t id;
	int rc = docio_find_key(t, c->f, c->login, &id);
	return rc ? rc : store_rec_get(t, id, &c->rec);
}

int app_current_user(struct app *a, struct record **out)
{
	struct user_ctx c = { formset_get(a->fs, "user"), a->user, NULL };
	if (!c.f)
		return IKEN_ENOTFOUND;
	int rc = store_read(a->st, find_user, &c);
	*out = c.rec;
	return rc;
}

const char *app_role(const struct record *user)
{
	return rec_val(user, "role");
}

struct settings_ctx {
	const struct form *f;
	struct record *rec;
};

static int find_settings(struct store_txn *t, void *vctx)
{
	struct settings_ctx *c = vctx;
	uint64_t id;
	int rc = docio_find_key(t, c->f, "", &id);
	return rc ? rc : store_rec_get(t, id, &c->rec);
}

int app_settings(struct app *a, struct record **out)
{
	struct settings_ctx c = { formset_get(a->fs, "settings"), NULL };
	*out = NULL;
	if (!c.f)
		return IKEN_ENOTFOUND;
	int rc = store_read(a->st, find_settings, &c);
	*out = c.rec;
	return rc;
}

static char *dir_setting(struct app *a, const struct record *s, const char *id, const char *dflt)
{
	const char *v = s ? rec_val(s, id) : "";
	struct sbuf b = { 0 };
	if (!*v)
		v = dflt;
	if (v[0] == '/')
		sbuf_puts(&b, v);
	else
		sbuf_printf(&b, "%s/%s", a->data_dir, v);
	return sbuf_take(&b);
}

static int int_setting(const struct record *s, const char *id, int dflt)
{
	uint64_t v;
	if (!s || parse_u64(rec_val(s, id), &v) || v == 0 || v > 100000)
		return dflt;
	return (int)v;
}

int app_term_conf(struct app *a, struct term_conf *tc)
{
	struct record *s = NULL;
	/* cleared first: a caller that ignores a failure still frees nothing it does not own */
	memset(tc, 0, sizeof(*tc));
	int rc = app_settings(a, &s);
	if (rc && rc != IKEN_ENOTFOUND)
		return rc;
	tc->req = dir_setting(a, s, "req_dir", "terminal/req");
	tc->res = dir_setting(a, s, "res_dir", "terminal/res");
	tc->archive = dir_setting(a, s, "archive_dir", "archive");
	tc->quarantine = dir_setting(a, s, "quarantine_dir", "quarantine");
	tc->clinic_code = xstrdup(s ? rec_val(s, "clinic_code") : "");
	tc->sign_required = s && strcmp(rec_val(s, "sign_required"), "1") == 0;
	tc->sign_ca_file = xstrdup(s ? rec_val(s, "sign_ca_file") : "");
	tc->sign_crl_file = xstrdup(s ? rec_val(s, "sign_crl_file") : "");
	tc->poll_seconds = int_setting(s, "poll_seconds", 10);
	tc->wait_hours = int_setting(s, "result_wait_hours", 24);
	const char *st = getenv("IKEN_STABLE_SECONDS");
	uint64_t v;
	tc->stable_seconds = st && parse_u64(st, &v) == 0 && v < 3600 ? (int)v : 2;
	rec_free(s);
	return 0;
}

void term_conf_clear(struct term_conf *tc)
{
	free(tc->req);
	free(tc->res);
	free(tc->archive);
	free(tc->quarantine);
	free(tc->clinic_code);
	free(tc->sign_ca_file);
	free(tc->sign_crl_file);
	memset(tc, 0, sizeof(*tc));
}
