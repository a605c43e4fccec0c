/*
 * audit_impl.h: what the audit log's writer (audit.c) and its verifier
 * (audit_verify.c) share: the record format and the check of one record.
 * Private to those two files; everyone else uses audit.h.
 */
#ifndef TOOLGATE_AUDIT_IMPL_H
#define TOOLGATE_AUDIT_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_files.h"
#include "error.h"
#include "keys.h"

#define HASH_HEX_LEN 64
#define SIG_B64_LEN 88  /* 64 bytes in standard base64 with padding */

extern const char audit_zero_hash_hex[HASH_HEX_LEN + 1];

/* Members the caller may give, in their fixed order after seq, time, prev. */
extern const char *const audit_standard_members[];
#define N_STANDARD 12
/* Members only the log itself writes. */
extern const char *const audit_log_members[];
#define N_LOG 5

void audit_sha256_hex(const void *data, size_t len, char out[HASH_HEX_LEN + 1]);
bool audit_is_lower_hex(const char *s, size_t len, size_t want);
bool audit_name_in(const char *key, size_t key_len, const char *const *names, size_t n);

/* What a record line is checked against. */
/* A key_rotated record: the key that signs the records after it. */
struct key_switch {
	bool found;
	unsigned char pk[KEYS_PUBLIC_BYTES];
	char key_id[17];
};

struct record_expect {
	struct key_switch *next;    /* non-NULL: filled when the record announces a new key */
	const char *label;          /* names the line until its seq is known */
	uint64_t seq;               /* 0: any (the tail check at open) */
	const char *prev_hex;       /* NULL: not checked (the tail check at open) */
	const unsigned char *pk;
	const char *key_id;
};


/*
 * Check one record line (without its newline) against x: JSON object with
 * the members in order, seq, prev, key_id and the signature; a key_rotated
 * record fills x->next.  The line is modified while the signature is
 * checked and restored before returning.  0 and *seq_out, or -1 with err
 * naming the record ("seq 17: signature does not verify").
 */
int audit_check_record(char *line, size_t len, const struct record_expect *x, uint64_t *seq_out,
                       struct tg_error *err);

#endif
