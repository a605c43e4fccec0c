/*
 * test_cli_approvals.c: `toolgate approvals` (cli_approvals.c) against a
 * fake broker: a forked child on a Unix socket that answers initialize,
 * records the one request the CLI then sends, and answers it with a
 * scripted reply.  Covers what the approver sees (the table, sanitizing,
 * cutting), what goes on the wire (method and exact params), the exit codes
 * (0 done, 1 refused, 2 usage/connection/protocol) and their messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli_approvals.h"
#include "testlib.h"

static char tmpdir[256];
static char sock_path[300];

/* ---------------------------------------------------------- fake broker */

enum reply_kind { REPLY_RESULT, REPLY_ERROR, REPLY_CLOSE };

struct fake {
	pid_t pid;
	int req_fd;        /* the request the CLI sent arrives here */
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w <= 0)
			_exit(3);
		s += w;
		n -= (size_t)w;
	}
}

static void send_reply(int fd, json_t *id, const char *member, json_t *value)
{
	json_t *msg = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, member, value);
	char *s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	send_str(fd, s);
	send_str(fd, "\n");
	free(s);
	json_decref(msg);
}

/* The child: serve one connection, then exit. */
static void serve(int lfd, int req_fd, enum reply_kind kind, const char *body)
{
	int fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(3);
	char buf[65536];
	size_t len = 0;
	for (;;) {
		char *nl;
		while ((nl = memchr(buf, '\n', len))) {
			size_t llen = (size_t)(nl - buf);
			json_t *msg = json_loadb(buf, llen, 0, NULL);
			json_t *id = json_object_get(msg, "id");
			const char *method = json_string_value(json_object_get(msg, "method"));
			if (id && method && strcmp(method, "initialize") == 0) {
				send_reply(fd, id, "result", json_pack("{s:s, s:{}, s:{s:s, s:s}}",
				           "protocolVersion", "2025-11-25", "capabilities",
				           "serverInfo", "name", "fake", "version", "0"));
			} else if (id) {
				if (write(req_fd, buf, llen) != (ssize_t)llen)
					_exit(3);
				close(req_fd);
				if (kind == REPLY_CLOSE)
					_exit(0);
				send_reply(fd, id, kind == REPLY_RESULT ? "result" : "error",
				           json_loads(body, 0, NULL));
			}
			json_decref(msg);
			memmove(buf, nl + 1, len - llen - 1);
			len -= llen + 1;
		}
		if (len == sizeof buf)
			_exit(3);
		ssize_t r = read(fd, buf + len, sizeof buf - len);
		if (r <= 0)
			_exit(0);
		len += (size_t)r;
	}
}

static struct fake fake_start(enum reply_kind kind, const char *body)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);   /* length checked in main */
	unlink(sock_path);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4) != 0)
		die("fake broker socket");
	int p[2];
	if (pipe2(p, O_CLOEXEC) != 0)
		die("pipe");
	fflush(stdout);
	fflush(stderr);
	struct fake f = { .pid = fork(), .req_fd = p[0] };
	if (f.pid < 0)
		die("fork");
	if (f.pid == 0) {
		close(p[0]);
		serve(lfd, p[1], kind, body);
		_exit(0);
	}
	close(p[1]);
	close(lfd);
	return f;
}

