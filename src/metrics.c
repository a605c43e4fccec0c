/*
 * metrics.c: the metrics registry, its Prometheus text exposition, and the
 * broker's own families with the hooks that feed them (see metrics.h).
 *
 * Counters are kept as integers and histogram sums as doubles of seconds;
 * the text is rendered on demand (a scrape, toolgate/metrics), never kept.
 * Families render in the order they were added and series in the order they
 * were first seen, so two scrapes of the same state are byte for byte equal.
 */
#include "metrics.h"
#include "config.h"
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the registry ---- */

struct mx_series {
	const struct mx_family *family;
	char **values;              /* one per label of the family */
	uint64_t count;             /* counter value; histogram count */
	double value;               /* gauge value; histogram sum of mx_histogram_observe */
	uint64_t sum_ns;            /* histogram sum of mx_histogram_observe_ns, exact */
	uint64_t *buckets;          /* histogram: observations per bucket, not cumulative */
};

struct mx_family {
	enum mx_type type;
	char *name, *help;
	char *labels[MX_MAX_LABELS];
	size_t nlabels;
	double bounds[MX_MAX_BUCKETS];
	size_t nbounds;
	struct mx_series **series;
	size_t nseries, cap;
	json_t *index;              /* label values joined by \x1f -> position in series */
	uint64_t *dropped;          /* the registry's count of observations refused */
};

struct mx_registry {
	struct mx_family **families;
	size_t n, cap;
	uint64_t dropped;           /* series refused at MX_MAX_SERIES */
};

struct mx_registry *mx_registry_new(void)
{
	return calloc(1, sizeof(struct mx_registry));
}

static void family_free(struct mx_family *f)
{
	for (size_t i = 0; i < f->nseries; i++) {
		for (size_t j = 0; j < f->nlabels; j++)
			free(f->series[i]->values[j]);
		free(f->series[i]->values);
		free(f->series[i]->buckets);
		free(f->series[i]);
	}
	for (size_t j = 0; j < f->nlabels; j++)
		free(f->labels[j]);
	free(f->series);
	json_decref(f->index);
	free(f->name);
	free(f->help);
	free(f);
}

void mx_registry_free(struct mx_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		family_free(r->families[i]);
	free(r->families);
	free(r);
}

uint64_t mx_registry_dropped(const struct mx_registry *r)
{
	return r->dropped;
}

static bool valid_name(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
		             (colon && *p == ':');
		if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

struct mx_family *mx_family_add(struct mx_registry *r, enum mx_type type, const char *name,
                                const char *help, const char *const *labels,
                                const double *bounds, size_t nbounds, struct tg_error *err)
{
	if (!valid_name(name, true)) {
		tg_err(err, "metric name \"%s\": must match [a-zA-Z_:][a-zA-Z0-9_:]*", name ? name : "");
		return NULL;
	}
	size_t nl = 0;
	while (labels && labels[nl]) {
		if (!valid_name(labels[nl], false) || strncmp(labels[nl], "__", 2) == 0 ||
		    (type == MX_HISTOGRAM && strcmp(labels[nl], "le") == 0)) {
			tg_err(err, "%s: label name \"%s\": must match [a-zA-Z_][a-zA-Z0-9_]*, not start "
			       "with __, and not be le on a histogram", name, labels[nl]);
			return NULL;
		}
		if (++nl > MX_MAX_LABELS) {
			tg_err(err, "%s: more than %d labels", name, MX_MAX_LABELS);
			return NULL;
		}
	}
	if (type != MX_HISTOGRAM && nbounds) {
		tg_err(err, "%s: only a histogram has buckets", name);
		return NULL;
	}
	if (nbounds > MX_MAX_BUCKETS) {
		tg_err(err, "%s: more than %d buckets", name, MX_MAX_BUCKETS);
		return NULL;
	}
	for (size_t i = 0; i < nbounds; i++)
		if (!isfinite(bounds[i]) || (i && bounds[i] <= bounds[i - 1])) {
			tg_err(err, "%s: bucket bound %zu: bounds must be finite and strictly increasing",
			       name, i);
			return NULL;
		}
	struct mx_family *f = calloc(1, sizeof *f);
	if (!f || !(f->name = strdup(name)) || !(f->help = strdup(help ? help : "")) ||
	    !(f->index = json_object())) {
		if (f)
			family_free(f);
		tg_err(err, "%s: out of memory", name);
		return NULL;
	}
	f->type = type;
	for (size_t i = 0; i < nl; i++) {
		if (!(f->labels[i] = strdup(labels[i]))) {
			family_free(f);
			tg_err(err, "%s: out of memory", name);
			return NULL;
		}
		f->nlabels = i + 1;
	}
	if (nbounds)
		memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
	f->nbounds = nbounds;
	f->dropped = &r->dropped;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct mx_family **nf = realloc(r->families, cap * sizeof *nf);
		if (!nf) {
			family_free(f);
			tg_err(err, "%s: out of memory", name);
			return NULL;
		}
		r->families = nf;
		r->cap = cap;
	}
	r->families[r->n++] = f;
	/* A family without labels has exactly one series: shown from the start. */
	if (nl == 0 && !mx_series_get(f, NULL)) {
		r->n--;
		family_free(f);
		tg_err(err, "%s: out of memory", name);
		return NULL;
	}
	return f;
}

