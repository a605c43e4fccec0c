/*
 * paseto.h: PASETO v4.public tokens (Ed25519), the format of delegation
 * tokens.  https://github.com/paseto-standard/paseto-spec (v4, public).
 *
 *   token  = "v4.public." base64url(message || signature) [ "." base64url(footer) ]
 *   signed = Ed25519(PAE("v4.public.", message, footer, implicit_assertion))
 *
 * Parsing is strict and bounded: the token, the footer and the payload have
 * size limits checked before any decoding; base64url must be unpadded, use
 * only the URL alphabet and have zero trailing bits; anything else is
 * refused with an error that says what was wrong.  Nothing here interprets
 * the payload's claims (see token.h).
 */
#ifndef TOOLGATE_PASETO_H
#define TOOLGATE_PASETO_H

#include <stddef.h>
#include "error.h"

#define PASETO_MAX_TOKEN   8192   /* bytes of the whole token */
#define PASETO_MAX_FOOTER  1024   /* bytes of the decoded footer */

/*
 * Verify a v4.public token against one Ed25519 public key (32 bytes).
 * On success returns 0 with *payload (decoded message, NUL-terminated, owned
 * by the caller, *payload_len bytes) and, when footer is non-NULL, *footer
 * (decoded footer, NUL-terminated, owned; "" when the token has none).
 * On failure returns -1 and err says why: "not a v4.public token",
 * "malformed base64url in the payload", "signature does not verify", ...
 */
int paseto_v4_verify(const char *token, size_t token_len, const unsigned char pk[32],
                     const void *implicit, size_t implicit_len,
                     char **payload, size_t *payload_len,
                     char **footer, size_t *footer_len, struct tg_error *err);

/*
 * The footer of a v4.public token, decoded but NOT verified: only for
 * choosing the key (its "kid") before verification.  0 or -1.
 */
int paseto_v4_peek_footer(const char *token, size_t token_len, char **footer,
                          size_t *footer_len, struct tg_error *err);

/*
 * Sign: sk is libsodium's 64-byte Ed25519 secret key.  Returns the token
 * (NUL-terminated, owned by the caller) or NULL with err.
 */
char *paseto_v4_sign(const unsigned char sk[64], const void *payload, size_t payload_len,
                     const void *footer, size_t footer_len,
                     const void *implicit, size_t implicit_len, struct tg_error *err);

/* Pre-Authentication Encoding (exposed for tests): PAE(pieces) into a new
   buffer (owned by the caller), NULL on overflow or ENOMEM. */
unsigned char *paseto_pae(const void *const *pieces, const size_t *lens, size_t n, size_t *out_len);

#endif
