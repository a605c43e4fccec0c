/*
 * metrics.h: the broker's metrics, in Prometheus's text exposition format
 * (version 0.0.4).
 *
 * Two layers.  The registry (mx_*) is generic: families of counters, gauges
 * and histograms, each with a fixed list of label names fixed when the
 * family is made, series found or made by their label values, and the text
 * rendering (# HELP / # TYPE, label escaping, cumulative _bucket{le=...}
 * with +Inf, _sum, _count).  The broker's set (metrics_*) is the families
 * toolgate exposes and the hooks that feed them, called from the few places
 * that know: server.c (each audit record, each group commit, the gauges at
 * scrape time), call.c and approval.c (a call answered or ended).
 *
 * Cardinality is bounded by construction: a tool label only ever comes from
 * a `struct tool` of a loaded configuration (never from a request), every
 * other label from a fixed list in metrics.c, and a family refuses series
 * beyond MX_MAX_SERIES (the observation is dropped and counted in
 * toolgate_metrics_series_dropped_total).
 *
 * Single-threaded, like the event loop that owns it.
 */
#ifndef TOOLGATE_METRICS_H
#define TOOLGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "error.h"

/* ---- the registry ---- */

enum mx_type { MX_COUNTER, MX_GAUGE, MX_HISTOGRAM };

#define MX_MAX_LABELS 4
#define MX_MAX_BUCKETS 32
#define MX_MAX_SERIES 20000

struct mx_registry;
struct mx_family;
struct mx_series;

struct mx_registry *mx_registry_new(void);
void mx_registry_free(struct mx_registry *r);

/*
 * Add a family, rendered in the order families were added.  name must match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, each label name [a-zA-Z_][a-zA-Z0-9_]* (and not
 * "le" for a histogram); labels is NULL-terminated (or NULL: none).  bounds
 * (histograms only) are the buckets' upper bounds, strictly increasing and
 * finite: +Inf is always added.  NULL with err on a bad name or bound.
 */
struct mx_family *mx_family_add(struct mx_registry *r, enum mx_type type, const char *name,
                                const char *help, const char *const *labels,
                                const double *bounds, size_t nbounds, struct tg_error *err);

/* The series with these label values (as many as the family has labels; any
   UTF-8), made (at zero) if new.  NULL beyond MX_MAX_SERIES or out of memory. */
struct mx_series *mx_series_get(struct mx_family *f, const char *const *values);

void mx_counter_add(struct mx_series *s, uint64_t n);
void mx_gauge_set(struct mx_series *s, double v);
/* Count v in every bucket whose bound is >= v, add it to the sum. */
void mx_histogram_observe(struct mx_series *s, double v);
/* The same for a duration in nanoseconds (bounds are in seconds); the sum
   of durations is kept in whole nanoseconds, so it does not drift. */
void mx_histogram_observe_ns(struct mx_series *s, uint64_t ns);

/* Observations refused so far because a family had MX_MAX_SERIES series. */
uint64_t mx_registry_dropped(const struct mx_registry *r);

/* The exposition text (NUL-terminated, *len bytes), or NULL (out of memory). */
char *mx_render(const struct mx_registry *r, size_t *len);

/* Exposition helpers, exposed for tests: the shortest text that reads back
   as exactly v ("0.005", "1e-06", "+Inf", "NaN"), and a label value or HELP
   text escaped (\\, \n, and for a label value \"). */
void mx_format_double(double v, char *out, size_t n);
char *mx_escape(const char *s, bool label_value);

/* ---- the broker's metrics ---- */

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics;
struct tool;
struct tool_report;
struct report_outcome;

/* start_time: the broker's start, seconds since the epoch. */
struct metrics *metrics_new(const char *version, double start_time);
void metrics_free(struct metrics *m);

/* CLOCK_MONOTONIC in nanoseconds: the time base of every duration here. */
uint64_t metrics_now_ns(void);

/*
 * One audit record the broker wrote (fields as given to audit_append).
 * Counts records, config loads and reload failures, calls by tool and
 * decision and rate-limit refusals (from "decision" records), and approval
 * outcomes (from "approval" records).  tool is the record's tool as found in
 * the configuration (NULL when the record has none or it is not there).
 */
void metrics_note_audit(struct metrics *m, const json_t *fields, const struct tool *tool);

/* A call that got its answer (or ended with none: cancelled, client gone),
   request_ns being when its request was read (metrics_now_ns).  t may be NULL. */
void metrics_call_answered(struct metrics *m, const struct tool *t, uint64_t request_ns);

/* A call whose tool ran (or was to): kills by reason and limits that bit,
   then its latency as metrics_call_answered. */
void metrics_call_finished(struct metrics *m, const struct tool *t, const struct tool_report *rep,
                           const struct report_outcome *o, bool truncated, uint64_t request_ns);

/* One group commit of the audit log took ns. */
void metrics_audit_synced(struct metrics *m, uint64_t ns);

/* What is read from the broker's state when scraped. */
struct metrics_gauges {
	unsigned connections;
	unsigned calls_in_flight;
	unsigned approvals_pending;
	size_t tools;               /* in the configuration in force */
	bool audit_failing;         /* the audit log cannot be written: no call starts */
	bool draining;
};

/* The exposition text now, or NULL (out of memory). */
char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len);

/* The kill reasons toolgate_sandbox_kills_total distinguishes, for tests
   and docs; NULL-terminated. */
extern const char *const metrics_kill_reasons[];

#endif