/* Wait for the fake broker; returns the request it got (malloc'd, "" if none). */
static char *fake_finish(struct fake *f)
{
	char *req = calloc(1, 65536);
	size_t n = 0;
	ssize_t r;
	while (n < 65535 && (r = read(f->req_fd, req + n, 65535 - n)) > 0)
		n += (size_t)r;
	close(f->req_fd);
	int st;
	waitpid(f->pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fprintf(stderr, "    fake broker exited abnormally (status %d)\n", st);
	return req;
}

/* "method params-with-sorted-keys" of a recorded request, for exact checks. */
static char *request_summary(const char *line)
{
	json_t *msg = json_loads(line, 0, NULL);
	char *params = json_dumps(json_object_get(msg, "params"), JSON_COMPACT | JSON_SORT_KEYS);
	char *out = NULL;
	if (asprintf(&out, "%s %s", json_string_value(json_object_get(msg, "method")),
	             params ? params : "(none)") < 0)
		out = NULL;
	free(params);
	json_decref(msg);
	return out;
}

/* --------------------------------------------------------- running it */

struct run {
	int rc;
	char out[16384];
	char err[16384];
};

static void slurp(FILE *f, char *buf, size_t cap)
{
	rewind(f);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* cli_approvals("approvals", args..., NULL) with stdout and stderr captured. */
static void run_cli(struct run *r, const char *socket, ...)
{
	char *argv[16];
	int argc = 0;
	va_list ap;
	argv[argc++] = strdup("approvals");
	va_start(ap, socket);
	for (const char *a; (a = va_arg(ap, const char *)) && argc < 15;)
		argv[argc++] = strdup(a);
	va_end(ap);
	argv[argc] = NULL;

	FILE *fo = tmpfile(), *fe = tmpfile();
	if (!fo || !fe)
		die("tmpfile");
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	r->rc = cli_approvals(argc, argv, socket);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(fo, r->out, sizeof r->out);
	slurp(fe, r->err, sizeof r->err);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
}

#define USAGE \
	"usage: toolgate [--socket PATH] approvals list [--json]\n" \
	"       toolgate [--socket PATH] approvals approve ID [--reason TEXT] [--json]\n" \
	"       toolgate [--socket PATH] approvals deny ID [--reason TEXT] [--json]\n"

/* A path nothing listens on: a test that gets past parsing fails loudly. */
#define NO_BROKER "/nonexistent/toolgate-test.sock"

/* ------------------------------------------------------------------ list */

TEST(list_with_nothing_waiting_says_so_and_asks_with_empty_params)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"approvals\": []}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	char *req = fake_finish(&f);
	char *sum = request_summary(req);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "no approvals waiting for you\n");
	CHECK_STREQ(r.err, "");
	CHECK_STREQ(sum, "toolgate/approvals/list {}");
	free(sum);
	free(req);
}

TEST(list_prints_an_aligned_table_with_the_arguments_under_each_row)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"approvals\": ["
		"{\"id\": \"ap-7f3a\", \"tool\": \"refund.issue\","
		" \"arguments\": {\"order_id\": \"A-1001\", \"amount_cents\": 20000},"
		" \"agent\": \"support-bot\", \"user\": \"alice\", \"rule\": \"large-refunds\","
		" \"requested_at\": \"2025-06-01T10:00:00Z\", \"deadline\": \"2025-06-01T10:15:00Z\"},"
		"{\"id\": \"ap-2\", \"tool\": \"kb.purge\", \"arguments\": {},"
		" \"agent\": \"ops\", \"user\": null, \"rule\": \"r\","
		" \"requested_at\": \"2025-06-01T10:01:00Z\", \"deadline\": \"2025-06-01T10:16:00Z\"}]}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out,
		"ID       REQUESTED             DEADLINE              AGENT        USER   TOOL          RULE\n"
		"ap-7f3a  2025-06-01T10:00:00Z  2025-06-01T10:15:00Z  support-bot  alice  refund.issue  large-refunds\n"
		"    {\"order_id\":\"A-1001\",\"amount_cents\":20000}\n"
		"ap-2     2025-06-01T10:01:00Z  2025-06-01T10:16:00Z  ops          -      kb.purge      r\n"
		"    {}\n");
	CHECK_STREQ(r.err, "");
}

TEST(list_cuts_long_arguments_to_200_characters_ending_in_dots)
{
	char body[1024], x[301];
	memset(x, 'x', 300);
	x[300] = '\0';
	snprintf(body, sizeof body, "{\"approvals\": [{\"id\": \"a\", \"tool\": \"t\", \"arguments\": {\"q\": \"%s\"},"
	         " \"agent\": \"g\", \"user\": \"u\", \"rule\": \"r\", \"requested_at\": \"1\", \"deadline\": \"2\"}]}", x);
	struct fake f = fake_start(REPLY_RESULT, body);
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	char want[1024];
	/* {"q":" is 6 characters; 191 x's and "..." make 200. */
	snprintf(want, sizeof want,
	         "ID  REQUESTED  DEADLINE  AGENT  USER  TOOL  RULE\n"
	         "a   1          2         g      u     t     r\n"
	         "    {\"q\":\"%.191s...\n", x);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, want);
}

