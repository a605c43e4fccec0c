/*
 * report.c: what the sandbox saw a tool do, in words and as audit fields
 * (see report.h).
 */
#include "report.h"
#include "config.h"
#include "jsonrpc.h"
#include "kaudit.h"
#include "sandbox.h"
#include "seccomp_profile.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

void report_note_seccomp(struct tool_report *r, const struct seccomp_verdict *v, bool killed_tool)
{
	if (v->kind == SECCOMP_VERDICT_KILL) {
		if (!r->sc.killed[0]) {
			snprintf(r->sc.killed, sizeof r->sc.killed, "%s", v->syscall);
			r->sc.baseline = v->baseline;
		}
		r->sc.killed_tool |= killed_tool;
		return;
	}
	r->sc.refusals++;
	for (unsigned i = 0; i < r->sc.n; i++)
		if (r->sc.refused[i].errnum == v->errnum && strcmp(r->sc.refused[i].name, v->syscall) == 0) {
			r->sc.refused[i].count++;
			return;
		}
	if (r->sc.n < REPORT_SECCOMP_NAMED) {
		snprintf(r->sc.refused[r->sc.n].name, sizeof r->sc.refused[0].name, "%s", v->syscall);
		r->sc.refused[r->sc.n].errnum = v->errnum;
		r->sc.refused[r->sc.n++].count = 1;
	}
}

void report_note_landlock(struct tool_report *r, const struct kaudit_event *ev)
{
	char what[200];
	if (ev->addr[0])
		snprintf(what, sizeof what, "%.100s %.64s:%u", ev->blockers, ev->addr, ev->port);
	else if (ev->target_pid)
		snprintf(what, sizeof what, "%.100s pid %d", ev->blockers, (int)ev->target_pid);
	else
		snprintf(what, sizeof what, "%.60s %.130s", ev->blockers, ev->path);
	r->ll.refusals++;
	for (unsigned i = 0; i < r->ll.n; i++)
		if (strcmp(r->ll.what[i], what) == 0)
			return;
	if (r->ll.n < REPORT_LANDLOCK_NAMED)
		memcpy(r->ll.what[r->ll.n++], what, sizeof what);
}

bool report_status(const struct tool_report *r, const struct tool *t, const struct report_outcome *o,
                   char *status, size_t cap, int *exit_no)
{
	bool failed = true;
	*exit_no = -1;
	if (o->setup_len) {
		snprintf(status, cap, "the sandbox could not start the tool: %.*s",
		         (int)o->setup_len, o->setup_error);
	} else if (!o->ran || !o->released) {
		snprintf(status, cap, "not started: %s", o->stop_reason);
	} else if (o->timed_out) {
		snprintf(status, cap, "timed out after %llu ms; the tool and every process "
		         "it started were killed", (unsigned long long)t->limits.timeout_ms);
		*exit_no = sandbox_exit_number(o->wstatus);
	} else if (o->stop_reason[0]) {
		snprintf(status, cap, "%s; the tool and every process it started were killed",
		         o->stop_reason);
		*exit_no = sandbox_exit_number(o->wstatus);
	} else if (WIFSIGNALED(o->wstatus) && WTERMSIG(o->wstatus) == SIGKILL && r->sc.killed_tool) {
		snprintf(status, cap, "killed by signal 9 (SIGKILL): %s forbids %s%s",
		         r->sc.baseline ? "the broker's seccomp baseline" : "its seccomp profile",
		         strchr(r->sc.killed, ' ') ? "" : "the system call ", r->sc.killed);
		*exit_no = sandbox_exit_number(o->wstatus);
	} else if (WIFSIGNALED(o->wstatus) && WTERMSIG(o->wstatus) == SIGKILL && r->cgs.oom_kills) {
		snprintf(status, cap, "killed by signal 9 (SIGKILL): the kernel's OOM killer "
		         "ended it when its processes reached its memory_mb limit (%llu MiB)",
		         (unsigned long long)t->limits.memory_mb);
		*exit_no = sandbox_exit_number(o->wstatus);
	} else if (WIFSIGNALED(o->wstatus) && WTERMSIG(o->wstatus) == SIGKILL &&
	           o->cpu_ms * 2 >= t->limits.cpu_seconds * 1000) {
		/* Not killed by the broker, and it burnt CPU: most likely RLIMIT_CPU's
		   SIGKILL (see sandbox.c on why not SIGXCPU).  The kernel's rusage
		   can read well short of the limit that fired, so say the facts. */
		snprintf(status, cap, "killed by signal 9 (SIGKILL) after %llu ms of CPU time; "
		         "its cpu_seconds limit is %llu s", (unsigned long long)o->cpu_ms,
		         (unsigned long long)t->limits.cpu_seconds);
		*exit_no = sandbox_exit_number(o->wstatus);
	} else {
		sandbox_describe_status(o->wstatus, status, cap);
		*exit_no = sandbox_exit_number(o->wstatus);
		failed = *exit_no != 0;
	}

	/* What the seccomp filter refused, and limits that bit without ending
	   the tool, are part of the story too. */
	if (r->sc.killed[0] && !r->sc.killed_tool && *exit_no >= 0) {
		size_t n = strlen(status);
		snprintf(status + n, cap - n, "; a process it started was killed: %s forbids "
		         "%s%s", r->sc.baseline ? "the broker's seccomp baseline" : "its seccomp profile",
		         strchr(r->sc.killed, ' ') ? "" : "the system call ", r->sc.killed);
	}
	if (r->sc.refusals && *exit_no >= 0) {
		size_t n = strlen(status);
		uint64_t named = 0;
		n += (size_t)snprintf(status + n, cap - n, "; seccomp refused");
		for (unsigned i = 0; i < r->sc.n && n < cap; i++) {
			const char *e = strerrorname_np(r->sc.refused[i].errnum);
			named += r->sc.refused[i].count;
			n += (size_t)snprintf(status + n, cap - n, "%s %s (%s)", i ? "," : "",
			                      r->sc.refused[i].name, e ? e : "?");
			if (r->sc.refused[i].count > 1 && n < cap)
				n += (size_t)snprintf(status + n, cap - n, " x%llu",
				                      (unsigned long long)r->sc.refused[i].count);
		}
		if (named < r->sc.refusals && n < cap)
			snprintf(status + n, cap - n, " and %llu more",
			         (unsigned long long)(r->sc.refusals - named));
	}
	if (r->ll.refusals && *exit_no >= 0) {
		size_t n = strlen(status);
		n += (size_t)snprintf(status + n, cap - n, "; Landlock refused");
		for (unsigned i = 0; i < r->ll.n && n < cap; i++)
			n += (size_t)snprintf(status + n, cap - n, "%s %s", i ? "," : "", r->ll.what[i]);
		if (r->ll.refusals > r->ll.n && n < cap)
			snprintf(status + n, cap - n, " (%llu refusals in all)",
			         (unsigned long long)r->ll.refusals);
	}
	if (r->cgs.pids_max_hits && *exit_no >= 0) {
		size_t n = strlen(status);
		snprintf(status + n, cap - n, "; %llu fork%s refused at its processes limit (%llu)",
		         (unsigned long long)r->cgs.pids_max_hits, r->cgs.pids_max_hits == 1 ? " was" : "s were",
		         (unsigned long long)t->limits.processes);
	}
	if (r->cgs.oom_kills && *exit_no >= 0 && !strstr(status, "OOM")) {
		size_t n = strlen(status);
		snprintf(status + n, cap - n, "; the OOM killer ended %llu of its processes at its "
		         "memory_mb limit (%llu MiB)", (unsigned long long)r->cgs.oom_kills,
		         (unsigned long long)t->limits.memory_mb);
	}

	return failed;
}

