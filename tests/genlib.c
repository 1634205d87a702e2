/* Generator of synthetic test records: see genlib.h. The form files decide the types, lengths,
 * codes and rules; the table `sems` below only gives some fields a believable (and obviously
 * fake) kind of content: test names, insured numbers starting with 99, dates around the test
 * clock. */
#include "config.h"
#include "genlib.h"
#include "model/charset.h"
#include "model/wareki.h"

#include <stdlib.h>
#include <string.h>

/* --- PRNG: splitmix64 seeding, xorshift64 steps --- */

void gen_seed(struct gen *g, uint64_t seed)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	g->s = z ? z : 0x2545F4914F6CDD1Dull;
	g->key_base = (uint32_t)(gen_next(g) % 100000000u);
}

uint64_t gen_next(struct gen *g)
{
	uint64_t x = g->s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	g->s = x;
	return x;
}

unsigned gen_below(struct gen *g, unsigned n)
{
	return n ? (unsigned)(gen_next(g) % n) : 0;
}

int gen_chance(struct gen *g, unsigned percent)
{
	return gen_below(g, 100) < percent;
}

static const char *pick(struct gen *g, const char *const *v, size_t n)
{
	return v[gen_below(g, (unsigned)n)];
}
#define PICK(g, arr) pick(g, arr, ARRAY_SIZE(arr))

/* --- dates (proleptic Gregorian day numbers) --- */

static long days_from_civil(long y, long m, long d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(long z, long *y, long *m, long *d)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static long ymd_days(const char *ymd)
{
	long v = atol(ymd);
	return days_from_civil(v / 10000, v / 100 % 100, v % 100);
}

static void days_ymd(long days, char out[9])
{
	long y, m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, 9, "%04u%02u%02u", (unsigned)y % 10000u, (unsigned)m % 100u, (unsigned)d % 100u);
}

void gen_ymd_add(const char *ymd, long days, char out[9])
{
	days_ymd(ymd_days(ymd) + days, out);
}

/* A date in [from, to] (both YYYYMMDD). */
static void rand_date(struct gen *g, const char *from, const char *to, char out[9])
{
	long a = ymd_days(from), b = ymd_days(to);
	days_ymd(b > a ? a + (long)gen_below(g, (unsigned)(b - a + 1)) : a, out);
}

/* --- content --- */

enum sem {
	SEM_NONE,
	SEM_INSURER_NO,   /* 99xxxx */
	SEM_INSURED_NO,   /* 99xxxxxxxx */
	SEM_CLINIC_CODE,  /* 99xxxxxxxx */
	SEM_PERSON,       /* 試験　太郎12 */
	SEM_STAFF,        /* 検証　医師3 */
	SEM_KANA_PERSON,  /* テスト　ナニカ */
	SEM_KANA_ORG,     /* テストイリョウホウジン */
	SEM_BIRTH,        /* 1920–1960 */
	SEM_WRITTEN,      /* 20260101–20260331 */
	SEM_EXAM,         /* ≤ written */
	SEM_INVOICE,      /* written … today */
	SEM_BEFORE,       /* a little before written */
	SEM_POSTAL,       /* 000xxxx */
	SEM_PHONE,        /* 00-0000-xxxx */
	SEM_ADDRESS,
	SEM_INSURER_NAME,
	SEM_CLINIC_NAME,
	SEM_BANK_NAME,
	SEM_BRANCH_NAME,
	SEM_LOGIN,
	SEM_DOCTOR_NO,
	SEM_PATH,
	SEM_SECONDS,
	SEM_HOURS,
	SEM_REQUEST_NO,
	SEM_FILE_ID,
	SEM_HEIGHT,
	SEM_WEIGHT,
	SEM_DIAG,
	SEM_SITE,
	SEM_REMARKS,      /* the only place for characters outside JIS X 0208 */
	SEM_UNSET,        /* always empty: switches a test turns on itself (signing) */
};

