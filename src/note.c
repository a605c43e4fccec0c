/*
 * note.c: C2SP signed notes with Ed25519 keys, and tlog checkpoints (see
 * note.h).
 *
 * Signing and verifying go through keys.c (libsodium); base64 is read by
 * base64.h's strict decoder (alphabet only, padding required, non-zero
 * trailing bits refused, no whitespace), so there is exactly one byte string
 * for each signature and root.  Verification reads the untrusted note once,
 * front to back, after a size check: character set, final newline, the last
 * blank line, then every signature line in full, whether or not its key is
 * known, so a note that verifies is also well formed for every other C2SP
 * implementation.
 */
#include "note.h"
#include "base64.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ED25519_TYPE 0x01  /* the signed-note signature type of Ed25519 */
#define KEY_ID_BYTES 4
#define SIG_LINE_BYTES (KEY_ID_BYTES + KEYS_SIG_BYTES)
#define SIG_LINE_B64 sodium_base64_ENCODED_LEN(SIG_LINE_BYTES, sodium_base64_VARIANT_ORIGINAL)
/* Enough for any honest note (the spec asks for at least 16), and a bound on
 * how many Ed25519 verifications one note can make the broker do. */
#define NOTE_MAX_SIGNATURES 100

static const char em_dash[] = "\xE2\x80\x94";  /* U+2014 */

/* ----------------------------------------------------------- characters */

/* Decode the UTF-8 sequence at s[*i]: its code point, or -1 for a truncated,
 * overlong, surrogate or out-of-range sequence. */
static int utf8_next(const uint8_t *s, size_t len, size_t *i, uint32_t *cp)
{
	uint8_t c = s[*i];
	size_t need;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		(*i)++;
		return 0;
	} else if ((c & 0xE0) == 0xC0) {
		need = 1, v = c & 0x1F, min = 0x80;
	} else if ((c & 0xF0) == 0xE0) {
		need = 2, v = c & 0x0F, min = 0x800;
	} else if ((c & 0xF8) == 0xF0) {
		need = 3, v = c & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (len - *i < need + 1)
		return -1;
	for (size_t k = 1; k <= need; k++) {
		uint8_t b = s[*i + k];
		if ((b & 0xC0) != 0x80)
			return -1;
		v = (v << 6) | (b & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return -1;
	*i += need + 1;
	*cp = v;
	return 0;
}

/* The spec's rule for a whole note: valid UTF-8, and no character below
 * U+0020 except newline.  NULL if s obeys it, else the problem and *at. */
static const char *text_problem(const char *s, size_t len, size_t *at)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		*at = i;
		if (utf8_next(u, len, &i, &cp) < 0)
			return "is not valid UTF-8";
		if (cp < 0x20 && cp != '\n')
			return "has a control character";
	}
	return NULL;
}

/* Unicode White_Space, as Go's unicode.IsSpace (which the reference
 * implementation uses for key names). */