void report_audit_fields(const struct tool_report *r, json_t *rec)
{
	if (r->sc.killed[0] || r->sc.refusals) {
		json_t *refused = json_array();
		for (unsigned i = 0; refused && i < r->sc.n; i++) {
			const char *e = strerrorname_np(r->sc.refused[i].errnum);
			json_array_append_new(refused, json_pack("{s:s, s:s, s:I}", "syscall",
				r->sc.refused[i].name, "errno", e ? e : "?", "count",
				(json_int_t)r->sc.refused[i].count));
		}
		json_object_set_new(rec, "seccomp", json_pack("{s:s?, s:b, s:o, s:I}",
			"killed", r->sc.killed[0] ? r->sc.killed : NULL, "baseline", r->sc.baseline,
			"refused", refused ? refused : json_array(), "refusals", (json_int_t)r->sc.refusals));
	}
	if (r->ll.refusals) {
		json_t *what = json_array();
		for (unsigned i = 0; what && i < r->ll.n; i++)
			json_array_append_new(what, json_string_lossy(r->ll.what[i], strlen(r->ll.what[i])));
		json_object_set_new(rec, "landlock", json_pack("{s:o, s:I}", "refused", what ? what : json_array(),
			"refusals", (json_int_t)r->ll.refusals));
	}
}

const char *report_kill_reason(const struct tool_report *r, const struct tool *t,
                               const struct report_outcome *o)
{
	if (o->setup_len || !o->ran || !o->released)
		return NULL;
	if (o->timed_out)
		return "timeout";
	if (o->stop_reason[0])
		/* call.c's reasons: "cancelled by the client (...)", "the client
		   disconnected"; every other one is the broker's own doing. */
		return strncmp(o->stop_reason, "cancelled", 9) == 0 ||
		       strncmp(o->stop_reason, "the client", 10) == 0 ? "cancelled" : "broker";
	if (!WIFSIGNALED(o->wstatus))
		return NULL;
	if (WTERMSIG(o->wstatus) == SIGSYS || (WTERMSIG(o->wstatus) == SIGKILL && r->sc.killed_tool))
		return "seccomp";
	if (WTERMSIG(o->wstatus) != SIGKILL)
		return NULL;
	if (r->cgs.oom_kills)
		return "oom";
	/* As report_status: a SIGKILL nobody in the broker sent, after burning
	   CPU, is RLIMIT_CPU's. */
	return o->cpu_ms * 2 >= t->limits.cpu_seconds * 1000 ? "cpu" : NULL;
}
