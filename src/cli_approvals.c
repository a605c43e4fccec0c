/*
 * cli_approvals.c: `toolgate approvals list|approve|deny` (see
 * cli_approvals.h), a thin client of the broker's toolgate/approvals/list
 * and toolgate/approvals/decide methods over client.c.
 *
 * Who may see or decide which held call is the broker's decision alone,
 * made from this process's socket credentials; nothing here second-guesses
 * it.  What this file does own is showing an approver what they are about
 * to approve: every string in a reply comes, one way or another, from an
 * agent, so all of it passes through sanitize() before it reaches a
 * terminal (no control codes, no bidirectional overrides that could make
 * the arguments read differently from what they are).  A reply of the
 * wrong shape is a protocol error, named, never a crash.
 */
#include "cli_approvals.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <jansson.h>

#include "client.h"
#include "error.h"
#include "jsonrpc.h"

#define PROG "toolgate approvals"

/* Long enough for a broker that is writing an audit record under load;
   short enough that a wedged broker does not hang a script forever. */
#define REQUEST_TIMEOUT_MS 30000

/* Display limits, in characters: the arguments line (the full arguments
   are one --json away), and the table cells other than ID, which is never
   cut because the approver copies it to decide. */
#define ARGS_MAX_CHARS 200
#define CELL_MAX_CHARS 48

static const char usage_text[] =
	"usage: toolgate [--socket PATH] approvals list [--json]\n"
	"       toolgate [--socket PATH] approvals approve ID [--reason TEXT] [--json]\n"
	"       toolgate [--socket PATH] approvals deny ID [--reason TEXT] [--json]\n";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fputs(usage_text, stderr);
	return 2;
}

/* ------------------------------------------------------------ display */

/* Decode one UTF-8 sequence at s (len > 0).  Returns its length; an invalid
   or truncated sequence is one byte decoded as U+FFFD so that it is shown,
   harmlessly, rather than passed through. */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2; v = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3; v = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4; v = c & 0x07; min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (n > len) {
		*cp = 0xfffd;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*cp = 0xfffd;
		return 1;
	}
	*cp = v;
	return n;
}

/* Code points a terminal acts on rather than shows: C0, DEL, C1, and the
   bidirectional and line/paragraph controls that can reorder or hide the
   text around them (the "Trojan Source" characters). */
static bool unsafe_cp(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
	       cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfffd;
}

/*
 * Make len bytes of s safe to print and at most max_chars characters long
 * (a cut text ends in "..." within that count).  An unsafe code point
 * becomes '?' or, with escape (for JSON text, where it can only sit inside a
 * string), its \uXXXX escape, so the approver sees exactly what is there.
 * Returns a malloc'd string (NULL on ENOMEM) and its width in characters.
 */
static char *sanitize(const char *s, size_t len, bool escape, size_t max_chars, size_t *width)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t total = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += utf8_next(u + i, len - i, &cp);
		total += unsafe_cp(cp) && escape ? 6 : 1;
	}
	bool cut = total > max_chars;
	size_t limit = cut ? (max_chars > 3 ? max_chars - 3 : 0) : total;

	/* Worst case: every byte becomes a 6-byte escape. */
	char *out = malloc(len * 6 + 4);
	if (!out)
		return NULL;
	size_t n = 0, chars = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t k = utf8_next(u + i, len - i, &cp);
		bool bad = unsafe_cp(cp);
		size_t w = bad && escape ? 6 : 1;
		if (chars + w > limit)
			break;
		if (!bad) {
			memcpy(out + n, s + i, k);
			n += k;
		} else if (escape) {
			n += (size_t)sprintf(out + n, "\\u%04x", (unsigned)(cp > 0xffff ? 0xfffd : cp));
		} else {
			out[n++] = '?';
		}
		chars += w;
		i += k;
	}
	if (cut) {
		memcpy(out + n, "...", 3);
		n += 3;
		chars += 3;
	}
	out[n] = '\0';
	if (width)
		*width = chars;
	return out;
}

