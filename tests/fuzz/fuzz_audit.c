/*
 * libFuzzer target: audit log lines, which `toolgate audit verify` and the
 * broker's check of its last line at start read from files anyone with
 * access to the disk may have edited (`make fuzz`).  Each line of the input
 * goes through audit_check_record, the one check of a record line both use,
 * chained as audit_verify_file chains them: seq from 1, prev the hash of
 * the line before, the key following key_rotated records.  A line ending in
 * '}' with no "sig" in it is first signed with the fixed key, as audit.c
 * writes records (the final '}' becomes ,"sig":"..."}), so that the fuzzer
 * reaches the checks after the signature.  The line must come back as it
 * went in: the check restores the byte it changes.
 */
#include "audit.h"
#include "../../src/audit_impl.h"   /* audit_check_record, private to the audit files */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static struct ed25519_key key;

/* A malloc'd copy of line[*len], signed as audit.c would when it has no sig. */
static char *record_line(const char *line, size_t *len)
{
	size_t n = *len;
	bool sign = n > 0 && line[n - 1] == '}' && !memmem(line, n, "\"sig\"", 5);
	char *out = malloc(n + sizeof ",\"sig\":\"\"}" + SIG_B64_LEN);
	if (!out)
		return NULL;
	memcpy(out, line, n);
	if (sign) {
		unsigned char sig[KEYS_SIG_BYTES];
		char b64[SIG_B64_LEN + 1];
		keys_sign(&key, line, n, sig);   /* the bytes up to the comma, then "}" */
		sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
		n = n - 1 + (size_t)sprintf(out + n - 1, ",\"sig\":\"%s\"}", b64);
	}
	*len = n;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		unsigned char seed[crypto_sign_SEEDBYTES] = "toolgate fuzz_audit fixed seed";
		if (sodium_init() < 0 || crypto_sign_seed_keypair(key.pk, key.sk, seed) != 0)
			abort();
		keys_key_id(key.pk, key.key_id);
		ready = 1;
	}
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17], prev_hex[HASH_HEX_LEN + 1];
	memcpy(pk, key.pk, sizeof pk);
	memcpy(key_id, key.key_id, sizeof key_id);
	memcpy(prev_hex, audit_zero_hash_hex, sizeof prev_hex);

	const char *p = (const char *)data, *end = p + size;
	for (uint64_t count = 0; p < end; count++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *line = record_line(p, &len);
		char *copy = line ? malloc(len + 1) : NULL;
		if (!copy) {
			free(line);
			return 0;
		}
		memcpy(copy, line, len);

		struct key_switch next = { .found = false };
		struct record_expect x = {
			.next = &next, .label = "line", .seq = count + 1, .prev_hex = prev_hex,
			.pk = pk, .key_id = key_id,
		};
		struct tg_error err;
		uint64_t seq;
		int rc = audit_check_record(line, len, &x, &seq, &err);
		if (memcmp(line, copy, len) != 0)
			abort();   /* the line was not restored */
		if (rc == 0) {
			if (next.found) {
				memcpy(pk, next.pk, sizeof pk);
				memcpy(key_id, next.key_id, sizeof key_id);
			}
			audit_sha256_hex(line, len, prev_hex);
		}
		free(copy);
		free(line);
		if (rc < 0)
			break;
		p = nl ? nl + 1 : end;
	}
	return 0;
}
