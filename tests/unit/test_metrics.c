/*
 * test_metrics.c: the metrics registry and its Prometheus text exposition
 * (src/metrics.c): exact text, escaping, histogram buckets, number format,
 * bounded cardinality, and the broker's families fed by audit records.
 */
#include "config.h"
#include "metrics.h"
#include "report.h"
#include "testlib.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>

static const char *fmt(double v)
{
	static char buf[64];
	mx_format_double(v, buf, sizeof buf);
	return buf;
}

TEST(numbers_are_written_with_the_fewest_digits_that_read_back_exactly)
{
	CHECK_STREQ(fmt(0), "0");
	CHECK_STREQ(fmt(1), "1");
	CHECK_STREQ(fmt(10), "10");
	CHECK_STREQ(fmt(300), "300");
	CHECK_STREQ(fmt(0.005), "0.005");
	CHECK_STREQ(fmt(0.00025), "0.00025");
	CHECK_STREQ(fmt(2.5), "2.5");
	CHECK_STREQ(fmt(0.1 + 0.2), "0.30000000000000004");
	CHECK_STREQ(fmt(1795506990.303), "1795506990.303");
	CHECK_STREQ(fmt(123456789012345678.0), "123456789012345680");
	CHECK_STREQ(fmt(1e21), "1e+21");
	CHECK_STREQ(fmt(0.00001), "1e-05");
	CHECK_STREQ(fmt(-3.5), "-3.5");
	CHECK_STREQ(fmt(INFINITY), "+Inf");
	CHECK_STREQ(fmt(-INFINITY), "-Inf");
	CHECK_STREQ(fmt(NAN), "NaN");
}

TEST(label_values_escape_backslash_quote_and_newline_and_help_escapes_backslash_and_newline)
{
	char *v = mx_escape("a\\b\"c\nd", true);
	CHECK_STREQ(v, "a\\\\b\\\"c\\nd");
	free(v);
	char *h = mx_escape("a\\b\"c\nd", false);
	CHECK_STREQ(h, "a\\\\b\"c\\nd");
	free(h);
}

TEST(a_small_registry_renders_exactly)
{
	struct tg_error err;
	struct mx_registry *r = mx_registry_new();
	static const char *const two[] = { "tool", "decision", NULL };
	static const char *const one[] = { "tool", NULL };
	static const double bounds[] = { 0.25, 0.5, 1 };
	struct mx_family *c = mx_family_add(r, MX_COUNTER, "t_calls_total", "Calls by \"tool\"\nand decision \\ all.",
	                                    two, NULL, 0, &err);
	struct mx_family *g = mx_family_add(r, MX_GAUGE, "t_in_flight", "In flight.", NULL, NULL, 0, &err);
	struct mx_family *h = mx_family_add(r, MX_HISTOGRAM, "t_seconds", "Latency.", one, bounds, 3, &err);
	struct mx_family *e = mx_family_add(r, MX_COUNTER, "t_empty_total", "Nothing yet.", one, NULL, 0, &err);
	CHECK(c && g && h && e);
	const char *v1[] = { "kb.search", "permit" };
	const char *v2[] = { "odd\"name\\\n", "deny" };
	mx_counter_add(mx_series_get(c, v1), 2);
	mx_counter_add(mx_series_get(c, v2), 1);
	mx_counter_add(mx_series_get(c, v1), 1);
	mx_gauge_set(mx_series_get(g, NULL), 3);
	const char *t[] = { "kb.search" };
	struct mx_series *hs = mx_series_get(h, t);
	mx_histogram_observe(hs, 0.25);   /* on a bound: counted in that bucket (le is <=) */
	mx_histogram_observe(hs, 0.375);
	mx_histogram_observe(hs, 0.5);
	mx_histogram_observe(hs, 7);      /* beyond every bound: +Inf only */
	size_t len;
	char *text = mx_render(r, &len);
	CHECK_STREQ(text,
		"# HELP t_calls_total Calls by \"tool\"\\nand decision \\\\ all.\n"
		"# TYPE t_calls_total counter\n"
		"t_calls_total{tool=\"kb.search\",decision=\"permit\"} 3\n"
		"t_calls_total{tool=\"odd\\\"name\\\\\\n\",decision=\"deny\"} 1\n"
		"# HELP t_in_flight In flight.\n"
		"# TYPE t_in_flight gauge\n"
		"t_in_flight 3\n"
		"# HELP t_seconds Latency.\n"
		"# TYPE t_seconds histogram\n"
		"t_seconds_bucket{tool=\"kb.search\",le=\"0.25\"} 1\n"
		"t_seconds_bucket{tool=\"kb.search\",le=\"0.5\"} 3\n"
		"t_seconds_bucket{tool=\"kb.search\",le=\"1\"} 3\n"
		"t_seconds_bucket{tool=\"kb.search\",le=\"+Inf\"} 4\n"
		"t_seconds_sum{tool=\"kb.search\"} 8.125\n"
		"t_seconds_count{tool=\"kb.search\"} 4\n"
		"# HELP t_empty_total Nothing yet.\n"
		"# TYPE t_empty_total counter\n");
	CHECK(text && len == strlen(text));
	free(text);
	mx_registry_free(r);
}

