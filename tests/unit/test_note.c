/*
 * test_note.c: C2SP signed notes and tlog checkpoints (note.c) against the
 * signed-note vectors (tests/vectors/signed-note/vectors.json, run from the
 * repository root): key IDs, verifier keys, verification, byte-exact signing
 * with the Go sumdb/note test key, then the strictness of the parser and the
 * checkpoint body format.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "keys.h"
#include "merkle.h"
#include "note.h"
#include "testlib.h"

#define VECTORS "tests/vectors/signed-note/vectors.json"
#define EM "\xE2\x80\x94"

struct vec {
	char verifier_key[128], signer_key[128];
	char name[64];
	uint32_t id;
	uint8_t pub[32];
	char *text, *note;
};
static struct vec foo, peter;  /* the example.com/foo and PeterNeumann vectors */
static struct ed25519_key other;  /* a fresh key nobody else knows */

/* ---------------------------------------------------------------- helpers */

static void die(const char *what)
{
	fprintf(stderr, "test_note: %s\n", what);
	exit(1);
}

/* "name+hex8+base64(0x01 || 32 bytes)", with an optional "PRIVATE+KEY+"
 * prefix: the verifier and signer key strings of the Go implementation. */
static void parse_key(const char *s, bool private, char *name, size_t nn, uint32_t *id, uint8_t out[32])
{
	if (private) {
		if (strncmp(s, "PRIVATE+KEY+", 12) != 0)
			die("signer key without PRIVATE+KEY+");
		s += 12;
	}
	const char *p1 = strchr(s, '+'), *p2 = p1 ? strchr(p1 + 1, '+') : NULL;
	if (!p2 || (size_t)(p1 - s) >= nn || p2 - p1 != 9)
		die("malformed key string");
	memcpy(name, s, (size_t)(p1 - s));
	name[p1 - s] = '\0';
	char hex[9];
	memcpy(hex, p1 + 1, 8);
	hex[8] = '\0';
	*id = (uint32_t)strtoul(hex, NULL, 16);
	uint8_t buf[33];
	size_t bl;
	if (sodium_base642bin(buf, sizeof buf, p2 + 1, strlen(p2 + 1), NULL, &bl, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 || bl != 33 || buf[0] != 0x01)
		die("key string is not base64 of 0x01 || 32 bytes");
	memcpy(out, buf + 1, 32);
}

static char *dup_member(json_t *v, const char *key)
{
	const char *s = json_string_value(json_object_get(v, key));
	if (!s)
		die("vector without a member");
	char *d = strdup(s);
	if (!d)
		die("out of memory");
	return d;
}

static void load_vectors(void)
{
	json_error_t je;
	json_t *root = json_load_file(VECTORS, 0, &je);
	json_t *arr = json_object_get(root, "vectors");
	if (json_array_size(arr) != 2)
		die("expected two vectors in " VECTORS);
	struct vec *vs[2] = { &foo, &peter };
	for (size_t i = 0; i < 2; i++) {
		json_t *v = json_array_get(arr, i);
		struct vec *d = vs[i];
		snprintf(d->verifier_key, sizeof d->verifier_key, "%s",
		         json_string_value(json_object_get(v, "verifier_key")));
		const char *sk = json_string_value(json_object_get(v, "signer_key"));
		snprintf(d->signer_key, sizeof d->signer_key, "%s", sk ? sk : "");
		parse_key(d->verifier_key, false, d->name, sizeof d->name, &d->id, d->pub);
		d->text = dup_member(v, "text");
		d->note = dup_member(v, "note");
	}
	if (strcmp(foo.name, "example.com/foo") != 0 || strcmp(peter.name, "PeterNeumann") != 0 ||
	    peter.signer_key[0] == '\0')
		die("unexpected vectors in " VECTORS);
	json_decref(root);
}

static void fresh_key(struct ed25519_key *k)
{
	crypto_sign_keypair(k->pk, k->sk);
	keys_key_id(k->pk, k->key_id);
}

/* note with the first occurrence of from replaced by to (malloc'd). */
static char *replaced(const char *note, const char *from, const char *to)
{
	const char *p = strstr(note, from);
	if (!p)
		die("replaced: pattern not found");
	size_t a = (size_t)(p - note), fl = strlen(from), tl = strlen(to), rest = strlen(p + fl);
	char *out = malloc(a + tl + rest + 1);
	if (!out)
		die("out of memory");
	memcpy(out, note, a);
	memcpy(out + a, to, tl);
	memcpy(out + a + tl, p + fl, rest + 1);
	return out;
}

/* One signature line over text: "— name base64(id || sig)\n". */
static void sig_line(char *out, size_t n, const char *name, uint32_t id, const struct ed25519_key *k,
                     const char *text)
{
	uint8_t raw[68];
	char b64[sodium_base64_ENCODED_LEN(68, sodium_base64_VARIANT_ORIGINAL)];
	raw[0] = (uint8_t)(id >> 24), raw[1] = (uint8_t)(id >> 16), raw[2] = (uint8_t)(id >> 8), raw[3] = (uint8_t)id;
	keys_sign(k, text, strlen(text), raw + 4);
	sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, n, EM " %s %s\n", name, b64);
}

