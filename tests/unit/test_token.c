/*
 * test_token.c: delegation tokens (token.c): the issuer keyring in
 * keys/issuers/, token_verify() with every refusal and its exact text, the
 * order of the checks, RFC 3339 times, and delegation_covers().
 *
 * Keys are made at run time (keys_generate) in a fresh temp dir, tokens are
 * signed here with paseto_v4_sign(), and the private keys live outside the
 * config dir, as an issuer's would.
 */
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "keys.h"
#include "paseto.h"
#include "token.h"
#include "testlib.h"

#define BROKER "broker-1"
#define AGENT  "support-bot"
#define SKEW   60
/* 2026-06-01T12:00:00Z; the default token is valid 11:00 to 13:00. */
#define NOW       INT64_C(1780315200)
#define T_NBF_STR "2026-06-01T11:00:00Z"
#define T_EXP_STR "2026-06-01T13:00:00Z"
#define T_NBF     (NOW - 3600)
#define T_EXP     (NOW + 3600)

static char tmpdir[256];
static char cfg[320];                    /* the main config dir */
static struct issuer_keyring kr;         /* its keyring: idp (single-use), ops */
static struct ed25519_key idp_key, ops_key, stranger_key;

/* ---------------------------------------------------------------- fixture */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "test setup: %s: %s\n", what, detail);
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	exit(2);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		die("write", path);
}

/* A config dir tmpdir/NAME with keys/issuers/ created; returns its path. */
static const char *make_cfg(const char *name, char *out, size_t cap)
{
	char p[512];
	snprintf(out, cap, "%s/%s", tmpdir, name);
	snprintf(p, sizeof p, "%s/keys", out);
	if (mkdir(out, 0755) < 0 || mkdir(p, 0755) < 0)
		die("mkdir", out);
	snprintf(p, sizeof p, "%s/keys/issuers", out);
	if (mkdir(p, 0755) < 0)
		die("mkdir", p);
	return out;
}

static const char *issuers_dir(const char *config, char *out, size_t cap)
{
	snprintf(out, cap, "%s/keys/issuers", config);
	return out;
}

/* A new key pair: the public half as CONFIG/keys/issuers/KID.pem, the
   private one outside the config dir; key (if non-NULL) gets the pair. */
static void put_key(const char *config, const char *kid, struct ed25519_key *key)
{
	static int serial;
	char priv[512], pub[512];
	struct tg_error err;
	struct ed25519_key tmp;
	snprintf(priv, sizeof priv, "%s/priv-%d.key", tmpdir, serial++);
	snprintf(pub, sizeof pub, "%s/keys/issuers/%s.pem", config, kid);
	if (keys_generate(priv, pub, &err) < 0 || keys_load_private(priv, key ? key : &tmp, &err) < 0)
		die("key", err.msg);
}

static char *sign_text(const struct ed25519_key *k, const char *payload, const char *footer)
{
	struct tg_error err;
	char *tok = paseto_v4_sign(k->sk, payload, strlen(payload), footer,
	                           footer ? strlen(footer) : 0, NULL, 0, &err);
	if (!tok)
		die("paseto_v4_sign", err.msg);
	return tok;
}

static char *sign_claims(const struct ed25519_key *k, const json_t *claims, const char *footer)
{
	char *payload = json_dumps(claims, JSON_COMPACT);
	if (!payload)
		die("json_dumps", "failed");
	char *tok = sign_text(k, payload, footer);
	free(payload);
	return tok;
}

/* Claims the idp key accepts for BROKER/AGENT at NOW. */
static json_t *idp_claims(void)
{
	json_t *c = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
		" s:{s:{}, s:{}, s:{s:{s:i}}, s:{s:{s:s}, s:{s:s}}}}",
		"iss", "idp.example", "sub", "alice@example.com", "aud", BROKER, "agent", AGENT,
		"jti", "tok-0001", "iat", T_NBF_STR, "nbf", T_NBF_STR, "exp", T_EXP_STR,
		"tools",
		"ticket.read", "kb.*", "refund.issue", "args.amount_cents", "<=", 2000,
		"note.add", "user", "==", "alice@example.com", "agent", "==", AGENT);
	if (!c)
		die("json_pack", "idp_claims");
	return c;
}

/* The smallest token the ops key (issuer "ops", not single-use) accepts. */
static json_t *ops_claims(void)
{
	json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{}}}", "iss", "ops", "sub", "bob",
	                      "aud", BROKER, "agent", AGENT, "exp", T_EXP_STR, "tools", "ticket.read");
	if (!c)
		die("json_pack", "ops_claims");
	return c;
}

static char *idp_token_with(const char *key, json_t *value)
{
	json_t *c = idp_claims();
	if (value)
		json_object_set_new(c, key, value);
	else
		json_object_del(c, key);
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	return tok;
}

/* Verify against the main keyring; on refusal, also check nothing leaked
   into the delegation. */
static int verify_at(const char *tok, const char *principal, int64_t now, struct delegation *d,
                     struct tg_error *err)
{
	int rc = token_verify(&kr, tok, strlen(tok), BROKER, principal, now, SKEW, d, err);
	if (rc < 0 && (d->sub || d->agent || d->kid || d->scope || d->nscope || d->exp)) {
		fprintf(stderr, "    a refused token left fields in the delegation\n");
		tl_cur_failed = 1;
	}
	return rc;
}

/* The refusal text for tok (verified at NOW by AGENT), "" when accepted. */
static const char *refusal(const char *tok)
{
	static struct tg_error err;
	struct delegation d;
	if (verify_at(tok, AGENT, NOW, &d, &err) == 0) {
		delegation_clear(&d);
		return "";
	}
	return err.msg;
}

