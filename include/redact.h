/*
 * redact.h: replacing secret values in a stream of bytes by
 * "[REDACTED:name]", as they arrive.
 *
 * A tool's stdout and stderr reach the broker in reads of any size, so a
 * secret can be cut between two reads; and the broker keeps only the first
 * output_bytes of each stream.  The redactor therefore sits between the
 * pipe and the capture: everything the tool writes goes through it, it
 * holds back the last (longest secret - 1) bytes of what it has seen until
 * it knows whether they start a secret, and only redacted bytes ever reach
 * the capture, whose cap then cuts redacted text (at worst the middle of a
 * "[REDACTED:name]" marker), never a secret.
 *
 * What is replaced: every occurrence of every value, overlapping ones too.
 * Occurrences that overlap one another (one secret inside another, or
 * "abab" in "ababab") merge into one run, replaced by one marker naming
 * the secret whose occurrence starts the run; occurrences that only touch
 * get a marker each.  The result is the same however the
 * input is split into chunks.  At the end of the stream, a tail that is
 * only the beginning of a secret is not an occurrence and is kept as is:
 * redacting partial matches would tell whoever controls the tool's input
 * (an echoing tool, a model choosing arguments) the secret byte by byte.
 */
#ifndef TOOLGATE_REDACT_H
#define TOOLGATE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct redact_pattern {
	const unsigned char *bytes;   /* not NUL-terminated; len >= 1 */
	size_t len;
	const char *name;             /* shown as [REDACTED:name] */
};

typedef void (*redact_emit_fn)(void *ctx, const char *buf, size_t n);

struct redactor {
	const struct redact_pattern *pats;   /* borrowed, must outlive the redactor */
	size_t npats;
	size_t maxlen;            /* of the longest pattern */
	unsigned char *work;      /* held bytes, then the chunk being processed */
	size_t work_cap;
	size_t hold_len;
	uint64_t hold_off;        /* stream offset of work[0] */
	uint64_t run_end;         /* stream bytes before this are covered by a marker */
	size_t *next;             /* per pattern: its next occurrence in work */
};

/* Chunks larger than this are fed in pieces. */
#define REDACT_CHUNK 65536

/* 0, or -1 when out of memory.  npats may be 0 (then bytes pass through). */
int redactor_init(struct redactor *r, const struct redact_pattern *pats, size_t npats);

/* Pass n bytes through; emit() gets the redacted bytes that are decided. */
void redactor_feed(struct redactor *r, const void *buf, size_t n, redact_emit_fn emit, void *ctx);

/* End of stream: emit what is still held back. */
void redactor_finish(struct redactor *r, redact_emit_fn emit, void *ctx);

/* Wipe and free the buffers (the held bytes may be part of a secret). */
void redactor_fini(struct redactor *r);

/*
 * The whole of buf at once, into a new malloc'd NUL-terminated string
 * (*outlen its length), or NULL when out of memory.  For values that are
 * not streams (the strings of a call's arguments, before they are audited).
 */
char *redact_buffer(const struct redact_pattern *pats, size_t npats, const char *buf, size_t n,
                    size_t *outlen);

#endif
