/*
 * paseto.c: PASETO v4.public tokens (see paseto.h), the wire format of
 * delegation tokens.  This file owns the token's bytes only: splitting,
 * strict base64url, PAE and the Ed25519 signature.  What the claims mean is
 * token.c's business.
 *
 * Every token that reaches the broker comes from an agent, so the parser is
 * deliberately narrow: sizes are checked from the encoded lengths before
 * anything is decoded, and a token is accepted in exactly one spelling
 * (no padding, URL alphabet only, zero unused bits, no trailing dot).  A
 * second spelling of the same signed bytes would let a replayed token slip
 * past anything that compares or hashes tokens as strings.
 */
#include "paseto.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HEADER      "v4.public."
#define HEADER_LEN  (sizeof HEADER - 1)
#define SIG_BYTES   crypto_sign_BYTES

static int sodium_ready(struct tg_error *err)
{
	/* Idempotent, and cheap after the first call. */
	if (sodium_init() < 0)
		return tg_err(err, "libsodium failed to initialise");
	return 0;
}

/* ------------------------------------------------------------- base64url */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Bytes that n unpadded base64url characters decode to; n % 4 == 1 is never valid. */
static size_t b64url_decoded_len(size_t n)
{
	return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

static size_t b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

/* Encode into out (b64url_encoded_len(n) bytes, no NUL). */
static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i = 0, o = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url_alphabet[v >> 18];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
}

/*
 * Decode the n characters at in into out (b64url_decoded_len(n) bytes),
 * refusing every spelling but the canonical one.  what names the part
 * ("payload", "footer") in the error.
 */
static int b64url_decode(const char *in, size_t n, unsigned char *out, const char *what,
                         struct tg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (b64url_value(c) >= 0)
			continue;
		if (c == '=')
			return tg_err(err, "malformed base64url in the %s: '=' padding is not allowed",
			              what);
		if (c > 0x20 && c < 0x7f)
			return tg_err(err, "malformed base64url in the %s: '%c' at offset %zu is not "
			              "in the URL-safe alphabet", what, c, i);
		return tg_err(err, "malformed base64url in the %s: byte 0x%02x at offset %zu is not "
		              "in the URL-safe alphabet", what, c, i);
	}
	if (n % 4 == 1)
		return tg_err(err, "malformed base64url in the %s: %zu characters is not a possible "
		              "length", what, n);

	size_t i = 0, o = 0;
	for (; i + 4 <= n; i += 4) {
		uint32_t v = (uint32_t)b64url_value((unsigned char)in[i]) << 18 |
		             (uint32_t)b64url_value((unsigned char)in[i + 1]) << 12 |
		             (uint32_t)b64url_value((unsigned char)in[i + 2]) << 6 |
		             (uint32_t)b64url_value((unsigned char)in[i + 3]);
		out[o++] = (unsigned char)(v >> 16);
		out[o++] = (unsigned char)(v >> 8);
		out[o++] = (unsigned char)v;
	}
	size_t rest = n - i;
	if (rest == 0)
		return 0;
	uint32_t v = 0;
	for (size_t k = 0; k < rest; k++)
		v |= (uint32_t)b64url_value((unsigned char)in[i + k]) << (18 - 6 * k);
	/* 2 characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits). */
	uint32_t spare = rest == 2 ? (v & 0xffff) : (v & 0xff);
	if (spare != 0)
		return tg_err(err, "the %s is not canonical base64url: the unused bits of its last "
		              "character are not zero", what);
	out[o++] = (unsigned char)(v >> 16);
	if (rest == 3)
		out[o++] = (unsigned char)(v >> 8);
	return 0;
}

/* ------------------------------------------------------------------ UTF-8 */

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = s[i];
		size_t len;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

/*
 * The payload becomes a C string for the JSON parser: a NUL inside it would
 * make the string and the signed bytes disagree, and JSON never needs one.
 */
static int check_payload_text(const unsigned char *p, size_t n, struct tg_error *err)
{
	if (memchr(p, '\0', n))
		return tg_err(err, "the payload contains a NUL byte");
	if (!utf8_valid(p, n))
		return tg_err(err, "the payload is not valid UTF-8");
	return 0;
}

/* -------------------------------------------------------------------- PAE */

static void le64(unsigned char out[8], uint64_t n)
{
	/* The spec clears the top bit so that languages without unsigned
	   64-bit integers produce the same bytes. */
	n &= UINT64_C(0x7fffffffffffffff);
	for (int i = 0; i < 8; i++) {
		out[i] = (unsigned char)(n & 0xff);
		n >>= 8;
	}
}

