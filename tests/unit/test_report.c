/* Unit tests for report.c: the status sentence and audit fields of a call. */
#include "config.h"
#include "kaudit.h"
#include "report.h"
#include "seccomp_profile.h"
#include "testlib.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

static struct tool tool;

static void setup(void)
{
	tool.name = "t";
	tool.limits = (struct tool_limits){ .timeout_ms = 600, .cpu_seconds = 2, .memory_mb = 128,
	                                    .processes = 16 };
}

static struct report_outcome exited(int status)
{
	return (struct report_outcome){ .ran = true, .released = true, .stop_reason = "",
	                                .wstatus = (status & 0xff) << 8 };
}

static struct seccomp_verdict refusal(const char *name, int errnum)
{
	struct seccomp_verdict v = { .kind = SECCOMP_VERDICT_ERRNO, .errnum = errnum };
	snprintf(v.syscall, sizeof v.syscall, "%s", name);
	return v;
}

TEST(a_clean_exit_is_said_plainly_and_is_not_a_failure)
{
	struct tool_report r = { 0 };
	struct report_outcome o = exited(0);
	char s[400];
	int ex;
	CHECK(!report_status(&r, &tool, &o, s, sizeof s, &ex));
	CHECK_STREQ(s, "exited with status 0");
	CHECK(ex == 0);
}

TEST(seccomp_refusals_are_counted_by_call_and_errno_and_the_rest_summed)
{
	struct tool_report r = { 0 };
	struct seccomp_verdict v = refusal("ptrace", EPERM);
	report_note_seccomp(&r, &v, false);
	report_note_seccomp(&r, &v, false);
	v = refusal("mount", EPERM);
	report_note_seccomp(&r, &v, false);
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof name, "call%d", i);
		v = refusal(name, EACCES);
		report_note_seccomp(&r, &v, false);
	}
	struct report_outcome o = exited(3);
	char s[400];
	int ex;
	CHECK(report_status(&r, &tool, &o, s, sizeof s, &ex));
	CHECK_STREQ(s, "exited with status 3; seccomp refused ptrace (EPERM) x2, mount (EPERM), "
	            "call0 (EACCES), call1 (EACCES), call2 (EACCES), call3 (EACCES), call4 (EACCES), "
	            "call5 (EACCES) and 4 more");
	json_t *rec = json_object();
	report_audit_fields(&r, rec);
	json_t *sc = json_object_get(rec, "seccomp");
	CHECK(json_integer_value(json_object_get(sc, "refusals")) == 13);
	CHECK(json_array_size(json_object_get(sc, "refused")) == 8);
	CHECK(json_is_null(json_object_get(sc, "killed")));
	CHECK(!json_object_get(rec, "landlock"));
	json_decref(rec);
}

TEST(a_kill_of_the_tool_itself_names_the_call_and_who_forbade_it)
{
	struct tool_report r = { 0 };
	struct seccomp_verdict v = { .kind = SECCOMP_VERDICT_KILL, .baseline = true };
	snprintf(v.syscall, sizeof v.syscall, "x32 syscall 0x40000066");
	report_note_seccomp(&r, &v, true);
	struct report_outcome o = { .ran = true, .released = true, .stop_reason = "", .wstatus = SIGKILL };
	char s[400];
	int ex;
	CHECK(report_status(&r, &tool, &o, s, sizeof s, &ex));
	CHECK_STREQ(s, "killed by signal 9 (SIGKILL): the broker's seccomp baseline forbids x32 syscall 0x40000066");
	CHECK(ex == 137);
}

