/*
 * test_paseto.c: PASETO v4.public (paseto.c) against the official test
 * vectors (tests/vectors/paseto/v4.json, a copy of the paseto-standard
 * vectors, run from the repository root), the strictness of the parser,
 * PAE, and the `toolgate token mint|verify` subcommands (cli_token.c),
 * called in-process with stdout and stderr captured.
 */
#include <ctype.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "cli_token.h"
#include "keys.h"
#include "paseto.h"
#include "testlib.h"

#define VECTORS "tests/vectors/paseto/v4.json"

static json_t *vectors;  /* the "tests" array */
static unsigned char s_pk[32], s_sk[64];  /* the 4-S-* key pair */
static char tmpdir[256];

/* ---------------------------------------------------------------- helpers */

static void die(const char *what)
{
	fprintf(stderr, "test_paseto: %s\n", what);
	exit(1);
}

static json_t *vector_named(const char *name)
{
	size_t i;
	json_t *v;
	json_array_foreach(vectors, i, v) {
		if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
			return v;
	}
	die("vector not found");
	return NULL;
}

static const char *vstr(json_t *v, const char *member)
{
	const char *s = json_string_value(json_object_get(v, member));
	return s ? s : "";
}

static void unhex(const char *hex, unsigned char *out, size_t len)
{
	size_t got;
	if (sodium_hex2bin(out, len, hex, strlen(hex), NULL, &got, NULL) != 0 || got != len)
		die("bad hex in the vectors");
}

static void load_vectors(void)
{
	json_error_t jerr;
	json_t *root = json_load_file(VECTORS, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fprintf(stderr, "test_paseto: %s: %s (run from the repository root)\n", VECTORS,
		        jerr.text);
		exit(1);
	}
	vectors = json_incref(json_object_get(root, "tests"));
	json_decref(root);
	if (!json_is_array(vectors))
		die(VECTORS ": no tests array");
	json_t *s1 = vector_named("4-S-1");
	unhex(vstr(s1, "public-key"), s_pk, sizeof s_pk);
	unhex(vstr(s1, "secret-key"), s_sk, sizeof s_sk);
}

/* Verify with the 4-S key and no implicit assertion; the error text, or "" on success. */
static const char *verify_msg(const char *token, size_t len, struct tg_error *err)
{
	char *payload = NULL, *footer = NULL;
	size_t plen, flen;
	int rc = paseto_v4_verify(token, len, s_pk, NULL, 0, &payload, &plen, &footer, &flen, err);
	if (rc == 0) {
		free(payload);
		free(footer);
		err->msg[0] = '\0';
	} else if (payload || footer) {
		snprintf(err->msg, sizeof err->msg, "failure left output behind");
	}
	return err->msg;
}

static const char *verify_str(const char *token, struct tg_error *err)
{
	return verify_msg(token, strlen(token), err);
}

/* A token signed with the 4-S key (no implicit assertion). */
static char *sign_s(const char *payload, const char *footer)
{
	struct tg_error err;
	char *t = paseto_v4_sign(s_sk, payload, strlen(payload), footer, footer ? strlen(footer) : 0,
	                         NULL, 0, &err);
	if (!t)
		die(err.msg);
	return t;
}

/*
 * A token over arbitrary payload bytes, signed here with libsodium directly:
 * for payloads that paseto_v4_sign rightly refuses to produce.
 */