static const struct {
	const char *id;
	enum sem sem;
} sems[] = {
	{ "insurer_no", SEM_INSURER_NO },
	{ "insured_no", SEM_INSURED_NO },
	{ "clinic_code", SEM_CLINIC_CODE },
	{ "name", SEM_PERSON },
	{ "doctor_name", SEM_STAFF },
	{ "representative", SEM_STAFF },
	{ "name_kana", SEM_KANA_PERSON },
	{ "account_holder_kana", SEM_KANA_ORG },
	{ "birth_date", SEM_BIRTH },
	{ "written_date", SEM_WRITTEN },
	{ "last_exam_date", SEM_EXAM },
	{ "invoice_date", SEM_INVOICE },
	{ "application_date", SEM_BEFORE },
	{ "request_date", SEM_BEFORE },
	{ "postal_code", SEM_POSTAL },
	{ "clinic_postal_code", SEM_POSTAL },
	{ "phone", SEM_PHONE },
	{ "clinic_phone", SEM_PHONE },
	{ "clinic_fax", SEM_PHONE },
	{ "address", SEM_ADDRESS },
	{ "clinic_address", SEM_ADDRESS },
	{ "insurer_name", SEM_INSURER_NAME },
	{ "clinic_name", SEM_CLINIC_NAME },
	{ "bank_name", SEM_BANK_NAME },
	{ "branch_name", SEM_BRANCH_NAME },
	{ "login", SEM_LOGIN },
	{ "doctor_no", SEM_DOCTOR_NO },
	{ "pkcs11_module", SEM_PATH },
	{ "req_dir", SEM_PATH },
	{ "pkcs12_file", SEM_PATH },
	{ "sign_ca_file", SEM_PATH },
	{ "sign_crl_file", SEM_PATH },
	{ "sign_required", SEM_UNSET },
	{ "res_dir", SEM_PATH },
	{ "archive_dir", SEM_PATH },
	{ "quarantine_dir", SEM_PATH },
	{ "poll_seconds", SEM_SECONDS },
	{ "result_wait_hours", SEM_HOURS },
	{ "request_no", SEM_REQUEST_NO },
	{ "opinion_file_id", SEM_FILE_ID },
	{ "height_cm", SEM_HEIGHT },
	{ "weight_kg", SEM_WEIGHT },
	{ "diag1", SEM_DIAG },
	{ "diag2", SEM_DIAG },
	{ "diag3", SEM_DIAG },
	{ "remarks", SEM_REMARKS },
};

static enum sem sem_of(const struct field *fld)
{
	for (size_t i = 0; i < ARRAY_SIZE(sems); i++)
		if (strcmp(sems[i].id, fld->id) == 0)
			return sems[i].sem;
	size_t n = strlen(fld->id);
	if (fld->type == FT_TEXT && n > 5 && strcmp(fld->id + n - 5, "_site") == 0)
		return SEM_SITE;
	return SEM_NONE;
}

static const char *const katakana[] = {
	"ア", "イ", "ウ", "エ", "オ", "カ", "キ", "ク", "ケ", "コ", "サ", "シ", "ス", "セ", "ソ",
	"タ", "チ", "ツ", "テ", "ト", "ナ", "ニ", "ヌ", "ネ", "ノ", "ハ", "ヒ", "フ", "ヘ", "ホ",
	"マ", "ミ", "ム", "メ", "モ", "ヤ", "ユ", "ヨ", "ラ", "リ", "ル", "レ", "ロ", "ワ", "ン",
	"ガ", "ギ", "グ", "ゲ", "ゴ", "ザ", "ジ", "ズ", "ゼ", "ゾ", "ダ", "デ", "ド", "バ", "ビ",
	"ブ", "ベ", "ボ", "パ", "ピ", "プ", "ペ", "ポ", "ヴ",
};
static const char *const hiragana[] = {
	"あ", "い", "う", "え", "お", "か", "き", "く", "け", "こ", "さ", "し", "す", "せ", "そ",
	"た", "ち", "つ", "て", "と", "な", "に", "ぬ", "ね", "の", "は", "ひ", "ふ", "へ", "ほ",
	"ま", "み", "む", "め", "も", "や", "ゆ", "よ", "ら", "り", "る", "れ", "ろ", "わ", "ん",
	"が", "ぎ", "ぐ", "げ", "ご", "ざ", "じ", "ず", "ぜ", "ぞ", "だ", "で", "ど", "ば", "び",
};
static const char *const family_kana[] = { "テスト", "シケン", "ケンショウ" };
static const char *const family_hira[] = { "てすと", "しけん", "けんしょう" };
static const char *const family_kanji[] = { "試験", "検証", "模擬" };
static const char *const given_kanji[] = { "太郎", "花子", "次郎", "良子", "一郎", "和子" };
static const char *const staff_kanji[] = { "医師", "担当", "代表" };

/* Free text: JIS X 0208 and ASCII only; some with a comma or double quotes. */
static const char *const phrases[] = {
	"試験用の記載", "検証データ", "テスト記入", "経過観察中（試験）", "軽度,左右差あり",
	"\"引用\"を含む記載", "特記なし（試験）", "週1回の確認", "ＡＢＣ試験項目", "数値１２３",
	"朝～夕の様子", "服薬は\"朝1錠\",\"夕1錠\"", "模擬の内容です。", "abc 123", "変化なし、経過良好",
	"〒・※・〇の記号", "半角,カンマ,複数",
};
static const char *const diag_phrases[] = {
	"試験病名Ａ", "検証用診断名", "テスト症候群", "模擬疾患（試験）", "仮想病名,その2", "試験性\"架空\"症",
};
static const char *const site_phrases[] = {
	"右手指", "左膝関節", "腰部（試験）", "仙骨部", "両下肢", "右肩,左肩", "試験部位",
};
/* Characters outside the permitted set, for warnings: ① and ㈱ (NEC specials), 髙 and 﨑
 * (IBM extensions), an emoji. */
