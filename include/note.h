/*
 * note.h: C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and
 * the tlog checkpoints the broker signs over its audit log
 * (c2sp.org/tlog-checkpoint).
 *
 * A signed note is its text (non-empty lines, each ending in a newline), a
 * blank line, then signature lines "— <key name> <base64(key ID || sig)>".
 * The broker signs each checkpoint with its audit key under the key name
 * origin = broker id; `toolgate audit` and any C2SP tool (Go's sumdb/note,
 * transparency-dev) verify it against that name and public key.  The parser
 * here is the only one for notes and checkpoints: untrusted note bytes are
 * checked once, against a size limit, and only the verified text comes out.
 */
#ifndef TOOLGATE_NOTE_H
#define TOOLGATE_NOTE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "keys.h"
#include "merkle.h"

/* The largest signed note accepted or produced, in bytes. */
#define NOTE_MAX_BYTES 65536

/* First 4 bytes, big-endian, of SHA-256(name || "\n" || 0x01 || pub). */
uint32_t note_key_id(const char *name, const uint8_t pub[32]);

/* NULL if name may name a key (non-empty UTF-8 with no '+', no Unicode
 * space and no control character), else what is wrong ("contains a '+'"). */
const char *note_key_name_problem(const char *name);

/* "name+hex8(keyid)+base64(0x01||pub)" into out; -1 if it does not fit or the
 * name is invalid (a name is non-empty UTF-8 with no '+', no Unicode space
 * and no control character). */
int note_verifier_key(const char *name, const uint8_t pub[32], char *out, size_t n,
                      struct tg_error *err);

/* Sign: text must be non-empty UTF-8, end with '\n', and contain no blank
 * line and no control character but '\n'.  Returns the malloc'd,
 * NUL-terminated note: text + "\n" + "— name base64(keyid4 || sig64)\n". */
char *note_sign(const char *text, const char *name, const struct ed25519_key *key,
                struct tg_error *err);

/*
 * Verify the len bytes of note against (name, pub): at most NOTE_MAX_BYTES,
 * strict format (every signature line well formed).  At least one line of
 * that name and key ID must verify and none may fail; lines of other keys are
 * ignored, as the spec says.  On success *text_out (malloc'd, NUL-terminated;
 * text_out may be NULL) is the signed text.
 */
int note_verify(const char *note, size_t len, const char *name, const uint8_t pub[32],
                char **text_out, struct tg_error *err);

/* Checkpoint body "<origin>\n<size>\n<base64 root>\n" into out[n]; 0, or -1
 * if it does not fit or origin is empty or holds a control character. */
int checkpoint_format(const char *origin, uint64_t size, const merkle_hash root, char *out, size_t n);

/* Parse a checkpoint body (extension lines after the third are allowed and
 * ignored, but must be non-empty); origin copied to origin[on].  The outputs
 * are written only on success. */
int checkpoint_parse(const char *text, char *origin, size_t on, uint64_t *size, merkle_hash root,
                     struct tg_error *err);

#endif