static char *sign_raw(const void *payload, size_t len)
{
	size_t pae_len;
	const void *pieces[4] = { "v4.public.", payload, "", "" };
	size_t lens[4] = { 10, len, 0, 0 };
	unsigned char *pae = paseto_pae(pieces, lens, 4, &pae_len);
	unsigned char *msg = malloc(len + 64);
	if (!pae || !msg)
		die("out of memory");
	memcpy(msg, payload, len);
	crypto_sign_detached(msg + len, NULL, pae, pae_len, s_sk);
	size_t b64_cap = sodium_base64_ENCODED_LEN(len + 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *tok = malloc(10 + b64_cap);
	memcpy(tok, "v4.public.", 10);
	sodium_bin2base64(tok + 10, b64_cap, msg, len + 64, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	free(pae);
	free(msg);
	return tok;
}

static int b64_value(char c)
{
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = strchr(alpha, c);
	return p ? (int)(p - alpha) : -1;
}

static char b64_char(int v)
{
	return "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[v & 63];
}

/* Replace the base64url character at pos with a different one (a different 6-bit value). */
static void flip_char(char *tok, size_t pos)
{
	tok[pos] = b64_char(b64_value(tok[pos]) ^ 0x20);
}

/* ------------------------------------------------------------ the vectors */

TEST(vector_file_has_the_three_public_and_five_failure_vectors)
{
	size_t i, s = 0, f = 0;
	json_t *v;
	json_array_foreach(vectors, i, v) {
		const char *name = vstr(v, "name");
		s += strncmp(name, "4-S-", 4) == 0;
		f += strncmp(name, "4-F-", 4) == 0 && json_is_true(json_object_get(v, "expect-fail"));
	}
	CHECK(s == 3);
	CHECK(f == 5);
}

TEST(every_public_vector_verifies_and_returns_exactly_its_payload_and_footer)
{
	size_t i;
	json_t *v;
	json_array_foreach(vectors, i, v) {
		const char *name = vstr(v, "name");
		if (strncmp(name, "4-S-", 4) != 0)
			continue;
		unsigned char pk[32];
		unhex(vstr(v, "public-key"), pk, sizeof pk);
		const char *token = vstr(v, "token"), *ia = vstr(v, "implicit-assertion");
		char *payload = NULL, *footer = NULL;
		size_t plen = 0, flen = 0;
		struct tg_error err = {""};
		int rc = paseto_v4_verify(token, strlen(token), pk, ia, strlen(ia), &payload, &plen,
		                          &footer, &flen, &err);
		if (rc != 0)
			fprintf(stderr, "    %s: %s\n", name, err.msg);
		CHECK(rc == 0);
		CHECK_STREQ(payload, vstr(v, "payload"));
		CHECK(plen == strlen(vstr(v, "payload")));
		CHECK_STREQ(footer, vstr(v, "footer"));
		CHECK(flen == strlen(vstr(v, "footer")));
		free(payload);
		free(footer);
	}
}

TEST(signing_each_public_vector_reproduces_its_token_exactly)
{
	size_t i;
	json_t *v;
	json_array_foreach(vectors, i, v) {
		const char *name = vstr(v, "name");
		if (strncmp(name, "4-S-", 4) != 0)
			continue;
		unsigned char sk[64];
		unhex(vstr(v, "secret-key"), sk, sizeof sk);
		const char *p = vstr(v, "payload"), *f = vstr(v, "footer"),
		           *ia = vstr(v, "implicit-assertion");
		struct tg_error err = {""};
		char *t = paseto_v4_sign(sk, p, strlen(p), f, strlen(f), ia, strlen(ia), &err);
		CHECK_STREQ(err.msg, "");
		CHECK_STREQ(t, vstr(v, "token"));
		free(t);
	}
}

TEST(every_failure_vector_is_refused_with_the_reason)
{
	static const struct { const char *name, *msg; } want[] = {
		{ "4-F-1", "not a v4.public token" },      /* v4.local with a public key */
		{ "4-F-2", "signature does not verify" },  /* v4.public signed by another key */
		{ "4-F-3", "not a v4.public token" },      /* v3.local */
		{ "4-F-4", "not a v4.public token" },      /* v4.local */
		{ "4-F-5", "not a v4.public token" },      /* v4.local, padded */
	};
	for (size_t k = 0; k < sizeof want / sizeof *want; k++) {
		json_t *v = vector_named(want[k].name);
		CHECK(json_is_true(json_object_get(v, "expect-fail")));
		unsigned char pk[32];
		if (json_object_get(v, "public-key"))
			unhex(vstr(v, "public-key"), pk, sizeof pk);
		else
			memcpy(pk, s_pk, sizeof pk);
		const char *token = vstr(v, "token"), *ia = vstr(v, "implicit-assertion");
		char *payload = NULL, *footer = NULL;
		size_t plen, flen;
		struct tg_error err = {""};
		CHECK(paseto_v4_verify(token, strlen(token), pk, ia, strlen(ia), &payload, &plen,
		                       &footer, &flen, &err) == -1);
		CHECK(payload == NULL && footer == NULL);
		CHECK_STREQ(err.msg, want[k].msg);
	}
}

TEST(local_tokens_from_the_vector_file_are_not_public_tokens)
{
	size_t i, n = 0;
	json_t *v;
	json_array_foreach(vectors, i, v) {
		if (strncmp(vstr(v, "name"), "4-E-", 4) != 0)
			continue;
		struct tg_error err;
		CHECK_STREQ(verify_str(vstr(v, "token"), &err), "not a v4.public token");
		n++;
	}
	CHECK(n == 9);
}

/* ------------------------------------------------------------ round trips */

TEST(sign_then_verify_returns_payload_and_footer_nul_terminated)
{
	const char *p = "{\"sub\":\"alice\",\"note\":\"caf\xc3\xa9\"}";
	char *t = sign_s(p, "{\"kid\":\"idp\"}");
	char *payload = NULL, *footer = NULL;
	size_t plen = 0, flen = 0;
	struct tg_error err = {""};
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, NULL, 0, &payload, &plen, &footer, &flen,
	                       &err) == 0);
	CHECK_STREQ(payload, p);
	CHECK(plen == strlen(p) && payload[plen] == '\0');
	CHECK_STREQ(footer, "{\"kid\":\"idp\"}");
	CHECK(flen == 13 && footer[flen] == '\0');
	free(payload);
	free(footer);
	free(t);
}

TEST(token_without_footer_has_no_trailing_dot_and_yields_empty_footer)
{
	char *t = sign_s("{}", NULL);
	CHECK(strncmp(t, "v4.public.", 10) == 0);
	CHECK(strchr(t + 10, '.') == NULL);
	char *payload = NULL, *footer = NULL;
	size_t plen, flen = 99;
	struct tg_error err = {""};
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, NULL, 0, &payload, &plen, &footer, &flen,
	                       &err) == 0);
	CHECK_STREQ(footer, "");
	CHECK(flen == 0);
	free(payload);
	free(footer);
	/* The footer out-parameter is optional. */
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, NULL, 0, &payload, &plen, NULL, NULL, &err) == 0);
	CHECK_STREQ(payload, "{}");
	free(payload);
	free(t);
}

TEST(empty_payload_is_a_valid_token_of_only_a_signature)
{
	char *t = sign_s("", NULL);
	char *payload = NULL;
	size_t plen = 99;
	struct tg_error err = {""};
	CHECK(strlen(t) == 10 + 86);
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, NULL, 0, &payload, &plen, NULL, NULL, &err) == 0);
	CHECK_STREQ(payload, "");
	CHECK(plen == 0);
	free(payload);
	free(t);
}

TEST(implicit_assertion_must_match_the_one_signed)
{
	struct tg_error err = {""};
	char *t = paseto_v4_sign(s_sk, "{}", 2, NULL, 0, "call-42", 7, &err);
	char *payload = NULL;
	size_t plen;
	CHECK(t != NULL);
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, "call-42", 7, &payload, &plen, NULL, NULL,
	                       &err) == 0);
	free(payload);
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, "call-43", 7, &payload, &plen, NULL, NULL,
	                       &err) == -1);
	CHECK_STREQ(err.msg, "signature does not verify");
	CHECK(paseto_v4_verify(t, strlen(t), s_pk, NULL, 0, &payload, &plen, NULL, NULL,
	                       &err) == -1);
	CHECK_STREQ(err.msg, "signature does not verify");
	free(t);
}

/* ------------------------------------------------------------- tampering */

TEST(tampered_payload_byte_fails_the_signature)
{
	char *t = sign_s("{\"sub\":\"alice\",\"exp\":\"2030-01-01T00:00:00Z\"}", "{\"kid\":\"a\"}");
	struct tg_error err;
	flip_char(t, 10 + 4);
	CHECK_STREQ(verify_str(t, &err), "signature does not verify");
	free(t);
}

TEST(tampered_signature_byte_fails_the_signature)
{
	char *t = sign_s("{\"sub\":\"alice\"}", "{\"kid\":\"a\"}");
	struct tg_error err;
	size_t dot = (size_t)(strchr(t + 10, '.') - t);
	flip_char(t, dot - 10);  /* well inside the 64 signature bytes */
	CHECK_STREQ(verify_str(t, &err), "signature does not verify");
	free(t);
}

TEST(tampered_footer_fails_the_signature)
{
	char *t = sign_s("{\"sub\":\"alice\"}", "{\"kid\":\"issuer-a\"}");
	struct tg_error err;
	size_t dot = (size_t)(strchr(t + 10, '.') - t);
	flip_char(t, dot + 3);
	CHECK_STREQ(verify_str(t, &err), "signature does not verify");
	free(t);
}