static const char *const outside_phrases[] = {
	"丸数字①の確認", "髙の字（異体字）", "㈱の表記", "絵文字😀の確認", "﨑の字と①②",
};

/* Cuts b to at most max characters (never inside one), dropping trailing spaces and newlines. */
static void trunc_chars(struct sbuf *b, int max)
{
	if (!b->s)
		return;
	if (max >= 0) {
		size_t i = 0;
		int n = 0;
		while (b->s[i]) {
			if (((unsigned char)b->s[i] & 0xC0) != 0x80) {
				if (n == max)
					break;
				n++;
			}
			i++;
		}
		b->s[i] = '\0';
		b->len = i;
	}
	while (b->len && (b->s[b->len - 1] == ' ' || b->s[b->len - 1] == '\n'))
		b->s[--b->len] = '\0';
}

static void put_phrases(struct gen *g, struct sbuf *out, const char *const *v, size_t n, unsigned most)
{
	unsigned k = 1 + gen_below(g, most);
	for (unsigned i = 0; i < k; i++) {
		if (i)
			sbuf_puts(out, gen_chance(g, 50) ? "、" : "　");
		sbuf_puts(out, pick(g, v, n));
	}
}

static void put_textarea(struct gen *g, struct sbuf *out, int outside)
{
	unsigned lines = 1 + gen_below(g, 4);
	for (unsigned i = 0; i < lines; i++) {
		if (i)
			sbuf_putc(out, '\n');
		if (outside && gen_chance(g, 40))
			sbuf_puts(out, PICK(g, outside_phrases));
		else
			put_phrases(g, out, phrases, ARRAY_SIZE(phrases), 2);
	}
}

static void put_digits(struct gen *g, struct sbuf *out, int n, const char *set)
{
	size_t ns = strlen(set);
	for (int i = 0; i < n; i++)
		sbuf_putc(out, set[gen_below(g, (unsigned)ns)]);
}

static void put_kana(struct gen *g, struct sbuf *out, int hira, unsigned syllables)
{
	for (unsigned i = 0; i < syllables; i++) {
		sbuf_puts(out, hira ? PICK(g, hiragana) : PICK(g, katakana));
		if (!hira && i > 0 && i + 1 < syllables && gen_chance(g, 10))
			sbuf_puts(out, "ー");
	}
}

/* The inclusive range of a decimal or yen field: its attributes, else a range rule, else dflt. */
static void num_range(const struct form *f, const struct field *fld, double *lo, double *hi,
		      double dlo, double dhi)
{
	*lo = dlo;
	*hi = dhi;
	for (size_t i = 0; i < f->nrules; i++) {
		const struct rule *ru = &f->rules[i];
		if (ru->kind == RULE_RANGE && ru->field == fld) {
			if (ru->min)
				*lo = atof(ru->min);
			if (ru->max)
				*hi = atof(ru->max);
		}
	}
	if (fld->min_value && atof(fld->min_value) > *lo)
		*lo = atof(fld->min_value);
	if (fld->max_value && atof(fld->max_value) < *hi)
		*hi = atof(fld->max_value);
}

/* A decimal with at most one place in [lo, hi] (in tenths). */
static void put_decimal(struct gen *g, struct sbuf *out, double lo, double hi)
{
	long a = (long)(lo * 10 + 0.5), b = (long)(hi * 10 + 0.5);
	long v = b > a ? a + (long)gen_below(g, (unsigned)(b - a + 1)) : a;
	if (v % 10 == 0 && gen_chance(g, 50))
		sbuf_printf(out, "%ld", v / 10);
	else
		sbuf_printf(out, "%ld.%ld", v / 10, v % 10);
}

static int field_len(const struct field *fld, int dflt_max)
{
	if (fld->length > 0)
		return fld->length;
	if (fld->max == 0)
		return 0;
	int m = fld->max > 0 && fld->max < dflt_max ? fld->max : dflt_max;
	return m;
}

static const char *written_of(const struct record *r)
{
	const char *w = r ? rec_val(r, "written_date") : "";
	return date_valid(w) ? w : "20260315";
}