TEST(list_shows_terminal_controls_as_question_marks_and_escapes_them_in_arguments)
{
	/* An agent-chosen user name with an ANSI escape, a rule with a C1
	   control, and arguments hiding a right-to-left override. */
	struct fake f = fake_start(REPLY_RESULT,
		"{\"approvals\": [{\"id\": \"a1\", \"tool\": \"t\","
		" \"arguments\": {\"note\": \"pay \\u202etsil\\u202c now\", \"nl\": \"a\\nb\"},"
		" \"agent\": \"g\", \"user\": \"\\u001b[31mroot\", \"rule\": \"r\\u0085\","
		" \"requested_at\": 1748772000, \"deadline\": 1748772900}]}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out,
		"ID  REQUESTED   DEADLINE    AGENT  USER       TOOL  RULE\n"
		"a1  1748772000  1748772900  g      ?[31mroot  t     r?\n"
		"    {\"note\":\"pay \\u202etsil\\u202c now\",\"nl\":\"a\\nb\"}\n");
}

TEST(list_json_prints_the_broker_result_pretty)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"approvals\": [{\"id\": \"a1\", \"user\": null}]}");
	struct run r;
	run_cli(&r, sock_path, "--json", "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out,
		"{\n  \"approvals\": [\n    {\n      \"id\": \"a1\",\n      \"user\": null\n    }\n  ]\n}\n");
	CHECK_STREQ(r.err, "");
}

TEST(list_reply_without_approvals_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"pending\": []}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply lacks \"approvals\"\n");
}

TEST(list_reply_with_approvals_not_an_array_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"approvals\": {\"id\": \"a\"}}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply: \"approvals\" is not an array\n");
}

TEST(list_reply_with_an_entry_without_id_is_a_protocol_error_naming_the_entry)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"approvals\": [{\"id\": \"a\"}, {\"id\": 7}]}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply: approvals[1] lacks \"id\"\n");
}

TEST(list_reply_with_an_entry_not_an_object_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"approvals\": [\"a\"]}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply: approvals[0] is not an object\n");
}

TEST(list_against_a_broker_without_the_method_exits_2_with_its_message)
{
	struct fake f = fake_start(REPLY_ERROR, "{\"code\": -32601, \"message\": \"method not found\"}");
	struct run r;
	run_cli(&r, sock_path, "list", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.err, "toolgate approvals: method not found\n");
}

TEST(no_broker_at_the_socket_exits_2_naming_the_path)
{
	struct run r;
	run_cli(&r, NO_BROKER, "list", NULL);
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: cannot connect to the broker at " NO_BROKER
	            ": No such file or directory\n");
}

TEST(a_socket_path_too_long_for_a_unix_socket_exits_2)
{
	char path[200];
	memset(path, 'p', sizeof path - 1);
	path[0] = '/';
	path[sizeof path - 1] = '\0';
	struct run r;
	run_cli(&r, path, "list", NULL);
	CHECK(r.rc == 2);
	CHECK_CONTAINS(r.err, ": socket path too long\n");
}

TEST(broker_closing_the_connection_mid_request_exits_2)
{
	struct fake f = fake_start(REPLY_CLOSE, NULL);
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: the broker closed the connection\n");
}

/* ---------------------------------------------------------------- decide */

TEST(approve_with_reason_after_the_id_sends_id_decision_and_reason)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-1\", \"decision\": \"approved\", \"audit_seq\": 42}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", "--reason", "order checked with the customer", NULL);
	char *req = fake_finish(&f);
	char *sum = request_summary(req);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "approved ap-1 (audit seq 42)\n");
	CHECK_STREQ(r.err, "");
	CHECK_STREQ(sum, "toolgate/approvals/decide "
	            "{\"decision\":\"approve\",\"id\":\"ap-1\",\"reason\":\"order checked with the customer\"}");
	free(sum);
	free(req);
}

TEST(deny_without_reason_omits_the_reason_member)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-9\", \"decision\": \"denied\", \"audit_seq\": 7}");
	struct run r;
	run_cli(&r, sock_path, "deny", "ap-9", NULL);
	char *req = fake_finish(&f);
	char *sum = request_summary(req);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "denied ap-9 (audit seq 7)\n");
	CHECK_STREQ(sum, "toolgate/approvals/decide {\"decision\":\"deny\",\"id\":\"ap-9\"}");
	free(sum);
	free(req);
}