TEST(removed_footer_fails_the_signature)
{
	char *t = sign_s("{\"sub\":\"alice\"}", "{\"kid\":\"issuer-a\"}");
	struct tg_error err;
	*strchr(t + 10, '.') = '\0';
	CHECK_STREQ(verify_str(t, &err), "signature does not verify");
	free(t);
}

TEST(wrong_public_key_fails_the_signature)
{
	char *t = sign_s("{}", NULL);
	unsigned char pk[32], sk[64];
	char *payload = (char *)"untouched";
	size_t plen;
	struct tg_error err;
	crypto_sign_keypair(pk, sk);
	CHECK(paseto_v4_verify(t, strlen(t), pk, NULL, 0, &payload, &plen, NULL, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "signature does not verify");
	CHECK(payload == NULL);
	free(t);
}

/* ------------------------------------------------------------- structure */

TEST(headers_other_than_v4_public_are_refused)
{
	struct tg_error err;
	char *t = sign_s("{}", NULL);
	const char *variants[] = { "v4.local.", "v3.public.", "v2.public.", "V4.public.",
	                           "v4.Public.", "v4public.." };
	for (size_t k = 0; k < sizeof variants / sizeof *variants; k++) {
		char buf[512];
		snprintf(buf, sizeof buf, "%s%s", variants[k], t + 10);
		CHECK_STREQ(verify_str(buf, &err), "not a v4.public token");
	}
	CHECK_STREQ(verify_str("v4.public", &err), "not a v4.public token");
	CHECK_STREQ(verify_str("eyJhbGciOiJIUzI1NiJ9.e30.sig", &err), "not a v4.public token");
	CHECK_STREQ(verify_str("", &err), "the token is empty");
	free(t);
}

TEST(empty_payload_part_is_refused)
{
	struct tg_error err;
	CHECK_STREQ(verify_str("v4.public.", &err), "the payload part is empty");
	CHECK_STREQ(verify_str("v4.public..eyJraWQiOiJhIn0", &err), "the payload part is empty");
}

TEST(payload_shorter_than_a_signature_is_refused_before_decoding)
{
	struct tg_error err;
	char buf[200];
	/* 85 characters decode to 63 bytes: one short of a signature. */
	snprintf(buf, sizeof buf, "v4.public.%.85s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	CHECK(strlen(buf) == 95);
	CHECK_STREQ(verify_str(buf, &err), "the payload is too short to hold a signature");
	/* Even when its characters are garbage: the length is checked first. */
	CHECK_STREQ(verify_str("v4.public.!!!!", &err), "the payload is too short to hold a signature");
}

TEST(extra_dots_are_too_many_parts)
{
	struct tg_error err;
	char *t = sign_s("{}", "{\"kid\":\"a\"}");
	char buf[512];
	snprintf(buf, sizeof buf, "%s.eyJ4IjoxfQ", t);
	CHECK_STREQ(verify_str(buf, &err), "the token has too many parts");
	snprintf(buf, sizeof buf, "%s.", t);
	CHECK_STREQ(verify_str(buf, &err), "the token has too many parts");
	CHECK_STREQ(verify_str("v4.public.a.b.c", &err), "the token has too many parts");
	free(t);
}

TEST(trailing_dot_without_footer_is_refused)
{
	struct tg_error err;
	char *t = sign_s("{}", NULL);
	char buf[512];
	snprintf(buf, sizeof buf, "%s.", t);
	CHECK_STREQ(verify_str(buf, &err),
	            "the footer part is empty (a token without a footer has no trailing dot)");
	free(t);
}

TEST(token_longer_than_8192_bytes_is_refused_and_8192_is_not)
{
	struct tg_error err;
	char *buf = malloc(PASETO_MAX_TOKEN + 2);
	memcpy(buf, "v4.public.", 10);
	memset(buf + 10, 'A', PASETO_MAX_TOKEN + 1 - 10);
	buf[PASETO_MAX_TOKEN + 1] = '\0';
	CHECK_STREQ(verify_str(buf, &err), "the token is longer than 8192 bytes");
	/* Exactly the limit is parsed (8182 'A's decode canonically) and fails only on its signature. */
	buf[PASETO_MAX_TOKEN] = '\0';
	CHECK_STREQ(verify_str(buf, &err), "signature does not verify");
	free(buf);
}

TEST(sign_refuses_a_payload_whose_token_would_exceed_the_limit)
{
	struct tg_error err = {""};
	size_t n = 6200;  /* 6264 bytes with the signature: 8352 characters */
	char *p = malloc(n);
	memset(p, 'x', n);
	CHECK(paseto_v4_sign(s_sk, p, n, NULL, 0, NULL, 0, &err) == NULL);
	CHECK_STREQ(err.msg, "the token would be longer than 8192 bytes");
	free(p);
}

TEST(footer_longer_than_1024_bytes_is_refused_and_1024_is_accepted)
{
	struct tg_error err = {""};
	char footer[1026];
	memset(footer, 'f', sizeof footer);
	footer[1025] = '\0';
	/* sign refuses to make one */
	CHECK(paseto_v4_sign(s_sk, "{}", 2, footer, 1025, NULL, 0, &err) == NULL);
	CHECK_STREQ(err.msg, "the footer is longer than 1024 bytes");
	/* 1024 bytes round-trips */
	footer[1024] = '\0';
	char *t = sign_s("{}", footer);
	CHECK_STREQ(verify_str(t, &err), "");
	/* One more character: 1367 characters decode to 1025 bytes, refused before decoding. */
	char *big = malloc(strlen(t) + 2);
	sprintf(big, "%sA", t);
	CHECK(strlen(strchr(big + 10, '.') + 1) == 1367);
	CHECK_STREQ(verify_str(big, &err), "the footer is longer than 1024 bytes");
	free(big);
	free(t);
}

/* ------------------------------------------------------------- base64url */

TEST(padding_is_refused_in_payload_and_footer)
{
	struct tg_error err;
	/* 7 + 64 = 71 bytes: 95 characters, which padding would round up to 96. */
	char *t = sign_s("{\"a\":1}", "{\"kid\":\"ab\"}");
	char buf[512];
	size_t dot = (size_t)(strchr(t + 10, '.') - t);
	snprintf(buf, sizeof buf, "%.*s=%s", (int)dot, t, t + dot);
	CHECK_STREQ(verify_str(buf, &err),
	            "malformed base64url in the payload: '=' padding is not allowed");
	free(t);
	t = sign_s("{}", "{\"kid\":\"a\"}");  /* footer of 11 bytes: 15 characters */
	snprintf(buf, sizeof buf, "%s=", t);
	CHECK_STREQ(verify_str(buf, &err),
	            "malformed base64url in the footer: '=' padding is not allowed");
	free(t);
}

TEST(standard_base64_characters_and_whitespace_are_refused)
{
	struct tg_error err;
	char *t = sign_s("{\"sub\":\"alice\"}", "{\"kid\":\"a\"}");
	char buf[512];
	snprintf(buf, sizeof buf, "%s", t);
	buf[10 + 5] = '+';
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the payload: '+' at offset 5 is "
	            "not in the URL-safe alphabet");
	buf[10 + 5] = '/';
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the payload: '/' at offset 5 is "
	            "not in the URL-safe alphabet");
	size_t dot = (size_t)(strchr(t + 10, '.') - t);
	snprintf(buf, sizeof buf, "%s", t);
	buf[dot + 1 + 2] = '/';
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the footer: '/' at offset 2 is "
	            "not in the URL-safe alphabet");
	snprintf(buf, sizeof buf, "%s\n", t);
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the footer: byte 0x0a at offset "
	            "15 is not in the URL-safe alphabet");
	snprintf(buf, sizeof buf, "%s", t);
	buf[10 + 7] = ' ';
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the payload: byte 0x20 at offset "
	            "7 is not in the URL-safe alphabet");
	/* An embedded NUL counts as a byte of the token, not its end. */
	snprintf(buf, sizeof buf, "%s", t);
	buf[10 + 8] = '\0';
	CHECK_STREQ(verify_msg(buf, strlen(t), &err), "malformed base64url in the payload: byte "
	            "0x00 at offset 8 is not in the URL-safe alphabet");
	free(t);
}