unsigned char *paseto_pae(const void *const *pieces, const size_t *lens, size_t n, size_t *out_len)
{
	size_t total = 8;
	for (size_t i = 0; i < n; i++) {
		if (total > SIZE_MAX - 8 || lens[i] > SIZE_MAX - 8 - total)
			return NULL;
		total += 8 + lens[i];
	}
	unsigned char *out = malloc(total);
	if (!out)
		return NULL;
	size_t o = 0;
	le64(out, n);
	o += 8;
	for (size_t i = 0; i < n; i++) {
		le64(out + o, lens[i]);
		o += 8;
		if (lens[i] > 0)
			memcpy(out + o, pieces[i], lens[i]);
		o += lens[i];
	}
	*out_len = total;
	return out;
}

/* The bytes v4.public signs: PAE(header, message, footer, implicit). */
static unsigned char *signed_bytes(const void *msg, size_t msg_len, const void *footer,
                                   size_t footer_len, const void *implicit, size_t implicit_len,
                                   size_t *out_len)
{
	const void *pieces[4] = { HEADER, msg, footer, implicit };
	size_t lens[4] = { HEADER_LEN, msg_len, footer_len, implicit_len };
	return paseto_pae(pieces, lens, 4, out_len);
}

/* ------------------------------------------------------------------ parse */

struct parsed_token {
	unsigned char *msg;     /* message || signature */
	size_t msg_len;         /* including the signature */
	unsigned char *footer;  /* NUL-terminated, "" when absent */
	size_t footer_len;
};

static void parsed_token_clear(struct parsed_token *pt)
{
	free(pt->msg);
	free(pt->footer);
	memset(pt, 0, sizeof *pt);
}

/*
 * Split and decode a token, all limits checked on the encoded lengths
 * before anything is decoded.
 */
static int parse_token(const char *token, size_t token_len, struct parsed_token *pt,
                       struct tg_error *err)
{
	memset(pt, 0, sizeof *pt);
	if (!token || token_len == 0)
		return tg_err(err, "the token is empty");
	if (token_len > PASETO_MAX_TOKEN)
		return tg_err(err, "the token is longer than %d bytes", PASETO_MAX_TOKEN);
	if (token_len < HEADER_LEN || memcmp(token, HEADER, HEADER_LEN) != 0)
		return tg_err(err, "not a v4.public token");

	const char *body = token + HEADER_LEN;
	size_t body_len = token_len - HEADER_LEN;
	const char *dot = memchr(body, '.', body_len);
	size_t payload_enc_len = dot ? (size_t)(dot - body) : body_len;
	const char *footer_enc = dot ? dot + 1 : NULL;
	size_t footer_enc_len = dot ? body_len - payload_enc_len - 1 : 0;

	if (footer_enc && memchr(footer_enc, '.', footer_enc_len))
		return tg_err(err, "the token has too many parts");
	if (payload_enc_len == 0)
		return tg_err(err, "the payload part is empty");
	if (footer_enc && footer_enc_len == 0)
		return tg_err(err, "the footer part is empty (a token without a footer has no "
		              "trailing dot)");
	if (b64url_decoded_len(payload_enc_len) < SIG_BYTES)
		return tg_err(err, "the payload is too short to hold a signature");
	if (b64url_decoded_len(footer_enc_len) > PASETO_MAX_FOOTER)
		return tg_err(err, "the footer is longer than %d bytes", PASETO_MAX_FOOTER);

	pt->msg_len = b64url_decoded_len(payload_enc_len);
	pt->footer_len = b64url_decoded_len(footer_enc_len);
	pt->msg = malloc(pt->msg_len);
	pt->footer = malloc(pt->footer_len + 1);
	if (!pt->msg || !pt->footer) {
		parsed_token_clear(pt);
		return tg_err(err, "out of memory");
	}
	if (b64url_decode(body, payload_enc_len, pt->msg, "payload", err) < 0 ||
	    b64url_decode(footer_enc, footer_enc_len, pt->footer, "footer", err) < 0) {
		parsed_token_clear(pt);
		return -1;
	}
	pt->footer[pt->footer_len] = '\0';
	return 0;
}

/* ------------------------------------------------------------------- API */