TEST(landlock_refusals_and_limits_that_bit_are_appended)
{
	struct tool_report r = { 0 };
	struct kaudit_event ev = { .type = KAUDIT_LANDLOCK_DENIAL };
	snprintf(ev.blockers, sizeof ev.blockers, "fs.write_file");
	snprintf(ev.path, sizeof ev.path, "/proc/1/oom_score_adj");
	report_note_landlock(&r, &ev);
	report_note_landlock(&r, &ev);
	r.cgs.pids_max_hits = 3;
	struct report_outcome o = exited(0);
	char s[400];
	int ex;
	report_status(&r, &tool, &o, s, sizeof s, &ex);
	CHECK_STREQ(s, "exited with status 0; Landlock refused fs.write_file /proc/1/oom_score_adj "
	            "(2 refusals in all); 3 forks were refused at its processes limit (16)");
}

TEST(an_oom_kill_is_named_with_the_limit)
{
	struct tool_report r = { 0 };
	r.cgs.oom_kills = 1;
	struct report_outcome o = { .ran = true, .released = true, .stop_reason = "", .wstatus = SIGKILL };
	char s[400];
	int ex;
	CHECK(report_status(&r, &tool, &o, s, sizeof s, &ex));
	CHECK_STREQ(s, "killed by signal 9 (SIGKILL): the kernel's OOM killer ended it when its processes "
	            "reached its memory_mb limit (128 MiB)");
}

TEST(a_tool_that_never_started_says_why)
{
	struct tool_report r = { 0 };
	struct report_outcome o = { .ran = true, .released = false, .stop_reason = "cancelled before it started" };
	char s[400];
	int ex;
	CHECK(report_status(&r, &tool, &o, s, sizeof s, &ex));
	CHECK_STREQ(s, "not started: cancelled before it started");
	CHECK(ex == -1);
}

TEST(the_kill_reason_follows_the_status_sentence)
{
	struct tool_report r = { 0 };
	struct report_outcome o = exited(0);
	CHECK(report_kill_reason(&r, &tool, &o) == NULL);
	o = exited(3);
	CHECK(report_kill_reason(&r, &tool, &o) == NULL);
	/* A tool that never ran was not killed, whatever the reason. */
	o = (struct report_outcome){ .ran = true, .released = false, .stop_reason = "cancelled before it started" };
	CHECK(report_kill_reason(&r, &tool, &o) == NULL);
	o = (struct report_outcome){ .ran = true, .released = true, .timed_out = true,
	                             .stop_reason = "timed out", .wstatus = SIGKILL };
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "timeout");
	o = (struct report_outcome){ .ran = true, .released = true, .wstatus = SIGKILL,
	                             .stop_reason = "cancelled by the client (user pressed stop)" };
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "cancelled");
	o.stop_reason = "the client disconnected";
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "cancelled");
	o.stop_reason = "the broker is stopping and the grace period ran out";
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "broker");
	o = (struct report_outcome){ .ran = true, .released = true, .stop_reason = "", .wstatus = SIGSYS };
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "seccomp");
	o.wstatus = SIGKILL;
	r.sc.killed_tool = true;
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "seccomp");
	r.sc.killed_tool = false;
	r.cgs.oom_kills = 2;
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "oom");
	r.cgs.oom_kills = 0;
	o.cpu_ms = 1990;   /* against cpu_seconds 2 */
	CHECK_STREQ(report_kill_reason(&r, &tool, &o), "cpu");
	o.cpu_ms = 10;     /* a SIGKILL from outside, not a limit */
	CHECK(report_kill_reason(&r, &tool, &o) == NULL);
	o.wstatus = SIGTERM;
	CHECK(report_kill_reason(&r, &tool, &o) == NULL);
}

int main(void)
{
	setup();
	RUN(a_clean_exit_is_said_plainly_and_is_not_a_failure);
	RUN(seccomp_refusals_are_counted_by_call_and_errno_and_the_rest_summed);
	RUN(a_kill_of_the_tool_itself_names_the_call_and_who_forbade_it);
	RUN(landlock_refusals_and_limits_that_bit_are_appended);
	RUN(an_oom_kill_is_named_with_the_limit);
	RUN(a_tool_that_never_started_says_why);
	RUN(the_kill_reason_follows_the_status_sentence);
	return TEST_SUMMARY();
}