TEST(non_zero_unused_bits_are_refused_as_non_canonical)
{
	struct tg_error err;
	/* payload 7 bytes + 64 = 71 bytes: 95 characters, the last carries 2 unused bits */
	char *t = sign_s("{\"a\":1}", "{\"kid\":\"ab\"}");  /* footer 12 bytes: 16, no spare bits */
	char buf[512];
	size_t dot = (size_t)(strchr(t + 10, '.') - t);
	CHECK(dot - 10 == 95);
	snprintf(buf, sizeof buf, "%s", t);
	CHECK((b64_value(buf[dot - 1]) & 3) == 0);
	buf[dot - 1] = b64_char(b64_value(buf[dot - 1]) | 1);
	CHECK_STREQ(verify_str(buf, &err), "the payload is not canonical base64url: the unused bits "
	            "of its last character are not zero");
	free(t);
	/* footer of 10 bytes: 14 characters, the last carries 4 unused bits */
	t = sign_s("{}", "{\"kid\":1}x");
	snprintf(buf, sizeof buf, "%s", t);
	size_t n = strlen(buf);
	CHECK((b64_value(buf[n - 1]) & 15) == 0);
	buf[n - 1] = b64_char(b64_value(buf[n - 1]) | 8);
	CHECK_STREQ(verify_str(buf, &err), "the footer is not canonical base64url: the unused bits "
	            "of its last character are not zero");
	free(t);
}

TEST(base64url_length_of_one_mod_four_is_refused)
{
	struct tg_error err;
	char *t = sign_s("{}", "{\"kid\":\"a\"}");  /* footer: 15 characters */
	char buf[512];
	snprintf(buf, sizeof buf, "%sAA", t);
	CHECK_STREQ(verify_str(buf, &err), "malformed base64url in the footer: 17 characters is not a "
	            "possible length");
	free(t);
}

/* ---------------------------------------------------------- payload text */

TEST(signed_payload_that_is_not_utf8_is_refused)
{
	struct tg_error err;
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "{\"a\":\"\xc0\xaf\"}", 10 },        /* overlong '/' */
		{ "{\"a\":\"\xed\xa0\x80\"}", 11 },    /* UTF-16 surrogate */
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", 12 },/* above U+10FFFF */
		{ "{\"a\":\"\xe2\x82\"}", 10 },        /* truncated */
		{ "{\"a\":\"\xff\"}", 9 },
	};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		char *t = sign_raw(bad[k].bytes, bad[k].len);
		CHECK_STREQ(verify_str(t, &err), "the payload is not valid UTF-8");
		free(t);
		CHECK(paseto_v4_sign(s_sk, bad[k].bytes, bad[k].len, NULL, 0, NULL, 0, &err) == NULL);
		CHECK_STREQ(err.msg, "the payload is not valid UTF-8");
	}
	/* 4-byte and 3-byte sequences at the edges are fine */
	char *t = sign_raw("\"\xf4\x8f\xbf\xbf\xef\xbf\xbd\"", 9);
	CHECK_STREQ(verify_str(t, &err), "");
	free(t);
}

TEST(signed_payload_with_a_nul_byte_is_refused)
{
	struct tg_error err;
	char *t = sign_raw("{\"a\":\"x\0y\"}", 11);
	CHECK_STREQ(verify_str(t, &err), "the payload contains a NUL byte");
	free(t);
}

TEST(tampered_non_utf8_payload_reports_the_signature_not_the_text)
{
	struct tg_error err;
	char *t = sign_raw("{\"a\":\"\xff\"}", 9);
	flip_char(t, 12);
	CHECK_STREQ(verify_str(t, &err), "signature does not verify");
	free(t);
}

/* ------------------------------------------------------------ peek_footer */

TEST(peek_footer_returns_the_footer_without_verifying)
{
	struct tg_error err = {""};
	char *footer = NULL;
	size_t flen = 0;
	const char *token = vstr(vector_named("4-S-2"), "token");
	CHECK(paseto_v4_peek_footer(token, strlen(token), &footer, &flen, &err) == 0);
	CHECK_STREQ(footer, "{\"kid\":\"zVhMiPBP9fRf2snEcT7gFTioeA9COcNy9DfgL1W60haN\"}");
	CHECK(flen == strlen(footer));
	free(footer);

	/* A forged signature does not stop the peek: it only chooses the key. */
	char *t = sign_s("{}", "{\"kid\":\"k1\"}");
	flip_char(t, 20);
	CHECK(paseto_v4_peek_footer(t, strlen(t), &footer, &flen, &err) == 0);
	CHECK_STREQ(footer, "{\"kid\":\"k1\"}");
	free(footer);
	free(t);

	t = sign_s("{}", NULL);
	CHECK(paseto_v4_peek_footer(t, strlen(t), &footer, &flen, &err) == 0);
	CHECK_STREQ(footer, "");
	CHECK(flen == 0);
	free(footer);
	free(t);
}

