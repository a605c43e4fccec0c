/*
 * token.c: delegation tokens (see token.h): the issuer keyring of
 * CONFIG/keys/issuers/, token_verify(), the one place a token's claims are
 * parsed and bound to a call, and delegation_covers(), the token's half of
 * "the effective permission is the policy's decision intersected with the
 * token's scope".
 *
 * paseto.c owns the token's bytes (structure, base64url, signature); this
 * file owns what the signed payload means.  The scope's `when` conditions are
 * compiled by policy.c, so a condition in a token means exactly what it
 * means in a rule.
 *
 * Choices made here, where SPEC.md leaves room:
 * - Checks run in one fixed order: size, footer, key, signature, claim
 *   types, audience, agent, time.  Nothing in the payload is read before
 *   its signature verifies; the footer's kid is read unverified only to pick
 *   the key (the signature covers the footer too).
 * - A non-empty footer must be a JSON object; its "kid", when present, a
 *   string.  Other footer members and unknown claims are allowed: PASETO
 *   reserves some and issuers add their own.
 * - iss is required and must equal the key's issuer (KID.json "issuer",
 *   default the kid): a key speaks for one issuer only.  jti is required
 *   only when the key is single-use, iat and nbf are optional, and iat is
 *   not compared with the clock (exp and nbf bound the lifetime).
 * - The claim strings we read are at most 256 bytes and the scope at most
 *   256 entries: real tokens are far smaller, and every refusal that quotes
 *   a claim stays one readable line.
 * - Times are RFC 3339 exactly as section 5.6 spells them, with an upper
 *   case "T" and "Z", at most 9 fraction digits (dropped: claims are whole
 *   seconds) and second 60 allowed (a leap second counts as the next one).
 * - keys/issuers/ holds KID.pem (the key) and optional KID.json (its
 *   options); hidden files and other names (a README) are ignored, so the
 *   directory can carry notes.  A file holding a private key is refused:
 *   issuers' secrets never belong in the broker's config.
 * - Strings from a token or a file that appear in an error pass through
 *   shown(), so a refusal can neither break a log line nor grow unbounded.
 */
#include "token.h"
#include "fileio.h"
#include "jsonrpc.h"
#include "paseto.h"
#include "policy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define ISSUERS_DIR          "keys/issuers"
#define ISSUER_FILE_MAX      (16 * 1024)
#define ISSUERS_MAX_FILES    1024
#define KID_MAX              64
#define KID_RULE             "1 to 64 of A-Z a-z 0-9 . _ -"
#define TOKEN_JSON_MAX_DEPTH 16
#define TOKEN_NO_KID_MAX_KEYS 16
#define CLAIM_MAX            256
#define SCOPE_MAX            256
#define SHOWN_MAX            64    /* bytes of a quoted value shown in an error */

/* ---------------------------------------------------------------- helpers */

/*
 * s as it may appear inside an error message: printable ASCII kept, every
 * other byte (and '\\', and '"' when the message puts s in quotes) as \xNN,
 * cut after SHOWN_MAX bytes with "...".  buf needs SHOWN_BUF bytes.
 */
#define SHOWN_BUF (SHOWN_MAX * 4 + 4)
static const char *shown_as(const char *s, char buf[SHOWN_BUF], bool quoted)
{
	size_t o = 0, i;
	for (i = 0; s[i] && i < SHOWN_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && !(quoted && c == '"'))
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, SHOWN_BUF - o, "\\x%02x", c);
	}
	if (s[i])
		o += (size_t)snprintf(buf + o, SHOWN_BUF - o, "...");
	buf[o] = '\0';
	return buf;
}

static const char *shown(const char *s, char buf[SHOWN_BUF])
{
	return shown_as(s, buf, true);
}