struct mx_series *mx_series_get(struct mx_family *f, const char *const *values)
{
	/* The index key: the values joined by \x1f (a label value may hold
	   anything, so the key is only a hint; values are compared in full). */
	size_t klen = 0;
	for (size_t i = 0; i < f->nlabels; i++)
		klen += strlen(values[i]) + 1;
	char *key = malloc(klen + 1);
	if (!key)
		return NULL;
	size_t off = 0;
	for (size_t i = 0; i < f->nlabels; i++) {
		size_t l = strlen(values[i]);
		memcpy(key + off, values[i], l);
		off += l;
		key[off++] = '\x1f';
	}
	key[off] = '\0';
	const json_t *at = json_object_get(f->index, key);
	if (at) {
		free(key);
		return f->series[json_integer_value(at)];
	}
	if (f->nseries >= MX_MAX_SERIES) {
		free(key);
		(*f->dropped)++;
		return NULL;
	}
	struct mx_series *s = calloc(1, sizeof *s);
	if (!s || (f->nlabels && !(s->values = calloc(f->nlabels, sizeof *s->values))) ||
	    (f->type == MX_HISTOGRAM && !(s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets))))
		goto oom;
	s->family = f;
	for (size_t i = 0; i < f->nlabels; i++)
		if (!(s->values[i] = strdup(values[i])))
			goto oom;
	if (f->nseries == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct mx_series **ns = realloc(f->series, cap * sizeof *ns);
		if (!ns)
			goto oom;
		f->series = ns;
		f->cap = cap;
	}
	if (json_object_set_new(f->index, key, json_integer((json_int_t)f->nseries)) != 0)
		goto oom;
	free(key);
	f->series[f->nseries++] = s;
	return s;
oom:
	free(key);
	if (s) {
		for (size_t i = 0; s->values && i < f->nlabels; i++)
			free(s->values[i]);
		free(s->values);
		free(s->buckets);
		free(s);
	}
	return NULL;
}

void mx_counter_add(struct mx_series *s, uint64_t n)
{
	if (s)
		s->count += n;
}

void mx_gauge_set(struct mx_series *s, double v)
{
	if (s)
		s->value = v;
}

void mx_histogram_observe(struct mx_series *s, double v)
{
	if (!s || !s->buckets)
		return;
	const struct mx_family *f = s->family;
	size_t i = 0;
	while (i < f->nbounds && v > f->bounds[i])
		i++;
	s->buckets[i]++;   /* bucket nbounds is +Inf's own */
	s->count++;
	s->value += v;
}

void mx_histogram_observe_ns(struct mx_series *s, uint64_t ns)
{
	if (!s || !s->buckets)
		return;
	const struct mx_family *f = s->family;
	double v = (double)ns / 1e9;
	size_t i = 0;
	while (i < f->nbounds && v > f->bounds[i])
		i++;
	s->buckets[i]++;
	s->count++;
	s->sum_ns += ns;
}

