/*
 * forward_msg.c: the forwarder's pure pieces (see forward.h): one audit line
 * as an RFC 5424 message, RFC 5425 framing, and the durable cursor file.
 * forward.c runs the thread, the connection and the delivery accounting.
 */
#include "forward.h"
#include "forward_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fileio.h"
#include "jsonrpc.h"

/* ------------------------------------------------------------------------
 * The message format
 * ------------------------------------------------------------------------ */

static bool printusascii(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return false;
	return true;
}

bool forward_valid_hostname(const char *h)
{
	size_t n = h ? strlen(h) : 0;
	return n >= 1 && n <= 255 && printusascii(h, n);
}

/* Stored in every message and escaped there, so any UTF-8 will do; control
   characters would only confuse whoever reads the collector's files. */
bool forward_valid_broker_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 1 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return false;
	json_t *probe = json_stringn(id, n);   /* NULL unless valid UTF-8 */
	json_decref(probe);
	return probe != NULL;
}

static bool digits_in(const char *s, int lo, int hi)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return false;
	int v = (s[0] - '0') * 10 + (s[1] - '0');
	return v >= lo && v <= hi;
}

/*
 * RFC 5424 TIMESTAMP from an RFC 3339 time, or "-" (NILVALUE) when it is not
 * one.  RFC 5424 is the stricter of the two: upper-case T and Z, at most six
 * fraction digits (we cut, which only loses precision), no leap second.
 */
static void syslog_time(const json_t *t, char out[40])
{
	strcpy(out, "-");
	if (!json_is_string(t))
		return;
	const char *s = json_string_value(t);
	size_t n = json_string_length(t);
	if (n < 20 || n > 64)
		return;
	for (int i = 0; i < 4; i++)
		if (s[i] < '0' || s[i] > '9')
			return;
	if (s[4] != '-' || !digits_in(s + 5, 1, 12) || s[7] != '-' || !digits_in(s + 8, 1, 31) ||
	    s[10] != 'T' || !digits_in(s + 11, 0, 23) || s[13] != ':' || !digits_in(s + 14, 0, 59) ||
	    s[16] != ':' || !digits_in(s + 17, 0, 59))
		return;
	size_t i = 19, frac_start = 0, frac_len = 0;
	if (s[i] == '.') {
		frac_start = ++i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		frac_len = i - frac_start;
		if (frac_len == 0)
			return;
	}
	const char *zone = s + i;
	size_t zone_len = n - i;
	if (!(zone_len == 1 && zone[0] == 'Z') &&
	    !(zone_len == 6 && (zone[0] == '+' || zone[0] == '-') && digits_in(zone + 1, 0, 23) &&
	      zone[3] == ':' && digits_in(zone + 4, 0, 59)))
		return;
	size_t k = 19;
	memcpy(out, s, k);
	if (frac_len) {
		size_t keep = frac_len > 6 ? 6 : frac_len;
		out[k++] = '.';
		memcpy(out + k, s + frac_start, keep);
		k += keep;
	}
	memcpy(out + k, zone, zone_len);
	out[k + zone_len] = '\0';
}

/* MSGID: the event name, forced into 1*32PRINTUSASCII, or "-". */
static void syslog_msgid(const json_t *ev, char out[33])
{
	size_t n = json_is_string(ev) ? json_string_length(ev) : 0;
	if (n == 0) {
		strcpy(out, "-");
		return;
	}
	const char *s = json_string_value(ev);
	size_t k = 0;
	for (size_t i = 0; i < n && k < 32; i++)
		out[k++] = ((unsigned char)s[i] >= 33 && (unsigned char)s[i] <= 126) ? s[i] : '_';
	out[k] = '\0';
}

/* A PARAM-VALUE: RFC 5424 section 6.3.3 escapes exactly '"', '\' and ']'. */
static size_t sd_escape(const char *s, char *out)
{
	size_t k = 0;
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			out[k++] = '\\';
		out[k++] = *s;
	}
	return k;
}