static bool valid_kid(const char *s, size_t n)
{
	if (n == 0 || n > KID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(((const struct issuer_key *)a)->kid, ((const struct issuer_key *)b)->kid);
}

static const struct issuer_key *find_key(const struct issuer_keyring *kr, const char *kid)
{
	struct issuer_key probe = { .kid = (char *)kid };
	if (!kr || kr->n == 0)
		return NULL;
	return bsearch(&probe, kr->keys, kr->n, sizeof *kr->keys, cmp_key);
}

/*
 * Parse untrusted JSON text that must be an object: the depth is counted
 * before jansson recurses, duplicate keys are refused.  what names the text
 * in errors ("the token's claims", "keys/issuers/idp.json").
 */
static json_t *parse_object(const char *text, size_t len, const char *what,
                            struct tg_error *err)
{
	if (json_text_depth(text, len, TOKEN_JSON_MAX_DEPTH) > TOKEN_JSON_MAX_DEPTH) {
		tg_err(err, "%s: nested deeper than %d levels", what, TOKEN_JSON_MAX_DEPTH);
		return NULL;
	}
	json_error_t jerr;
	json_t *v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v) {
		char sb[SHOWN_BUF];
		tg_err(err, "%s: invalid JSON: %s (line %d, column %d)", what, shown_as(jerr.text, sb, false),
		       jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(v)) {
		json_decref(v);
		tg_err(err, "%s: not a JSON object", what);
		return NULL;
	}
	return v;
}

/* ------------------------------------------------------------ the keyring */

void issuers_free(struct issuer_keyring *kr)
{
	if (!kr)
		return;
	for (size_t i = 0; i < kr->n; i++) {
		free(kr->keys[i].kid);
		free(kr->keys[i].issuer);
	}
	free(kr->keys);
	memset(kr, 0, sizeof *kr);
}

/* OpenSSL would otherwise prompt on the terminal for a passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf; (void)size; (void)rwflag; (void)u;
	return -1;
}

/* The raw Ed25519 public key of a SubjectPublicKeyInfo PEM text. */
static int parse_public_pem(const char *display, const char *pem, size_t len,
                            unsigned char pk[32], struct tg_error *err)
{
	/* Checked first: a PEM reader would skip the private block and read a
	   public one beside it, leaving the secret in the config unnoticed. */
	if (memmem(pem, len, "PRIVATE KEY", strlen("PRIVATE KEY")))
		return tg_err(err, "%s: holds a private key; only the issuer's public key belongs here",
		              display);
	int rc = -1;
	size_t pk_len = 32;
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL) : NULL;
	if (!bio)
		tg_err(err, "%s: out of memory", display);
	else if (!pkey)
		tg_err(err, "%s: not an Ed25519 public key (no PEM public key in it)", display);
	else if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
		tg_err(err, "%s: not an Ed25519 public key (key type %s)", display,
		       EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "unknown");
	else if (EVP_PKEY_get_raw_public_key(pkey, pk, &pk_len) != 1 || pk_len != 32)
		tg_err(err, "%s: cannot extract the raw Ed25519 public key", display);
	else
		rc = 0;
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	ERR_clear_error();
	return rc;
}

static int load_pem(int dfd, const char *name, struct issuer_key *key, struct tg_error *err)
{
	char display[sizeof ISSUERS_DIR + NAME_MAX + 2], sb[SHOWN_BUF];
	size_t kid_len = strlen(name) - 4;
	snprintf(display, sizeof display, "%s/%s", ISSUERS_DIR, name);
	if (!valid_kid(name, kid_len))
		return tg_err(err, "%s/%s: the key id (the file name without .pem) must be %s",
		              ISSUERS_DIR, shown(name, sb), KID_RULE);
	char *pem = NULL;
	size_t len = 0;
	if (fileio_read_at(dfd, name, display, ISSUER_FILE_MAX, &pem, &len, err) < 0)
		return -1;
	int rc = parse_public_pem(display, pem, len, key->pk, err);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (rc < 0)
		return -1;
	key->kid = strndup(name, kid_len);
	key->issuer = strndup(name, kid_len);
	key->single_use = false;
	if (!key->kid || !key->issuer)
		return tg_err(err, "%s: out of memory", display);
	return 0;
}

