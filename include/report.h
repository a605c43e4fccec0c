/*
 * report.h: what the sandbox saw a tool do, in words and as audit fields.
 *
 * While a call runs, call.c notes here each system call the seccomp filter
 * refused (from the notify listener), each Landlock refusal the kernel's audit
 * log named, and, at the end, what the call's cgroup counted.  When the call
 * ends, report_status() turns that and the way the tool ended into the one
 * status sentence a result and the exec_end record carry ("exited with status
 * 0; seccomp refused ptrace (EPERM)", "killed by signal 9 (SIGKILL): the
 * kernel's OOM killer ended it when ..."), and report_audit_fields() adds the
 * same facts as structured fields of exec_end.
 */
#ifndef TOOLGATE_REPORT_H
#define TOOLGATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "cgroup.h"

struct tool;
struct seccomp_verdict;
struct kaudit_event;

/* Distinct refusals named in a status; more are counted. */
#define REPORT_SECCOMP_NAMED 8
#define REPORT_LANDLOCK_NAMED 4

struct tool_report {
	struct {
		char killed[48];        /* the call that got a process killed, if one did */
		bool killed_tool;       /* ... and that process was the tool itself */
		bool baseline;          /* ... refused by the broker's baseline, not the profile */
		uint64_t refusals;      /* calls made to fail */
		unsigned n;
		struct { char name[48]; int errnum; uint64_t count; } refused[REPORT_SECCOMP_NAMED];
	} sc;
	struct {
		uint64_t refusals;
		unsigned n;
		char what[REPORT_LANDLOCK_NAMED][200];   /* "fs.write_file /proc/1/oom_score_adj" */
	} ll;
	struct cgroup_stats cgs;        /* read when the call ends (zeros without a cgroup) */
};

/* A refused system call the broker answered; killed_tool: it killed the
   tool's own process (pid 1 of its namespace) for it. */
void report_note_seccomp(struct tool_report *r, const struct seccomp_verdict *v, bool killed_tool);

/* A Landlock refusal from the kernel's audit log. */
void report_note_landlock(struct tool_report *r, const struct kaudit_event *ev);

/* How the call ended, as call.c knows it. */
struct report_outcome {
	bool ran;                  /* a child was started */
	bool released;             /* its gate opened: the tool itself ran */
	bool timed_out;
	const char *stop_reason;   /* why the broker stopped it, or "" */
	const char *setup_error;   /* the child's own setup failure, setup_len bytes */
	size_t setup_len;
	int wstatus;
	uint64_t cpu_ms;
};

/*
 * The status sentence into status (n bytes) and the exit number (-1 when
 * the tool never ran); returns whether the call failed (anything but a
 * normal exit with status 0).
 */
bool report_status(const struct tool_report *r, const struct tool *t, const struct report_outcome *o,
                   char *status, size_t n, int *exit_no);

/*
 * Why the tool was ended by force, as one word for the metrics: "timeout",
 * "cancelled" (the client cancelled or left), "broker" (the broker stopped
 * it: shutting down, or it could not supervise it), "seccomp", "oom",
 * "cpu"; NULL when it was not (it exited or died of its own accord, or never
 * started).  Decided in the same order as report_status's sentence.
 */
const char *report_kill_reason(const struct tool_report *r, const struct tool *t,
                               const struct report_outcome *o);

/* exec_end's "seccomp" and "landlock" objects, when there is something to say. */
void report_audit_fields(const struct tool_report *r, json_t *rec);

#endif
