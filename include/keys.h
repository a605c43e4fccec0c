/*
 * keys.h: Ed25519 keys as PEM files (PKCS#8 private, SubjectPublicKeyInfo
 * public), read and written through OpenSSL so that `openssl pkey` and
 * `openssl pkeyutl -verify -rawin` use the very same files; signing and
 * verification use libsodium.
 */
#ifndef TOOLGATE_KEYS_H
#define TOOLGATE_KEYS_H

#include <stddef.h>
#include <stdbool.h>
#include "error.h"

#define KEYS_SECRET_BYTES 64  /* libsodium's seed||public form */
#define KEYS_PUBLIC_BYTES 32
#define KEYS_SIG_BYTES    64

struct ed25519_key {
	unsigned char sk[KEYS_SECRET_BYTES];
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17];  /* first 16 hex digits of SHA-256(pk) */
};

/* Generate a key pair; write key_path (mode 0600, O_EXCL) and pub_path (0644). */
int keys_generate(const char *key_path, const char *pub_path, struct tg_error *err);

/* Load a private key PEM; fills sk, pk and key_id. */
int keys_load_private(const char *path, struct ed25519_key *key, struct tg_error *err);

/* Load a public key PEM into pk (32 bytes). */
int keys_load_public(const char *path, unsigned char pk[KEYS_PUBLIC_BYTES], struct tg_error *err);

/* key_id of a public key: first 16 hex digits of SHA-256(pk). */
void keys_key_id(const unsigned char pk[KEYS_PUBLIC_BYTES], char out[17]);

void keys_sign(const struct ed25519_key *key, const void *msg, size_t len,
               unsigned char sig[KEYS_SIG_BYTES]);
bool keys_verify(const unsigned char pk[KEYS_PUBLIC_BYTES], const void *msg, size_t len,
                 const unsigned char sig[KEYS_SIG_BYTES]);

/* Wipe secret material. */
void keys_wipe(struct ed25519_key *key);

#endif