/* tok with its decoded message||signature edited by edit(). */
static char *tampered(const char *tok, void (*edit)(unsigned char *buf, size_t len))
{
	const char *body = tok + strlen("v4.public.");
	const char *dot = strchr(body, '.');
	size_t enc_len = dot ? (size_t)(dot - body) : strlen(body);
	unsigned char bin[PASETO_MAX_TOKEN];
	size_t bin_len;
	if (sodium_base642bin(bin, sizeof bin, body, enc_len, NULL, &bin_len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		die("base64", tok);
	edit(bin, bin_len);
	size_t cap = strlen(tok) + 8;
	char *out = malloc(cap);
	if (!out)
		die("malloc", "tampered");
	strcpy(out, "v4.public.");
	sodium_bin2base64(out + strlen(out), cap - strlen(out), bin, bin_len,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (dot)
		strcat(out, dot);
	return out;
}

/* ------------------------------------------------------------ the keyring */

TEST(keyring_loads_every_pem_with_its_options_sorted_by_kid)
{
	CHECK(kr.n == 2);
	CHECK_STREQ(kr.keys[0].kid, "idp");
	CHECK_STREQ(kr.keys[0].issuer, "idp.example");
	CHECK(kr.keys[0].single_use);
	CHECK(memcmp(kr.keys[0].pk, idp_key.pk, 32) == 0);
	CHECK_STREQ(kr.keys[1].kid, "ops");
	CHECK_STREQ(kr.keys[1].issuer, "ops");   /* no ops.json: the kid, reusable */
	CHECK(!kr.keys[1].single_use);
	CHECK(memcmp(kr.keys[1].pk, ops_key.pk, 32) == 0);
}

TEST(keyring_sorts_by_kid_not_by_file_name)
{
	/* "a-b.pem" < "a.pem" as file names, but "a" < "a-b" as kids. */
	char dir[400];
	struct issuer_keyring k;
	struct tg_error err;
	make_cfg("sorted", dir, sizeof dir);
	put_key(dir, "a-b", NULL);
	put_key(dir, "a", NULL);
	put_key(dir, "Z_9.x", NULL);
	CHECK(issuers_load(dir, &k, &err) == 0);
	CHECK(k.n == 3);
	if (k.n == 3) {
		CHECK_STREQ(k.keys[0].kid, "Z_9.x");
		CHECK_STREQ(k.keys[1].kid, "a");
		CHECK_STREQ(k.keys[2].kid, "a-b");
	}
	issuers_free(&k);
	CHECK(k.n == 0 && k.keys == NULL);
}

TEST(a_missing_keys_or_issuers_directory_is_an_empty_keyring)
{
	char dir[400], p[512];
	struct issuer_keyring k;
	struct tg_error err;
	snprintf(dir, sizeof dir, "%s/nokeys", tmpdir);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(issuers_load(dir, &k, &err) == 0);
	CHECK(k.n == 0 && k.keys == NULL);
	snprintf(p, sizeof p, "%s/keys", dir);
	CHECK(mkdir(p, 0755) == 0);
	CHECK(issuers_load(dir, &k, &err) == 0);
	CHECK(k.n == 0);
	issuers_free(&k);
}

TEST(a_missing_config_dir_is_an_error)
{
	char dir[400];
	struct issuer_keyring k;
	struct tg_error err;
	snprintf(dir, sizeof dir, "%s/no-such-config", tmpdir);
	CHECK(issuers_load(dir, &k, &err) == -1);
	CHECK_CONTAINS(err.msg, "no-such-config: No such file or directory");
}

TEST(a_keys_issuers_path_that_is_not_a_directory_is_an_error)
{
	char dir[400], p[512];
	struct issuer_keyring k;
	struct tg_error err;
	snprintf(dir, sizeof dir, "%s/notdir", tmpdir);
	snprintf(p, sizeof p, "%s/keys", dir);
	CHECK(mkdir(dir, 0755) == 0 && mkdir(p, 0755) == 0);
	write_file(p, "issuers", "not a directory\n");
	CHECK(issuers_load(dir, &k, &err) == -1);
	CHECK_STREQ(err.msg, "keys/issuers: Not a directory");
}

static const char *load_error(const char *name, void (*fill)(const char *issuers))
{
	static struct tg_error err;
	char dir[400], iss[512];
	struct issuer_keyring k;
	make_cfg(name, dir, sizeof dir);
	put_key(dir, "good", NULL);
	fill(issuers_dir(dir, iss, sizeof iss));
	if (issuers_load(dir, &k, &err) == 0) {
		issuers_free(&k);
		return "(loaded)";
	}
	if (k.n != 0 || k.keys != NULL) {
		fprintf(stderr, "    a failed load left keys behind\n");
		tl_cur_failed = 1;
	}
	return err.msg;
}

static void fill_bad_kid(const char *d) { write_file(d, "bad kid!.pem", "x"); }
static void fill_long_kid(const char *d)
{
	char name[80];
	memset(name, 'k', 65);
	strcpy(name + 65, ".pem");
	write_file(d, name, "x");
}
static void fill_garbage_pem(const char *d) { write_file(d, "junk.pem", "hello, I am not a key\n"); }
static void fill_private_pem(const char *d)
{
	char priv[512], pub[512];
	struct tg_error err;
	snprintf(priv, sizeof priv, "%s/leaked.pem", d);
	snprintf(pub, sizeof pub, "%s/leaked.pub", tmpdir);
	if (keys_generate(priv, pub, &err) < 0)
		die("keys_generate", err.msg);
}
static void fill_ec_pem(const char *d)
{
	char path[512];
	snprintf(path, sizeof path, "%s/ec.pem", d);
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	FILE *f = fopen(path, "w");
	if (!pkey || !f || PEM_write_PUBKEY(f, pkey) != 1)
		die("EC key", path);
	fclose(f);
	EVP_PKEY_free(pkey);
}
static void fill_big_pem(const char *d)
{
	static char big[17 * 1024];
	memset(big, 'A', sizeof big - 1);
	write_file(d, "big.pem", big);
}
static void fill_symlink_pem(const char *d)
{
	char target[512], link[512];
	snprintf(target, sizeof target, "%s/good.pem", d);
	snprintf(link, sizeof link, "%s/alias.pem", d);
	if (symlink(target, link) < 0)
		die("symlink", link);
}
static void fill_orphan_json(const char *d) { write_file(d, "gone.json", "{\"issuer\": \"x\"}"); }
static void fill_unknown_field(const char *d)
{
	write_file(d, "good.json", "{\"issuer\": \"idp\", \"single-use\": true}");
}
static void fill_empty_issuer(const char *d) { write_file(d, "good.json", "{\"issuer\": \"\"}"); }
static void fill_issuer_number(const char *d) { write_file(d, "good.json", "{\"issuer\": 7}"); }
static void fill_single_use_string(const char *d)
{
	write_file(d, "good.json", "{\"single_use\": \"yes\"}");
}
static void fill_json_array(const char *d) { write_file(d, "good.json", "[]"); }
static void fill_json_duplicate(const char *d)
{
	write_file(d, "good.json", "{\"issuer\": \"a\", \"issuer\": \"b\"}");
}

TEST(issuer_files_with_a_bad_kid_or_key_are_refused_naming_the_file)
{
	CHECK_STREQ(load_error("badkid", fill_bad_kid),
	            "keys/issuers/bad kid!.pem: the key id (the file name without .pem) must be "
	            "1 to 64 of A-Z a-z 0-9 . _ -");
	/* A name too long to show whole is cut, visibly. */
	char want[256];
	snprintf(want, sizeof want, "keys/issuers/%.64s...: the key id (the file name without "
	         ".pem) must be 1 to 64 of A-Z a-z 0-9 . _ -",
	         "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk");
	CHECK_STREQ(load_error("longkid", fill_long_kid), want);
	CHECK_STREQ(load_error("garbage", fill_garbage_pem),
	            "keys/issuers/junk.pem: not an Ed25519 public key (no PEM public key in it)");
	CHECK_STREQ(load_error("private", fill_private_pem),
	            "keys/issuers/leaked.pem: holds a private key; only the issuer's public key "
	            "belongs here");
	CHECK_STREQ(load_error("ec", fill_ec_pem),
	            "keys/issuers/ec.pem: not an Ed25519 public key (key type EC)");
	CHECK_STREQ(load_error("big", fill_big_pem), "keys/issuers/big.pem: larger than 16384 bytes");
	CHECK_STREQ(load_error("symlink", fill_symlink_pem),
	            "keys/issuers/alias.pem: is a symbolic link; config files must be regular files");
}

TEST(issuer_options_files_are_checked_field_by_field)
{
	CHECK_STREQ(load_error("orphan", fill_orphan_json),
	            "keys/issuers/gone.json: there is no key gone.pem beside it");
	CHECK_STREQ(load_error("unknownfield", fill_unknown_field),
	            "keys/issuers/good.json: unknown field \"single-use\" (expected \"issuer\" or "
	            "\"single_use\")");
	CHECK_STREQ(load_error("emptyissuer", fill_empty_issuer),
	            "keys/issuers/good.json: issuer: must be a non-empty string");
	CHECK_STREQ(load_error("numissuer", fill_issuer_number),
	            "keys/issuers/good.json: issuer: must be a non-empty string");
	CHECK_STREQ(load_error("su", fill_single_use_string),
	            "keys/issuers/good.json: single_use: must be true or false");
	CHECK_STREQ(load_error("jsonarray", fill_json_array),
	            "keys/issuers/good.json: not a JSON object");
	CHECK_CONTAINS(load_error("jsondup", fill_json_duplicate),
	               "keys/issuers/good.json: invalid JSON: duplicate object key");
}

TEST(hidden_files_and_other_names_in_keys_issuers_are_ignored)
{
	char dir[400], iss[512];
	struct issuer_keyring k;
	struct tg_error err;
	make_cfg("ignored", dir, sizeof dir);
	put_key(dir, "only", NULL);
	issuers_dir(dir, iss, sizeof iss);
	write_file(iss, "README.md", "Issuer keys live here.\n");
	write_file(iss, "only.pem.bak", "junk");
	write_file(iss, ".only.pem.swp", "junk");
	write_file(iss, ".hidden.json", "junk");
	CHECK(issuers_load(dir, &k, &err) == 0);
	CHECK(k.n == 1);
	if (k.n == 1)
		CHECK_STREQ(k.keys[0].kid, "only");
	issuers_free(&k);
}

/* -------------------------------------------------------------- verifying */

TEST(a_valid_token_fills_every_field_of_the_delegation)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = idp_claims();
	json_object_set_new(c, "iat", json_string("2026-06-01T10:59:30.25+00:00"));
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	CHECK(verify_at(tok, AGENT, NOW, &d, &err) == 0);
	CHECK_STREQ(d.iss, "idp.example");
	CHECK_STREQ(d.sub, "alice@example.com");
	CHECK_STREQ(d.aud, BROKER);
	CHECK_STREQ(d.agent, AGENT);
	CHECK_STREQ(d.jti, "tok-0001");
	CHECK_STREQ(d.kid, "idp");
	CHECK(d.iat == T_NBF - 30);
	CHECK(d.nbf == T_NBF);
	CHECK(d.exp == T_EXP);
	CHECK(d.single_use);
	CHECK(d.nscope == 4);
	if (d.nscope == 4) {
		/* The token's order, which is the order delegation_covers tries. */
		CHECK_STREQ(d.scope[0].pattern, "ticket.read");
		CHECK(d.scope[0].when == NULL);
		CHECK_STREQ(d.scope[1].pattern, "kb.*");
		CHECK(d.scope[1].when == NULL);
		CHECK_STREQ(d.scope[2].pattern, "refund.issue");
		CHECK(d.scope[2].when != NULL);
		CHECK_STREQ(d.scope[3].pattern, "note.add");
		CHECK(d.scope[3].when != NULL);
	}
	delegation_clear(&d);
	CHECK(d.sub == NULL && d.scope == NULL && d.nscope == 0);
	delegation_clear(&d);   /* harmless twice */
	free(tok);
}

TEST(optional_claims_may_be_absent_and_a_reusable_key_needs_no_jti)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = ops_claims();
	char *tok = sign_claims(&ops_key, c, "{\"kid\":\"ops\",\"wpk\":\"ignored\"}");
	json_decref(c);
	CHECK(verify_at(tok, AGENT, NOW, &d, &err) == 0);
	CHECK(d.jti == NULL && d.iat == 0 && d.nbf == 0);
	CHECK(!d.single_use);
	CHECK_STREQ(d.kid, "ops");
	CHECK_STREQ(d.iss, "ops");
	delegation_clear(&d);
	free(tok);
}

TEST(a_token_without_kid_is_tried_against_every_key)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = ops_claims();
	char *tok = sign_claims(&ops_key, c, NULL);          /* no footer at all */
	char *tok2 = sign_claims(&ops_key, c, "{\"note\":1}"); /* a footer without kid */
	json_decref(c);
	CHECK(verify_at(tok, AGENT, NOW, &d, &err) == 0);
	CHECK_STREQ(d.kid, "ops");   /* the key that verified, for the audit log */
	delegation_clear(&d);
	CHECK_STREQ(refusal(tok2), "");
	free(tok);
	free(tok2);
}