TEST(a_histogram_without_labels_puts_le_alone_in_braces)
{
	struct tg_error err;
	struct mx_registry *r = mx_registry_new();
	static const double bounds[] = { 0.001 };
	struct mx_family *h = mx_family_add(r, MX_HISTOGRAM, "fsync_seconds", "F.", NULL, bounds, 1, &err);
	mx_histogram_observe(mx_series_get(h, NULL), 0.0005);
	char *text = mx_render(r, NULL);
	CHECK_STREQ(text,
		"# HELP fsync_seconds F.\n"
		"# TYPE fsync_seconds histogram\n"
		"fsync_seconds_bucket{le=\"0.001\"} 1\n"
		"fsync_seconds_bucket{le=\"+Inf\"} 1\n"
		"fsync_seconds_sum 0.0005\n"
		"fsync_seconds_count 1\n");
	free(text);
	mx_registry_free(r);
}

TEST(bad_names_labels_and_bounds_are_refused_with_the_reason)
{
	struct tg_error err;
	struct mx_registry *r = mx_registry_new();
	static const char *const le[] = { "le", NULL };
	static const char *const dunder[] = { "__name", NULL };
	static const char *const dash[] = { "a-b", NULL };
	static const double down[] = { 1, 0.5 };
	CHECK(!mx_family_add(r, MX_COUNTER, "9lives", "", NULL, NULL, 0, &err));
	CHECK_STREQ(err.msg, "metric name \"9lives\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
	CHECK(!mx_family_add(r, MX_COUNTER, "a.b", "", NULL, NULL, 0, &err));
	CHECK_STREQ(err.msg, "metric name \"a.b\": must match [a-zA-Z_:][a-zA-Z0-9_:]*");
	CHECK(!mx_family_add(r, MX_HISTOGRAM, "h", "", le, NULL, 0, &err));
	CHECK_STREQ(err.msg, "h: label name \"le\": must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, "
	                     "and not be le on a histogram");
	CHECK(!mx_family_add(r, MX_COUNTER, "c", "", dunder, NULL, 0, &err));
	CHECK_CONTAINS(err.msg, "c: label name \"__name\"");
	CHECK(!mx_family_add(r, MX_COUNTER, "c", "", dash, NULL, 0, &err));
	CHECK_CONTAINS(err.msg, "c: label name \"a-b\"");
	CHECK(!mx_family_add(r, MX_HISTOGRAM, "h", "", NULL, down, 2, &err));
	CHECK_STREQ(err.msg, "h: bucket bound 1: bounds must be finite and strictly increasing");
	CHECK(!mx_family_add(r, MX_COUNTER, "c", "", NULL, down, 1, &err));
	CHECK_STREQ(err.msg, "c: only a histogram has buckets");
	/* le is fine on a counter, and colons in a metric name. */
	CHECK(mx_family_add(r, MX_COUNTER, "job:c", "", le, NULL, 0, &err) != NULL);
	mx_registry_free(r);
}

TEST(a_family_refuses_series_beyond_its_maximum_and_counts_what_it_dropped)
{
	struct tg_error err;
	struct mx_registry *r = mx_registry_new();
	static const char *const one[] = { "id", NULL };
	struct mx_family *c = mx_family_add(r, MX_COUNTER, "c_total", "", one, NULL, 0, &err);
	char id[16];
	const char *v[] = { id };
	for (int i = 0; i < MX_MAX_SERIES; i++) {
		snprintf(id, sizeof id, "%d", i);
		CHECK(mx_series_get(c, v) != NULL);
	}
	snprintf(id, sizeof id, "new");
	CHECK(mx_series_get(c, v) == NULL);
	CHECK(mx_series_get(c, v) == NULL);
	snprintf(id, sizeof id, "7");
	CHECK(mx_series_get(c, v) != NULL);   /* existing series still count */
	CHECK(mx_registry_dropped(r) == 2);
	mx_registry_free(r);
}

/* ---- the broker's families ---- */

static char *render(struct metrics *m, const struct metrics_gauges *g)
{
	return metrics_render(m, g, NULL);
}

/* The value of one sample line ("name{labels} value"), or -1. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

static json_t *record(const char *event, const char *tool, const char *decision)
{
	return json_pack("{s:s, s:s?, s:s?}", "event", event, "tool", tool, "decision", decision);
}

TEST(decision_records_count_calls_by_tool_and_decision_and_rate_limit_refusals)
{
	struct metrics *m = metrics_new("9.9.9", 1700000000.5);
	struct tool kb = { .name = "kb.search" }, refund = { .name = "refund.issue" };
	const char *decisions[] = { "permit", "permit", "deny", "forbid", "rate_limited", "invalid", "held",
	                            "something_new" };
	for (size_t i = 0; i < sizeof decisions / sizeof *decisions; i++) {
		json_t *r = record("decision", "kb.search", decisions[i]);
		metrics_note_audit(m, r, &kb);
		json_decref(r);
	}
	json_t *r = record("decision", "refund.issue", "rate_limited");
	metrics_note_audit(m, r, &refund);
	json_decref(r);
	/* A record whose tool the configuration does not have is not labelled. */
	r = record("decision", "made.up", "deny");
	metrics_note_audit(m, r, NULL);
	json_decref(r);
	const char *events[] = { "config_load", "config_reload_failed", "config_load", "broker_start" };
	for (size_t i = 0; i < 4; i++) {
		r = record(events[i], NULL, NULL);
		metrics_note_audit(m, r, NULL);
		json_decref(r);
	}
	const char *outcomes[] = { "approved", "denied", "expired", "withdrawn", "refused", "approved" };
	for (size_t i = 0; i < 6; i++) {
		r = record("approval", "refund.issue", outcomes[i]);
		metrics_note_audit(m, r, &refund);
		json_decref(r);
	}
	struct metrics_gauges g = { .connections = 2, .calls_in_flight = 5, .approvals_pending = 1,
	                            .tools = 7, .audit_failing = true };
	char *text = render(m, &g);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"permit\"}") == 2);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"deny\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"forbid\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"rate_limited\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"invalid\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"held\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"kb.search\",decision=\"other\"}") == 1);
	CHECK(sample(text, "toolgate_calls_total{tool=\"refund.issue\",decision=\"rate_limited\"}") == 1);
	CHECK(!strstr(text, "made.up"));
	CHECK(sample(text, "toolgate_rate_limit_refusals_total{tool=\"kb.search\"}") == 1);
	CHECK(sample(text, "toolgate_rate_limit_refusals_total{tool=\"refund.issue\"}") == 1);
	CHECK(sample(text, "toolgate_config_loads_total") == 2);
	CHECK(sample(text, "toolgate_config_reload_failures_total") == 1);
	CHECK(sample(text, "toolgate_approvals_total{outcome=\"approved\"}") == 2);
	CHECK(sample(text, "toolgate_approvals_total{outcome=\"refused\"}") == 1);
	CHECK(sample(text, "toolgate_audit_records_total") == 20);
	CHECK(sample(text, "toolgate_build_info{version=\"9.9.9\"}") == 1);
	CHECK_CONTAINS(text, "\ntoolgate_start_time_seconds 1700000000.5\n");
	CHECK(sample(text, "toolgate_connections") == 2);
	CHECK(sample(text, "toolgate_calls_in_flight") == 5);
	CHECK(sample(text, "toolgate_approvals_pending") == 1);
	CHECK(sample(text, "toolgate_config_tools") == 7);
	CHECK(sample(text, "toolgate_audit_log_failing") == 1);
	CHECK(sample(text, "toolgate_draining") == 0);
	CHECK(sample(text, "toolgate_metrics_series_dropped_total") == 0);
	free(text);
	metrics_free(m);
}

