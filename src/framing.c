/*
 * framing.c: newline-delimited message framing with a size limit (see
 * framing.h).
 */
#include "framing.h"

#include <string.h>

static enum frame_kind classify(const char *buf, size_t n, const char **line, size_t *line_len)
{
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0)
		return FRAME_EMPTY;
	*line = buf;
	*line_len = n;
	return FRAME_LINE;
}

enum frame_kind framing_next(struct framer *f, const char *buf, size_t len,
                             const char **line, size_t *line_len, size_t *consumed)
{
	const char *nl = memchr(buf, '\n', len);
	*consumed = 0;
	if (f->discarding) {
		if (!nl) {
			*consumed = len;
			return FRAME_NEED_MORE;
		}
		f->discarding = false;
		*consumed = (size_t)(nl - buf) + 1;
		return FRAME_EMPTY;
	}
	if (!nl) {
		if (len <= f->max)
			return FRAME_NEED_MORE;
		/* Past the limit without a newline: refuse now, skip the rest. */
		f->discarding = true;
		*consumed = len;
		return FRAME_OVERSIZE;
	}
	size_t n = (size_t)(nl - buf);
	*consumed = n + 1;
	if (n > f->max && !(n == f->max + 1 && buf[n - 1] == '\r'))
		return FRAME_OVERSIZE;
	return classify(buf, n, line, line_len);
}

enum frame_kind framing_finish(struct framer *f, const char *buf, size_t len,
                               const char **line, size_t *line_len)
{
	if (f->discarding || len == 0 || len > f->max)
		return FRAME_EMPTY;
	return classify(buf, len, line, line_len);
}