TEST(a_token_without_kid_that_no_key_verifies_is_refused)
{
	json_t *c = ops_claims();
	char *tok = sign_claims(&stranger_key, c, NULL);
	json_decref(c);
	CHECK_STREQ(refusal(tok), "the signature does not verify with any of the 2 issuer keys "
	                          "(the token has no kid)");
	free(tok);
}

TEST(a_token_without_kid_needs_at_most_16_issuer_keys)
{
	char dir[400];
	struct issuer_keyring many, one;
	struct delegation d;
	struct tg_error err;
	struct ed25519_key k0;
	make_cfg("many", dir, sizeof dir);
	for (int i = 0; i < 17; i++) {
		char kid[16];
		snprintf(kid, sizeof kid, "k%02d", i);
		put_key(dir, kid, i == 0 ? &k0 : NULL);
	}
	CHECK(issuers_load(dir, &many, &err) == 0);
	CHECK(many.n == 17);
	json_t *c = ops_claims();
	json_object_set_new(c, "iss", json_string("k00"));
	char *tok = sign_claims(&k0, c, NULL);
	char *with_kid = sign_claims(&k0, c, "{\"kid\":\"k00\"}");
	json_decref(c);
	CHECK(token_verify(&many, tok, strlen(tok), BROKER, AGENT, NOW, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token has no kid and there are more than 16 issuer keys");
	CHECK(token_verify(&many, with_kid, strlen(with_kid), BROKER, AGENT, NOW, SKEW, &d,
	                   &err) == 0);
	delegation_clear(&d);

	/* The same token against an empty keyring. */
	memset(&one, 0, sizeof one);
	CHECK(token_verify(&one, tok, strlen(tok), BROKER, AGENT, NOW, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token cannot be verified: there are no issuer keys");
	issuers_free(&many);
	free(tok);
	free(with_kid);
}

TEST(a_token_without_kid_and_one_key_says_the_signature_does_not_verify)
{
	char dir[400];
	struct issuer_keyring single;
	struct delegation d;
	struct tg_error err;
	make_cfg("single", dir, sizeof dir);
	put_key(dir, "solo", NULL);
	CHECK(issuers_load(dir, &single, &err) == 0);
	json_t *c = ops_claims();
	char *tok = sign_claims(&stranger_key, c, NULL);
	json_decref(c);
	CHECK(token_verify(&single, tok, strlen(tok), BROKER, AGENT, NOW, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the signature does not verify");
	issuers_free(&single);
	free(tok);
}

TEST(an_unknown_kid_is_refused_by_name)
{
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"k9\"}");
	char *odd = sign_claims(&idp_key, c, "{\"kid\":\"a\\\"b\\n\"}");
	json_decref(c);
	CHECK_STREQ(refusal(tok), "unknown key id \"k9\"");
	/* A kid from the token is shown escaped, never raw. */
	CHECK_STREQ(refusal(odd), "unknown key id \"a\\x22b\\x0a\"");
	free(tok);
	free(odd);
}

TEST(a_token_is_checked_against_its_kids_key_only)
{
	/* Signed by idp's key but naming ops: ops's key does not verify it,
	   and idp's key (which would) is never tried. */
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"ops\"}");
	json_decref(c);
	CHECK_STREQ(refusal(tok), "the signature does not verify");
	free(tok);
}

TEST(the_footer_must_be_a_json_object_with_a_string_kid)
{
	json_t *c = idp_claims();
	char *num = sign_claims(&idp_key, c, "{\"kid\":7}");
	char *text = sign_claims(&idp_key, c, "idp");
	char *arr = sign_claims(&idp_key, c, "[\"idp\"]");
	json_decref(c);
	CHECK_STREQ(refusal(num), "the token's footer: kid must be a string");
	CHECK_CONTAINS(refusal(text), "the token's footer: invalid JSON: ");
	CHECK_STREQ(refusal(arr), "the token's footer: not a JSON object");
	free(num);
	free(text);
	free(arr);
}

static void swap_aud(unsigned char *buf, size_t len)
{
	/* broker-1 -> broker-2 in the message, keeping the signature. */
	unsigned char *p = memmem(buf, len - 64, BROKER, strlen(BROKER));
	if (!p)
		die("tamper", "no aud in payload");
	p[strlen(BROKER) - 1] = '2';
}

static void swap_sub(unsigned char *buf, size_t len)
{
	unsigned char *p = memmem(buf, len - 64, "alice", 5);
	if (!p)
		die("tamper", "no sub in payload");
	memcpy(p, "mallo", 5);
}

static void flip_signature_bit(unsigned char *buf, size_t len)
{
	buf[len - 1] ^= 0x01;
}

TEST(a_tampered_payload_fails_at_the_signature_before_any_claim_is_read)
{
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	char *sub = tampered(tok, swap_sub);
	char *aud = tampered(tok, swap_aud);
	CHECK(strcmp(sub, tok) != 0);
	CHECK_STREQ(refusal(tok), "");
	CHECK_STREQ(refusal(sub), "the signature does not verify");
	/* Were claims read first, this would be "the token is for broker broker-2...". */
	CHECK_STREQ(refusal(aud), "the signature does not verify");
	free(tok);
	free(sub);
	free(aud);
}

TEST(a_tampered_signature_is_refused)
{
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	char *bare = sign_claims(&idp_key, c, NULL);
	json_decref(c);
	char *bad = tampered(tok, flip_signature_bit);
	char *bad_bare = tampered(bare, flip_signature_bit);
	CHECK_STREQ(refusal(bad), "the signature does not verify");
	CHECK_STREQ(refusal(bad_bare), "the signature does not verify with any of the 2 issuer keys "
	                               "(the token has no kid)");
	free(tok);
	free(bare);
	free(bad);
	free(bad_bare);
}

TEST(a_malformed_token_is_refused_with_pasetos_reason)
{
	CHECK_STREQ(refusal("v2.public.abc"), "invalid token: not a v4.public token");
	CHECK_STREQ(refusal(""), "the token is empty");
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, NULL);
	json_decref(c);
	size_t n = strlen(tok);
	char *dotted = malloc(n + 2);
	memcpy(dotted, tok, n);
	strcpy(dotted + n, ".");
	CHECK_CONTAINS(refusal(dotted), "invalid token: the footer part is empty");
	free(dotted);
	free(tok);
}

TEST(a_token_longer_than_8192_bytes_is_refused_before_it_is_parsed)
{
	/* 8193 bytes that are not even a token: the size is the first check. */
	static char big[PASETO_MAX_TOKEN + 2];
	memset(big, 'x', PASETO_MAX_TOKEN + 1);
	CHECK_STREQ(refusal(big), "the token is longer than 8192 bytes");

	/* And a real token of exactly 8192 bytes is fine. */
	bool found = false;
	for (int pad = 5900; pad < 6200 && !found; pad++) {
		json_t *c = ops_claims();
		char *fill = malloc((size_t)pad + 1);
		memset(fill, 'p', (size_t)pad);
		fill[pad] = '\0';
		json_object_set_new(c, "pad", json_string(fill));
		char *tok = sign_claims(&ops_key, c, NULL);
		if (strlen(tok) == PASETO_MAX_TOKEN) {
			found = true;
			CHECK_STREQ(refusal(tok), "");
		}
		json_decref(c);
		free(fill);
		free(tok);
	}
	CHECK(found);
}

TEST(time_is_checked_with_the_skew_on_both_edges)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);

	CHECK(verify_at(tok, AGENT, T_NBF - SKEW, &d, &err) == 0);
	delegation_clear(&d);
	CHECK(verify_at(tok, AGENT, T_NBF - SKEW - 1, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token is not valid before 2026-06-01T11:00:00Z");

	CHECK(verify_at(tok, AGENT, T_EXP + SKEW - 1, &d, &err) == 0);
	delegation_clear(&d);
	CHECK(verify_at(tok, AGENT, T_EXP + SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token has expired (exp 2026-06-01T13:00:00Z)");

	/* Without skew the edges are the claims themselves. */
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_EXP, 0, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token has expired (exp 2026-06-01T13:00:00Z)");
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_EXP - 1, 0, &d, &err) == 0);
	delegation_clear(&d);
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_NBF, 0, &d, &err) == 0);
	delegation_clear(&d);
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_NBF - 1, 0, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token is not valid before 2026-06-01T11:00:00Z");

	/* Extreme clocks and skews saturate instead of wrapping around. */
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, NOW, INT64_MAX, &d, &err) == 0);
	delegation_clear(&d);
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, INT64_MIN + 5, 10, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token is not valid before 2026-06-01T11:00:00Z");
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, INT64_MAX - 5, 10, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token has expired (exp 2026-06-01T13:00:00Z)");
	/* A negative skew counts as none. */
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_EXP, -SKEW, &d, &err) == -1);
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, AGENT, T_EXP - 1, -SKEW, &d, &err) == 0);
	delegation_clear(&d);
	free(tok);
}