static bool is_space(uint32_t cp)
{
	return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 ||
	       cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	       cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* NULL if name[len] is a valid key name, else what is wrong with it. */
static const char *name_problem(const char *name, size_t len)
{
	const uint8_t *u = (const uint8_t *)name;
	size_t i = 0;
	if (len == 0)
		return "is empty";
	while (i < len) {
		uint32_t cp;
		if (utf8_next(u, len, &i, &cp) < 0)
			return "is not valid UTF-8";
		if (cp == '+')
			return "contains a '+'";
		if (is_space(cp))
			return "contains a space";
		if (cp < 0x20 || cp == 0x7F)
			return "contains a control character";
	}
	return NULL;
}

const char *note_key_name_problem(const char *name)
{
	return name_problem(name, strlen(name));
}

/* ----------------------------------------------------------------- keys */

static uint32_t key_id_n(const char *name, size_t name_len, const uint8_t pub[32])
{
	static const uint8_t sep[2] = { '\n', ED25519_TYPE };
	uint8_t h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
	crypto_hash_sha256_update(&st, sep, sizeof sep);
	crypto_hash_sha256_update(&st, pub, 32);
	crypto_hash_sha256_final(&st, h);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

uint32_t note_key_id(const char *name, const uint8_t pub[32])
{
	return key_id_n(name, strlen(name), pub);
}

int note_verifier_key(const char *name, const uint8_t pub[32], char *out, size_t n,
                      struct tg_error *err)
{
	const char *why = note_key_name_problem(name);
	if (why)
		return tg_err(err, "note key name %s", why);

	uint8_t typed[1 + 32];
	char b64[sodium_base64_ENCODED_LEN(sizeof typed, sodium_base64_VARIANT_ORIGINAL)];
	typed[0] = ED25519_TYPE;
	memcpy(typed + 1, pub, 32);
	sodium_bin2base64(b64, sizeof b64, typed, sizeof typed, sodium_base64_VARIANT_ORIGINAL);

	int w = snprintf(out, n, "%s+%08" PRIx32 "+%s", name, note_key_id(name, pub), b64);
	if (w < 0 || (size_t)w >= n)
		return tg_err(err, "the verifier key of %s needs %d bytes, more than the %zu given",
		              name, w + 1, n);
	return 0;
}

/* ---------------------------------------------------------------- signing */

char *note_sign(const char *text, const char *name, const struct ed25519_key *key,
                struct tg_error *err)
{
	size_t tl = strlen(text), nl = strlen(name), at;
	const char *why = name_problem(name, nl);
	if (why) {
		tg_err(err, "note key name %s", why);
		return NULL;
	}
	if (tl == 0) {
		tg_err(err, "note text is empty");
		return NULL;
	}
	if (text[tl - 1] != '\n') {
		tg_err(err, "note text does not end with a newline");
		return NULL;
	}
	/* A blank line in the text would be legal but confusing to read; ours
	 * (checkpoints) never have one, so refuse it rather than sign it. */
	if (text[0] == '\n' || strstr(text, "\n\n")) {
		tg_err(err, "note text contains a blank line");
		return NULL;
	}
	if ((why = text_problem(text, tl, &at))) {
		tg_err(err, "note text %s at byte %zu", why, at);
		return NULL;
	}
	/* The public half must be the one libsodium signs with, or the key ID
	 * would name a key that did not make the signature. */
	if (memcmp(key->sk + 32, key->pk, KEYS_PUBLIC_BYTES) != 0) {
		tg_err(err, "note signing key: the public key does not match the secret key");
		return NULL;
	}

	/* text "\n" "— " name " " base64 "\n" */
	size_t total = tl + 1 + (sizeof em_dash - 1) + 1 + nl + 1 + (SIG_LINE_B64 - 1) + 1;
	if (total > NOTE_MAX_BYTES) {
		tg_err(err, "the signed note would be %zu bytes, over the %d-byte limit", total,
		       NOTE_MAX_BYTES);
		return NULL;
	}

	uint8_t line[SIG_LINE_BYTES];
	uint32_t id = note_key_id(name, key->pk);
	line[0] = (uint8_t)(id >> 24), line[1] = (uint8_t)(id >> 16);
	line[2] = (uint8_t)(id >> 8), line[3] = (uint8_t)id;
	keys_sign(key, text, tl, line + KEY_ID_BYTES);
	char b64[SIG_LINE_B64];
	sodium_bin2base64(b64, sizeof b64, line, sizeof line, sodium_base64_VARIANT_ORIGINAL);

	char *note = malloc(total + 1);
	if (!note) {
		tg_err(err, "note_sign: out of memory");
		return NULL;
	}
	int w = snprintf(note, total + 1, "%s\n%s %s %s\n", text, em_dash, name, b64);
	if (w < 0 || (size_t)w != total) {  /* cannot happen: total counts every byte */
		free(note);
		tg_err(err, "note_sign: the note is not the expected %zu bytes", total);
		return NULL;
	}
	return note;
}

/* ------------------------------------------------------------ verification */

/* Position of the last "\n\n" in s[len], or -1. */
static long last_blank_line(const char *s, size_t len)
{
	for (size_t i = len; i >= 2; i--)
		if (s[i - 2] == '\n' && s[i - 1] == '\n')
			return (long)(i - 2);
	return -1;
}

int note_verify(const char *note, size_t len, const char *name, const uint8_t pub[32],
                char **text_out, struct tg_error *err)
{
	const char *why;
	size_t at;

	if (len > NOTE_MAX_BYTES)
		return tg_err(err, "note is %zu bytes, over the %d-byte limit", len, NOTE_MAX_BYTES);
	size_t want_nl = strlen(name);
	if ((why = name_problem(name, want_nl)))
		return tg_err(err, "note key name %s", why);
	if ((why = text_problem(note, len, &at)))
		return tg_err(err, "note %s at byte %zu", why, at);
	if (len == 0 || note[len - 1] != '\n')
		return tg_err(err, "note does not end with a newline");
	/* The text may hold blank lines; the last one starts the signatures. */
	long split = last_blank_line(note, len);
	if (split < 0)
		return tg_err(err, "note has no blank line before its signatures");
	size_t text_len = (size_t)split + 1;
	const char *p = note + text_len + 1, *end = note + len;
	if (p == end)
		return tg_err(err, "note has no signature lines");

	uint32_t want_id = key_id_n(name, want_nl, pub);
	bool verified = false;
	/* Big enough for any line's signature: unknown keys may use long ones. */
	size_t cap = len / 4 * 3 + 3;
	uint8_t *sig = malloc(cap);
	if (!sig)
		return tg_err(err, "note_verify: out of memory");

	int rc = -1;
	for (unsigned lineno = 1; p < end; lineno++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));  /* found: note ends in '\n' */
		if (lineno > NOTE_MAX_SIGNATURES) {
			tg_err(err, "note has more than %d signature lines", NOTE_MAX_SIGNATURES);
			goto out;
		}
		size_t dl = sizeof em_dash - 1;
		if ((size_t)(eol - p) < dl + 1 || memcmp(p, em_dash, dl) != 0 || p[dl] != ' ') {
			tg_err(err, "note signature line %u does not start with an em dash and a space", lineno);
			goto out;
		}
		const char *nm = p + dl + 1;
		const char *sp = memchr(nm, ' ', (size_t)(eol - nm));
		if (!sp) {
			tg_err(err, "note signature line %u has no space between the key name and the signature",
			       lineno);
			goto out;
		}
		size_t nl = (size_t)(sp - nm);
		if ((why = name_problem(nm, nl))) {
			tg_err(err, "note signature line %u: the key name %s", lineno, why);
			goto out;
		}
		size_t sl;
		const char *b64 = sp + 1;
		if (base64_decode(sig, cap, b64, (size_t)(eol - b64), &sl) < 0) {
			tg_err(err, "note signature line %u: the signature is not valid base64", lineno);
			goto out;
		}
		if (sl <= KEY_ID_BYTES) {
			tg_err(err, "note signature line %u is too short to hold a key ID and a signature",
			       lineno);
			goto out;
		}
		uint32_t id = (uint32_t)sig[0] << 24 | (uint32_t)sig[1] << 16 | (uint32_t)sig[2] << 8 | sig[3];
		/* A key is known by name and ID together: a line sharing only one
		 * of them is someone else's and is ignored. */
		if (nl == want_nl && memcmp(nm, name, nl) == 0 && id == want_id) {
			if (sl != SIG_LINE_BYTES) {
				tg_err(err, "note signature line %u by %s has %zu bytes, not a key ID and an Ed25519 signature",
				       lineno, name, sl);
				goto out;
			}
			/* A known key's bad signature rejects the whole note (the spec's
			 * SHOULD): it is forged or damaged, never just noise. */
			if (!keys_verify(pub, note, text_len, sig + KEY_ID_BYTES)) {
				tg_err(err, "note signature line %u by %s (key ID %08" PRIx32 ") does not verify",
				       lineno, name, want_id);
				goto out;
			}
			verified = true;
		}
		p = eol + 1;
	}
	if (!verified) {
		tg_err(err, "note has no signature by %s with key ID %08" PRIx32, name, want_id);
		goto out;
	}
	if (text_out) {
		char *t = malloc(text_len + 1);
		if (!t) {
			tg_err(err, "note_verify: out of memory");
			goto out;
		}
		memcpy(t, note, text_len);
		t[text_len] = '\0';
		*text_out = t;
	}
	rc = 0;
out:
	free(sig);
	return rc;
}

