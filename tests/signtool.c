/* signtool: the signing module from the command line, for tests/sign.sh.
 *
 *   signtool sign (--pkcs11 MODULE [--token LABEL|slot:N] | --pkcs12 FILE.p12) [--pin-file F]
 *                 [--doctor NAME] [--data-elem NAME] [--time T] IN.xml OUT.xml
 *   signtool verify [--ca CA.pem] [--crl CRL] [--data-elem NAME] [--time T] IN.xml
 *
 * T is YYYYMMDDHHMMSS (local time) or Unix seconds; default: the project clock (IKEN_TEST_NOW).
 * Without --pin-file the PIN is read from the terminal without echo. OUT.xml is written
 * (atomically) only when signing succeeded. Exit 0 success, 1 refused or failed, 2 usage. */
#include "config.h"
#include "errcode.h"
#include "exchange/sign.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static int usage(void)
{
	fprintf(stderr,
		"usage: signtool sign (--pkcs11 MODULE [--token LABEL|slot:N] | --pkcs12 FILE) [--pin-file F]\n"
		"                     [--doctor NAME] [--data-elem NAME] [--time T] IN.xml OUT.xml\n"
		"       signtool verify [--ca CA.pem] [--crl CRL] [--data-elem NAME] [--time T] IN.xml\n");
	return 2;
}

static int parse_time(const char *s, time_t *out)
{
	uint64_t v;
	if (strlen(s) == 14 && strspn(s, "0123456789") == 14) {
		struct tm tm = { 0 };
		if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			   &tm.tm_min, &tm.tm_sec) != 6)
			return -1;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		tm.tm_isdst = -1;
		*out = mktime(&tm);
		return 0;
	}
	if (parse_u64(s, &v))
		return -1;
	*out = (time_t)v;
	return 0;
}

enum { OPT_PKCS11 = 1, OPT_TOKEN, OPT_PKCS12, OPT_PIN_FILE, OPT_DOCTOR, OPT_DATA_ELEM, OPT_TIME, OPT_CA, OPT_CRL };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pkcs11", required_argument, NULL, OPT_PKCS11 },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "pkcs12", required_argument, NULL, OPT_PKCS12 },
		{ "pin-file", required_argument, NULL, OPT_PIN_FILE },
		{ "doctor", required_argument, NULL, OPT_DOCTOR },
		{ "data-elem", required_argument, NULL, OPT_DATA_ELEM },
		{ "time", required_argument, NULL, OPT_TIME },
		{ "ca", required_argument, NULL, OPT_CA },
		{ "crl", required_argument, NULL, OPT_CRL },
		{ NULL, 0, NULL, 0 },
	};
	const char *p11 = NULL, *token = NULL, *p12 = NULL, *pin_file = NULL, *doctor = NULL;
	const char *data_elem = "DocumentData", *ca = NULL, *crl = NULL;
	time_t now = iken_now();
	struct sbuf err = { 0 }, out = { 0 }, subject = { 0 };
	struct sign_key *key = NULL;
	char pin[SIGN_PIN_MAX];
	char *xml = NULL;
	size_t len = 0;
	int rc = 1, c;

	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_PKCS11: p11 = optarg; break;
		case OPT_TOKEN: token = optarg; break;
		case OPT_PKCS12: p12 = optarg; break;
		case OPT_PIN_FILE: pin_file = optarg; break;
		case OPT_DOCTOR: doctor = optarg; break;
		case OPT_DATA_ELEM: data_elem = optarg; break;
		case OPT_TIME:
			if (parse_time(optarg, &now))
				return usage();
			break;
		case OPT_CA: ca = optarg; break;
		case OPT_CRL: crl = optarg; break;
		default: return usage();
		}
	}
	int nargs = argc - optind;
	if (strcmp(cmd, "verify") == 0) {
		if (nargs != 1)
			return usage();
		int r = read_file(argv[optind], SIGN_MAX_FILE, &xml, &len);
		if (r) {
			fprintf(stderr, "signtool: %s: %s\n", argv[optind], iken_strerror(r));
			return 1;
		}
		r = sign_verify(xml, len, data_elem, ca, crl, now, &out);
		fputs(out.s ? out.s : "", stdout);
		free(xml);
		sbuf_free(&out);
		return r ? 1 : 0;
	}
	if (strcmp(cmd, "sign") != 0 || nargs != 2 || !p11 == !p12)
		return usage();
	const char *in_path = argv[optind], *out_path = argv[optind + 1];
	int r = read_file(in_path, SIGN_MAX_FILE, &xml, &len);
	if (r) {
		fprintf(stderr, "signtool: %s: %s\n", in_path, iken_strerror(r));
		goto cleanup;
	}
	r = sign_read_pin(pin_file, p11 ? "PIN: " : "Password: ", pin, sizeof(pin));
	if (r) {
		fprintf(stderr, "signtool: PIN: %s\n", sign_strerror(r));
		goto cleanup;
	}
	r = p11 ? sign_key_pkcs11(p11, pin, token, &key, &err) : sign_key_pkcs12(p12, pin, &key, &err);
	OPENSSL_cleanse(pin, sizeof(pin));
	if (!r)
		r = sign_check_cert(sign_key_cert(key), now, doctor, &subject, &err);
	if (subject.len)
		printf("signer: %s\n", subject.s);
	if (!r)
		r = sign_envelope(xml, len, data_elem, key, now, &out, &err);
	if (!r)
		r = write_file_atomic(out_path, out.s, out.len, 0644);
	if (r) {
		for (char *line = err.s, *nl; line && *line; line = nl + 1) {
			nl = strchr(line, '\n');
			if (!nl)
				nl = line + strlen(line) - 1;
			fprintf(stderr, "signtool: %.*s\n", (int)(nl - line + (*nl != '\n')), line);
		}
		fprintf(stderr, "signtool: %s (%d)\n", sign_strerror(r), r);
		goto cleanup;
	}
	rc = 0;
cleanup:
	OPENSSL_cleanse(pin, sizeof(pin));
	sign_key_free(key);
	free(xml);
	sbuf_free(&err);
	sbuf_free(&out);
	sbuf_free(&subject);
	return rc;
}