/* Verify a NUL-terminated note against foo's key; the error text or "ok". */
static const char *verify_foo(const char *note)
{
	static struct tg_error err;
	if (note_verify(note, strlen(note), foo.name, foo.pub, NULL, &err) == 0)
		return "ok";
	return err.msg;
}

/* ------------------------------------------------------------ the vectors */

TEST(key_ids_and_verifier_keys_equal_both_vectors)
{
	struct vec *vs[2] = { &foo, &peter };
	for (size_t i = 0; i < 2; i++) {
		char out[128];
		struct tg_error err;
		CHECK(note_key_id(vs[i]->name, vs[i]->pub) == vs[i]->id);
		CHECK(note_verifier_key(vs[i]->name, vs[i]->pub, out, sizeof out, &err) == 0);
		CHECK_STREQ(out, vs[i]->verifier_key);
	}
	CHECK(foo.id == 0x530d903a);
	CHECK(peter.id == 0xc74f20a3);
}

TEST(both_vector_notes_verify_and_yield_their_signed_text)
{
	struct vec *vs[2] = { &foo, &peter };
	for (size_t i = 0; i < 2; i++) {
		char *text = NULL;
		struct tg_error err = { "" };
		int rc = note_verify(vs[i]->note, strlen(vs[i]->note), vs[i]->name, vs[i]->pub, &text, &err);
		CHECK(rc == 0);
		CHECK_STREQ(err.msg, "");
		CHECK_STREQ(text, vs[i]->text);
		free(text);
	}
}

TEST(signing_with_the_peterneumann_signer_key_reproduces_the_vector_note_byte_for_byte)
{
	char name[64];
	uint32_t id;
	uint8_t seed[32];
	struct ed25519_key k;
	struct tg_error err;
	parse_key(peter.signer_key, true, name, sizeof name, &id, seed);
	CHECK_STREQ(name, "PeterNeumann");
	CHECK(id == peter.id);
	crypto_sign_seed_keypair(k.pk, k.sk, seed);
	keys_key_id(k.pk, k.key_id);
	CHECK(memcmp(k.pk, peter.pub, 32) == 0);

	char *note = note_sign(peter.text, name, &k, &err);
	CHECK_STREQ(note, peter.note);
	free(note);
	keys_wipe(&k);
}

TEST(a_note_we_sign_verifies_and_has_one_em_dash_signature_line)
{
	struct tg_error err;
	char *text = NULL;
	char *note = note_sign("hello\nworld\n", "toolgate.example/b1", &other, &err);
	CHECK(note != NULL);
	if (!note)
		return;
	CHECK(strncmp(note, "hello\nworld\n\n" EM " toolgate.example/b1 ", 13 + 3 + 21) == 0);
	CHECK(strlen(note) == 13 + 3 + 21 + 92 + 1);
	CHECK(note[strlen(note) - 1] == '\n');
	CHECK(note_verify(note, strlen(note), "toolgate.example/b1", other.pk, &text, &err) == 0);
	CHECK_STREQ(text, "hello\nworld\n");
	free(text);
	free(note);
}