void mx_format_double(double v, char *out, size_t n)
{
	if (isnan(v)) {
		snprintf(out, n, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(out, n, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* The fewest significant digits that read back as exactly v (as Go's
	   and Python's clients print floats), in plain notation from 1e-4 up to
	   1e21 ("10", not "1e+01") and in exponent notation beyond. */
	char e[40];
	int prec = 1;
	for (;; prec++) {
		snprintf(e, sizeof e, "%.*e", prec - 1, v);
		if (prec == 17 || strtod(e, NULL) == v)
			break;   /* 17 digits always read back exactly */
	}
	int exp10 = atoi(strchr(e, 'e') + 1);
	if (exp10 >= -4 && exp10 < 21 && exp10 + 1 > prec)
		prec = exp10 + 1;
	snprintf(out, n, "%.*g", prec, v);
}

char *mx_escape(const char *s, bool label_value)
{
	size_t extra = 0;
	for (const char *p = s; *p; p++)
		if (*p == '\\' || *p == '\n' || (label_value && *p == '"'))
			extra++;
	char *out = malloc(strlen(s) + extra + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		if (*p == '\\' || (label_value && *p == '"')) {
			*o++ = '\\';
			*o++ = *p;
		} else if (*p == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

/* {name="value",...} with an optional le last; nothing when there are no labels. */
static void put_labels(FILE *o, const struct mx_family *f, const struct mx_series *s, const char *le)
{
	if (f->nlabels == 0 && !le)
		return;
	fputc('{', o);
	for (size_t i = 0; i < f->nlabels; i++) {
		char *v = mx_escape(s->values[i], true);
		fprintf(o, "%s%s=\"%s\"", i ? "," : "", f->labels[i], v ? v : "");
		free(v);
	}
	if (le)
		fprintf(o, "%sle=\"%s\"", f->nlabels ? "," : "", le);
	fputc('}', o);
}

static void put_family(FILE *o, const struct mx_family *f)
{
	static const char *const type_names[] = { "counter", "gauge", "histogram" };
	char *help = mx_escape(f->help, false);
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", f->name, help ? help : "", f->name,
	        type_names[f->type]);
	free(help);
	char num[64];
	for (size_t i = 0; i < f->nseries; i++) {
		const struct mx_series *s = f->series[i];
		if (f->type == MX_COUNTER) {
			fputs(f->name, o);
			put_labels(o, f, s, NULL);
			fprintf(o, " %llu\n", (unsigned long long)s->count);
		} else if (f->type == MX_GAUGE) {
			mx_format_double(s->value, num, sizeof num);
			fputs(f->name, o);
			put_labels(o, f, s, NULL);
			fprintf(o, " %s\n", num);
		} else {
			uint64_t cum = 0;
			for (size_t b = 0; b <= f->nbounds; b++) {
				cum += s->buckets[b];
				if (b < f->nbounds)
					mx_format_double(f->bounds[b], num, sizeof num);
				fprintf(o, "%s_bucket", f->name);
				put_labels(o, f, s, b < f->nbounds ? num : "+Inf");
				fprintf(o, " %llu\n", (unsigned long long)cum);
			}
			mx_format_double(s->value + (double)s->sum_ns / 1e9, num, sizeof num);
			fprintf(o, "%s_sum", f->name);
			put_labels(o, f, s, NULL);
			fprintf(o, " %s\n%s_count", num, f->name);
			put_labels(o, f, s, NULL);
			fprintf(o, " %llu\n", (unsigned long long)s->count);
		}
	}
}

char *mx_render(const struct mx_registry *r, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *o = open_memstream(&buf, &n);
	if (!o)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		put_family(o, r->families[i]);
	bool bad = ferror(o) != 0;
	if (fclose(o) != 0 || bad) {
		free(buf);
		return NULL;
	}
	if (len)
		*len = n;
	return buf;
}

/* ---- the broker's metrics ---- */

/* The fixed label values.  A value outside its list is counted as "other",
   so a new decision or outcome somewhere else never grows a family. */
static const char *const decisions[] = {
	"permit", "deny", "forbid", "rate_limited", "invalid", "held", NULL,
};
static const char *const approval_outcomes[] = {
	"approved", "denied", "expired", "withdrawn", "refused", NULL,
};
const char *const metrics_kill_reasons[] = {
	"timeout", "cancelled", "broker", "seccomp", "oom", "cpu", NULL,
};
static const char *const limits_hit[] = { "processes", "output_bytes", NULL };

/* Calls wait for tools (seconds to minutes) and sometimes for a human (the
   default approval deadline is 900 s): buckets from 1 ms to 15 min. */
static const double call_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900,
};
/* A group commit is one write and one fdatasync: 100 µs on NVMe, tens of ms
   on a busy disk, seconds when something is wrong. */
static const double fsync_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
};

struct metrics {
	struct mx_registry *reg;
	struct mx_family *build_info, *start_time, *config_loads, *reload_failures, *config_tools,
		*connections, *calls, *call_duration, *in_flight, *kills, *limit_hits,
		*approvals_pending, *approvals, *rate_limited, *fsync, *records, *audit_failing,
		*draining, *dropped;
};

#define N_OF(a) (sizeof (a) / sizeof (a)[0])

uint64_t metrics_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *fixed_value(const char *const *list, const char *v)
{
	for (size_t i = 0; v && list[i]; i++)
		if (strcmp(list[i], v) == 0)
			return list[i];
	return "other";
}

/* Make the series of every value of a fixed list, so that each is shown
   (at 0) before it first happens, as Prometheus's guidelines ask. */
static bool precreate(struct mx_family *f, const char *const *list)
{
	for (size_t i = 0; list[i]; i++) {
		const char *v[] = { list[i] };
		if (!mx_series_get(f, v))
			return false;
	}
	return true;
}

struct metrics *metrics_new(const char *version, double start_time)
{
	struct metrics *m = calloc(1, sizeof *m);
	if (!m || !(m->reg = mx_registry_new())) {
		free(m);
		return NULL;
	}
	struct tg_error err;
	static const char *const l_version[] = { "version", NULL };
	static const char *const l_tool[] = { "tool", NULL };
	static const char *const l_tool_decision[] = { "tool", "decision", NULL };
	static const char *const l_reason[] = { "reason", NULL };
	static const char *const l_limit[] = { "limit", NULL };
	static const char *const l_outcome[] = { "outcome", NULL };
	struct mx_registry *r = m->reg;
#define FAM(field, type, name, help, labels) \
	if (!(m->field = mx_family_add(r, type, name, help, labels, NULL, 0, &err))) goto fail
#define HIST(field, name, help, labels, bounds) \
	if (!(m->field = mx_family_add(r, MX_HISTOGRAM, name, help, labels, bounds, N_OF(bounds), &err))) goto fail
	FAM(build_info, MX_GAUGE, "toolgate_build_info",
	    "Always 1; the version label says which toolgated this is.", l_version);
	FAM(start_time, MX_GAUGE, "toolgate_start_time_seconds",
	    "When the broker started, in seconds since the Unix epoch.", NULL);
	FAM(config_loads, MX_COUNTER, "toolgate_config_loads_total",
	    "Configurations loaded and put in force: the one at start and each successful reload.", NULL);
	FAM(reload_failures, MX_COUNTER, "toolgate_config_reload_failures_total",
	    "Reloads refused because the new configuration was invalid (the old one stayed in force).", NULL);
	FAM(config_tools, MX_GAUGE, "toolgate_config_tools",
	    "Tools in the configuration in force, enabled or not.", NULL);
	FAM(connections, MX_GAUGE, "toolgate_connections",
	    "Client connections open on the broker's socket.", NULL);
	FAM(calls, MX_COUNTER, "toolgate_calls_total",
	    "tools/call requests by tool and decision (permit, deny, forbid, rate_limited, invalid, "
	    "held; other for anything else), counted when the decision record is written.",
	    l_tool_decision);
	HIST(call_duration, "toolgate_call_duration_seconds",
	     "Seconds from reading a tools/call request to its answer being ready (a refusal's "
	     "decision; a tool's end; for a held call, the approver's wait included), by tool.",
	     l_tool, call_bounds);
	FAM(in_flight, MX_GAUGE, "toolgate_calls_in_flight",
	    "Calls decided and not yet answered: held for approval, queued or running.", NULL);
	FAM(kills, MX_COUNTER, "toolgate_sandbox_kills_total",
	    "Tools ended by force, by reason: timeout (timeout_ms), cancelled (by the client, or it "
	    "disconnected), broker (stopping, or it could not supervise the tool), seccomp, oom "
	    "(memory_mb), cpu (cpu_seconds).", l_reason);
	FAM(limit_hits, MX_COUNTER, "toolgate_sandbox_limit_hits_total",
	    "Calls in which a limit bit without ending the tool: processes (a fork refused), "
	    "output_bytes (output cut at the cap).", l_limit);
	FAM(approvals_pending, MX_GAUGE, "toolgate_approvals_pending",
	    "Calls held, waiting for an approver.", NULL);
	FAM(approvals, MX_COUNTER, "toolgate_approvals_total",
	    "Held calls by how their hold ended: approved, denied, expired, withdrawn, refused.",
	    l_outcome);
	FAM(rate_limited, MX_COUNTER, "toolgate_rate_limit_refusals_total",
	    "Calls refused by a rate limit, by tool.", l_tool);
	HIST(fsync, "toolgate_audit_fsync_duration_seconds",
	     "Seconds one group commit of the audit log took (the batch's write and its fdatasync).",
	     NULL, fsync_bounds);
	FAM(records, MX_COUNTER, "toolgate_audit_records_total",
	    "Records appended to the audit log by this broker.", NULL);
	FAM(audit_failing, MX_GAUGE, "toolgate_audit_log_failing",
	    "1 while the audit log cannot be written (no call starts until it can), else 0.", NULL);
	FAM(draining, MX_GAUGE, "toolgate_draining",
	    "1 once the broker is stopping (SIGTERM: no new calls), else 0.", NULL);
	FAM(dropped, MX_COUNTER, "toolgate_metrics_series_dropped_total",
	    "Observations dropped because their family already had its maximum number of series.", NULL);
#undef FAM
#undef HIST
	const char *v[] = { version };
	mx_gauge_set(mx_series_get(m->build_info, v), 1);
	mx_gauge_set(mx_series_get(m->start_time, NULL), start_time);
	if (!precreate(m->kills, metrics_kill_reasons) || !precreate(m->limit_hits, limits_hit) ||
	    !precreate(m->approvals, approval_outcomes))
		goto fail;
	return m;
fail:
	metrics_free(m);
	return NULL;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	mx_registry_free(m->reg);
	free(m);
}

void metrics_note_audit(struct metrics *m, const json_t *fields, const struct tool *tool)
{
	if (!m)
		return;
	mx_counter_add(mx_series_get(m->records, NULL), 1);
	const char *event = json_string_value(json_object_get(fields, "event"));
	if (!event)
		return;
	if (strcmp(event, "config_load") == 0) {
		mx_counter_add(mx_series_get(m->config_loads, NULL), 1);
	} else if (strcmp(event, "config_reload_failed") == 0) {
		mx_counter_add(mx_series_get(m->reload_failures, NULL), 1);
	} else if (strcmp(event, "decision") == 0 && tool) {
		const char *d = json_string_value(json_object_get(fields, "decision"));
		const char *v[] = { tool->name, fixed_value(decisions, d) };
		mx_counter_add(mx_series_get(m->calls, v), 1);
		if (d && strcmp(d, "rate_limited") == 0)
			mx_counter_add(mx_series_get(m->rate_limited, v), 1);
	} else if (strcmp(event, "approval") == 0) {
		const char *d = json_string_value(json_object_get(fields, "decision"));
		const char *v[] = { fixed_value(approval_outcomes, d) };
		mx_counter_add(mx_series_get(m->approvals, v), 1);
	}
}

void metrics_call_answered(struct metrics *m, const struct tool *t, uint64_t request_ns)
{
	if (!m || !t || !request_ns)
		return;
	uint64_t now = metrics_now_ns();
	const char *v[] = { t->name };
	mx_histogram_observe_ns(mx_series_get(m->call_duration, v), now > request_ns ? now - request_ns : 0);
}

void metrics_call_finished(struct metrics *m, const struct tool *t, const struct tool_report *rep,
                           const struct report_outcome *o, bool truncated, uint64_t request_ns)
{
	if (!m || !t)
		return;
	const char *reason = report_kill_reason(rep, t, o);
	if (reason) {
		const char *v[] = { fixed_value(metrics_kill_reasons, reason) };
		mx_counter_add(mx_series_get(m->kills, v), 1);
	}
	if (rep->cgs.pids_max_hits) {
		const char *v[] = { "processes" };
		mx_counter_add(mx_series_get(m->limit_hits, v), 1);
	}
	if (truncated) {
		const char *v[] = { "output_bytes" };
		mx_counter_add(mx_series_get(m->limit_hits, v), 1);
	}
	metrics_call_answered(m, t, request_ns);
}

void metrics_audit_synced(struct metrics *m, uint64_t ns)
{
	if (m)
		mx_histogram_observe_ns(mx_series_get(m->fsync, NULL), ns);
}

char *metrics_render(struct metrics *m, const struct metrics_gauges *g, size_t *len)
{
	mx_gauge_set(mx_series_get(m->connections, NULL), g->connections);
	mx_gauge_set(mx_series_get(m->in_flight, NULL), g->calls_in_flight);
	mx_gauge_set(mx_series_get(m->approvals_pending, NULL), g->approvals_pending);
	mx_gauge_set(mx_series_get(m->config_tools, NULL), (double)g->tools);
	mx_gauge_set(mx_series_get(m->audit_failing, NULL), g->audit_failing);
	mx_gauge_set(mx_series_get(m->draining, NULL), g->draining);
	struct mx_series *dropped = mx_series_get(m->dropped, NULL);
	if (dropped)
		dropped->count = mx_registry_dropped(m->reg);
	return mx_render(m->reg, len);
}