TEST(peek_footer_applies_the_same_strict_parsing)
{
	struct tg_error err;
	char *footer = (char *)"untouched";
	const char *local = vstr(vector_named("4-F-5"), "token");
	CHECK(paseto_v4_peek_footer(local, strlen(local), &footer, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "not a v4.public token");
	CHECK(footer == NULL);
	char *t = sign_s("{}", "{\"kid\":\"a\"}");
	char buf[512];
	snprintf(buf, sizeof buf, "%s=", t);
	CHECK(paseto_v4_peek_footer(buf, strlen(buf), &footer, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "malformed base64url in the footer: '=' padding is not allowed");
	free(t);
}

/* -------------------------------------------------------------------- PAE */

static int pae_equals(const void *const *pieces, const size_t *lens, size_t n,
                      const void *want, size_t want_len)
{
	size_t len = 0;
	unsigned char *out = paseto_pae(pieces, lens, n, &len);
	int ok = out && len == want_len && memcmp(out, want, len) == 0;
	free(out);
	return ok;
}

TEST(pae_matches_the_spec_examples)
{
	/* PAE([]) */
	CHECK(pae_equals(NULL, NULL, 0, "\0\0\0\0\0\0\0\0", 8));
	/* PAE(['']) */
	const void *one_empty[1] = { "" };
	size_t len0[1] = { 0 };
	CHECK(pae_equals(one_empty, len0, 1, "\x01\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0", 16));
	/* PAE(['test']) */
	const void *test[1] = { "test" };
	size_t len4[1] = { 4 };
	CHECK(pae_equals(test, len4, 1, "\x01\0\0\0\0\0\0\0" "\x04\0\0\0\0\0\0\0" "test", 20));
	/* PAE(['', '']) and a multi-byte length */
	const void *two[2] = { "", "" };
	size_t lens2[2] = { 0, 0 };
	CHECK(pae_equals(two, lens2, 2, "\x02\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0" "\0\0\0\0\0\0\0\0",
	                 24));
	static char big[300];
	memset(big, 'b', sizeof big);
	const void *bigp[1] = { big };
	size_t lens300[1] = { 300 };
	size_t out_len;
	unsigned char *out = paseto_pae(bigp, lens300, 1, &out_len);
	CHECK(out && out_len == 316);
	CHECK(out && memcmp(out + 8, "\x2c\x01\0\0\0\0\0\0", 8) == 0);
	free(out);
}

TEST(pae_refuses_lengths_that_overflow)
{
	const void *p[2] = { "", "" };
	size_t lens[2] = { SIZE_MAX - 20, 100 };
	size_t out_len = 0;
	CHECK(paseto_pae(p, lens, 2, &out_len) == NULL);
}

/* -------------------------------------------------------------------- CLI */

static char cli_out[16384], cli_errout[16384];

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void slurp_fd(int fd, char *buf, size_t cap)
{
	lseek(fd, 0, SEEK_SET);
	ssize_t n = read(fd, buf, cap - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/* Run a CLI entry point in-process; its stdout and stderr land in cli_out / cli_errout. */
static int run_cli(int (*fn)(int, char **), const char *first, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, first);
	for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	char p1[300], p2[300];
	snprintf(p1, sizeof p1, "%s/stdout", tmpdir);
	snprintf(p2, sizeof p2, "%s/stderr", tmpdir);
	int o = open(p1, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int e = open(p2, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (o < 0 || e < 0)
		die("cannot open capture files");
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(o, 1);
	dup2(e, 2);
	int rc = fn(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp_fd(o, cli_out, sizeof cli_out);
	slurp_fd(e, cli_errout, sizeof cli_errout);
	return rc;
}

static char issuer_key[300], issuer_pub[300];
static unsigned char issuer_pk[32];

static void make_issuer(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_paseto.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp failed");
	snprintf(issuer_key, sizeof issuer_key, "%s/idp.key", tmpdir);
	snprintf(issuer_pub, sizeof issuer_pub, "%s/idp.pub", tmpdir);
	struct tg_error err;
	if (keys_generate(issuer_key, issuer_pub, &err) < 0 ||
	    keys_load_public(issuer_pub, issuer_pk, &err) < 0)
		die(err.msg);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/* Verify the minted token in cli_out; its claims (or NULL) and, optionally, its footer. */
static json_t *minted_claims(char **footer)
{
	size_t n = strlen(cli_out);
	if (n == 0 || cli_out[n - 1] != '\n' || strchr(cli_out, '\n') != cli_out + n - 1)
		return NULL;
	char *payload = NULL;
	size_t plen, flen;
	struct tg_error err;
	if (paseto_v4_verify(cli_out, n - 1, issuer_pk, NULL, 0, &payload, &plen, footer, &flen,
	                     &err) < 0)
		return NULL;
	json_t *claims = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	free(payload);
	return claims;
}

static int64_t claim_time(json_t *claims, const char *name)
{
	const char *s = json_string_value(json_object_get(claims, name));
	struct tm tm = { 0 };
	char z = 0;
	if (!s || strlen(s) != 20 || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon,
	                                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z) != 7 ||
	    z != 'Z')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

#define SCOPE "{\"kb.*\": {}, \"refund.issue\": {\"args.amount_cents\": {\"<=\": 2000}}}"

TEST(mint_prints_one_token_with_all_claims_and_the_kid_footer)
{
	int64_t before = (int64_t)time(NULL);
	int rc = run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "alice", "--agent",
	                 "support-bot", "--aud", "broker-1", "--ttl", "15m", "--tools", SCOPE,
	                 "--kid", "idp", NULL);
	int64_t after = (int64_t)time(NULL);
	CHECK(rc == 0);
	CHECK_STREQ(cli_errout, "");
	char *footer = NULL;
	json_t *c = minted_claims(&footer);
	CHECK(c != NULL);
	CHECK_STREQ(footer, "{\"kid\":\"idp\"}");
	CHECK_STREQ(json_string_value(json_object_get(c, "iss")), "idp");
	CHECK_STREQ(json_string_value(json_object_get(c, "sub")), "alice");
	CHECK_STREQ(json_string_value(json_object_get(c, "aud")), "broker-1");
	CHECK_STREQ(json_string_value(json_object_get(c, "agent")), "support-bot");
	json_t *want = json_loads(SCOPE, 0, NULL);
	CHECK(json_equal(json_object_get(c, "tools"), want));
	json_decref(want);
	int64_t iat = claim_time(c, "iat"), nbf = claim_time(c, "nbf"), exp = claim_time(c, "exp");
	CHECK(iat >= before && iat <= after);
	CHECK(nbf == iat);
	CHECK(exp == iat + 900);
	const char *jti = json_string_value(json_object_get(c, "jti"));
	CHECK(jti && strlen(jti) == 32 && strspn(jti, "0123456789abcdef") == 32);
	/* the members in the documented order, and nothing else */
	const char *order[] = { "iss", "sub", "aud", "agent", "tools", "iat", "nbf", "exp", "jti" };
	size_t k = 0;
	const char *name;
	json_t *v;
	json_object_foreach(c, name, v) {
		CHECK(k < 9 && strcmp(name, order[k]) == 0);
		k++;
	}
	CHECK(k == 9);
	json_decref(c);
	free(footer);
}

TEST(mint_without_kid_has_no_footer_and_iss_toolgate_and_fresh_jti)
{
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "bob", "--agent", "a",
	              "--aud", "b", "--ttl", "60", "--tools", "{\"kb.search\":{}}", NULL) == 0);
	CHECK(strchr(cli_out + 10, '.') == NULL);
	char *footer = NULL;
	json_t *c = minted_claims(&footer);
	CHECK(c != NULL);
	CHECK_STREQ(footer, "");
	CHECK_STREQ(json_string_value(json_object_get(c, "iss")), "toolgate");
	CHECK(claim_time(c, "exp") == claim_time(c, "iat") + 60);
	char jti1[64];
	snprintf(jti1, sizeof jti1, "%s", json_string_value(json_object_get(c, "jti")));
	json_decref(c);
	free(footer);
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "bob", "--agent", "a",
	              "--aud", "b", "--ttl", "60", "--tools", "{\"kb.search\":{}}", NULL) == 0);
	c = minted_claims(NULL);
	CHECK(c && strcmp(json_string_value(json_object_get(c, "jti")), jti1) != 0);
	json_decref(c);
}

TEST(mint_takes_iss_jti_and_nbf_and_normalises_nbf_to_utc)
{
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "bob", "--agent", "a",
	              "--aud", "b", "--ttl", "1d", "--tools", "{\"*\":{}}", "--kid", "idp",
	              "--iss=https://idp.example", "--jti", "req-7",
	              "--nbf", "2020-02-29T12:30:00.250+02:00", NULL) == 0);
	json_t *c = minted_claims(NULL);
	CHECK(c != NULL);
	CHECK_STREQ(json_string_value(json_object_get(c, "iss")), "https://idp.example");
	CHECK_STREQ(json_string_value(json_object_get(c, "jti")), "req-7");
	CHECK_STREQ(json_string_value(json_object_get(c, "nbf")), "2020-02-29T10:30:00Z");
	CHECK(claim_time(c, "exp") == claim_time(c, "iat") + 86400);
	json_decref(c);
}

