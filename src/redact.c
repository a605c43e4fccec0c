/*
 * redact.c: streaming replacement of secret values (see redact.h for what
 * is replaced and why partial matches at the end are not).
 *
 * How a chunk is decided.  work = the held bytes, then the new chunk; its
 * first byte is at stream offset base.  Every occurrence that starts before
 * the horizon h = wlen - (maxlen - 1) lies wholly inside work (it is at
 * most maxlen long), so occurrences are decided in order of their start
 * position up to h, exactly as if the whole stream were in one buffer;
 * bytes from h on are held for the next chunk.  Occurrences are merged by
 * stream offsets: run_end is where the bytes covered by the last marker
 * end, and it may lie past h (a run's end bytes are then dropped from the
 * next chunk).  At the end of the stream h = wlen.
 *
 * Searching uses memmem (glibc's two-way algorithm: linear) per pattern,
 * from the last occurrence + 1, so overlapping occurrences are found too.
 */
#include "redact.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)

int redactor_init(struct redactor *r, const struct redact_pattern *pats, size_t npats)
{
	memset(r, 0, sizeof *r);
	r->pats = pats;
	r->npats = npats;
	for (size_t i = 0; i < npats; i++)
		if (pats[i].len > r->maxlen)
			r->maxlen = pats[i].len;
	if (npats == 0)
		return 0;
	/* The held bytes may be the start of a secret: they live in locked
	   memory kept out of core dumps, like the values (secrets.h). */
	r->work_cap = r->maxlen + REDACT_CHUNK;
	r->work = sodium_init() < 0 ? NULL : sodium_malloc(r->work_cap);
	r->next = calloc(npats, sizeof *r->next);
	if (!r->work || !r->next) {
		if (r->work)
			sodium_free(r->work);
		free(r->next);
		r->work = NULL;
		r->next = NULL;
		return -1;
	}
	return 0;
}

void redactor_fini(struct redactor *r)
{
	if (r->work)
		sodium_free(r->work);   /* wipes it first */
	free(r->next);
	r->work = NULL;
	r->next = NULL;
}

static size_t find(const struct redactor *r, size_t wlen, size_t from, size_t i)
{
	const struct redact_pattern *p = &r->pats[i];
	if (from >= wlen || wlen - from < p->len)
		return NONE;
	const unsigned char *hit = memmem(r->work + from, wlen - from, p->bytes, p->len);
	return hit ? (size_t)(hit - r->work) : NONE;
}

/* Plain bytes [from, to) of work, less any that the current run covers. */
static void emit_plain(struct redactor *r, size_t from, size_t to, redact_emit_fn emit, void *ctx)
{
	uint64_t covered = r->run_end > r->hold_off ? r->run_end - r->hold_off : 0;
	if (covered > from)
		from = covered > to ? to : (size_t)covered;
	if (from < to)
		emit(ctx, (const char *)r->work + from, to - from);
}

static void emit_marker(const struct redact_pattern *p, redact_emit_fn emit, void *ctx)
{
	char m[200];
	int n = snprintf(m, sizeof m, "[REDACTED:%s]", p->name);
	if (n < 0)
		return;
	emit(ctx, m, (size_t)n < sizeof m ? (size_t)n : sizeof m - 1);
}

/* Decide work[0, h) (see the file comment); hold the rest. */
static void process(struct redactor *r, size_t wlen, bool final, redact_emit_fn emit, void *ctx)
{
	size_t h = final ? wlen : (wlen > r->maxlen - 1 ? wlen - (r->maxlen - 1) : 0);
	for (size_t i = 0; i < r->npats; i++)
		r->next[i] = find(r, wlen, 0, i);
	size_t cursor = 0;
	for (;;) {
		size_t best = NONE;
		for (size_t i = 0; i < r->npats; i++) {
			if (r->next[i] == NONE)
				continue;
			if (best == NONE || r->next[i] < r->next[best] ||
			    (r->next[i] == r->next[best] && r->pats[i].len > r->pats[best].len))
				best = i;
		}
		if (best == NONE || r->next[best] >= h)
			break;
		size_t s = r->next[best];
		uint64_t abs_s = r->hold_off + s, abs_e = abs_s + r->pats[best].len;
		if (abs_s < r->run_end) {
			if (abs_e > r->run_end)
				r->run_end = abs_e;
		} else {
			emit_plain(r, cursor, s, emit, ctx);
			emit_marker(&r->pats[best], emit, ctx);
			cursor = s;
			r->run_end = abs_e;
		}
		r->next[best] = find(r, wlen, s + 1, best);
	}
	emit_plain(r, cursor, h, emit, ctx);
	r->hold_len = wlen - h;
	if (h > 0 && r->hold_len)
		memmove(r->work, r->work + h, r->hold_len);
	/* What moved down is still in the buffer's tail: wipe the old copy. */
	if (h > 0)
		sodium_memzero(r->work + r->hold_len, wlen - r->hold_len);
	r->hold_off += h;
}

void redactor_feed(struct redactor *r, const void *buf, size_t n, redact_emit_fn emit, void *ctx)
{
	if (r->npats == 0) {
		if (n)
			emit(ctx, buf, n);
		return;
	}
	const unsigned char *p = buf;
	while (n > 0) {
		size_t take = n < REDACT_CHUNK ? n : REDACT_CHUNK;
		memcpy(r->work + r->hold_len, p, take);
		process(r, r->hold_len + take, false, emit, ctx);
		p += take;
		n -= take;
	}
}

void redactor_finish(struct redactor *r, redact_emit_fn emit, void *ctx)
{
	if (r->npats == 0 || r->hold_len == 0)
		return;
	process(r, r->hold_len, true, emit, ctx);
}

struct membuf {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void membuf_put(void *ctx, const char *s, size_t n)
{
	struct membuf *b = ctx;
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t want = b->cap ? b->cap * 2 : 256;
		while (want < b->len + n + 1)
			want *= 2;
		char *nb = realloc(b->buf, want);
		if (!nb) {
			b->failed = true;
			return;
		}
		b->buf = nb;
		b->cap = want;
	}
	memcpy(b->buf + b->len, s, n);
	b->len += n;
	b->buf[b->len] = '\0';
}

char *redact_buffer(const struct redact_pattern *pats, size_t npats, const char *buf, size_t n,
                    size_t *outlen)
{
	struct redactor r;
	struct membuf b = { 0 };
	bool any = false;
	for (size_t i = 0; i < npats && !any; i++)
		any = memmem(buf, n, pats[i].bytes, pats[i].len) != NULL;
	if (!any) {
		/* Nothing to replace (the usual case): no redactor needed. */
		membuf_put(&b, buf, n);
		if (b.failed) {
			free(b.buf);
			return NULL;
		}
		*outlen = b.len;
		return b.buf;
	}
	if (redactor_init(&r, pats, npats) != 0)
		return NULL;
	membuf_put(&b, "", 0);
	redactor_feed(&r, buf, n, membuf_put, &b);
	redactor_finish(&r, membuf_put, &b);
	redactor_fini(&r);
	if (b.failed) {
		free(b.buf);
		return NULL;
	}
	*outlen = b.len;
	return b.buf;
}