/* A reply member as a table cell: "-" when null or missing, a string's
   text, anything else as compact JSON. */
static char *cell_text(json_t *v, size_t max_chars, size_t *width)
{
	if (!v || json_is_null(v))
		return sanitize("-", 1, false, max_chars, width);
	if (json_is_string(v))
		return sanitize(json_string_value(v), json_string_length(v), false, max_chars, width);
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return NULL;
	char *out = sanitize(text, strlen(text), false, max_chars, width);
	free(text);
	return out;
}

/* The arguments of a held call as compact JSON, escaped and cut. */
static char *args_text(json_t *v)
{
	if (!v)
		return sanitize("-", 1, false, ARGS_MAX_CHARS, NULL);
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return NULL;
	char *out = sanitize(text, strlen(text), true, ARGS_MAX_CHARS, NULL);
	free(text);
	return out;
}

/* A message from the broker (which may quote what an agent sent). */
static void print_error(const char *what)
{
	char *safe = sanitize(what, strlen(what), false, SIZE_MAX, NULL);
	fprintf(stderr, PROG ": %s\n", safe ? safe : "out of memory");
	free(safe);
}

/* ------------------------------------------------------------- broker */

/* The broker did not understand the request at all: not a refusal. */
static bool protocol_error_code(int code)
{
	return code == 0 || code == JSONRPC_PARSE_ERROR || code == JSONRPC_INVALID_REQUEST ||
	       code == JSONRPC_METHOD_NOT_FOUND;
}

/*
 * One request on a fresh connection; steals params.  Returns the exit code:
 * 0 with *res set (owned), 1 the broker refused (a JSON-RPC error it chose
 * to send), 2 connection or protocol error.  Prints the problem.
 */
static int broker_request(const char *socket_path, const char *method, json_t *params,
                          const char *timeout_note, json_t **res)
{
	struct client c;
	struct tg_error err;
	int code = 0;
	*res = NULL;
	/* Checked here because client_open fails this one before it has a
	   socket, leaving nothing that client_close may safely close. */
	if (strlen(socket_path) >= sizeof ((struct sockaddr_un *)NULL)->sun_path) {
		json_decref(params);
		fprintf(stderr, PROG ": %s: socket path too long\n", socket_path);
		return 2;
	}
	if (client_open(&c, socket_path, NULL, &err) != 0) {
		json_decref(params);
		client_close(&c);
		print_error(err.msg);
		return 2;
	}
	int rc = client_request(&c, method, params, REQUEST_TIMEOUT_MS, res, &code, &err);
	client_close(&c);
	if (rc == -2) {
		fprintf(stderr, PROG ": no answer from the broker within %d s%s\n",
		        REQUEST_TIMEOUT_MS / 1000, timeout_note);
		return 2;
	}
	if (rc != 0) {
		print_error(err.msg);
		return protocol_error_code(code) ? 2 : 1;
	}
	return 0;
}

static void print_json(json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* --------------------------------------------------------------- list */

enum { COL_ID, COL_REQUESTED, COL_DEADLINE, COL_AGENT, COL_USER, COL_TOOL, COL_RULE, NCOLS };

static const char *const col_header[NCOLS] = {
	"ID", "REQUESTED", "DEADLINE", "AGENT", "USER", "TOOL", "RULE",
};
static const char *const col_member[NCOLS] = {
	"id", "requested_at", "deadline", "agent", "user", "tool", "rule",
};

struct row {
	char *cell[NCOLS];
	size_t width[NCOLS];
	char *args;
};

static void print_padded(const char *text, size_t width, size_t col_width)
{
	fputs(text, stdout);
	for (size_t i = width; i < col_width + 2; i++)
		putchar(' ');
}

static int print_table(json_t *approvals)
{
	size_t n = json_array_size(approvals);
	struct row *rows = calloc(n ? n : 1, sizeof *rows);
	size_t colw[NCOLS];
	int rc = 0;
	if (!rows)
		goto oom;
	for (int k = 0; k < NCOLS; k++)
		colw[k] = strlen(col_header[k]);
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(approvals, i);
		for (int k = 0; k < NCOLS; k++) {
			rows[i].cell[k] = cell_text(json_object_get(a, col_member[k]),
			                            k == COL_ID ? SIZE_MAX : CELL_MAX_CHARS, &rows[i].width[k]);
			if (!rows[i].cell[k])
				goto oom;
			if (rows[i].width[k] > colw[k])
				colw[k] = rows[i].width[k];
		}
		rows[i].args = args_text(json_object_get(a, "arguments"));
		if (!rows[i].args)
			goto oom;
	}
	for (int k = 0; k < NCOLS - 1; k++)
		print_padded(col_header[k], strlen(col_header[k]), colw[k]);
	puts(col_header[NCOLS - 1]);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < NCOLS - 1; k++)
			print_padded(rows[i].cell[k], rows[i].width[k], colw[k]);
		puts(rows[i].cell[NCOLS - 1]);
		printf("    %s\n", rows[i].args);
	}
	goto out;