int paseto_v4_verify(const char *token, size_t token_len, const unsigned char pk[32],
                     const void *implicit, size_t implicit_len,
                     char **payload, size_t *payload_len,
                     char **footer, size_t *footer_len, struct tg_error *err)
{
	struct parsed_token pt;
	*payload = NULL;
	*payload_len = 0;
	if (footer) {
		*footer = NULL;
		if (footer_len)
			*footer_len = 0;
	}
	if (sodium_ready(err) < 0 || parse_token(token, token_len, &pt, err) < 0)
		return -1;
	if (!implicit)
		implicit_len = 0;

	size_t m_len = pt.msg_len - SIG_BYTES, signed_len;
	unsigned char *sig = pt.msg + m_len;
	unsigned char *to_verify = signed_bytes(pt.msg, m_len, pt.footer, pt.footer_len, implicit,
	                                        implicit_len, &signed_len);
	if (!to_verify) {
		parsed_token_clear(&pt);
		return tg_err(err, "out of memory");
	}
	int bad = crypto_sign_verify_detached(sig, to_verify, signed_len, pk);
	free(to_verify);
	if (bad) {
		parsed_token_clear(&pt);
		return tg_err(err, "signature does not verify");
	}
	/* Only a signed payload gets this far: its text rules are the caller's contract. */
	if (check_payload_text(pt.msg, m_len, err) < 0) {
		parsed_token_clear(&pt);
		return -1;
	}

	/* The signature's 64 bytes become the NUL and spare room: reuse the buffer. */
	pt.msg[m_len] = '\0';
	*payload = (char *)pt.msg;
	*payload_len = m_len;
	pt.msg = NULL;
	if (footer) {
		*footer = (char *)pt.footer;
		if (footer_len)
			*footer_len = pt.footer_len;
		pt.footer = NULL;
	}
	parsed_token_clear(&pt);
	return 0;
}

int paseto_v4_peek_footer(const char *token, size_t token_len, char **footer,
                          size_t *footer_len, struct tg_error *err)
{
	struct parsed_token pt;
	*footer = NULL;
	if (footer_len)
		*footer_len = 0;
	if (parse_token(token, token_len, &pt, err) < 0)
		return -1;
	*footer = (char *)pt.footer;
	if (footer_len)
		*footer_len = pt.footer_len;
	pt.footer = NULL;
	parsed_token_clear(&pt);
	return 0;
}

char *paseto_v4_sign(const unsigned char sk[64], const void *payload, size_t payload_len,
                     const void *footer, size_t footer_len,
                     const void *implicit, size_t implicit_len, struct tg_error *err)
{
	if (sodium_ready(err) < 0)
		return NULL;
	if (!footer)
		footer_len = 0;
	if (!implicit)
		implicit_len = 0;
	if (!payload && payload_len > 0) {
		tg_err(err, "the payload is missing");
		return NULL;
	}
	/* Never produce a token that paseto_v4_verify would refuse. */
	if (check_payload_text(payload_len ? payload : "", payload_len, err) < 0)
		return NULL;
	if (footer_len > PASETO_MAX_FOOTER) {
		tg_err(err, "the footer is longer than %d bytes", PASETO_MAX_FOOTER);
		return NULL;
	}
	if (payload_len > PASETO_MAX_TOKEN) {
		tg_err(err, "the token would be longer than %d bytes", PASETO_MAX_TOKEN);
		return NULL;
	}
	size_t msg_len = payload_len + SIG_BYTES;
	size_t token_len = HEADER_LEN + b64url_encoded_len(msg_len) +
	                   (footer_len ? 1 + b64url_encoded_len(footer_len) : 0);
	if (token_len > PASETO_MAX_TOKEN) {
		tg_err(err, "the token would be longer than %d bytes", PASETO_MAX_TOKEN);
		return NULL;
	}

	size_t signed_len;
	unsigned char *to_sign = signed_bytes(payload, payload_len, footer, footer_len, implicit,
	                                      implicit_len, &signed_len);
	unsigned char *msg = malloc(msg_len);
	char *out = malloc(token_len + 1);
	if (!to_sign || !msg || !out) {
		free(to_sign);
		free(msg);
		free(out);
		tg_err(err, "out of memory");
		return NULL;
	}
	if (payload_len > 0)
		memcpy(msg, payload, payload_len);
	crypto_sign_detached(msg + payload_len, NULL, to_sign, signed_len, sk);
	free(to_sign);

	size_t o = 0;
	memcpy(out, HEADER, HEADER_LEN);
	o += HEADER_LEN;
	b64url_encode(msg, msg_len, out + o);
	o += b64url_encoded_len(msg_len);
	if (footer_len) {
		out[o++] = '.';
		b64url_encode(footer, footer_len, out + o);
		o += b64url_encoded_len(footer_len);
	}
	out[o] = '\0';
	free(msg);
	return out;
}