/* A value by the field's type alone. */
static void value_by_type(struct gen *g, const struct form *f, const struct field *fld,
			  const struct record *r, struct sbuf *out)
{
	switch (fld->type) {
	case FT_DIGITS: {
		int n = fld->length > 0 ? fld->length : field_len(fld, 6);
		if (fld->length <= 0 && n > 1)
			n = 1 + (int)gen_below(g, (unsigned)n);
		if (fld->digit_values) {
			/* mostly the first allowed value ("0": nothing), sometimes the others */
			for (int i = 0; i < n; i++)
				sbuf_putc(out, gen_chance(g, 70) ? fld->digit_values[0]
					  : fld->digit_values[gen_below(g, (unsigned)strlen(fld->digit_values))]);
		} else {
			put_digits(g, out, n, "0123456789");
		}
		break;
	}
	case FT_ALNUM: {
		int n = fld->length > 0 ? fld->length : field_len(fld, 12);
		if (fld->length <= 0 && n > 1)
			n = 1 + (int)gen_below(g, (unsigned)n);
		put_digits(g, out, n, "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789");
		break;
	}
	case FT_PHONE:
		sbuf_printf(out, "00-0000-%04u", gen_below(g, 10000));
		break;
	case FT_TEXT:
		put_phrases(g, out, phrases, ARRAY_SIZE(phrases), 3);
		break;
	case FT_TEXTAREA:
		put_textarea(g, out, 0);
		break;
	case FT_KANA:
		put_kana(g, out, gen_chance(g, 30), 2 + gen_below(g, 6));
		break;
	case FT_DATE: {
		char d[9];
		char to[9];
		gen_ymd_add(written_of(r), -1, to);
		rand_date(g, "20000101", to, d);
		sbuf_puts(out, d);
		break;
	}
	case FT_PDATE: {
		/* onset: YYYYMMDD, YYYYMM, YYYY or 不詳, not after the written date */
		char d[9];
		rand_date(g, "19900101", written_of(r), d);
		switch (gen_below(g, 8)) {
		case 0:
			sbuf_puts(out, "不詳");
			break;
		case 1:
		case 2:
			sbuf_printf(out, "%.4s", d);
			break;
		case 3:
		case 4:
			sbuf_printf(out, "%.6s", d);
			break;
		default:
			sbuf_puts(out, d);
		}
		break;
	}
	case FT_CODE:
		if (fld->codes && fld->codes->n)
			sbuf_puts(out, fld->codes->codes[gen_below(g, (unsigned)fld->codes->n)].value);
		break;
	case FT_BITS: {
		/* a density per field: none, few, some or many boxes; at least one 1 */
		static const unsigned density[] = { 10, 20, 40, 60 };
		unsigned p = density[gen_below(g, 4)];
		int any = 0;
		for (int i = 0; i < fld->length; i++) {
			int one = gen_chance(g, p);
			any |= one;
			sbuf_putc(out, one ? '1' : '0');
		}
		if (!any && fld->length > 0)
			out->s[gen_below(g, (unsigned)fld->length)] = '1';
		break;
	}
	case FT_DECIMAL: {
		double lo, hi;
		num_range(f, fld, &lo, &hi, 0.0, 999.9);
		put_decimal(g, out, lo, hi);
		break;
	}
	case FT_YEN: {
		double lo, hi;
		num_range(f, fld, &lo, &hi, 1, 30000);
		long a = lo < 1 ? 1 : (long)lo, b = (long)hi;
		long v = b > a ? a + (long)gen_below(g, (unsigned)(b - a + 1)) : a;
		if (v >= 100 && gen_chance(g, 70))
			v -= v % 10;
		sbuf_printf(out, "%ld", v);
		break;
	}
	case FT__COUNT:
		break;
	}
}