TEST(options_may_come_first_and_reason_may_be_attached_with_equals)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-3\", \"decision\": \"deny\", \"audit_seq\": 8}");
	struct run r;
	run_cli(&r, sock_path, "--reason=too large", "deny", "ap-3", NULL);
	char *req = fake_finish(&f);
	char *sum = request_summary(req);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "denied ap-3 (audit seq 8)\n");
	CHECK_STREQ(sum, "toolgate/approvals/decide {\"decision\":\"deny\",\"id\":\"ap-3\",\"reason\":\"too large\"}");
	free(sum);
	free(req);
}

TEST(an_id_that_looks_like_an_option_passes_after_double_dash)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"-x\", \"decision\": \"approve\", \"audit_seq\": 5}");
	struct run r;
	run_cli(&r, sock_path, "approve", "--", "-x", NULL);
	char *req = fake_finish(&f);
	char *sum = request_summary(req);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "approved -x (audit seq 5)\n");
	CHECK_STREQ(sum, "toolgate/approvals/decide {\"decision\":\"approve\",\"id\":\"-x\"}");
	free(sum);
	free(req);
}

TEST(decide_json_prints_the_broker_result)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-1\", \"decision\": \"approve\", \"audit_seq\": 42}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", "--json", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, "{\n  \"id\": \"ap-1\",\n  \"decision\": \"approve\",\n  \"audit_seq\": 42\n}\n");
}

TEST(a_refused_decision_exits_1_with_the_broker_message)
{
	struct fake f = fake_start(REPLY_ERROR,
		"{\"code\": -32602, \"message\": \"Invalid params: support-bot cannot decide on its own call\"}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 1);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: Invalid params: support-bot cannot decide on its own call\n");
}

TEST(a_broker_message_with_terminal_controls_is_shown_defanged)
{
	struct fake f = fake_start(REPLY_ERROR,
		"{\"code\": -32000, \"message\": \"no approval \\\"\\u001b]0;x\\u0007\\\"\"}");
	struct run r;
	run_cli(&r, sock_path, "deny", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 1);
	CHECK_STREQ(r.err, "toolgate approvals: no approval \"?]0;x?\"\n");
}

TEST(a_reply_recording_the_other_decision_exits_1_and_says_so)
{
	/* The deadline passed while the approver was deciding. */
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-1\", \"decision\": \"denied\", \"audit_seq\": 9}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 1);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: ap-1 was denied, not approved (audit seq 9)\n");
}

TEST(a_decide_reply_without_audit_seq_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT, "{\"id\": \"ap-1\", \"decision\": \"approve\"}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply lacks \"audit_seq\"\n");
}

TEST(a_decide_reply_that_is_not_an_object_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT, "[1, 2]");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply lacks \"id\"\n");
}

TEST(a_decide_reply_about_another_approval_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-2\", \"decision\": \"approve\", \"audit_seq\": 3}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply is about approval \"ap-2\", not \"ap-1\"\n");
}

TEST(a_decide_reply_with_an_unknown_decision_is_a_protocol_error)
{
	struct fake f = fake_start(REPLY_RESULT,
		"{\"id\": \"ap-1\", \"decision\": \"maybe\", \"audit_seq\": 3}");
	struct run r;
	run_cli(&r, sock_path, "approve", "ap-1", NULL);
	free(fake_finish(&f));
	CHECK(r.rc == 2);
	CHECK_STREQ(r.err, "toolgate approvals: the broker's reply has an unknown decision \"maybe\"\n");
}

/* ----------------------------------------------------------------- usage */

/* Usage errors never reach the (absent) broker: the message is the usage
   error, not "cannot connect". */
static void check_usage_error(const char *want, const char *a1, const char *a2, const char *a3,
                              const char *a4)
{
	struct run r;
	run_cli(&r, NO_BROKER, a1, a2, a3, a4, NULL);
	CHECK(r.rc == 2);
	CHECK_STREQ(r.out, "");
	char full[1024];
	snprintf(full, sizeof full, "toolgate approvals: %s\n" USAGE, want);
	CHECK_STREQ(r.err, full);
}