TEST(every_kill_reason_and_limit_is_shown_at_zero_before_it_happens)
{
	struct metrics *m = metrics_new("1", 0);
	struct metrics_gauges g = { 0 };
	char *text = render(m, &g);
	for (const char *const *r = metrics_kill_reasons; *r; r++) {
		char series[96];
		snprintf(series, sizeof series, "toolgate_sandbox_kills_total{reason=\"%s\"}", *r);
		CHECK(sample(text, series) == 0);
	}
	CHECK(sample(text, "toolgate_sandbox_limit_hits_total{limit=\"processes\"}") == 0);
	CHECK(sample(text, "toolgate_sandbox_limit_hits_total{limit=\"output_bytes\"}") == 0);
	CHECK(sample(text, "toolgate_approvals_total{outcome=\"expired\"}") == 0);
	free(text);
	metrics_free(m);
}

TEST(a_finished_call_counts_its_kill_its_limits_and_its_latency)
{
	struct metrics *m = metrics_new("1", 0);
	struct tool t = { .name = "slow", .limits = { .timeout_ms = 100, .cpu_seconds = 2 } };
	struct tool_report rep = { 0 };
	rep.cgs.pids_max_hits = 3;
	struct report_outcome o = { .ran = true, .released = true, .timed_out = true,
	                            .stop_reason = "timed out", .wstatus = SIGKILL };
	uint64_t started = metrics_now_ns() - 250000000u;   /* 250 ms ago */
	metrics_call_finished(m, &t, &rep, &o, true, started);
	struct tool_report clean = { 0 };
	struct report_outcome ok = { .ran = true, .released = true, .stop_reason = "" };
	metrics_call_finished(m, &t, &clean, &ok, false, metrics_now_ns());
	metrics_call_answered(m, NULL, metrics_now_ns());   /* no tool: nothing */
	struct metrics_gauges g = { 0 };
	char *text = render(m, &g);
	CHECK(sample(text, "toolgate_sandbox_kills_total{reason=\"timeout\"}") == 1);
	CHECK(sample(text, "toolgate_sandbox_kills_total{reason=\"cancelled\"}") == 0);
	CHECK(sample(text, "toolgate_sandbox_limit_hits_total{limit=\"processes\"}") == 1);
	CHECK(sample(text, "toolgate_sandbox_limit_hits_total{limit=\"output_bytes\"}") == 1);
	CHECK(sample(text, "toolgate_call_duration_seconds_count{tool=\"slow\"}") == 2);
	CHECK(sample(text, "toolgate_call_duration_seconds_bucket{tool=\"slow\",le=\"0.1\"}") == 1);
	CHECK(sample(text, "toolgate_call_duration_seconds_bucket{tool=\"slow\",le=\"0.25\"}") == 1);
	CHECK(sample(text, "toolgate_call_duration_seconds_bucket{tool=\"slow\",le=\"0.5\"}") == 2);
	CHECK(sample(text, "toolgate_call_duration_seconds_bucket{tool=\"slow\",le=\"+Inf\"}") == 2);
	double sum = sample(text, "toolgate_call_duration_seconds_sum{tool=\"slow\"}");
	CHECK(sum >= 0.25 && sum < 0.5);
	free(text);
	metrics_free(m);
}