oom:
	fputs(PROG ": out of memory\n", stderr);
	rc = 2;
out:
	for (size_t i = 0; rows && i < n; i++) {
		for (int k = 0; k < NCOLS; k++)
			free(rows[i].cell[k]);
		free(rows[i].args);
	}
	free(rows);
	return rc;
}

/* Everything print_table relies on; the rest is displayed as it comes. */
static int check_list_reply(json_t *res)
{
	json_t *approvals = json_object_get(res, "approvals");
	if (!approvals) {
		fputs(PROG ": the broker's reply lacks \"approvals\"\n", stderr);
		return 2;
	}
	if (!json_is_array(approvals)) {
		fputs(PROG ": the broker's reply: \"approvals\" is not an array\n", stderr);
		return 2;
	}
	size_t i;
	json_t *a;
	json_array_foreach(approvals, i, a) {
		if (!json_is_object(a)) {
			fprintf(stderr, PROG ": the broker's reply: approvals[%zu] is not an object\n", i);
			return 2;
		}
		if (!json_is_string(json_object_get(a, "id"))) {
			fprintf(stderr, PROG ": the broker's reply: approvals[%zu] lacks \"id\"\n", i);
			return 2;
		}
	}
	return 0;
}

static int cmd_list(const char *socket_path, bool as_json)
{
	json_t *res;
	int rc = broker_request(socket_path, "toolgate/approvals/list", json_object(), "", &res);
	if (rc != 0)
		return rc;
	rc = check_list_reply(res);
	if (rc == 0) {
		json_t *approvals = json_object_get(res, "approvals");
		if (as_json)
			print_json(res);
		else if (json_array_size(approvals) == 0)
			puts("no approvals waiting for you");
		else
			rc = print_table(approvals);
	}
	json_decref(res);
	return rc;
}

/* ------------------------------------------------------------- decide */