ssize_t forward_format(const char *line, size_t len, const char *hostname, const char *broker_id,
                       int pid, char *out, size_t n, uint64_t *seq, struct tg_error *err)
{
	if (!forward_valid_hostname(hostname))
		return tg_err(err, "syslog HOSTNAME \"%.64s\": not 1 to 255 printable US-ASCII characters",
		              hostname ? hostname : "");
	if (!forward_valid_broker_id(broker_id))
		return tg_err(err, "broker id: not 1 to 255 bytes of UTF-8 without control characters");
	if (len > FORWARD_LINE_MAX)
		return tg_err(err, "audit record: longer than %u bytes", FORWARD_LINE_MAX);
	if (json_text_depth(line, len, FORWARD_JSON_MAX_DEPTH) > FORWARD_JSON_MAX_DEPTH)
		return tg_err(err, "audit record: nested deeper than %d levels", FORWARD_JSON_MAX_DEPTH);
	json_error_t jerr;
	/* The audit writer keeps "\u0000" inside strings; it is still a record. */
	json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!rec)
		return tg_err(err, "audit record: not JSON: %s", jerr.text);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return tg_err(err, "audit record: not a JSON object");
	}
	json_t *s = json_object_get(rec, "seq");
	if (!json_is_integer(s) || json_integer_value(s) < 1) {
		json_decref(rec);
		return tg_err(err, "audit record: \"seq\" is not a positive integer");
	}
	uint64_t sq = (uint64_t)json_integer_value(s);
	char ts[40], msgid[33];
	syslog_time(json_object_get(rec, "time"), ts);
	syslog_msgid(json_object_get(rec, "event"), msgid);
	json_decref(rec);

	if (n < len + FORWARD_HEADER_MAX)
		return tg_err(err, "syslog message: buffer of %zu bytes is too small for a %zu-byte record",
		              n, len);
	int h = snprintf(out, n, "<%d>1 %s %s %s %d %s [%s seq=\"%llu\" broker=\"", FORWARD_PRI, ts,
	                 hostname, FORWARD_APP_NAME, pid, msgid, FORWARD_SD_ID, (unsigned long long)sq);
	size_t k = (size_t)h;
	k += sd_escape(broker_id, out + k);
	memcpy(out + k, "\"] ", 3);
	k += 3;
	memcpy(out + k, line, len);
	k += len;
	if (seq)
		*seq = sq;
	return (ssize_t)k;
}

ssize_t forward_frame(const char *msg, size_t len, char *out, size_t n, struct tg_error *err)
{
	char head[24];
	int h = snprintf(head, sizeof head, "%zu ", len);
	if (len == 0)
		return tg_err(err, "syslog frame: empty message");
	if (n < (size_t)h + len)
		return tg_err(err, "syslog frame: buffer of %zu bytes is too small for %zu bytes", n,
		              (size_t)h + len);
	memcpy(out, head, (size_t)h);
	memmove(out + h, msg, len);
	return (ssize_t)((size_t)h + len);
}

/* ------------------------------------------------------------------------
 * The cursor file
 * ------------------------------------------------------------------------ */

int forward_cursor_read(const char *path, uint64_t *seq, uint64_t *offset, struct tg_error *err)
{
	*seq = 0;
	*offset = 0;
	struct stat st;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		return tg_err_errno(err, "%s", path);
	}
	char *buf = NULL;
	size_t n = 0;
	if (fileio_read_at(AT_FDCWD, path, path, 4096, &buf, &n, err) != 0)
		return -1;
	json_error_t jerr;
	json_t *j = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	json_t *s = json_object_get(j, "seq"), *o = json_object_get(j, "offset");
	bool ok = json_is_object(j) && json_object_size(j) == 2 && json_is_integer(s) &&
	          json_is_integer(o) && json_integer_value(s) >= 0 && json_integer_value(o) >= 0 &&
	          /* a record line is never empty, so seq 0 and offset 0 go together */
	          (json_integer_value(s) == 0) == (json_integer_value(o) == 0);
	if (ok) {
		*seq = (uint64_t)json_integer_value(s);
		*offset = (uint64_t)json_integer_value(o);
	}
	json_decref(j);
	if (!ok)
		return tg_err(err, "%s: not a forward cursor (want {\"seq\":N,\"offset\":N})", path);
	return 0;
}

static int fsync_parent(const char *path, struct tg_error *err)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else if ((size_t)(slash - path) < sizeof dir)
		memcpy(dir, path, (size_t)(slash - path)), dir[slash - path] = '\0';
	else
		return tg_err(err, "%s: path too long", path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tg_err_errno(err, "%s: open", dir);
	int rc = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rc == 0 ? 0 : tg_err_errno(err, "%s: fsync", dir);
}

int forward_cursor_write(const char *path, uint64_t seq, uint64_t offset, struct tg_error *err)
{
	char tmp[PATH_MAX], body[64];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return tg_err(err, "%s: path too long", path);
	int len = snprintf(body, sizeof body, "{\"seq\":%llu,\"offset\":%llu}\n",
	                   (unsigned long long)seq, (unsigned long long)offset);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return tg_err_errno(err, "%s: open", tmp);
	ssize_t w;
	do
		w = write(fd, body, (size_t)len);
	while (w < 0 && errno == EINTR);
	if (w != len || fsync(fd) != 0) {
		if (w >= 0 && w != len)
			errno = EIO;
		tg_err_errno(err, "%s: write", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (close(fd) != 0) {
		tg_err_errno(err, "%s: close", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		tg_err_errno(err, "%s: rename to %s", tmp, path);
		unlink(tmp);
		return -1;
	}
	return fsync_parent(path, err);
}