TEST(audit_group_commits_fill_the_fsync_histogram)
{
	struct metrics *m = metrics_new("1", 0);
	metrics_audit_synced(m, 80000);       /* 80 µs */
	metrics_audit_synced(m, 3000000);     /* 3 ms */
	struct metrics_gauges g = { 0 };
	char *text = render(m, &g);
	CHECK(sample(text, "toolgate_audit_fsync_duration_seconds_bucket{le=\"0.0001\"}") == 1);
	CHECK(sample(text, "toolgate_audit_fsync_duration_seconds_bucket{le=\"0.0025\"}") == 1);
	CHECK(sample(text, "toolgate_audit_fsync_duration_seconds_bucket{le=\"0.005\"}") == 2);
	CHECK(sample(text, "toolgate_audit_fsync_duration_seconds_count") == 2);
	CHECK_CONTAINS(text, "\ntoolgate_audit_fsync_duration_seconds_sum 0.00308\n");
	free(text);
	metrics_free(m);
}

int main(void)
{
	RUN(numbers_are_written_with_the_fewest_digits_that_read_back_exactly);
	RUN(label_values_escape_backslash_quote_and_newline_and_help_escapes_backslash_and_newline);
	RUN(a_small_registry_renders_exactly);
	RUN(a_histogram_without_labels_puts_le_alone_in_braces);
	RUN(bad_names_labels_and_bounds_are_refused_with_the_reason);
	RUN(a_family_refuses_series_beyond_its_maximum_and_counts_what_it_dropped);
	RUN(decision_records_count_calls_by_tool_and_decision_and_rate_limit_refusals);
	RUN(every_kill_reason_and_limit_is_shown_at_zero_before_it_happens);
	RUN(a_finished_call_counts_its_kill_its_limits_and_its_latency);
	RUN(audit_group_commits_fill_the_fsync_histogram);
	return TEST_SUMMARY();
}
