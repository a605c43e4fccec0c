/*
 * forward.h: forwarding the audit log to a remote collector, RFC 5424 syslog
 * over TLS (RFC 5425).
 *
 * A forwarder is one thread inside the broker.  It tails audit.log, reads
 * complete lines only (a torn last line is never sent), and sends each record,
 * in log order, as one syslog message:
 *
 *   <86>1 TIME HOSTNAME toolgated PID EVENT [toolgate@32473 seq="N" broker="ID"] LINE
 *
 * framed as "MSG-LEN SP SYSLOG-MSG" (octet counting).  MSG is the record line
 * itself, byte for byte and without a BOM: the log is pure ASCII (the audit
 * writer escapes everything else), which RFC 5424 accepts as MSG-ANY, and a
 * collector can then check the record's signature on exactly the bytes it
 * received.
 *
 * Delivery.  Syslog over TLS has no acknowledgements, so a record counts as
 * delivered (and the durable cursor moves past it) only when the collector's
 * TCP has acknowledged its bytes and then either the connection stayed up
 * FORWARD_SETTLE_MS more, or (at stop) the collector answered our
 * close_notify by closing, which proves it read everything before it.
 * After any other disconnect the forwarder reconnects (backoff 100 ms
 * doubling to 5 s) and resends from the cursor, so a collector may see a
 * record twice, recognisable by its seq; the forwarder never skips one.  The
 * limit of any syslog transport without acknowledgements remains: a
 * collector that dies holding records it acknowledged more than
 * FORWARD_SETTLE_MS earlier but never read loses them, and the gap shows in
 * the seqs it stored (RELP would close it).  The event loop never waits for
 * the network: the broker only starts and stops the thread and reads its
 * status.
 *
 * The cursor (STATE_DIR/audit/forward.cursor) is {"seq":N,"offset":M}: the
 * last delivered seq and the byte offset just after its line, so a restart
 * resumes without rescanning.  It is replaced atomically (temp file, fsync,
 * rename) at most every FORWARD_CURSOR_EVERY records or FORWARD_CURSOR_MS,
 * and at stop.  If it does not match the log (the log is shorter, or the line
 * at the offset is not seq N+1) the whole log is sent again, and the status
 * says so.  v1 follows one file: if audit.log is replaced (a new inode), the
 * new file is sent from its start.
 *
 * The collector must accept messages as long as the records (rsyslog's
 * default limit is 8 KiB: set global(maxMessageSize=...)), or it truncates
 * them; the seq in the structured data still shows which record it was.
 */
#ifndef TOOLGATE_FORWARD_H
#define TOOLGATE_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "error.h"

#define FORWARD_FACILITY_AUTHPRIV 10
#define FORWARD_SEVERITY_INFO     6
#define FORWARD_PRI (FORWARD_FACILITY_AUTHPRIV * 8 + FORWARD_SEVERITY_INFO)
#define FORWARD_APP_NAME "toolgated"
/* 32473 is the private enterprise number RFC 5612 reserves for examples;
   a deployment that owns a number can change this one constant. */
#define FORWARD_SD_ID    "toolgate@32473"
#define FORWARD_DEFAULT_PORT 6514       /* RFC 5425 */

/* Same bound as the audit writer's: a longer line is not a record. */
#define FORWARD_LINE_MAX (4u * 1024 * 1024)
/* Everything forward_format adds around the line, for a broker id and a
   host name within their limits (255 bytes each). */
#define FORWARD_HEADER_MAX 1024
#define FORWARD_JSON_MAX_DEPTH 128

#define FORWARD_CURSOR_EVERY 1000
#define FORWARD_CURSOR_MS    200
#define FORWARD_SETTLE_MS    1000
#define FORWARD_BACKOFF_MIN_MS 100
#define FORWARD_BACKOFF_MAX_MS 5000
#define FORWARD_STOP_MS      2000