/* KID.json: {"issuer": "...", "single_use": bool}, both optional. */
static int load_options(int dfd, const char *name, struct issuer_keyring *kr,
                        struct tg_error *err)
{
	char display[sizeof ISSUERS_DIR + NAME_MAX + 2], sb[SHOWN_BUF];
	snprintf(display, sizeof display, "%s/%s", ISSUERS_DIR, name);
	char *kid = strndup(name, strlen(name) - 5);
	if (!kid)
		return tg_err(err, "%s: out of memory", display);
	struct issuer_key *key = (struct issuer_key *)find_key(kr, kid);
	if (!key) {
		tg_err(err, "%s: there is no key %s.pem beside it", display, shown(kid, sb));
		free(kid);
		return -1;
	}
	free(kid);

	char *text = NULL;
	size_t len = 0;
	if (fileio_read_at(dfd, name, display, ISSUER_FILE_MAX, &text, &len, err) < 0)
		return -1;
	json_t *doc = parse_object(text, len, display, err);
	free(text);
	if (!doc)
		return -1;
	int rc = -1;
	const char *field;
	json_t *v;
	json_object_foreach(doc, field, v) {
		if (strcmp(field, "issuer") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0) {
				tg_err(err, "%s: issuer: must be a non-empty string", display);
				goto out;
			}
			if (json_string_length(v) > CLAIM_MAX) {
				tg_err(err, "%s: issuer: longer than %d bytes", display, CLAIM_MAX);
				goto out;
			}
			char *s = strdup(json_string_value(v));
			if (!s) {
				tg_err(err, "%s: out of memory", display);
				goto out;
			}
			free(key->issuer);
			key->issuer = s;
		} else if (strcmp(field, "single_use") == 0) {
			if (!json_is_boolean(v)) {
				tg_err(err, "%s: single_use: must be true or false", display);
				goto out;
			}
			key->single_use = json_is_true(v);
		} else {
			tg_err(err, "%s: unknown field \"%s\" (expected \"issuer\" or \"single_use\")",
			       display, shown(field, sb));
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* The .pem and .json names of the directory, sorted (so the first error
   reported never depends on the file system's order). */
static int list_issuer_files(DIR *dir, char ***names, size_t *n, struct tg_error *err)
{
	*names = NULL;
	*n = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(dir);
		if (!de) {
			if (errno)
				return tg_err_errno(err, "%s: readdir", ISSUERS_DIR);
			break;
		}
		if (de->d_name[0] == '.' ||
		    !(has_suffix(de->d_name, ".pem") || has_suffix(de->d_name, ".json")))
			continue;
		if (*n == ISSUERS_MAX_FILES)
			return tg_err(err, "%s: more than %d key and option files", ISSUERS_DIR,
			              ISSUERS_MAX_FILES);
		char **nv = realloc(*names, (*n + 1) * sizeof *nv);
		if (!nv)
			return tg_err(err, "%s: out of memory", ISSUERS_DIR);
		*names = nv;
		if (!(nv[*n] = strdup(de->d_name)))
			return tg_err(err, "%s: out of memory", ISSUERS_DIR);
		(*n)++;
	}
	if (*n)
		qsort(*names, *n, sizeof **names, cmp_str);
	return 0;
}

int issuers_load(const char *config_dir, struct issuer_keyring *kr, struct tg_error *err)
{
	memset(kr, 0, sizeof *kr);
	int root = open(config_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return tg_err_errno(err, "%s", config_dir);
	int dfd = openat(root, ISSUERS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int saved = errno;
	close(root);
	if (dfd < 0) {
		/* Deployments without delegation have no keys at all. */
		if (saved == ENOENT)
			return 0;
		errno = saved;
		return tg_err_errno(err, "%s", ISSUERS_DIR);
	}
	DIR *dir = fdopendir(dfd);
	if (!dir) {
		tg_err_errno(err, "%s", ISSUERS_DIR);
		close(dfd);
		return -1;
	}

	char **names = NULL;
	size_t n = 0;
	int rc = -1;
	if (list_issuer_files(dir, &names, &n, err) < 0)
		goto out;
	size_t npem = 0;
	for (size_t i = 0; i < n; i++)
		npem += has_suffix(names[i], ".pem");
	if (npem && !(kr->keys = calloc(npem, sizeof *kr->keys))) {
		tg_err(err, "%s: out of memory", ISSUERS_DIR);
		goto out;
	}
	/* Keys first, so that every KID.json can find the key it configures. */
	for (size_t i = 0; i < n; i++) {
		if (!has_suffix(names[i], ".pem"))
			continue;
		if (load_pem(dirfd(dir), names[i], &kr->keys[kr->n], err) < 0) {
			/* load_pem may have filled part of the entry. */
			kr->n++;
			goto out;
		}
		kr->n++;
	}
	/* "a.pem" sorts after "a-b.pem" while "a" sorts before "a-b". */
	if (kr->n)
		qsort(kr->keys, kr->n, sizeof *kr->keys, cmp_key);
	for (size_t i = 0; i < n; i++)
		if (has_suffix(names[i], ".json") && load_options(dirfd(dir), names[i], kr, err) < 0)
			goto out;
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(dir);
	if (rc < 0)
		issuers_free(kr);
	return rc;
}

/* ------------------------------------------------------------ RFC 3339 */

static bool read_digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar, 0 <= y <= 9999. */
static int64_t days_since_epoch(int y, int m, int d)
{
	/* The leap years among 0 .. y-1, year 0 being one: those among
	   1 .. y-1+400 (a whole 400-year cycle later, so that y = 0 divides
	   no negative number) less the cycle's 97, plus year 0. */
	int64_t s = (int64_t)y - 1 + 400;
	int64_t leaps = s / 4 - s / 100 + s / 400 - 97 + 1;
	int64_t days = (int64_t)y * 365 + leaps;
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	days += before[m - 1] + (m > 2 && is_leap(y)) + (d - 1);
	/* 1970-01-01 is day 719528 counted from 0000-01-01. */
	return days - 719528;
}

int rfc3339_parse(const char *s, int64_t *out)
{
	int Y, M, D, h, mi, sec;
	if (!s || strnlen(s, 64) < 20)
		return -1;
	if (!read_digits(s, 4, &Y) || s[4] != '-' || !read_digits(s + 5, 2, &M) || s[7] != '-' ||
	    !read_digits(s + 8, 2, &D) || s[10] != 'T' || !read_digits(s + 11, 2, &h) ||
	    s[13] != ':' || !read_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !read_digits(s + 17, 2, &sec))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		int nd = 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			nd++;
		if (nd < 1 || nd > 9)
			return -1;
	}
	int offset = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!read_digits(p + 1, 2, &oh) || p[3] != ':' || !read_digits(p + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
		p += 6;
	} else {
		return -1;
	}
	if (*p != '\0')
		return -1;
	if (M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59 || sec > 60)
		return -1;
	*out = days_since_epoch(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - offset;
	return 0;
}

/* epoch seconds as "YYYY-MM-DDTHH:MM:SSZ", for refusals that show a time
   (the buffer is sized for any int the compiler can imagine). */
#define TIME_BUF 80
static const char *format_utc(int64_t t, char buf[TIME_BUF])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, TIME_BUF, "@%lld", (long long)t);
		return buf;
	}
	snprintf(buf, TIME_BUF, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

/* ------------------------------------------------------------ verifying */

void delegation_clear(struct delegation *d)
{
	if (!d)
		return;
	free(d->sub);
	free(d->iss);
	free(d->jti);
	free(d->kid);
	free(d->agent);
	free(d->aud);
	for (size_t i = 0; i < d->nscope; i++) {
		free(d->scope[i].pattern);
		policy_when_free(d->scope[i].when);
	}
	free(d->scope);
	memset(d, 0, sizeof *d);
}

/*
 * The kid of the (unverified) footer: *kid NULL when the token has no
 * footer or the footer no kid.  *doc keeps the string alive.
 */
static int footer_kid(const char *token, size_t len, json_t **doc, const char **kid,
                      struct tg_error *err)
{
	char *footer = NULL;
	size_t flen = 0;
	*doc = NULL;
	*kid = NULL;
	struct tg_error perr;
	if (paseto_v4_peek_footer(token, len, &footer, &flen, &perr) < 0)
		return tg_err(err, "invalid token: %s", perr.msg);
	if (flen == 0) {
		free(footer);
		return 0;
	}
	*doc = parse_object(footer, flen, "the token's footer", err);
	free(footer);
	if (!*doc)
		return -1;
	json_t *v = json_object_get(*doc, "kid");
	if (v && !json_is_string(v)) {
		json_decref(*doc);
		*doc = NULL;
		return tg_err(err, "the token's footer: kid must be a string");
	}
	*kid = v ? json_string_value(v) : NULL;
	return 0;
}

/* paseto.c's words for a signature that does not match the key (paseto.h). */
#define PASETO_BAD_SIGNATURE "signature does not verify"

/*
 * Verify the signature with the kid's key, or without a kid with each key
 * in turn.  On success *key is the key that verified and *payload the
 * signed claims text.
 */
static int verify_signature(const struct issuer_keyring *kr, const char *token, size_t len,
                            const char *kid, const struct issuer_key **key, char **payload,
                            size_t *plen, struct tg_error *err)
{
	char sb[SHOWN_BUF];
	struct tg_error perr;
	size_t n = kr ? kr->n : 0;
	*key = NULL;
	if (kid) {
		const struct issuer_key *k = valid_kid(kid, strlen(kid)) ? find_key(kr, kid) : NULL;
		if (!k)
			return tg_err(err, "unknown key id \"%s\"", shown(kid, sb));
		if (paseto_v4_verify(token, len, k->pk, NULL, 0, payload, plen, NULL, NULL, &perr) < 0) {
			if (strcmp(perr.msg, PASETO_BAD_SIGNATURE) == 0)
				return tg_err(err, "the signature does not verify");
			return tg_err(err, "invalid token: %s", perr.msg);
		}
		*key = k;
		return 0;
	}
	if (n == 0)
		return tg_err(err, "the token cannot be verified: there are no issuer keys");
	if (n > TOKEN_NO_KID_MAX_KEYS)
		return tg_err(err, "the token has no kid and there are more than %d issuer keys",
		              TOKEN_NO_KID_MAX_KEYS);
	for (size_t i = 0; i < n; i++) {
		if (paseto_v4_verify(token, len, kr->keys[i].pk, NULL, 0, payload, plen, NULL, NULL,
		                     &perr) == 0) {
			*key = &kr->keys[i];
			return 0;
		}
		/* Anything but a wrong key (bad payload text, out of memory) would
		   fail the same way with every key. */
		if (strcmp(perr.msg, PASETO_BAD_SIGNATURE) != 0)
			return tg_err(err, "invalid token: %s", perr.msg);
	}
	if (n == 1)
		return tg_err(err, "the signature does not verify");
	return tg_err(err, "the signature does not verify with any of the %zu issuer keys "
	              "(the token has no kid)", n);
}

/* A string claim: NULL and 0 when absent and not required. */
static int claim_string(const json_t *claims, const char *name, bool required, char **out,
                        struct tg_error *err)
{
	const json_t *v = json_object_get(claims, name);
	*out = NULL;
	if (!v)
		return required ? tg_err(err, "the token has no \"%s\" claim", name) : 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return tg_err(err, "the token's \"%s\" claim must be a non-empty string", name);
	if (json_string_length(v) > CLAIM_MAX)
		return tg_err(err, "the token's \"%s\" claim is longer than %d bytes", name, CLAIM_MAX);
	if (!(*out = strdup(json_string_value(v))))
		return tg_err(err, "out of memory");
	return 0;
}

/* A time claim: *present false when absent and not required. */
static int claim_time(const json_t *claims, const char *name, bool required, int64_t *out,
                      bool *present, struct tg_error *err)
{
	char sb[SHOWN_BUF];
	const json_t *v = json_object_get(claims, name);
	*out = 0;
	*present = v != NULL;
	if (!v)
		return required ? tg_err(err, "the token has no \"%s\" claim", name) : 0;
	if (!json_is_string(v))
		return tg_err(err, "the token's \"%s\" claim must be an RFC 3339 date-time string", name);
	if (rfc3339_parse(json_string_value(v), out) < 0)
		return tg_err(err, "the token's \"%s\" claim is not an RFC 3339 date-time: \"%s\"", name,
		              shown(json_string_value(v), sb));
	return 0;
}

/* tools: {pattern: {} | when-object}, compiled in the token's order. */
static int claim_scope(const json_t *claims, struct delegation *d, struct tg_error *err)
{
	char sb[SHOWN_BUF];
	const json_t *tools = json_object_get(claims, "tools");
	if (!tools)
		return tg_err(err, "the token has no \"tools\" claim");
	if (!json_is_object(tools))
		return tg_err(err, "the token's \"tools\" claim must be an object from tool name or "
		              "pattern to {} or to `when` conditions");
	size_t n = json_object_size(tools);
	if (n > SCOPE_MAX)
		return tg_err(err, "the token's \"tools\" claim has more than %d entries", SCOPE_MAX);
	if (n && !(d->scope = calloc(n, sizeof *d->scope)))
		return tg_err(err, "out of memory");
	const char *pattern;
	json_t *v;
	json_object_foreach((json_t *)tools, pattern, v) {
		if (pattern[0] == '\0')
			return tg_err(err, "the token's \"tools\" claim has an empty tool name");
		if (strlen(pattern) > CLAIM_MAX)
			return tg_err(err, "the token's \"tools\" claim has a tool name longer than %d bytes",
			              CLAIM_MAX);
		if (!json_is_object(v))
			return tg_err(err, "the token's \"tools\" claim: \"%s\" must map to {} or to "
			              "`when` conditions", shown(pattern, sb));
		struct scope_entry *e = &d->scope[d->nscope];
		if (!(e->pattern = strdup(pattern)))
			return tg_err(err, "out of memory");
		d->nscope++;
		if (json_object_size(v) == 0)
			continue;
		/* Quoted: policy.c appends ".ATTRIBUTE", and patterns have dots too. */
		char where[sizeof "token scope \"\"" + SHOWN_BUF];
		snprintf(where, sizeof where, "token scope \"%s\"", shown(pattern, sb));
		if (!(e->when = policy_when_compile(v, where, err)))
			return -1;
	}
	return 0;
}

/* The claims' types and the key binding (iss, jti); fills d. */
static int read_claims(const json_t *claims, const struct issuer_key *key, struct delegation *d,
                       bool *has_nbf, struct tg_error *err)
{
	char sb[SHOWN_BUF], sb2[SHOWN_BUF];
	bool has_exp, has_iat;
	if (claim_string(claims, "iss", true, &d->iss, err) < 0 ||
	    claim_string(claims, "sub", true, &d->sub, err) < 0 ||
	    claim_string(claims, "aud", true, &d->aud, err) < 0 ||
	    claim_string(claims, "agent", true, &d->agent, err) < 0 ||
	    claim_string(claims, "jti", false, &d->jti, err) < 0 ||
	    claim_time(claims, "exp", true, &d->exp, &has_exp, err) < 0 ||
	    claim_time(claims, "nbf", false, &d->nbf, has_nbf, err) < 0 ||
	    claim_time(claims, "iat", false, &d->iat, &has_iat, err) < 0 ||
	    claim_scope(claims, d, err) < 0)
		return -1;
	if (strcmp(d->iss, key->issuer) != 0)
		return tg_err(err, "the token's issuer is %s, but key \"%s\" signs for issuer %s",
		              shown(d->iss, sb), key->kid, shown(key->issuer, sb2));
	if (key->single_use && !d->jti)
		return tg_err(err, "the token has no \"jti\" claim, which key \"%s\" requires "
		              "(its tokens are single-use)", key->kid);
	if (*has_nbf && d->exp <= d->nbf)
		return tg_err(err, "the token's exp is not after its nbf");
	d->single_use = key->single_use;
	if (!(d->kid = strdup(key->kid)))
		return tg_err(err, "out of memory");
	return 0;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* The token bound to this call: broker, agent, then time. */
static int check_binding(const struct delegation *d, bool has_nbf, const char *broker_id,
                         const char *principal, int64_t now, int64_t skew, struct tg_error *err)
{
	char sb[SHOWN_BUF], sb2[SHOWN_BUF], tb[TIME_BUF];
	if (!broker_id || strcmp(d->aud, broker_id) != 0)
		return tg_err(err, "the token is for broker %s, not %s", shown(d->aud, sb),
		              broker_id ? shown(broker_id, sb2) : "(none)");
	if (!principal)
		return tg_err(err, "the caller maps to no principal");
	if (strcmp(d->agent, principal) != 0)
		return tg_err(err, "the token was issued to agent %s, not %s", shown(d->agent, sb),
		              shown(principal, sb2));
	if (skew < 0)
		skew = 0;
	if (has_nbf && add_sat(now, skew) < d->nbf)
		return tg_err(err, "the token is not valid before %s", format_utc(d->nbf, tb));
	if (add_sat(now, -skew) >= d->exp)
		return tg_err(err, "the token has expired (exp %s)", format_utc(d->exp, tb));
	return 0;
}

int token_verify(const struct issuer_keyring *kr, const char *token, size_t len,
                 const char *broker_id, const char *principal, int64_t now, int64_t skew,
                 struct delegation *out, struct tg_error *err)
{
	memset(out, 0, sizeof *out);
	if (!token || len == 0)
		return tg_err(err, "the token is empty");
	if (len > PASETO_MAX_TOKEN)
		return tg_err(err, "the token is longer than %d bytes", PASETO_MAX_TOKEN);

	json_t *footer = NULL, *claims = NULL;
	const char *kid;
	const struct issuer_key *key;
	char *payload = NULL;
	size_t plen = 0;
	bool has_nbf = false;
	int rc = -1;
	if (footer_kid(token, len, &footer, &kid, err) < 0 ||
	    verify_signature(kr, token, len, kid, &key, &payload, &plen, err) < 0)
		goto out;
	/* From here on the payload is the issuer's, but still only as sound as
	   the issuer's software: it is parsed with the same limits. */
	if (!(claims = parse_object(payload, plen, "the token's claims", err)) ||
	    read_claims(claims, key, out, &has_nbf, err) < 0 ||
	    check_binding(out, has_nbf, broker_id, principal, now, skew, err) < 0)
		goto out;
	rc = 0;
out:
	json_decref(footer);
	json_decref(claims);
	free(payload);
	if (rc < 0)
		delegation_clear(out);
	return rc;
}

/* ------------------------------------------------------------ the scope */

bool delegation_covers(const struct delegation *d, const char *tool, const json_t *args,
                       char *why, size_t whylen)
{
	char first_why[TG_ERROR_MAX] = "", w[TG_ERROR_MAX];
	bool matched = false;
	if (why && whylen)
		why[0] = '\0';
	for (size_t i = 0; d && tool && i < d->nscope; i++) {
		const struct scope_entry *e = &d->scope[i];
		if (!policy_tool_pattern_match(e->pattern, tool))
			continue;
		if (!e->when || policy_when_holds(e->when, d->agent, d->sub, args, w, sizeof w))
			return true;
		/* Report the first entry that named the tool, as a reader scans the token. */
		if (!matched)
			snprintf(first_why, sizeof first_why, "%s", w);
		matched = true;
	}
	if (why && whylen) {
		char sb[SHOWN_BUF];
		/* policy_when_holds says what failed ("... does not hold", "... is
		   missing"), so the sentence names the rule, then the failure. */
		if (matched)
			snprintf(why, whylen, "the user delegated %s only where its conditions hold: %s",
			         shown(tool, sb), first_why);
		else
			snprintf(why, whylen, "the user did not delegate %s", tool ? shown(tool, sb) : "(no tool)");
	}
	return false;
}