TEST(times_with_offsets_are_compared_as_instants)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = idp_claims();
	/* 13:00Z written in New York's winter offset. */
	json_object_set_new(c, "exp", json_string("2026-06-01T08:00:00-05:00"));
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	CHECK(verify_at(tok, AGENT, T_EXP + SKEW - 1, &d, &err) == 0);
	CHECK(d.exp == T_EXP);
	delegation_clear(&d);
	CHECK(verify_at(tok, AGENT, T_EXP + SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token has expired (exp 2026-06-01T13:00:00Z)");
	free(tok);
}

TEST(the_token_must_be_for_this_broker_and_this_agent)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	CHECK(token_verify(&kr, tok, strlen(tok), "other-broker", AGENT, NOW, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token is for broker broker-1, not other-broker");
	CHECK(verify_at(tok, "billing-bot", NOW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token was issued to agent support-bot, not billing-bot");
	CHECK(verify_at(tok, NULL, NOW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the caller maps to no principal");
	free(tok);
}

TEST(checks_run_in_order_audience_then_agent_then_time)
{
	struct delegation d;
	struct tg_error err;
	json_t *c = idp_claims();
	char *tok = sign_claims(&idp_key, c, "{\"kid\":\"idp\"}");
	json_decref(c);
	/* Wrong broker, wrong agent and expired: the audience is reported. */
	CHECK(token_verify(&kr, tok, strlen(tok), "b2", "x", T_EXP + 9999, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token is for broker broker-1, not b2");
	CHECK(token_verify(&kr, tok, strlen(tok), BROKER, "x", T_EXP + 9999, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token was issued to agent support-bot, not x");
	/* A bad claim type is reported before the binding. */
	char *bad = idp_token_with("sub", json_integer(1));
	CHECK(token_verify(&kr, bad, strlen(bad), "b2", "x", T_EXP + 9999, SKEW, &d, &err) == -1);
	CHECK_STREQ(err.msg, "the token's \"sub\" claim must be a non-empty string");
	free(tok);
	free(bad);
}

TEST(each_required_claim_is_named_when_missing)
{
	static const char *const required[] = { "iss", "sub", "aud", "agent", "exp", "tools" };
	for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
		char want[64];
		char *tok = idp_token_with(required[i], NULL);
		snprintf(want, sizeof want, "the token has no \"%s\" claim", required[i]);
		CHECK_STREQ(refusal(tok), want);
		free(tok);
	}
}

TEST(claims_of_the_wrong_type_are_refused_by_name)
{
	struct { const char *claim; json_t *value; const char *msg; } cases[] = {
		{ "sub", json_integer(5), "the token's \"sub\" claim must be a non-empty string" },
		{ "aud", json_string(""), "the token's \"aud\" claim must be a non-empty string" },
		{ "agent", json_pack("[s]", AGENT), "the token's \"agent\" claim must be a non-empty string" },
		{ "iss", json_null(), "the token's \"iss\" claim must be a non-empty string" },
		{ "jti", json_integer(1), "the token's \"jti\" claim must be a non-empty string" },
		{ "exp", json_integer(1780318800),
		  "the token's \"exp\" claim must be an RFC 3339 date-time string" },
		{ "nbf", json_string("tomorrow"),
		  "the token's \"nbf\" claim is not an RFC 3339 date-time: \"tomorrow\"" },
		{ "iat", json_string("2026-06-01 11:00:00Z"),
		  "the token's \"iat\" claim is not an RFC 3339 date-time: \"2026-06-01 11:00:00Z\"" },
		{ "tools", json_pack("[s]", "ticket.read"),
		  "the token's \"tools\" claim must be an object from tool name or pattern to {} or "
		  "to `when` conditions" },
		{ "tools", json_pack("{s:b}", "ticket.read", 1),
		  "the token's \"tools\" claim: \"ticket.read\" must map to {} or to `when` conditions" },
		{ "tools", json_pack("{s:{}}", ""), "the token's \"tools\" claim has an empty tool name" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char *tok = idp_token_with(cases[i].claim, cases[i].value);
		CHECK_STREQ(refusal(tok), cases[i].msg);
		free(tok);
	}
	char long_sub[300];
	memset(long_sub, 's', 257);
	long_sub[257] = '\0';
	char *tok = idp_token_with("sub", json_string(long_sub));
	CHECK_STREQ(refusal(tok), "the token's \"sub\" claim is longer than 256 bytes");
	free(tok);
}

TEST(a_scope_condition_is_compiled_like_a_policy_when)
{
	char *tok = idp_token_with("tools", json_pack("{s:{s:{s:i}}}", "refund.issue",
	                                              "args.amount_cents", "=~", 5));
	/* The condition's own wording is policy.c's; the place is ours. */
	const char *msg = refusal(tok);
	CHECK_CONTAINS(msg, "token scope \"refund.issue\".args.amount_cents: unknown operator \"=~\"");
	free(tok);
	tok = idp_token_with("tools", json_pack("{s:{}, s:{s:{s:i}}}", "kb.*", "refund.*", "amount",
	                                        "<", 5));
	CHECK_CONTAINS(refusal(tok), "token scope \"refund.*\".amount: unknown attribute");
	free(tok);
}

TEST(the_issuer_must_be_the_one_the_key_signs_for)
{
	/* idp.json says "issuer": "idp.example"; the kid is not enough. */
	char *tok = idp_token_with("iss", json_string("idp"));
	CHECK_STREQ(refusal(tok), "the token's issuer is idp, but key \"idp\" signs for issuer "
	                          "idp.example");
	free(tok);
	json_t *c = ops_claims();
	json_object_set_new(c, "iss", json_string("idp.example"));
	tok = sign_claims(&ops_key, c, "{\"kid\":\"ops\"}");
	json_decref(c);
	CHECK_STREQ(refusal(tok), "the token's issuer is idp.example, but key \"ops\" signs for "
	                          "issuer ops");
	free(tok);
}

TEST(a_single_use_key_requires_a_jti)
{
	char *tok = idp_token_with("jti", NULL);
	CHECK_STREQ(refusal(tok), "the token has no \"jti\" claim, which key \"idp\" requires "
	                          "(its tokens are single-use)");
	free(tok);
}

TEST(exp_must_come_after_nbf)
{
	char *tok = idp_token_with("nbf", json_string(T_EXP_STR));
	CHECK_STREQ(refusal(tok), "the token's exp is not after its nbf");
	free(tok);
}

TEST(a_duplicate_claim_is_refused)
{
	char *tok = sign_text(&ops_key,
	                      "{\"iss\":\"ops\",\"sub\":\"bob\",\"sub\":\"alice\",\"aud\":\"" BROKER
	                      "\",\"agent\":\"" AGENT "\",\"exp\":\"" T_EXP_STR
	                      "\",\"tools\":{\"ticket.read\":{}}}",
	                      "{\"kid\":\"ops\"}");
	CHECK_CONTAINS(refusal(tok), "the token's claims: invalid JSON: duplicate object key");
	free(tok);
}

TEST(claims_must_be_a_json_object)
{
	char *arr = sign_text(&ops_key, "[1,2]", "{\"kid\":\"ops\"}");
	char *junk = sign_text(&ops_key, "not json", "{\"kid\":\"ops\"}");
	CHECK_STREQ(refusal(arr), "the token's claims: not a JSON object");
	CHECK_CONTAINS(refusal(junk), "the token's claims: invalid JSON: ");
	free(arr);
	free(junk);
}

static char *nested_claims_token(int levels)
{
	/* levels arrays inside the claims object (itself level 1). */
	json_t *c = ops_claims();
	json_t *v = json_integer(0);
	for (int i = 0; i < levels; i++) {
		json_t *a = json_array();
		json_array_append_new(a, v);
		v = a;
	}
	json_object_set_new(c, "deep", v);
	char *tok = sign_claims(&ops_key, c, "{\"kid\":\"ops\"}");
	json_decref(c);
	return tok;
}

TEST(claims_nested_deeper_than_16_levels_are_refused)
{
	char *ok = nested_claims_token(15);
	char *deep = nested_claims_token(16);
	CHECK_STREQ(refusal(ok), "");
	CHECK_STREQ(refusal(deep), "the token's claims: nested deeper than 16 levels");
	free(ok);
	free(deep);
}

TEST(a_footer_nested_deeper_than_16_levels_is_refused)
{
	char footer[64] = "{\"kid\":\"ops\",\"x\":";
	for (int i = 0; i < 16; i++)
		strcat(footer, "[");
	for (int i = 0; i < 16; i++)
		strcat(footer, "]");
	strcat(footer, "}");
	json_t *c = ops_claims();
	char *tok = sign_claims(&ops_key, c, footer);
	json_decref(c);
	CHECK_STREQ(refusal(tok), "the token's footer: nested deeper than 16 levels");
	free(tok);
}

/* --------------------------------------------------------------- RFC 3339 */

TEST(rfc3339_parse_accepts_z_offsets_and_fractions)
{
	struct { const char *s; int64_t t; } ok[] = {
		{ "1970-01-01T00:00:00Z", 0 },
		{ "2026-11-24T10:00:00Z", INT64_C(1795514400) },
		{ "2022-01-01T00:00:00+00:00", INT64_C(1640995200) },
		{ "2022-01-01T00:00:00-00:00", INT64_C(1640995200) },
		{ "2022-01-01T01:30:00+01:30", INT64_C(1640995200) },
		{ "2021-12-31T19:00:00-05:00", INT64_C(1640995200) },
		{ "2022-01-01T00:00:00.5Z", INT64_C(1640995200) },
		{ "2022-01-01T00:00:00.123456789Z", INT64_C(1640995200) },
		{ "2022-01-01T00:00:00.999+00:00", INT64_C(1640995200) },
		{ "2000-02-29T00:00:00Z", INT64_C(951782400) },
		{ "2024-02-29T23:59:59Z", INT64_C(1709251199) },
		{ "1900-03-01T00:00:00Z", INT64_C(-2203891200) },
		{ "2016-12-31T23:59:60Z", INT64_C(1483228800) },   /* a leap second */
		{ "0000-01-01T00:00:00Z", INT64_C(-62167219200) },
		{ "9999-12-31T23:59:59Z", INT64_C(253402300799) },
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		int64_t t = -1;
		int rc = rfc3339_parse(ok[i].s, &t);
		if (rc != 0 || t != ok[i].t)
			fprintf(stderr, "    %s -> rc %d, %lld\n", ok[i].s, rc, (long long)t);
		CHECK(rc == 0 && t == ok[i].t);
	}
}

TEST(rfc3339_parse_agrees_with_timegm_on_every_month_edge_from_1600_to_2400)
{
	int bad = 0;
	for (int y = 1600; y <= 2400; y++) {
		for (int m = 1; m <= 12; m++) {
			static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
			bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
			int last = m == 2 && leap ? 29 : mdays[m - 1];
			for (int d = 1; d <= last; d += last - 1) {
				char s[64];
				struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d,
				                 .tm_hour = 23, .tm_min = 59, .tm_sec = 58 };
				int64_t t;
				snprintf(s, sizeof s, "%04d-%02d-%02dT23:59:58Z", y, m, d);
				if (rfc3339_parse(s, &t) != 0 || t != (int64_t)timegm(&tm)) {
					if (bad++ < 3)
						fprintf(stderr, "    %s disagrees with timegm\n", s);
				}
			}
		}
	}
	CHECK(bad == 0);
}

TEST(rfc3339_parse_rejects_everything_else)
{
	static const char *const bad[] = {
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z",
		"2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z",
		"2026-01-01T00:00:00",  "2026-01-01 00:00:00Z", "2026-01-01T00:00:00 Z",
		" 2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z ", "2026-01-01t00:00:00Z",
		"2026-01-01T00:00:00z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234567890Z",
		"2026-01-01T00:00:00+0100", "2026-01-01T00:00:00+01", "2026-01-01T00:00:00+24:00",
		"2026-01-01T00:00:00+01:60", "2026-1-01T00:00:00Z", "+2026-01-01T00:00:00Z",
		"20260-01-01T00:00:00Z", "2026-01-01", "2026-01-01T00:00Z", "", "Z",
		"2026-01-01T00:00:00ZZ", "2026-01-01T00:00:00,5Z", "2026-01-01T00:00:00.5",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int64_t t = 42;
		if (rfc3339_parse(bad[i], &t) != -1) {
			fprintf(stderr, "    accepted \"%s\"\n", bad[i]);
			tl_cur_failed = 1;
		}
	}
	int64_t t;
	CHECK(rfc3339_parse(NULL, &t) == -1);
}

/* ---------------------------------------------------------------- scope */

static struct delegation covers_fixture(json_t *tools)
{
	struct delegation d;
	struct tg_error err;
	char *tok = idp_token_with("tools", tools);
	if (verify_at(tok, AGENT, NOW, &d, &err) < 0)
		die("covers fixture", err.msg);
	free(tok);
	return d;
}

TEST(delegation_covers_exact_names_and_patterns)
{
	struct delegation d = covers_fixture(json_pack("{s:{}, s:{}}", "ticket.read", "kb.*"));
	char why[256] = "stale";
	json_t *args = json_object();
	CHECK(delegation_covers(&d, "ticket.read", args, why, sizeof why));
	CHECK_STREQ(why, "");
	CHECK(delegation_covers(&d, "kb.search", args, why, sizeof why));
	CHECK(!delegation_covers(&d, "ticket.create", args, why, sizeof why));
	CHECK_STREQ(why, "the user did not delegate ticket.create");
	CHECK(!delegation_covers(&d, "kb", args, why, sizeof why));
	CHECK_STREQ(why, "the user did not delegate kb");
	json_decref(args);
	delegation_clear(&d);
}

TEST(delegation_covers_a_conditional_entry_only_where_it_holds)
{
	struct delegation d = covers_fixture(json_pack("{s:{s:{s:i}}}", "refund.issue",
	                                               "args.amount_cents", "<=", 2000));
	char why[256];
	json_t *small = json_pack("{s:i}", "amount_cents", 1500);
	json_t *edge = json_pack("{s:i}", "amount_cents", 2000);
	json_t *large = json_pack("{s:i}", "amount_cents", 2500);
	json_t *text = json_pack("{s:s}", "amount_cents", "100");
	json_t *none = json_object();
	CHECK(delegation_covers(&d, "refund.issue", small, why, sizeof why));
	CHECK(delegation_covers(&d, "refund.issue", edge, why, sizeof why));
	CHECK(!delegation_covers(&d, "refund.issue", large, why, sizeof why));
	CHECK_STREQ(why, "the user delegated refund.issue only where its conditions hold: "
	                 "args.amount_cents <= 2000 does not hold");
	/* A missing attribute or a type mismatch never holds: a scope only narrows. */
	CHECK(!delegation_covers(&d, "refund.issue", none, why, sizeof why));
	CHECK_STREQ(why, "the user delegated refund.issue only where its conditions hold: "
	                 "args.amount_cents is missing");
	CHECK(!delegation_covers(&d, "refund.issue", text, why, sizeof why));
	CHECK_CONTAINS(why, "the user delegated refund.issue only where its conditions hold: "
	                    "args.amount_cents is ");
	json_decref(small);
	json_decref(edge);
	json_decref(large);
	json_decref(text);
	json_decref(none);
	delegation_clear(&d);
}

TEST(delegation_covers_evaluates_user_as_sub_and_agent_as_the_agent)
{
	struct delegation d = covers_fixture(json_pack(
		"{s:{s:{s:s}, s:{s:s}}, s:{s:{s:s}}}",
		"note.add", "user", "==", "alice@example.com", "agent", "==", AGENT,
		"note.delete", "user", "==", "bob"));
	char why[256];
	json_t *args = json_object();
	CHECK(delegation_covers(&d, "note.add", args, why, sizeof why));
	CHECK(!delegation_covers(&d, "note.delete", args, why, sizeof why));
	CHECK_CONTAINS(why, "the user delegated note.delete only where its conditions hold: user");
	json_decref(args);
	delegation_clear(&d);
}

TEST(delegation_covers_tries_later_entries_when_an_earlier_one_does_not_hold)
{
	struct delegation d = covers_fixture(json_pack(
		"{s:{s:{s:i}}, s:{}}", "refund.*", "args.amount_cents", "<=", 100, "refund.issue"));
	char why[256];
	json_t *args = json_pack("{s:i}", "amount_cents", 500);
	CHECK(delegation_covers(&d, "refund.issue", args, why, sizeof why));
	CHECK(!delegation_covers(&d, "refund.void", args, why, sizeof why));
	CHECK_STREQ(why, "the user delegated refund.void only where its conditions hold: "
	                 "args.amount_cents <= 100 does not hold");
	/* why may be omitted. */
	CHECK(!delegation_covers(&d, "refund.void", args, NULL, 0));
	json_decref(args);
	delegation_clear(&d);
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	char iss[512];
	struct tg_error err;
	snprintf(tmpdir, sizeof tmpdir, "%s/test_token.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		return 2;
	}
	make_cfg("cfg", cfg, sizeof cfg);
	put_key(cfg, "idp", &idp_key);
	put_key(cfg, "ops", &ops_key);
	write_file(issuers_dir(cfg, iss, sizeof iss), "idp.json",
	           "{\"issuer\": \"idp.example\", \"single_use\": true}");
	{
		char other[400];
		make_cfg("stranger", other, sizeof other);
		put_key(other, "stranger", &stranger_key);
	}
	if (issuers_load(cfg, &kr, &err) < 0)
		die("issuers_load", err.msg);

	RUN(keyring_loads_every_pem_with_its_options_sorted_by_kid);
	RUN(keyring_sorts_by_kid_not_by_file_name);
	RUN(a_missing_keys_or_issuers_directory_is_an_empty_keyring);
	RUN(a_missing_config_dir_is_an_error);
	RUN(a_keys_issuers_path_that_is_not_a_directory_is_an_error);
	RUN(issuer_files_with_a_bad_kid_or_key_are_refused_naming_the_file);
	RUN(issuer_options_files_are_checked_field_by_field);
	RUN(hidden_files_and_other_names_in_keys_issuers_are_ignored);
	RUN(a_valid_token_fills_every_field_of_the_delegation);
	RUN(optional_claims_may_be_absent_and_a_reusable_key_needs_no_jti);
	RUN(a_token_without_kid_is_tried_against_every_key);
	RUN(a_token_without_kid_that_no_key_verifies_is_refused);
	RUN(a_token_without_kid_needs_at_most_16_issuer_keys);
	RUN(a_token_without_kid_and_one_key_says_the_signature_does_not_verify);
	RUN(an_unknown_kid_is_refused_by_name);
	RUN(a_token_is_checked_against_its_kids_key_only);
	RUN(the_footer_must_be_a_json_object_with_a_string_kid);
	RUN(a_tampered_payload_fails_at_the_signature_before_any_claim_is_read);
	RUN(a_tampered_signature_is_refused);
	RUN(a_malformed_token_is_refused_with_pasetos_reason);
	RUN(a_token_longer_than_8192_bytes_is_refused_before_it_is_parsed);
	RUN(time_is_checked_with_the_skew_on_both_edges);
	RUN(times_with_offsets_are_compared_as_instants);
	RUN(the_token_must_be_for_this_broker_and_this_agent);
	RUN(checks_run_in_order_audience_then_agent_then_time);
	RUN(each_required_claim_is_named_when_missing);
	RUN(claims_of_the_wrong_type_are_refused_by_name);
	RUN(a_scope_condition_is_compiled_like_a_policy_when);
	RUN(the_issuer_must_be_the_one_the_key_signs_for);
	RUN(a_single_use_key_requires_a_jti);
	RUN(exp_must_come_after_nbf);
	RUN(a_duplicate_claim_is_refused);
	RUN(claims_must_be_a_json_object);
	RUN(claims_nested_deeper_than_16_levels_are_refused);
	RUN(a_footer_nested_deeper_than_16_levels_is_refused);
	RUN(rfc3339_parse_accepts_z_offsets_and_fractions);
	RUN(rfc3339_parse_agrees_with_timegm_on_every_month_edge_from_1600_to_2400);
	RUN(rfc3339_parse_rejects_everything_else);
	RUN(delegation_covers_exact_names_and_patterns);
	RUN(delegation_covers_a_conditional_entry_only_where_it_holds);
	RUN(delegation_covers_evaluates_user_as_sub_and_agent_as_the_agent);
	RUN(delegation_covers_tries_later_entries_when_an_earlier_one_does_not_hold);

	issuers_free(&kr);
	keys_wipe(&idp_key);
	keys_wipe(&ops_key);
	keys_wipe(&stranger_key);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return TEST_SUMMARY();
}