static int cmd_decide(const char *socket_path, const char *id, const char *decision,
                      const char *reason, bool as_json)
{
	json_t *params = json_pack("{s:s, s:s}", "id", id, "decision", decision);
	if (!params || (reason && json_object_set_new(params, "reason", json_string(reason)) != 0)) {
		json_decref(params);
		fputs(PROG ": out of memory\n", stderr);
		return 2;
	}
	json_t *res;
	int rc = broker_request(socket_path, "toolgate/approvals/decide", params,
	                        "; the decision may or may not have been recorded "
	                        "(see toolgate approvals list)", &res);
	if (rc != 0)
		return rc;

	json_t *rid = json_object_get(res, "id");
	json_t *rdec = json_object_get(res, "decision");
	json_t *seq = json_object_get(res, "audit_seq");
	const char *got = json_string_value(rdec);
	const char *missing = !json_is_string(rid) ? "id" : !got ? "decision" :
	                      !json_is_integer(seq) ? "audit_seq" : NULL;
	rc = 2;
	if (missing) {
		fprintf(stderr, PROG ": the broker's reply lacks \"%s\"\n", missing);
		goto out;
	}
	if (strcmp(json_string_value(rid), id) != 0) {
		char *shown = cell_text(rid, CELL_MAX_CHARS, NULL);
		fprintf(stderr, PROG ": the broker's reply is about approval \"%s\", not \"%s\"\n",
		        shown ? shown : "?", id);
		free(shown);
		goto out;
	}
	/* The verb as asked ("approve") or as done ("approved"): both name it. */
	bool got_approve = strcmp(got, "approve") == 0 || strcmp(got, "approved") == 0;
	bool got_deny = strcmp(got, "deny") == 0 || strcmp(got, "denied") == 0;
	if (!got_approve && !got_deny) {
		char *shown = cell_text(rdec, CELL_MAX_CHARS, NULL);
		fprintf(stderr, PROG ": the broker's reply has an unknown decision \"%s\"\n",
		        shown ? shown : "?");
		free(shown);
		goto out;
	}
	const char *done = got_approve ? "approved" : "denied";
	long long n = (long long)json_integer_value(seq);
	/* The call may have been settled otherwise in the meantime (its
	   deadline passed): a script must not take that for what it asked. */
	bool as_asked = got_approve == (strcmp(decision, "approve") == 0);
	if (as_json)
		print_json(res);
	else if (as_asked)
		printf("%s %s (audit seq %lld)\n", done, id, n);
	if (!as_asked)
		fprintf(stderr, PROG ": %s was %s, not %s (audit seq %lld)\n", id, done,
		        strcmp(decision, "approve") == 0 ? "approved" : "denied", n);
	rc = as_asked ? 0 : 1;
out:
	json_decref(res);
	return rc;
}

/* --------------------------------------------------------------- main */

static bool valid_utf8(const char *s)
{
	json_t *j = json_string(s);
	json_decref(j);
	return j != NULL;
}

int cli_approvals(int argc, char **argv, const char *socket_path)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pos[3] = { NULL, NULL, NULL };
	size_t npos = 0;
	const char *reason = NULL;
	bool as_json = false, help = false;
	int ch;

	/* "-" returns operands in place (options may follow the ID whatever
	   POSIXLY_CORRECT says); ":" lets us word the errors ourselves.
	   optind = 0 makes glibc start afresh, as a second call must. */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-:h", opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (npos < 3)
				pos[npos] = optarg;
			npos++;
			break;
		case 'r':
			if (reason)
				return usage_error("--reason given twice");
			reason = optarg;
			break;
		case 'j': as_json = true; break;
		case 'h': help = true; break;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			if (optopt == 'j' || (optopt == 'h' && argv[optind - 1][1] == '-'))
				return usage_error("\"%s\": the option takes no value", argv[optind - 1]);
			if (optopt)
				return usage_error("unknown option \"-%c\"", optopt);
			return usage_error("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {   /* operands after "--" */
		if (npos < 3)
			pos[npos] = argv[optind];
		npos++;
	}
	if (help) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (npos == 0)
		return usage_error("say what to do: list, approve or deny");

	const char *action = pos[0];
	if (strcmp(action, "list") == 0) {
		if (npos > 1)
			return usage_error("list takes no arguments, got \"%s\"", pos[1]);
		if (reason)
			return usage_error("--reason goes with approve or deny, not list");
		return cmd_list(socket_path, as_json);
	}
	const char *decision = strcmp(action, "approve") == 0 ? "approve" :
	                       strcmp(action, "deny") == 0 ? "deny" : NULL;
	if (!decision)
		return usage_error("unknown action \"%s\": expected list, approve or deny", action);
	if (npos < 2)
		return usage_error("%s needs the ID of a waiting call (see toolgate approvals list)", action);
	if (npos > 2)
		return usage_error("unexpected argument \"%s\" after the ID", pos[2]);
	if (!*pos[1])
		return usage_error("the approval ID is empty");
	if (!valid_utf8(pos[1]))
		return usage_error("the approval ID is not valid UTF-8");
	if (reason && !valid_utf8(reason))
		return usage_error("--reason is not valid UTF-8");
	return cmd_decide(socket_path, pos[1], decision, reason, as_json);
}