/* ------------------------------------------------------ malformed notes */

TEST(a_note_without_the_blank_line_is_refused)
{
	char *bad = replaced(foo.note, "\n\n", "\n");
	CHECK_STREQ(verify_foo(bad), "note has no blank line before its signatures");
	free(bad);
}

TEST(a_signature_that_is_not_strict_base64_is_refused)
{
	char *bad = replaced(foo.note, " Uw2Q", " Uw!Q");
	CHECK_STREQ(verify_foo(bad), "note signature line 1: the signature is not valid base64");
	free(bad);
	bad = replaced(foo.note, "aQM=", "aQM");  /* padding is required */
	CHECK_STREQ(verify_foo(bad), "note signature line 1: the signature is not valid base64");
	free(bad);
	bad = replaced(foo.note, "aQM=", "aQN=");  /* non-zero trailing bits: a second spelling */
	CHECK_STREQ(verify_foo(bad), "note signature line 1: the signature is not valid base64");
	free(bad);
}

/* libsodium 1.0.18's decoder reads every byte from 0x80 up as the digit '/',
 * so U+00FF (bytes c3 bf) in place of "//" decoded to the same signature: a
 * second spelling of the line, made without the key, that verified here and
 * that every other C2SP implementation refuses. */
TEST(a_signature_respelled_with_bytes_above_0x7f_is_refused)
{
	char name[64], text[32], *note = NULL, *slashes = NULL;
	uint32_t id;
	uint8_t seed[32];
	struct ed25519_key k;
	struct tg_error err;
	parse_key(peter.signer_key, true, name, sizeof name, &id, seed);
	crypto_sign_seed_keypair(k.pk, k.sk, seed);
	keys_key_id(k.pk, k.key_id);
	/* A text whose signature has "//" in its base64: Ed25519 is
	   deterministic, and about one text in fifty has one. */
	for (int i = 0; i < 10000 && !slashes; i++) {
		free(note);
		snprintf(text, sizeof text, "text %d\n", i);
		note = note_sign(text, name, &k, &err);
		slashes = note ? strstr(strstr(note, EM), "//") : NULL;
	}
	CHECK(slashes != NULL);
	if (slashes) {
		CHECK(note_verify(note, strlen(note), name, k.pk, NULL, &err) == 0);
		memcpy(slashes, "\xc3\xbf", 2);
		CHECK(note_verify(note, strlen(note), name, k.pk, NULL, &err) == -1);
		CHECK_STREQ(err.msg, "note signature line 1: the signature is not valid base64");
	}
	free(note);
	keys_wipe(&k);
}

TEST(a_note_signed_under_another_name_has_no_signature_by_the_expected_key)
{
	struct tg_error err;
	CHECK(note_verify(foo.note, strlen(foo.note), "example.com/bar", foo.pub, NULL, &err) == -1);
	char want[128];
	snprintf(want, sizeof want, "note has no signature by example.com/bar with key ID %08" PRIx32,
	         note_key_id("example.com/bar", foo.pub));
	CHECK_STREQ(err.msg, want);
}

TEST(a_signature_line_with_another_key_id_is_not_the_expected_key)
{
	/* "Uw2QOk" is the base64 of the key ID 530d903a's first bytes; "VA2QOk"
	 * makes it 540d903a with the signature untouched. */
	char *bad = replaced(foo.note, " Uw2QOk", " VA2QOk");
	CHECK_STREQ(verify_foo(bad), "note has no signature by example.com/foo with key ID 530d903a");
	free(bad);
}

TEST(a_signature_by_the_expected_key_over_other_text_rejects_the_note)
{
	char *bad = replaced(foo.note, "an example", "an exbmple");
	CHECK_STREQ(verify_foo(bad), "note signature line 1 by example.com/foo (key ID 530d903a) does not verify");
	free(bad);
}

