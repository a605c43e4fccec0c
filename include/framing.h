/*
 * framing.h: splitting a connection's byte stream into JSON-RPC lines.
 *
 * Pure and allocation-free: the caller owns the buffer; framing_next() says
 * what the front of it holds.  A line longer than the limit is reported once
 * (FRAME_OVERSIZE) and the rest of it, up to its newline, is skipped, so one
 * bad message never desynchronises the stream or grows the buffer without
 * bound.
 */
#ifndef TOOLGATE_FRAMING_H
#define TOOLGATE_FRAMING_H

#include <stdbool.h>
#include <stddef.h>

struct framer {
	size_t max;        /* largest accepted line, newline excluded */
	bool discarding;   /* inside the tail of an oversize line */
};

enum frame_kind {
	FRAME_NEED_MORE,   /* no complete line: read more (consumed may be > 0) */
	FRAME_LINE,        /* *line and *line_len: one line without "\n" (or "\r\n") */
	FRAME_OVERSIZE,    /* a line exceeded max: answer once; it is being skipped */
	FRAME_EMPTY,       /* an empty line: ignore */
};

/*
 * Look at buf[0..len).  Sets *consumed to the bytes the caller must drop from
 * the front after handling the result (for FRAME_LINE the line points into
 * buf and is valid until then).  At EOF, call framing_finish() for a last
 * line without a newline.
 */
enum frame_kind framing_next(struct framer *f, const char *buf, size_t len,
                             const char **line, size_t *line_len, size_t *consumed);

/* At EOF: the unterminated remainder as a line (FRAME_LINE), or nothing. */
enum frame_kind framing_finish(struct framer *f, const char *buf, size_t len,
                               const char **line, size_t *line_len);

#endif