TEST(mint_durations_accept_s_m_h_d_and_plain_seconds)
{
	static const struct { const char *ttl; int64_t secs; } cases[] = {
		{ "90s", 90 }, { "15m", 900 }, { "2h", 7200 }, { "1d", 86400 }, { "3600", 3600 },
		{ "30d", 2592000 },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "u", "--agent", "a",
		              "--aud", "b", "--ttl", cases[k].ttl, "--tools", "{\"t\":{}}", NULL) == 0);
		json_t *c = minted_claims(NULL);
		CHECK(c && claim_time(c, "exp") - claim_time(c, "iat") == cases[k].secs);
		json_decref(c);
	}
}

/* Mint with one changed argument; returns the exit code, stderr in cli_errout. */
static int mint_with(const char *opt, const char *value)
{
	const char *ttl = strcmp(opt, "--ttl") == 0 ? value : "1h";
	const char *tools = strcmp(opt, "--tools") == 0 ? value : "{\"t\":{}}";
	if (strcmp(opt, "--ttl") == 0 || strcmp(opt, "--tools") == 0)
		return run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "u", "--agent", "a",
		               "--aud", "b", "--ttl", ttl, "--tools", tools, NULL);
	return run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "u", "--agent", "a",
	               "--aud", "b", "--ttl", ttl, "--tools", tools, opt, value, NULL);
}

static const char mint_usage_tail[] =
	"usage: toolgate token mint --key ISSUER.key --sub USER --agent AGENT --aud BROKER_ID\n";

TEST(mint_usage_errors_exit_2_and_say_what_is_wrong)
{
	static const struct { const char *opt, *value, *msg; } cases[] = {
		{ "--ttl", "0", "toolgate token mint: --ttl must be more than zero\n" },
		{ "--ttl", "31d", "toolgate token mint: --ttl: at most 30 days (2592000 seconds)\n" },
		{ "--ttl", "2592001", "toolgate token mint: --ttl: at most 30 days (2592000 seconds)\n" },
		{ "--ttl", "5w", "toolgate token mint: --ttl: \"5w\" is not a duration (90s, 15m, 2h, "
		  "1d or seconds)\n" },
		{ "--ttl", "-5", "toolgate token mint: --ttl: \"-5\" is not a duration (90s, 15m, 2h, "
		  "1d or seconds)\n" },
		{ "--ttl", "1h ", "toolgate token mint: --ttl: \"1h \" is not a duration (90s, 15m, "
		  "2h, 1d or seconds)\n" },
		{ "--tools", "[\"kb.*\"]", "toolgate token mint: --tools: must be a JSON object from "
		  "tool name or pattern to {} or conditions\n" },
		{ "--tools", "{\"kb.*\": true}", "toolgate token mint: --tools: \"kb.*\" must map to "
		  "{} or an object of conditions\n" },
		{ "--tools", "{}", "toolgate token mint: --tools: the scope is empty: name at least "
		  "one tool\n" },
		{ "--tools", "{\"a\":{},\"a\":{}}", "toolgate token mint: --tools: not valid JSON: "
		  "duplicate object key near '\"a\"'\n" },
		{ "--kid", "../etc/passwd", "toolgate token mint: --kid: \"../etc/passwd\" is not a key "
		  "file name (letters, digits, '.', '_', '-'; not starting with '.')\n" },
		{ "--nbf", "tomorrow", "toolgate token mint: --nbf: \"tomorrow\" is not an RFC 3339 "
		  "time (e.g. 2026-11-24T10:00:00Z)\n" },
		{ "--nbf", "2021-02-29T00:00:00Z", "toolgate token mint: --nbf: \"2021-02-29T00:00:00Z\" "
		  "is not an RFC 3339 time (e.g. 2026-11-24T10:00:00Z)\n" },
		{ "--nbf", "2999-01-01T00:00:00Z", "toolgate token mint: --nbf is not before the expiry "
		  "(now + --ttl): the token would never be valid\n" },
		{ "--sub", "dup", "toolgate token mint: --sub is given twice\n" },
		{ "--jti", "", "toolgate token mint: --jti must not be empty\n" },
		{ "--iss", "a\nb", "toolgate token mint: --iss must not contain control characters\n" },
		{ "--iss", "caf\xe9", "toolgate token mint: --iss is not valid UTF-8\n" },
		{ "--frobnicate", "x", "toolgate token mint: unknown option --frobnicate\n" },
	};
	for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
		CHECK(mint_with(cases[k].opt, cases[k].value) == 2);
		CHECK_STREQ(cli_out, "");
		char want[1024];
		snprintf(want, sizeof want, "%s%s", cases[k].msg, mint_usage_tail);
		CHECK(starts_with(cli_errout, want));
		if (!starts_with(cli_errout, want))
			fprintf(stderr, "    case %zu got: %s", k, cli_errout);
	}
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--agent", "a", "--aud", "b",
	              "--ttl", "1h", "--tools", "{\"t\":{}}", NULL) == 2);
	CHECK(starts_with(cli_errout, "toolgate token mint: missing --sub USER\nusage: "));
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", NULL) == 2);
	CHECK(starts_with(cli_errout, "toolgate token mint: --sub needs a value (USER)\nusage: "));
	CHECK(run_cli(cli_token_mint, "mint", "stray", NULL) == 2);
	CHECK(starts_with(cli_errout, "toolgate token mint: unexpected argument stray\nusage: "));
}