struct forward_options {
	const char *host;        /* collector: DNS name or IP literal; its certificate must name it */
	unsigned port;           /* 0 = FORWARD_DEFAULT_PORT */
	const char *ca_file;     /* PEM: the CAs the collector's certificate must chain to */
	const char *cert_file;   /* optional client certificate chain (PEM), for mutual TLS... */
	const char *key_file;    /* ...and its private key; both or neither */
	const char *log_path;    /* STATE_DIR/audit/audit.log */
	const char *cursor_path; /* STATE_DIR/audit/forward.cursor */
	const char *hostname;    /* HOSTNAME field; NULL = gethostname() */
	const char *broker_id;   /* goes into every message's structured data */
};

struct forward_status {
	bool connected;          /* a verified TLS connection is up */
	uint64_t sent_seq;       /* last seq written to the connection */
	uint64_t delivered_seq;  /* last seq known delivered: the cursor */
	uint64_t behind;         /* complete records in the log after delivered_seq */
	char last_error[TG_ERROR_MAX];   /* the latest problem, kept after recovery
	                                    (read with connected); "" if none yet */
};

struct forwarder;

/*
 * Check the options (files readable, certificate and key match, names
 * valid), read the cursor, and start the thread.  Connecting happens in the
 * thread: an unreachable collector is a status, not an error here.
 */
int forward_start(struct forwarder **out, const struct forward_options *o, struct tg_error *err);

/* A snapshot; safe from any thread. */
void forward_status(struct forwarder *f, struct forward_status *st);

/*
 * Send the complete records already in the log (waiting at most
 * FORWARD_STOP_MS), close the connection, save the cursor, join the thread
 * and free.  The final status goes to *last when last is not NULL (for the
 * broker's stop message).  f NULL is a no-op.
 */
void forward_stop(struct forwarder *f, struct forward_status *last);

/* ---- The pieces, public for the tests. ---- */

/*
 * One audit line (without its newline) as an RFC 5424 message: the record's
 * "time" (NILVALUE when it is not an RFC 3339 time; fractions cut to 6
 * digits), its "event" as MSGID (bytes outside printable US-ASCII become '_',
 * at most 32), seq and broker_id in the structured data (", \ and ] escaped).
 * hostname must be 1 to 255 printable US-ASCII characters.  Returns the
 * message length and *seq, or -1 (the line is not a record, or out is too
 * small: it needs len + FORWARD_HEADER_MAX).
 */
ssize_t forward_format(const char *line, size_t len, const char *hostname, const char *broker_id,
                       int pid, char *out, size_t n, uint64_t *seq, struct tg_error *err);

/* "MSG-LEN SP MSG" into out; the frame length, or -1 if n is too small. */
ssize_t forward_frame(const char *msg, size_t len, char *out, size_t n, struct tg_error *err);

/* A missing cursor file is the start of the log: 0 with seq = offset = 0. */
int forward_cursor_read(const char *path, uint64_t *seq, uint64_t *offset, struct tg_error *err);
int forward_cursor_write(const char *path, uint64_t seq, uint64_t offset, struct tg_error *err);

/*
 * Complete lines of a growing audit log, from a cursor: path is the live
 * file (audit.log) and (seq, offset) the last record sent and the byte
 * after it in the file that holds it, a closed segment or audit.log
 * (audit_files.h); seq 0 is the log's start.  When a file ends and it is
 * no longer the live one (the broker closed it as a segment), reading goes
 * on in the file that holds the next seq, from its start.  next() gives 1
 * and the line (without '\n', valid until the next call) with the offset
 * just after it in its file; 0 when no complete line is there yet (the
 * file may not exist yet); -1 for a line longer than FORWARD_LINE_MAX or a
 * read error.
 */
struct forward_reader;
struct forward_reader *forward_reader_new(const char *path, uint64_t seq, uint64_t offset,
                                          struct tg_error *err);
int forward_reader_next(struct forward_reader *r, const char **line, size_t *len,
                        uint64_t *end_offset, struct tg_error *err);
void forward_reader_seek(struct forward_reader *r, uint64_t offset);
void forward_reader_free(struct forward_reader *r);

#endif