void gen_value(struct gen *g, const struct form *f, const struct field *fld,
	       const struct record *r, struct sbuf *out)
{
	char d[9], to[9];
	sbuf_reset(out);
	if (fld->max == 0 && fld->length <= 0)
		return;
	switch (sem_of(fld)) {
	case SEM_UNSET:
		break;
	case SEM_INSURER_NO:
		sbuf_puts(out, "99");
		put_digits(g, out, 4, "0123456789");
		break;
	case SEM_INSURED_NO:
		sbuf_puts(out, "99");
		put_digits(g, out, 8, "0123456789");
		break;
	case SEM_CLINIC_CODE:
		/* one test clinic: the settings and every document agree, as they do in a clinic */
		sbuf_puts(out, GEN_CLINIC_CODE);
		break;
	case SEM_PERSON:
	case SEM_STAFF: {
		/* one draw per statement: argument evaluation order is unspecified, and the same
		 * seed must give the same people with every compiler */
		const char *family = PICK(g, family_kanji);
		const char *given = sem_of(fld) == SEM_PERSON ? PICK(g, given_kanji) : PICK(g, staff_kanji);
		unsigned num = 1 + gen_below(g, sem_of(fld) == SEM_PERSON ? 99 : 9);
		sbuf_printf(out, "%s　%s%u", family, given, num);
		break;
	}
	case SEM_KANA_PERSON: {
		int hira = gen_chance(g, 25);
		sbuf_puts(out, hira ? PICK(g, family_hira) : PICK(g, family_kana));
		sbuf_puts(out, "　");
		put_kana(g, out, hira, 2 + gen_below(g, 3));
		break;
	}
	case SEM_KANA_ORG:
		sbuf_puts(out, gen_chance(g, 50) ? "テストイリョウホウジン" : "シケンシンリョウジョ");
		if (gen_chance(g, 50)) {
			sbuf_puts(out, "　");
			put_kana(g, out, 0, 2 + gen_below(g, 3));
		}
		break;
	case SEM_BIRTH:
		rand_date(g, "19200101", "19601231", d);
		sbuf_puts(out, d);
		break;
	case SEM_WRITTEN:
		rand_date(g, "20260101", "20260331", d);
		sbuf_puts(out, d);
		break;
	case SEM_EXAM:
		gen_ymd_add(written_of(r), -(long)gen_below(g, 60), d);
		sbuf_puts(out, d);
		break;
	case SEM_INVOICE:
		rand_date(g, written_of(r), GEN_TODAY, d);
		sbuf_puts(out, d);
		break;
	case SEM_BEFORE:
		gen_ymd_add(written_of(r), -(long)(1 + gen_below(g, 45)), to);
		sbuf_puts(out, to);
		break;
	case SEM_POSTAL:
		sbuf_puts(out, "000");
		put_digits(g, out, 4, "0123456789");
		break;
	case SEM_PHONE:
		sbuf_printf(out, "00-0000-%04u", gen_below(g, 10000));
		break;
	case SEM_ADDRESS:
		sbuf_printf(out, "%s%s%u-%u-%u", gen_chance(g, 50) ? "試験県検証市" : "模擬県テスト町",
			    gen_chance(g, 30) ? "架空,番地" : "", 1 + gen_below(g, 9),
			    1 + gen_below(g, 20), 1 + gen_below(g, 30));
		break;
	case SEM_INSURER_NAME:
		sbuf_puts(out, gen_chance(g, 50) ? "試験市" : "検証町介護保険（テスト）");
		break;
	case SEM_CLINIC_NAME:
		sbuf_printf(out, "%s%u", gen_chance(g, 50) ? "テスト診療所" : "試験クリニック",
			    1 + gen_below(g, 9));
		break;
	case SEM_BANK_NAME:
		sbuf_puts(out, gen_chance(g, 50) ? "試験銀行" : "テスト信用金庫");
		break;
	case SEM_BRANCH_NAME:
		sbuf_puts(out, gen_chance(g, 50) ? "検証支店" : "模擬出張所");
		break;
	case SEM_LOGIN:
		sbuf_printf(out, "test%04u", gen_below(g, 10000));
		break;
	case SEM_DOCTOR_NO:
		sbuf_printf(out, "D%04u", gen_below(g, 10000));
		break;
	case SEM_PATH:
		/* the terminal folders stay at their defaults under the data directory */
		if (strcmp(fld->id, "pkcs11_module") == 0)
			sbuf_puts(out, "/usr/lib/iken-test/pkcs11-test.so");
		break;
	case SEM_SECONDS:
		sbuf_printf(out, "%u", 2 + gen_below(g, 4)); /* a demo sees results within seconds */
		break;
	case SEM_HOURS:
		sbuf_printf(out, "%u", 1 + gen_below(g, 72));
		break;
	case SEM_REQUEST_NO:
		sbuf_printf(out, "TEST-%06u", gen_below(g, 1000000));
		break;
	case SEM_FILE_ID:
		sbuf_printf(out, "IKNsubm01TEST%08u", gen_below(g, 100000000));
		break;
	case SEM_HEIGHT:
		put_decimal(g, out, 135.0, 185.0);
		break;
	case SEM_WEIGHT:
		put_decimal(g, out, 30.0, 95.0);
		break;
	case SEM_DIAG:
		put_phrases(g, out, diag_phrases, ARRAY_SIZE(diag_phrases), 1);
		break;
	case SEM_SITE:
		put_phrases(g, out, site_phrases, ARRAY_SIZE(site_phrases), 2);
		break;
	case SEM_REMARKS:
		if (fld->type == FT_TEXTAREA)
			put_textarea(g, out, 1);
		else
			value_by_type(g, f, fld, r, out);
		break;
	case SEM_NONE:
		value_by_type(g, f, fld, r, out);
		break;
	}
	if (fld->type == FT_TEXT || fld->type == FT_TEXTAREA || fld->type == FT_KANA ||
	    fld->type == FT_ALNUM)
		trunc_chars(out, fld->max);
}