TEST(trailing_junk_after_the_signatures_is_refused)
{
	size_t n = strlen(foo.note);
	char buf[512];
	snprintf(buf, sizeof buf, "%sjunk\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2 does not start with an em dash and a space");
	snprintf(buf, sizeof buf, "%sjunk", foo.note);
	CHECK_STREQ(verify_foo(buf), "note does not end with a newline");
	snprintf(buf, sizeof buf, "%s\n", foo.note);  /* a blank line after the signatures */
	CHECK_STREQ(verify_foo(buf), "note has no signature lines");
	CHECK(n < sizeof buf);
}

TEST(a_note_without_its_final_newline_is_refused)
{
	struct tg_error err;
	CHECK(note_verify(foo.note, strlen(foo.note) - 1, foo.name, foo.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note does not end with a newline");
	CHECK(note_verify("", 0, foo.name, foo.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note does not end with a newline");
}

TEST(a_note_over_64_kib_is_refused_before_anything_else)
{
	struct tg_error err;
	char *big = malloc(NOTE_MAX_BYTES + 1);
	CHECK(big != NULL);
	if (!big)
		return;
	memset(big, 'a', NOTE_MAX_BYTES + 1);
	CHECK(note_verify(big, NOTE_MAX_BYTES + 1, foo.name, foo.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note is 65537 bytes, over the 65536-byte limit");
	free(big);
}

TEST(a_note_of_exactly_64_kib_is_signed_and_verified_and_one_byte_more_is_not)
{
	/* The note is text + 99 bytes + the name: "\n", "— ", " ", 92 base64, "\n". */
	size_t tl = NOTE_MAX_BYTES - 99 - 1;
	char *text = malloc(tl + 2);
	CHECK(text != NULL);
	if (!text)
		return;
	for (size_t i = 0; i < tl; i++)
		text[i] = (i % 80 == 79) ? '\n' : 'x';
	text[tl - 1] = '\n';
	text[tl] = '\0';
	struct tg_error err;
	char *note = note_sign(text, "t", &other, &err);
	CHECK(note != NULL);
	if (note) {
		CHECK(strlen(note) == NOTE_MAX_BYTES);
		CHECK(note_verify(note, strlen(note), "t", other.pk, NULL, &err) == 0);
	}
	free(note);
	text[tl - 1] = 'x';
	text[tl] = '\n';
	text[tl + 1] = '\0';
	CHECK(note_sign(text, "t", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "the signed note would be 65537 bytes, over the 65536-byte limit");
	free(text);
}

TEST(control_characters_and_invalid_utf8_anywhere_in_a_note_are_refused)
{
	char *bad = replaced(foo.note, "This is", "This\tis");
	CHECK_STREQ(verify_foo(bad), "note has a control character at byte 4");
	free(bad);
	bad = replaced(foo.note, "This is", "This\r\nis");
	CHECK_STREQ(verify_foo(bad), "note has a control character at byte 4");
	free(bad);
	bad = replaced(foo.note, "This is", "This\xC0\xA0is");  /* overlong space */
	CHECK_STREQ(verify_foo(bad), "note is not valid UTF-8 at byte 4");
	free(bad);
	bad = replaced(foo.note, "This is", "This\xED\xA0\x80is");  /* a surrogate */
	CHECK_STREQ(verify_foo(bad), "note is not valid UTF-8 at byte 4");
	free(bad);

	/* A NUL inside the given length is a control character too. */
	struct tg_error err;
	size_t n = strlen(foo.note);
	char *nul = strdup(foo.note);
	CHECK(nul != NULL);
	if (!nul)
		return;
	nul[2] = '\0';
	CHECK(note_verify(nul, n, foo.name, foo.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note has a control character at byte 2");
	free(nul);
}

TEST(malformed_signature_lines_are_refused_even_for_unknown_keys)
{
	char buf[1024];
	snprintf(buf, sizeof buf, "%s- someone AAAAAAAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2 does not start with an em dash and a space");
	snprintf(buf, sizeof buf, "%s" EM "someone AAAAAAAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2 does not start with an em dash and a space");
	snprintf(buf, sizeof buf, "%s" EM " someone\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2 has no space between the key name and the signature");
	snprintf(buf, sizeof buf, "%s" EM " some+one AAAAAAAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2: the key name contains a '+'");
	snprintf(buf, sizeof buf, "%s" EM "  AAAAAAAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2: the key name is empty");
	snprintf(buf, sizeof buf, "%s" EM " some\xC2\xA0one AAAAAAAA\n", foo.note);  /* U+00A0 */
	CHECK_STREQ(verify_foo(buf), "note signature line 2: the key name contains a space");
	snprintf(buf, sizeof buf, "%s" EM " someone  AAAAAAAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf), "note signature line 2: the signature is not valid base64");
	snprintf(buf, sizeof buf, "%s" EM " someone AAAAAA==\n", foo.note);  /* 4 bytes: a key ID alone */
	CHECK_STREQ(verify_foo(buf), "note signature line 2 is too short to hold a key ID and a signature");
	/* Well formed but of the expected name and key ID, with a short signature. */
	snprintf(buf, sizeof buf, "%s" EM " example.com/foo Uw2QOgAA\n", foo.note);
	CHECK_STREQ(verify_foo(buf),
	            "note signature line 2 by example.com/foo has 6 bytes, not a key ID and an Ed25519 signature");
}

TEST(signatures_of_unknown_keys_are_ignored_but_a_known_key_must_verify)
{
	char line[256], buf[1024];
	struct tg_error err;
	/* Same name, other key ID; other name, same key ID; an unrelated key. */
	sig_line(line, sizeof line, foo.name, 0x01020304, &other, foo.text);
	snprintf(buf, sizeof buf, "%s%s", foo.note, line);
	sig_line(line, sizeof line, "example.com/bar", foo.id, &other, foo.text);
	strncat(buf, line, sizeof buf - strlen(buf) - 1);
	sig_line(line, sizeof line, "witness.example/w1", note_key_id("witness.example/w1", other.pk), &other,
	         foo.text);
	strncat(buf, line, sizeof buf - strlen(buf) - 1);
	CHECK_STREQ(verify_foo(buf), "ok");
	/* The known key's line may come last. */
	snprintf(buf, sizeof buf, "%s\n%s", foo.text, line);
	strncat(buf, strstr(foo.note, EM), sizeof buf - strlen(buf) - 1);
	CHECK_STREQ(verify_foo(buf), "ok");
	/* The same note verifies for the witness, whose line is the only one it knows. */
	CHECK(note_verify(buf, strlen(buf), "witness.example/w1", other.pk, NULL, &err) == 0);
	/* A line of PeterNeumann's key over another text rejects the note for him. */
	snprintf(buf, sizeof buf, "%s%s", foo.note, strstr(peter.note, EM));
	CHECK_STREQ(verify_foo(buf), "ok");
	CHECK(note_verify(buf, strlen(buf), peter.name, peter.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note signature line 2 by PeterNeumann (key ID c74f20a3) does not verify");
}

TEST(the_text_ends_at_the_last_blank_line_so_it_may_hold_blank_lines)
{
	char line[256], buf[512], *text = NULL;
	struct tg_error err;
	sig_line(line, sizeof line, "n", note_key_id("n", other.pk), &other, "a\n\nb\n");
	snprintf(buf, sizeof buf, "a\n\nb\n\n%s", line);
	CHECK(note_verify(buf, strlen(buf), "n", other.pk, &text, &err) == 0);
	CHECK_STREQ(text, "a\n\nb\n");
	free(text);
}

TEST(more_than_100_signature_lines_are_refused)
{
	char line[256];
	size_t cap = 200 * 200, off;
	char *buf = malloc(cap);
	CHECK(buf != NULL);
	if (!buf)
		return;
	off = (size_t)snprintf(buf, cap, "%s", foo.note);
	sig_line(line, sizeof line, "w", 1, &other, foo.text);
	for (int i = 0; i < 99; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s", line);
	CHECK_STREQ(verify_foo(buf), "ok");  /* 100 lines */
	snprintf(buf + off, cap - off, "%s", line);
	CHECK_STREQ(verify_foo(buf), "note has more than 100 signature lines");
	free(buf);
}

TEST(verification_refuses_an_invalid_expected_key_name)
{
	struct tg_error err;
	CHECK(note_verify(foo.note, strlen(foo.note), "example.com/foo+x", foo.pub, NULL, &err) == -1);
	CHECK_STREQ(err.msg, "note key name contains a '+'");
}

/* ------------------------------------------------------------- signing */

TEST(note_sign_refuses_text_that_is_not_a_note_text)
{
	struct tg_error err;
	CHECK(note_sign("", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text is empty");
	CHECK(note_sign("no newline", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text does not end with a newline");
	CHECK(note_sign("a\n\nb\n", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text contains a blank line");
	CHECK(note_sign("\na\n", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text contains a blank line");
	CHECK(note_sign("a\tb\n", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text has a control character at byte 1");
	CHECK(note_sign("caf\xC3\n", "n", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note text is not valid UTF-8 at byte 3");
}

TEST(note_sign_refuses_invalid_key_names_and_a_mismatched_key)
{
	struct tg_error err;
	CHECK(note_sign("a\n", "", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note key name is empty");
	CHECK(note_sign("a\n", "a+b", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note key name contains a '+'");
	CHECK(note_sign("a\n", "a b", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note key name contains a space");
	CHECK(note_sign("a\n", "a\xE3\x80\x80" "b", &other, &err) == NULL);  /* U+3000 */
	CHECK_STREQ(err.msg, "note key name contains a space");
	CHECK(note_sign("a\n", "a\x7f", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note key name contains a control character");
	CHECK(note_sign("a\n", "a\xFF", &other, &err) == NULL);
	CHECK_STREQ(err.msg, "note key name is not valid UTF-8");

	struct ed25519_key mixed = other;
	mixed.pk[0] ^= 1;
	CHECK(note_sign("a\n", "n", &mixed, &err) == NULL);
	CHECK_STREQ(err.msg, "note signing key: the public key does not match the secret key");
}

TEST(verifier_key_needs_room_and_a_valid_name)
{
	char out[128];
	struct tg_error err;
	size_t need = strlen(foo.verifier_key) + 1;
	CHECK(note_verifier_key(foo.name, foo.pub, out, need, &err) == 0);
	CHECK_STREQ(out, foo.verifier_key);
	CHECK(note_verifier_key(foo.name, foo.pub, out, need - 1, &err) == -1);
	CHECK_STREQ(err.msg, "the verifier key of example.com/foo needs 70 bytes, more than the 69 given");
	CHECK(note_verifier_key("a+b", foo.pub, out, sizeof out, &err) == -1);
	CHECK_STREQ(err.msg, "note key name contains a '+'");
}

/* ---------------------------------------------------------- checkpoints */

TEST(checkpoint_body_is_origin_size_and_base64_root_and_parses_back)
{
	merkle_hash root, got;
	char out[256], origin[64];
	uint64_t size = 0;
	struct tg_error err;
	/* The tlog-checkpoint spec's example body. */
	CHECK(sodium_base642bin(root, sizeof root, "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=", 44, NULL, NULL,
	                        NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
	CHECK(checkpoint_format("example.com/behind-the-sofa", 20852163, root, out, sizeof out) == 0);
	CHECK_STREQ(out, "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
	CHECK(checkpoint_parse(out, origin, sizeof origin, &size, got, &err) == 0);
	CHECK_STREQ(origin, "example.com/behind-the-sofa");
	CHECK(size == 20852163);
	CHECK(memcmp(got, root, 32) == 0);

	CHECK(checkpoint_format("o", UINT64_MAX, root, out, sizeof out) == 0);
	CHECK(checkpoint_parse(out, origin, sizeof origin, &size, got, &err) == 0);
	CHECK(size == UINT64_MAX);

	merkle_root(NULL, 0, root);
	CHECK(checkpoint_format("o", 0, root, out, sizeof out) == 0);
	CHECK_STREQ(out, "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
	CHECK(checkpoint_parse(out, origin, sizeof origin, &size, got, &err) == 0);
	CHECK(size == 0);
}

TEST(checkpoint_format_refuses_a_small_buffer_and_a_bad_origin)
{
	merkle_hash root = { 0 };
	char out[64];
	CHECK(checkpoint_format("o", 1, root, out, 50) == 0);  /* "o\n1\n" + 44 + "\n" + NUL = 50 */
	CHECK(checkpoint_format("o", 1, root, out, 49) == -1);
	CHECK(checkpoint_format("", 1, root, out, sizeof out) == -1);
	CHECK(checkpoint_format("a\nb", 1, root, out, sizeof out) == -1);
	CHECK(checkpoint_format("a\tb", 1, root, out, sizeof out) == -1);
}

TEST(checkpoint_extension_lines_are_allowed_and_ignored)
{
	char origin[64];
	uint64_t size;
	merkle_hash root;
	struct tg_error err;
	CHECK(checkpoint_parse("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next one\next two\n",
	                       origin, sizeof origin, &size, root, &err) == 0);
	CHECK(size == 5);
}

static const char *parse_err(const char *text, size_t on)
{
	static struct tg_error err;
	char origin[64] = "untouched";
	uint64_t size = 77;
	merkle_hash root = { 0 };
	if (checkpoint_parse(text, origin, on, &size, root, &err) == 0)
		return "ok";
	if (strcmp(origin, "untouched") != 0 || size != 77 || root[0] != 0)
		return "outputs written on failure";
	return err.msg;
}

#define R "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

TEST(malformed_checkpoints_are_refused_with_what_is_wrong)
{
	CHECK_STREQ(parse_err("o\n5\n" R "\n", 64), "ok");
	CHECK_STREQ(parse_err("o\n5\n", 64), "checkpoint has fewer than three lines");
	CHECK_STREQ(parse_err("o\n5\n" R, 64), "checkpoint does not end with a newline");
	CHECK_STREQ(parse_err("", 64), "checkpoint does not end with a newline");
	CHECK_STREQ(parse_err("\n5\n" R "\n", 64), "checkpoint origin line is empty");
	CHECK_STREQ(parse_err("origin\n5\n" R "\n", 6), "checkpoint origin is longer than 5 bytes");
	CHECK_STREQ(parse_err("origin\n5\n" R "\n", 7), "ok");
	CHECK_STREQ(parse_err("o\n05\n" R "\n", 64), "checkpoint tree size is not a decimal number without leading zeros");
	CHECK_STREQ(parse_err("o\n\n" R "\n", 64), "checkpoint tree size is not a decimal number without leading zeros");
	CHECK_STREQ(parse_err("o\n+5\n" R "\n", 64), "checkpoint tree size is not a decimal number without leading zeros");
	CHECK_STREQ(parse_err("o\n-1\n" R "\n", 64), "checkpoint tree size is not a decimal number without leading zeros");
	CHECK_STREQ(parse_err("o\n5 \n" R "\n", 64), "checkpoint tree size is not a decimal number without leading zeros");
	CHECK_STREQ(parse_err("o\n18446744073709551616\n" R "\n", 64), "checkpoint tree size does not fit in 64 bits");
	CHECK_STREQ(parse_err("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n", 64),
	            "checkpoint root hash is not the base64 of 32 bytes");
	CHECK_STREQ(parse_err("o\n5\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n", 64),
	            "checkpoint root hash is not the base64 of 32 bytes");
	CHECK_STREQ(parse_err("o\n5\nAAAA\n", 64), "checkpoint root hash is not the base64 of 32 bytes");
	CHECK_STREQ(parse_err("o\n5\n" R "\n\n", 64), "checkpoint extension line 4 is empty");
	CHECK_STREQ(parse_err("o\n5\n" R "\next\n\n", 64), "checkpoint extension line 5 is empty");
	CHECK_STREQ(parse_err("o\r\n5\n" R "\n", 64), "checkpoint has a control character at byte 1");
}

/* Found by fuzz_note: libsodium 1.0.18 reads every byte from 0x80 up as
 * the digit '/', so an em dash (3 bytes) parsed as "///" and the body did
 * not format back to itself; U+00FF (2 bytes) in place of "//" was a second
 * spelling of the same root. */
#define ONES "//////////////////////////////////////////8="  /* 32 bytes of 0xff */

TEST(a_checkpoint_root_with_bytes_above_0x7f_is_refused_not_read_as_slashes)
{
	CHECK_STREQ(parse_err("broker-1.example\n7\nq83vEjRWeJCrze8SNFZ4" EM "N7xI0VniQq83vEjRWeJA=\n", 64),
	            "checkpoint root hash is not the base64 of 32 bytes");
	CHECK_STREQ(parse_err("o\n5\n" ONES "\n", 64), "ok");
	CHECK_STREQ(parse_err("o\n5\n\xc3\xbf" "////////////////////////////////////////8=\n", 64),
	            "checkpoint root hash is not the base64 of 32 bytes");
}

TEST(a_signed_checkpoint_verifies_and_parses_back_end_to_end)
{
	merkle_hash leaves[3], root, got;
	char body[256], origin[64];
	uint64_t size;
	struct tg_error err;
	for (int i = 0; i < 3; i++)
		merkle_leaf_hash(&i, sizeof i, leaves[i]);
	merkle_root(leaves, 3, root);
	CHECK(checkpoint_format("broker.example", 3, root, body, sizeof body) == 0);
	char *note = note_sign(body, "broker.example", &other, &err);
	CHECK(note != NULL);
	char *text = NULL;
	CHECK(note && note_verify(note, strlen(note), "broker.example", other.pk, &text, &err) == 0);
	CHECK(text && checkpoint_parse(text, origin, sizeof origin, &size, got, &err) == 0);
	CHECK_STREQ(origin, "broker.example");
	CHECK(size == 3);
	CHECK(memcmp(got, root, 32) == 0);
	free(text);
	free(note);
}

int main(void)
{
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	load_vectors();
	fresh_key(&other);
	RUN(key_ids_and_verifier_keys_equal_both_vectors);
	RUN(both_vector_notes_verify_and_yield_their_signed_text);
	RUN(signing_with_the_peterneumann_signer_key_reproduces_the_vector_note_byte_for_byte);
	RUN(a_note_we_sign_verifies_and_has_one_em_dash_signature_line);
	RUN(a_note_without_the_blank_line_is_refused);
	RUN(a_signature_that_is_not_strict_base64_is_refused);
	RUN(a_signature_respelled_with_bytes_above_0x7f_is_refused);
	RUN(a_note_signed_under_another_name_has_no_signature_by_the_expected_key);
	RUN(a_signature_line_with_another_key_id_is_not_the_expected_key);
	RUN(a_signature_by_the_expected_key_over_other_text_rejects_the_note);
	RUN(trailing_junk_after_the_signatures_is_refused);
	RUN(a_note_without_its_final_newline_is_refused);
	RUN(a_note_over_64_kib_is_refused_before_anything_else);
	RUN(a_note_of_exactly_64_kib_is_signed_and_verified_and_one_byte_more_is_not);
	RUN(control_characters_and_invalid_utf8_anywhere_in_a_note_are_refused);
	RUN(malformed_signature_lines_are_refused_even_for_unknown_keys);
	RUN(signatures_of_unknown_keys_are_ignored_but_a_known_key_must_verify);
	RUN(the_text_ends_at_the_last_blank_line_so_it_may_hold_blank_lines);
	RUN(more_than_100_signature_lines_are_refused);
	RUN(verification_refuses_an_invalid_expected_key_name);
	RUN(note_sign_refuses_text_that_is_not_a_note_text);
	RUN(note_sign_refuses_invalid_key_names_and_a_mismatched_key);
	RUN(verifier_key_needs_room_and_a_valid_name);
	RUN(checkpoint_body_is_origin_size_and_base64_root_and_parses_back);
	RUN(checkpoint_format_refuses_a_small_buffer_and_a_bad_origin);
	RUN(checkpoint_extension_lines_are_allowed_and_ignored);
	RUN(malformed_checkpoints_are_refused_with_what_is_wrong);
	RUN(a_checkpoint_root_with_bytes_above_0x7f_is_refused_not_read_as_slashes);
	RUN(a_signed_checkpoint_verifies_and_parses_back_end_to_end);
	keys_wipe(&other);
	return TEST_SUMMARY();
}
