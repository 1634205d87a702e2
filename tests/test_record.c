/* record: values by id, the binary encoding, damaged buffers. */
#include "config.h"
#include "model/record.h"
#include "errcode.h"
#include "tap.h"

#include <stdlib.h>

int main(void)
{
	struct record *r = rec_new("ikensho", "1.3");
	rec_set(r, "name", "試験 太郎");
	rec_set(r, "age", "81");
	rec_set(r, "remarks", "一行目\n\"二行目\",");
	rec_set(r, "empty", "");
	is_str(rec_get(r, "name"), "試験 太郎", "get");
	is_str(rec_get(r, "empty"), "", "empty value kept");
	ok(rec_get(r, "nothing") == NULL, "absent is NULL");
	is_str(rec_val(r, "nothing"), "", "rec_val of absent is empty");
	rec_set(r, "age", "82");
	is_str(rec_get(r, "age"), "82", "set replaces");
	is_int(r->n, 4, "four values");
	rec_unset(r, "empty");
	is_int(r->n, 3, "unset removes");

	r->id = 77;
	r->status = ST_QUEUED;
	r->revision = 5;
	r->created = 1000;
	r->updated = 2000;
	free(r->created_by);
	r->created_by = xstrdup("doctor1");
	struct sbuf enc = { 0 };
	rec_encode(r, &enc);
	struct record *d = NULL;
	ok(rec_decode(enc.s, enc.len, &d) == 0, "decode");
	ok(d && rec_same_values(r, d), "values survive encoding");
	ok(d && d->id == 77 && d->status == ST_QUEUED && d->revision == 5 && d->created == 1000 &&
	   d->updated == 2000, "metadata survives encoding");
	is_str(d ? d->created_by : NULL, "doctor1", "created_by survives");
	is_str(d ? d->form : NULL, "ikensho", "form survives");
	rec_free(d);
	int bad = 0;
	for (size_t cut = 0; cut < enc.len; cut++) {
		struct record *x = NULL;
		if (rec_decode(enc.s, cut, &x) != IKEN_EDATA)
			bad++;
		rec_free(x);
	}
	ok(bad == 0, "every truncation is refused as damaged");
	enc.s[0] = 'X';
	ok(rec_decode(enc.s, enc.len, &d) == IKEN_EDATA, "bad magic refused");
	sbuf_free(&enc);

	struct record *c = rec_dup(r);
	ok(rec_same_values(c, r) && c->id == 77, "dup");
	rec_set(c, "name", "x");
	ok(!rec_same_values(c, r), "dup is independent");
	rec_free(c);
	rec_free(r);

	enum rec_status st;
	ok(rec_status_parse("rejected", &st) == 0 && st == ST_REJECTED, "status words");
	ok(rec_status_parse("bogus", &st) == IKEN_ENOTFOUND, "unknown status");
	is_str(rec_status_name(ST_PUBLISHED), "published", "status name");
	return done_testing();
}