void gen_set_nonempty(struct gen *g, const struct form *f, struct record *r,
		      const struct field *fld)
{
	struct sbuf v = { 0 };
	gen_value(g, f, fld, r, &v);
	rec_set(r, fld->id, v.s ? v.s : "");
	sbuf_free(&v);
}

void gen_set_empty(struct gen *g, struct record *r, const struct field *fld)
{
	if (fld->type == FT_BITS) {
		char *z = xmalloc((size_t)fld->length + 1);
		memset(z, '0', (size_t)fld->length);
		z[fld->length] = '\0';
		rec_set(r, fld->id, z);
		free(z);
	} else if (fld->type == FT_CODE || fld->type == FT_YEN) {
		rec_set(r, fld->id, gen_chance(g, 50) ? "0" : "");
	} else {
		rec_set(r, fld->id, "");
	}
}

/* --- references and conditions --- */

void gen_put_digit(struct record *r, const struct fref *ref, char c)
{
	const struct field *fld = ref->field;
	const char *v = rec_val(r, fld->id);
	size_t len = strlen(v), want = (size_t)(fld->length > 0 ? fld->length : ref->digit);
	if (want < (size_t)ref->digit)
		want = (size_t)ref->digit;
	if (len > want)
		want = len;
	char *s = xmalloc(want + 1);
	memset(s, '0', want);
	memcpy(s, v, len);
	s[want] = '\0';
	s[ref->digit - 1] = c;
	rec_set(r, fld->id, s);
	free(s);
}

/* The characters a digit of the field may hold. */
static const char *digit_set(const struct field *fld)
{
	if (fld->type == FT_BITS)
		return "01";
	return fld->digit_values ? fld->digit_values : "0123456789";
}

void gen_ref_set(struct gen *g, const struct form *f, struct record *r, const struct fref *ref)
{
	if (ref->digit) {
		const char *set = digit_set(ref->field);
		char c;
		do
			c = set[gen_below(g, (unsigned)strlen(set))];
		while (c == '0');
		gen_put_digit(r, ref, c);
	} else {
		gen_set_nonempty(g, f, r, ref->field);
	}
}

void gen_ref_clear(struct gen *g, struct record *r, const struct fref *ref)
{
	if (ref->digit)
		gen_put_digit(r, ref, '0');
	else
		gen_set_empty(g, r, ref->field);
}

static const char *ref_val(const struct record *r, const struct fref *ref, char buf[2])
{
	const char *v = rec_val(r, ref->field->id);
	if (!ref->digit)
		return v;
	buf[0] = strlen(v) >= (size_t)ref->digit ? v[ref->digit - 1] : '0';
	buf[1] = '\0';
	return buf;
}

int gen_ref_is_set(const struct record *r, const struct fref *ref)
{
	char buf[2];
	const char *v = ref_val(r, ref, buf);
	if (ref->digit)
		return v[0] != '0';
	return !field_value_empty(ref->field, v);
}

int gen_cond_holds(const struct record *r, const struct cond *c)
{
	char buf[2];
	const char *v;
	switch (c->op) {
	case COND_NONE:
		return 1;
	case COND_SET:
		return gen_ref_is_set(r, &c->ref);
	case COND_EMPTY:
		return !gen_ref_is_set(r, &c->ref);
	case COND_EQ:
	case COND_NE:
		v = ref_val(r, &c->ref, buf);
		if (!*v && c->ref.field->type == FT_CODE)
			v = "0";
		return (strcmp(v, c->value) == 0) == (c->op == COND_EQ);
	}
	return 0;
}

/* --- repair --- */

static int is_pinned(const char *const *pinned, const struct field *fld)
{
	for (size_t i = 0; pinned && pinned[i]; i++)
		if (strcmp(pinned[i], fld->id) == 0)
			return 1;
	return 0;
}

/* "set" as <empty-when> sees it: an amount of 0 counts as empty there. */
static int set_for_empty_when(const struct field *fld, const char *v)
{
	if (fld->type == FT_YEN && strcmp(v, "0") == 0)
		return 0;
	return !field_value_empty(fld, v);
}

static int date_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (!la || !lb || strspn(a, "0123456789") != la || strspn(b, "0123456789") != lb)
		return 2;
	int c = strncmp(a, b, la < lb ? la : lb);
	return c < 0 ? -1 : c > 0;
}