TEST(mint_help_exits_0_and_lists_the_options)
{
	CHECK(run_cli(cli_token_mint, "mint", "--help", NULL) == 0);
	CHECK_CONTAINS(cli_out, "usage: toolgate token mint --key ISSUER.key");
	CHECK_CONTAINS(cli_out, "--nbf TIME");
}

TEST(mint_with_a_missing_key_file_exits_1_naming_it)
{
	char missing[400];
	snprintf(missing, sizeof missing, "%s/nope.key", tmpdir);
	CHECK(run_cli(cli_token_mint, "mint", "--key", missing, "--sub", "u", "--agent", "a",
	              "--aud", "b", "--ttl", "1h", "--tools", "{\"t\":{}}", NULL) == 1);
	CHECK_STREQ(cli_out, "");
	CHECK(starts_with(cli_errout, "toolgate token mint: "));
	CHECK_CONTAINS(cli_errout, "nope.key");
	/* a public key is not a signing key */
	CHECK(run_cli(cli_token_mint, "mint", "--key", issuer_pub, "--sub", "u", "--agent", "a",
	              "--aud", "b", "--ttl", "1h", "--tools", "{\"t\":{}}", NULL) == 1);
	CHECK_CONTAINS(cli_errout, "idp.pub");
}

static char minted[sizeof cli_out];

static void mint_one(void)
{
	if (run_cli(cli_token_mint, "mint", "--key", issuer_key, "--sub", "alice", "--agent", "bot",
	            "--aud", "broker-1", "--ttl", "1h", "--tools", "{\"kb.*\":{}}", "--kid", "idp",
	            "--jti", "j1", NULL) != 0)
		die("mint failed");
	snprintf(minted, sizeof minted, "%s", cli_out);
	minted[strcspn(minted, "\n")] = '\0';
}

TEST(verify_prints_each_claim_on_a_line_and_the_footer)
{
	mint_one();
	CHECK(run_cli(cli_token_verify, "verify", minted, "--key", issuer_pub, NULL) == 0);
	CHECK_STREQ(cli_errout, "");
	CHECK(starts_with(cli_out, "iss: idp\nsub: alice\naud: broker-1\nagent: bot\n"
	                  "tools: {\"kb.*\":{}}\niat: "));
	CHECK_CONTAINS(cli_out, "\njti: j1\nfooter: {\"kid\":\"idp\"}\n");
}

TEST(verify_json_prints_exactly_the_signed_claims_and_the_footer_on_stderr)
{
	mint_one();
	CHECK(run_cli(cli_token_verify, "verify", "--json", "--key", issuer_pub, minted, NULL) == 0);
	json_t *out = json_loads(cli_out, JSON_REJECT_DUPLICATES, NULL);
	char *payload = NULL;
	size_t plen;
	struct tg_error err;
	CHECK(paseto_v4_verify(minted, strlen(minted), issuer_pk, NULL, 0, &payload, &plen, NULL,
	                       NULL, &err) == 0);
	json_t *signed_claims = json_loads(payload, 0, NULL);
	CHECK(out != NULL && signed_claims != NULL);
	CHECK(json_equal(out, signed_claims));
	CHECK(strchr(cli_out, '\n') < cli_out + strlen(cli_out) - 1);  /* pretty: several lines */
	CHECK_STREQ(cli_errout, "footer: {\"kid\":\"idp\"}\n");
	json_decref(out);
	json_decref(signed_claims);
	free(payload);
}

TEST(verify_of_a_tampered_token_exits_1_with_the_reason)
{
	mint_one();
	flip_char(minted, 14);
	CHECK(run_cli(cli_token_verify, "verify", minted, "--key", issuer_pub, NULL) == 1);
	CHECK_STREQ(cli_out, "");
	CHECK_STREQ(cli_errout, "toolgate token verify: signature does not verify\n");
	CHECK(run_cli(cli_token_verify, "verify", minted, "--key", issuer_pub, "--json", NULL) == 1);
	CHECK_STREQ(cli_out, "");
	CHECK_STREQ(cli_errout, "toolgate token verify: signature does not verify\n");
}

TEST(verify_with_another_issuers_key_exits_1)
{
	char k2[400], p2[400];
	struct tg_error err;
	snprintf(k2, sizeof k2, "%s/other.key", tmpdir);
	snprintf(p2, sizeof p2, "%s/other.pub", tmpdir);
	CHECK(keys_generate(k2, p2, &err) == 0);
	mint_one();
	CHECK(run_cli(cli_token_verify, "verify", minted, "--key", p2, NULL) == 1);
	CHECK_STREQ(cli_errout, "toolgate token verify: signature does not verify\n");
}