TEST(usage_errors_exit_2_with_the_problem_and_the_usage)
{
	check_usage_error("say what to do: list, approve or deny", NULL, NULL, NULL, NULL);
	check_usage_error("say what to do: list, approve or deny", "--json", NULL, NULL, NULL);
	check_usage_error("unknown action \"show\": expected list, approve or deny", "show", NULL, NULL, NULL);
	check_usage_error("list takes no arguments, got \"ap-1\"", "list", "ap-1", NULL, NULL);
	check_usage_error("--reason goes with approve or deny, not list", "list", "--reason", "x", NULL);
	check_usage_error("approve needs the ID of a waiting call (see toolgate approvals list)",
	                  "approve", NULL, NULL, NULL);
	check_usage_error("deny needs the ID of a waiting call (see toolgate approvals list)",
	                  "deny", "--reason", "no", NULL);
	check_usage_error("unexpected argument \"ap-2\" after the ID", "approve", "ap-1", "ap-2", NULL);
	check_usage_error("the approval ID is empty", "approve", "", NULL, NULL);
	check_usage_error("the approval ID is not valid UTF-8", "approve", "ap-\xff", NULL, NULL);
	check_usage_error("--reason is not valid UTF-8", "deny", "ap-1", "--reason", "\xc3(");
	check_usage_error("--reason needs a value", "deny", "ap-1", "--reason", NULL);
	check_usage_error("--reason given twice", "deny", "ap-1", "--reason=a", "--reason=b");
	check_usage_error("unknown option \"--force\"", "approve", "ap-1", "--force", NULL);
	check_usage_error("unknown option \"-f\"", "approve", "-f", "ap-1", NULL);
	check_usage_error("\"--json=yes\": the option takes no value", "list", "--json=yes", NULL, NULL);
}

TEST(help_prints_the_usage_to_stdout_and_exits_0)
{
	struct run r;
	run_cli(&r, NO_BROKER, "approve", "--help", NULL);
	CHECK(r.rc == 0);
	CHECK_STREQ(r.out, USAGE);
	CHECK_STREQ(r.err, "");
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/test_cli_approvals.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	snprintf(sock_path, sizeof sock_path, "%s/broker.sock", tmpdir);
	if (strlen(sock_path) >= sizeof ((struct sockaddr_un *)NULL)->sun_path) {
		fprintf(stderr, "TMPDIR too long for a Unix socket path\n");
		return 1;
	}

	RUN(list_with_nothing_waiting_says_so_and_asks_with_empty_params);
	RUN(list_prints_an_aligned_table_with_the_arguments_under_each_row);
	RUN(list_cuts_long_arguments_to_200_characters_ending_in_dots);
	RUN(list_shows_terminal_controls_as_question_marks_and_escapes_them_in_arguments);
	RUN(list_json_prints_the_broker_result_pretty);
	RUN(list_reply_without_approvals_is_a_protocol_error);
	RUN(list_reply_with_approvals_not_an_array_is_a_protocol_error);
	RUN(list_reply_with_an_entry_without_id_is_a_protocol_error_naming_the_entry);
	RUN(list_reply_with_an_entry_not_an_object_is_a_protocol_error);
	RUN(list_against_a_broker_without_the_method_exits_2_with_its_message);
	RUN(no_broker_at_the_socket_exits_2_naming_the_path);
	RUN(a_socket_path_too_long_for_a_unix_socket_exits_2);
	RUN(broker_closing_the_connection_mid_request_exits_2);
	RUN(approve_with_reason_after_the_id_sends_id_decision_and_reason);
	RUN(deny_without_reason_omits_the_reason_member);
	RUN(options_may_come_first_and_reason_may_be_attached_with_equals);
	RUN(an_id_that_looks_like_an_option_passes_after_double_dash);
	RUN(decide_json_prints_the_broker_result);
	RUN(a_refused_decision_exits_1_with_the_broker_message);
	RUN(a_broker_message_with_terminal_controls_is_shown_defanged);
	RUN(a_reply_recording_the_other_decision_exits_1_and_says_so);
	RUN(a_decide_reply_without_audit_seq_is_a_protocol_error);
	RUN(a_decide_reply_that_is_not_an_object_is_a_protocol_error);
	RUN(a_decide_reply_about_another_approval_is_a_protocol_error);
	RUN(a_decide_reply_with_an_unknown_decision_is_a_protocol_error);
	RUN(usage_errors_exit_2_with_the_problem_and_the_usage);
	RUN(help_prints_the_usage_to_stdout_and_exits_0);

	unlink(sock_path);
	rmdir(tmpdir);
	return TEST_SUMMARY();
}