/* Makes a condition stop holding by changing its reference (when that is not pinned). */
static int cond_break(struct gen *g, const struct form *f, struct record *r, const struct cond *c,
		      const char *const *pinned)
{
	const struct fref *ref = &c->ref;
	if (c->op == COND_NONE || is_pinned(pinned, ref->field))
		return 0;
	for (int tries = 0; tries < 40 && gen_cond_holds(r, c); tries++) {
		if (ref->digit) {
			const char *set = digit_set(ref->field);
			gen_put_digit(r, ref, set[gen_below(g, (unsigned)strlen(set))]);
		} else if (tries % 2 && !ref->field->required) {
			gen_set_empty(g, r, ref->field);
		} else {
			gen_set_nonempty(g, f, r, ref->field);
		}
	}
	return !gen_cond_holds(r, c);
}

static int repair_rule(struct gen *g, const struct form *f, struct record *r, const struct rule *ru,
		       const char *const *pinned)
{
	const struct field *fld = ru->field;
	switch (ru->kind) {
	case RULE_REQUIRED_WHEN:
		if (!gen_cond_holds(r, &ru->cond) || !field_value_empty(fld, rec_val(r, fld->id)))
			return 0;
		if (!is_pinned(pinned, fld)) {
			gen_set_nonempty(g, f, r, fld);
			return 1;
		}
		return cond_break(g, f, r, &ru->cond, pinned);
	case RULE_EMPTY_WHEN:
		if (!gen_cond_holds(r, &ru->cond) || !set_for_empty_when(fld, rec_val(r, fld->id)))
			return 0;
		if (!is_pinned(pinned, fld)) {
			gen_set_empty(g, r, fld);
			return 1;
		}
		return cond_break(g, f, r, &ru->cond, pinned);
	case RULE_AT_LEAST_ONE: {
		if (!gen_cond_holds(r, &ru->cond))
			return 0;
		size_t free_refs = 0;
		for (size_t i = 0; i < ru->nrefs; i++) {
			if (gen_ref_is_set(r, &ru->refs[i]))
				return 0;
			if (!is_pinned(pinned, ru->refs[i].field))
				free_refs++;
		}
		if (!free_refs)
			return 0;
		unsigned k = gen_below(g, (unsigned)free_refs);
		for (size_t i = 0; i < ru->nrefs; i++) {
			if (is_pinned(pinned, ru->refs[i].field))
				continue;
			if (k-- == 0) {
				gen_ref_set(g, f, r, &ru->refs[i]);
				break;
			}
		}
		return 1;
	}
	case RULE_EXCLUSIVE: {
		if (!gen_ref_is_set(r, &ru->ref))
			return 0;
		int changed = 0;
		int clear_ref = !is_pinned(pinned, ru->ref.field) && gen_chance(g, 30);
		for (size_t i = 0; i < ru->nrefs; i++) {
			if (!gen_ref_is_set(r, &ru->refs[i]))
				continue;
			if (clear_ref) {
				/* another one stays set, so an at-least-one of them still holds */
				gen_ref_clear(g, r, &ru->ref);
				return 1;
			}
			if (!is_pinned(pinned, ru->refs[i].field)) {
				gen_ref_clear(g, r, &ru->refs[i]);
				changed = 1;
			}
		}
		return changed;
	}
	case RULE_DATE_ORDER: {
		const char *a = rec_val(r, fld->id);
		const char *b = ru->field2 ? rec_val(r, ru->field2->id) : GEN_TODAY;
		int c = date_cmp(a, b);
		if (c == 2 || c < 0 || (c == 0 && !ru->strict))
			return 0;
		char fix[9];
		if (!is_pinned(pinned, fld) && strlen(b) == 8 && date_valid(b)) {
			gen_ymd_add(b, ru->strict ? -1 : 0, fix);
			rec_set(r, fld->id, fix);
			return 1;
		}
		if (ru->field2 && !is_pinned(pinned, ru->field2) && strlen(a) == 8 && date_valid(a)) {
			gen_ymd_add(a, ru->strict ? 1 : 0, fix);
			rec_set(r, ru->field2->id, fix);
			return 1;
		}
		return 0;
	}
	case RULE_RANGE: {
		const char *v = rec_val(r, fld->id);
		if (!*v || is_pinned(pinned, fld))
			return 0;
		double x = atof(v);
		if ((ru->min && x < atof(ru->min)) || (ru->max && x > atof(ru->max))) {
			rec_set(r, fld->id, ru->min ? ru->min : ru->max);
			return 1;
		}
		return 0;
	}
	default:
		return 0;
	}
}

void gen_repair(struct gen *g, const struct formset *fs, const struct form *f, struct record *r,
		const char *const *pinned)
{
	for (int pass = 0; pass < 32; pass++) {
		int changed = 0;
		for (size_t i = 0; i < f->nrules; i++)
			changed |= repair_rule(g, f, r, &f->rules[i], pinned);
		derive_record(fs, f, r, 0);
		if (!changed)
			break;
	}
}

/* --- whole records --- */