TEST(verify_escapes_control_characters_in_claims)
{
	/* A signer can put anything in a claim; the terminal must not execute it. */
	struct tg_error err;
	struct ed25519_key k;
	CHECK(keys_load_private(issuer_key, &k, &err) == 0);
	const char *p = "{\"sub\":\"\\u001b[31mred\",\"x\":\"\xc2\x9b\"}";
	char *t = paseto_v4_sign(k.sk, p, strlen(p), NULL, 0, NULL, 0, &err);
	keys_wipe(&k);
	CHECK(t != NULL);
	CHECK(run_cli(cli_token_verify, "verify", t, "--key", issuer_pub, NULL) == 0);
	CHECK_STREQ(cli_out, "sub: \\x1b[31mred\nx: \\xc2\\x9b\nfooter: (none)\n");
	free(t);
}

TEST(verify_refuses_a_valid_signature_over_a_non_object_payload)
{
	struct tg_error err;
	struct ed25519_key k;
	CHECK(keys_load_private(issuer_key, &k, &err) == 0);
	char *t = paseto_v4_sign(k.sk, "[1,2]", 5, NULL, 0, NULL, 0, &err);
	keys_wipe(&k);
	CHECK(run_cli(cli_token_verify, "verify", t, "--key", issuer_pub, NULL) == 1);
	CHECK_STREQ(cli_errout, "toolgate token verify: the signature is valid but the payload is "
	            "not a JSON object of claims\n");
	free(t);
}

TEST(verify_usage_errors_exit_2_and_help_says_claims_are_not_checked)
{
	CHECK(run_cli(cli_token_verify, "verify", "--key", issuer_pub, NULL) == 2);
	CHECK_STREQ(cli_errout, "toolgate token verify: missing TOKEN\n"
	            "usage: toolgate token verify TOKEN --key ISSUER.pub [--json]\n");
	CHECK(run_cli(cli_token_verify, "verify", "v4.public.x", NULL) == 2);
	CHECK_STREQ(cli_errout, "toolgate token verify: missing --key ISSUER.pub\n"
	            "usage: toolgate token verify TOKEN --key ISSUER.pub [--json]\n");
	CHECK(run_cli(cli_token_verify, "verify", "a", "b", "--key", issuer_pub, NULL) == 2);
	CHECK(run_cli(cli_token_verify, "verify", "--help", NULL) == 0);
	CHECK_CONTAINS(cli_out, "does NOT check exp, nbf, aud, agent or the scope");
}

TEST(verify_with_an_unreadable_key_exits_1_naming_the_file)
{
	char missing[400];
	snprintf(missing, sizeof missing, "%s/none.pub", tmpdir);
	CHECK(run_cli(cli_token_verify, "verify", "v4.public.x", "--key", missing, NULL) == 1);
	CHECK(starts_with(cli_errout, "toolgate token verify: "));
	CHECK_CONTAINS(cli_errout, "none.pub");
}

int main(void)
{
	if (sodium_init() < 0)
		die("sodium_init failed");
	load_vectors();
	make_issuer();

	RUN(vector_file_has_the_three_public_and_five_failure_vectors);
	RUN(every_public_vector_verifies_and_returns_exactly_its_payload_and_footer);
	RUN(signing_each_public_vector_reproduces_its_token_exactly);
	RUN(every_failure_vector_is_refused_with_the_reason);
	RUN(local_tokens_from_the_vector_file_are_not_public_tokens);
	RUN(sign_then_verify_returns_payload_and_footer_nul_terminated);
	RUN(token_without_footer_has_no_trailing_dot_and_yields_empty_footer);
	RUN(empty_payload_is_a_valid_token_of_only_a_signature);
	RUN(implicit_assertion_must_match_the_one_signed);
	RUN(tampered_payload_byte_fails_the_signature);
	RUN(tampered_signature_byte_fails_the_signature);
	RUN(tampered_footer_fails_the_signature);
	RUN(removed_footer_fails_the_signature);
	RUN(wrong_public_key_fails_the_signature);
	RUN(headers_other_than_v4_public_are_refused);
	RUN(empty_payload_part_is_refused);
	RUN(payload_shorter_than_a_signature_is_refused_before_decoding);
	RUN(extra_dots_are_too_many_parts);
	RUN(trailing_dot_without_footer_is_refused);
	RUN(token_longer_than_8192_bytes_is_refused_and_8192_is_not);
	RUN(sign_refuses_a_payload_whose_token_would_exceed_the_limit);
	RUN(footer_longer_than_1024_bytes_is_refused_and_1024_is_accepted);
	RUN(padding_is_refused_in_payload_and_footer);
	RUN(standard_base64_characters_and_whitespace_are_refused);
	RUN(non_zero_unused_bits_are_refused_as_non_canonical);
	RUN(base64url_length_of_one_mod_four_is_refused);
	RUN(signed_payload_that_is_not_utf8_is_refused);
	RUN(signed_payload_with_a_nul_byte_is_refused);
	RUN(tampered_non_utf8_payload_reports_the_signature_not_the_text);
	RUN(peek_footer_returns_the_footer_without_verifying);
	RUN(peek_footer_applies_the_same_strict_parsing);
	RUN(pae_matches_the_spec_examples);
	RUN(pae_refuses_lengths_that_overflow);
	RUN(mint_prints_one_token_with_all_claims_and_the_kid_footer);
	RUN(mint_without_kid_has_no_footer_and_iss_toolgate_and_fresh_jti);
	RUN(mint_takes_iss_jti_and_nbf_and_normalises_nbf_to_utc);
	RUN(mint_durations_accept_s_m_h_d_and_plain_seconds);
	RUN(mint_usage_errors_exit_2_and_say_what_is_wrong);
	RUN(mint_help_exits_0_and_lists_the_options);
	RUN(mint_with_a_missing_key_file_exits_1_naming_it);
	RUN(verify_prints_each_claim_on_a_line_and_the_footer);
	RUN(verify_json_prints_exactly_the_signed_claims_and_the_footer_on_stderr);
	RUN(verify_of_a_tampered_token_exits_1_with_the_reason);
	RUN(verify_with_another_issuers_key_exits_1);
	RUN(verify_escapes_control_characters_in_claims);
	RUN(verify_refuses_a_valid_signature_over_a_non_object_payload);
	RUN(verify_usage_errors_exit_2_and_help_says_claims_are_not_checked);
	RUN(verify_with_an_unreadable_key_exits_1_naming_the_file);

	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	json_decref(vectors);
	return TEST_SUMMARY();
}