/* ------------------------------------------------------------- checkpoints */

int checkpoint_format(const char *origin, uint64_t size, const merkle_hash root, char *out, size_t n)
{
	size_t at, ol = strlen(origin);
	if (ol == 0 || text_problem(origin, ol, &at) || memchr(origin, '\n', ol))
		return -1;
	char b64[sodium_base64_ENCODED_LEN(MERKLE_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(b64, sizeof b64, root, MERKLE_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL);
	int w = snprintf(out, n, "%s\n%" PRIu64 "\n%s\n", origin, size, b64);
	if (w < 0 || (size_t)w >= n)
		return -1;
	return 0;
}

int checkpoint_parse(const char *text, char *origin, size_t on, uint64_t *size, merkle_hash root,
                     struct tg_error *err)
{
	size_t len = strnlen(text, NOTE_MAX_BYTES + 1), at;
	const char *why;
	if (len > NOTE_MAX_BYTES)
		return tg_err(err, "checkpoint is over %d bytes", NOTE_MAX_BYTES);
	if ((why = text_problem(text, len, &at)))
		return tg_err(err, "checkpoint %s at byte %zu", why, at);
	if (len == 0 || text[len - 1] != '\n')
		return tg_err(err, "checkpoint does not end with a newline");

	/* The three mandatory lines; the final newline guarantees each memchr
	 * that finds a line also finds its end. */
	const char *line[3], *end = text + len, *p = text;
	size_t ll[3];
	for (int i = 0; i < 3; i++) {
		if (p == end)
			return tg_err(err, "checkpoint has fewer than three lines");
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		line[i] = p;
		ll[i] = (size_t)(eol - p);
		p = eol + 1;
	}

	if (ll[0] == 0)
		return tg_err(err, "checkpoint origin line is empty");
	if (ll[0] + 1 > on)
		return tg_err(err, "checkpoint origin is longer than %zu bytes", on ? on - 1 : 0);

	uint64_t sz = 0;
	if (ll[1] == 0 || (line[1][0] == '0' && ll[1] > 1))
		return tg_err(err, "checkpoint tree size is not a decimal number without leading zeros");
	for (size_t i = 0; i < ll[1]; i++) {
		char c = line[1][i];
		if (c < '0' || c > '9')
			return tg_err(err, "checkpoint tree size is not a decimal number without leading zeros");
		unsigned d = (unsigned)(c - '0');
		if (sz > (UINT64_MAX - d) / 10)
			return tg_err(err, "checkpoint tree size does not fit in 64 bits");
		sz = sz * 10 + d;
	}

	uint8_t h[MERKLE_HASH_BYTES + 1];
	size_t hl;
	if (ll[2] != sodium_base64_ENCODED_LEN(MERKLE_HASH_BYTES, sodium_base64_VARIANT_ORIGINAL) - 1 ||
	    base64_decode(h, sizeof h, line[2], ll[2], &hl) < 0 ||
	    hl != MERKLE_HASH_BYTES)
		return tg_err(err, "checkpoint root hash is not the base64 of 32 bytes");

	/* Extension lines are opaque, but the spec wants them non-empty. */
	for (unsigned lineno = 4; p < end; lineno++) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == p)
			return tg_err(err, "checkpoint extension line %u is empty", lineno);
		p = eol + 1;
	}

	memcpy(origin, line[0], ll[0]);
	origin[ll[0]] = '\0';
	*size = sz;
	memcpy(root, h, MERKLE_HASH_BYTES);
	return 0;
}