static int is_derived(const struct form *f, const struct field *fld)
{
	for (size_t i = 0; i < f->nrules; i++)
		if (f->rules[i].kind >= RULE_DERIVE_AGE && f->rules[i].field == fld)
			return 1;
	return 0;
}

static int is_required_when_target(const struct form *f, const struct field *fld)
{
	for (size_t i = 0; i < f->nrules; i++)
		if (f->rules[i].kind == RULE_REQUIRED_WHEN && f->rules[i].field == fld)
			return 1;
	return 0;
}

void gen_print_problems(FILE *fp, const struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		fprintf(fp, "  %s: %s: %s\n", ps->v[i].field ? ps->v[i].field->id : "(record)",
			ps->v[i].sev == SEV_ERROR ? "error" : "warning", ps->v[i].msg_en);
}

/* Fields whose value the others depend on, generated first in this order. */
static const char *const anchors[] = {
	"written_date", "invoice_date", "birth_date", "last_exam_date", "application_date",
	"request_date",
};

static void gen_field(struct gen *g, const struct form *f, struct record *r, const struct field *fld)
{
	if (fld->fill != FILL_NONE || is_derived(f, fld)) {
		rec_set(r, fld->id, "");
		return;
	}
	int empty;
	if (fld->type == FT_BITS)
		/* a single box is mostly unchecked; a group mostly has something checked */
		empty = gen_chance(g, fld->length == 1 ? 75 : 30);
	else
		empty = !fld->required && gen_chance(g, 25);
	/* a text that a check box or choice asks for mostly comes when asked (by gen_repair) */
	if (!fld->required && is_required_when_target(f, fld))
		empty = gen_chance(g, 85);
	if (empty)
		gen_set_empty(g, r, fld);
	else
		gen_set_nonempty(g, f, r, fld);
}

struct record *gen_record(struct gen *g, const struct formset *fs, const struct form *f,
			  unsigned long idx)
{
	return gen_record_for(g, fs, f, idx, NULL);
}

struct record *gen_record_for(struct gen *g, const struct formset *fs, const struct form *f,
			      unsigned long idx, const struct record *opinion)
{
	struct record *r = rec_new(f->id, f->layout_version);
	const char **pinned = xcalloc(f->nfields + 1, sizeof(*pinned));
	size_t npinned = 0;
	for (size_t i = 0; opinion && i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (fld->prefill && strncmp(fld->prefill, "opinion.", 8) == 0) {
			rec_set(r, fld->id, rec_val(opinion, fld->prefill + 8));
			pinned[npinned++] = fld->id;
		}
	}
	const struct field *cat = form_field(f, "fee_category");
	const char *times = opinion ? rec_val(opinion, "times_written") : "";
	if (cat && cat->type == FT_CODE && (strcmp(times, "1") == 0 || strcmp(times, "2") == 0)) {
		/* at home (mostly) or in a facility × first time or continued */
		int facility = gen_chance(g, 30);
		rec_set(r, cat->id, strcmp(times, "1") == 0 ? (facility ? "3" : "1") : (facility ? "4" : "2"));
		pinned[npinned++] = cat->id;
	}
	for (size_t i = 0; i < ARRAY_SIZE(anchors); i++) {
		const struct field *fld = form_field(f, anchors[i]);
		if (fld && !rec_get(r, fld->id))
			gen_field(g, f, r, fld);
	}
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (!rec_get(r, fld->id))
			gen_field(g, f, r, fld);
	}
	/* keys unique within a run: 7919 is prime to 10^8, so idx → number is one-to-one */
	const struct field *key = form_field(f, "insured_no");
	if (key && key->type == FT_DIGITS && key->length == 10 && !(opinion && key->prefill)) {
		char v[11];
		snprintf(v, sizeof(v), "99%08lu", (idx * 7919ul + g->key_base) % 100000000ul);
		rec_set(r, key->id, v);
	}
	key = form_field(f, "login");
	if (key) {
		char v[24];
		snprintf(v, sizeof(v), "test%04lu", idx + 1);
		rec_set(r, key->id, v);
	}
	gen_repair(g, fs, f, r, pinned);
	free(pinned);

	struct problems ps = { 0 };
	check_record(fs, f, r, CHECK_STORED, GEN_TODAY, &ps);
	int bad = ps.nerrors > 0;
	for (size_t i = 0; i < ps.n; i++)
		if (ps.v[i].sev == SEV_WARNING && (!ps.v[i].field || sem_of(ps.v[i].field) != SEM_REMARKS))
			bad = 1;
	if (bad) {
		fprintf(stderr, "gen_records: generated %s record %lu is not valid:\n", f->id, idx);
		gen_print_problems(stderr, &ps);
		abort();
	}
	problems_free(&ps);
	return r;
}
