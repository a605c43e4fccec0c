/*
 * libFuzzer target: delegation tokens, which agents send (`make fuzz`).
 * The input is tried twice: as a token (paseto.c's splitting, base64url and
 * signature check, then token_verify), and as the claims of a token signed
 * here with the issuer's key, so that the fuzzer reaches token.c's claim
 * parsing and the scope's `when` conditions as a real issuer's bytes would.
 * The keys come from a fixed seed, so a crashing input replays.
 */
#include "paseto.h"
#include "token.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define BROKER "broker-1"
#define AGENT  "support-bot"
#define NOW    INT64_C(1780315200)   /* 2026-06-01T12:00:00Z */

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static struct issuer_key key = { .kid = "fuzz", .issuer = "fuzz" };
static const struct issuer_keyring kr = { .keys = &key, .n = 1 };

static void try_token(const char *tok, size_t len)
{
	struct tg_error err;
	struct delegation d;
	if (token_verify(&kr, tok, len, BROKER, AGENT, NOW, 60, &d, &err) == 0) {
		char why[TG_ERROR_MAX];
		json_t *args = json_pack("{s:i, s:s}", "amount_cents", 1500, "ticket", "T-1");
		delegation_covers(&d, "refund.issue", args, why, sizeof why);
		json_decref(args);
		delegation_clear(&d);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		unsigned char seed[crypto_sign_SEEDBYTES] = "toolgate fuzz_token fixed seed";
		if (sodium_init() < 0 || crypto_sign_seed_keypair(pk, sk, seed) != 0)
			abort();
		memcpy(key.pk, pk, sizeof pk);
		ready = 1;
	}
	const char *buf = (const char *)data;
	struct tg_error err;
	char *payload, *footer;
	size_t plen, flen;

	/* The input as a token. */
	if (paseto_v4_peek_footer(buf, size, &footer, &flen, &err) == 0)
		free(footer);
	if (paseto_v4_verify(buf, size, pk, "i", 1, &payload, &plen, &footer, &flen, &err) == 0) {
		free(payload);
		free(footer);
	}
	try_token(buf, size);

	/* The input as the claims of a validly signed token. */
	static const char kid_footer[] = "{\"kid\":\"fuzz\"}";
	char *tok = paseto_v4_sign(sk, data, size, kid_footer, strlen(kid_footer), NULL, 0, &err);
	if (!tok)
		return 0;
	size_t tlen = strlen(tok);
	if (paseto_v4_verify(tok, tlen, pk, NULL, 0, &payload, &plen, &footer, &flen, &err) < 0 ||
	    plen != size || memcmp(payload, data, size) != 0 || strcmp(footer, kid_footer) != 0)
		abort();   /* a token we signed must verify to the very bytes signed */
	free(payload);
	free(footer);
	try_token(tok, tlen);
	free(tok);
	return 0;
}
