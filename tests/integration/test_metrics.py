"""Metrics end to end: the real toolgated with --metrics-listen serves
Prometheus text on GET /metrics; after permitted, denied, forbidden, invalid
and rate-limited calls, a timeout, a cancellation, a capped output and a
held call, a scrape with a real HTTP client, parsed by the Prometheus
project's own Python parser, shows exactly those counts.  toolgate stats and
the toolgate/metrics method give the same text to admin principals (and
root) and refuse everyone else with the reason.  Reloads are counted, the
endpoint answers 404/405/400 as HTTP says, a slow client is cut off without
stalling the broker, and a non-loopback address is refused at start."""
import http.client
import os
import re
import signal
import socket
import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families

from tglib import (Broker, TEST_TOOLS, TOOLGATE, TOOLGATED, contains, eq, processes_with, run,
                   summary, test, text_of, tool_file, wait_until)

BOT, OPS, VIEWER, NOBODY_KNOWN = 41301, 41302, 41303, 41399
MARK = "tg-met-%d" % os.getpid()
T = lambda name: os.path.join(TEST_TOOLS, name)
KB_SCHEMA = {"type": "object", "properties": {"query": {"type": "string", "maxLength": 20}},
             "additionalProperties": False}
TOOLS = [
    tool_file("kb.search", [T("echo-args")], schema=KB_SCHEMA),
    tool_file("kb.delete", [T("echo-args")], effect="write"),
    tool_file("secret.read", [T("echo-args")]),
    tool_file("slow", [T("sleeper"), MARK + "-t"], limits={"timeout_ms": 300}),
    tool_file("slow.long", [T("sleeper"), MARK + "-c"], limits={"timeout_ms": 60000}),
    tool_file("flood", [T("flood")], limits={"output_bytes": 1000}),
    tool_file("refund.issue", [T("echo-args")], effect="write"),
]
POLICY = {
    "principals": {"support-bot": {"uids": [BOT]}, "ops": {"uids": [OPS], "admin": True},
                   "viewer": {"uids": [VIEWER], "admin": False}},
    "rules": [
        {"id": "kb", "effect": "permit", "agents": ["support-bot"], "tools": ["kb.*"]},
        {"id": "no-deletes", "effect": "forbid", "agents": ["*"], "tools": ["*.delete"]},
        {"id": "work", "effect": "permit", "agents": ["support-bot"],
         "tools": ["slow", "slow.long", "flood"]},
        {"id": "refunds", "effect": "approve", "agents": ["support-bot"], "tools": ["refund.issue"],
         "approvers": ["ops"]},
    ],
    "rate_limits": [{"id": "kb-cap", "agents": ["support-bot"], "tools": ["kb.search"],
                     "per": "agent", "calls": 3, "seconds": 3600}],
}
b = Broker(TOOLS, POLICY, args=["--metrics-listen", "127.0.0.1:0"]).start()
m = re.search(r"serving metrics on http://127\.0\.0\.1:(\d+)/metrics", b.log())
PORT = int(m.group(1))


def fetch(method="GET", path="/metrics", headers=None):
    """One request with http.client: (status, headers as a dict, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def families(text):
    """The exposition parsed by prometheus_client; every family must be typed
    (the parser turns any sample it cannot place into an untyped family)."""
    fams = {f.name: f for f in text_string_to_metric_families(text)}
    untyped = [n for n, f in fams.items() if f.type == "untyped"]
    eq(untyped, [], "samples the parser could not place in a declared family")
    return fams


def value(fams, family, sample, **labels):
    for s in fams[family].samples:
        if s.name == sample and s.labels == labels:
            return s.value
    raise AssertionError("no sample %s%r in %s" % (sample, labels, family))


def scrape():
    status, headers, body = fetch()
    eq(status, 200)
    eq(headers["content-type"], "text/plain; version=0.0.4; charset=utf-8")
    eq(int(headers["content-length"]), len(body.encode()))
    return families(body)


def calls(fams, tool, decision):
    return value(fams, "toolgate_calls", "toolgate_calls_total", tool=tool, decision=decision)


@test
def a_fresh_broker_exposes_every_family_with_its_type():
    fams = scrape()
    want = {
        "toolgate_build_info": "gauge", "toolgate_start_time_seconds": "gauge",
        "toolgate_config_loads": "counter", "toolgate_config_reload_failures": "counter",
        "toolgate_config_tools": "gauge", "toolgate_connections": "gauge",
        "toolgate_calls": "counter", "toolgate_call_duration_seconds": "histogram",
        "toolgate_calls_in_flight": "gauge", "toolgate_sandbox_kills": "counter",
        "toolgate_sandbox_limit_hits": "counter", "toolgate_approvals_pending": "gauge",
        "toolgate_approvals": "counter", "toolgate_rate_limit_refusals": "counter",
        "toolgate_audit_fsync_duration_seconds": "histogram", "toolgate_audit_records": "counter",
        "toolgate_audit_log_failing": "gauge", "toolgate_draining": "gauge",
        "toolgate_metrics_series_dropped": "counter",
    }
    eq({n: f.type for n, f in fams.items()}, want)
    eq(value(fams, "toolgate_build_info", "toolgate_build_info", version="0.1.0"), 1.0)
    started = value(fams, "toolgate_start_time_seconds", "toolgate_start_time_seconds")
    assert time.time() - 120 < started <= time.time(), started
    eq(value(fams, "toolgate_config_loads", "toolgate_config_loads_total"), 1.0)
    eq(value(fams, "toolgate_config_tools", "toolgate_config_tools"), 7.0)
    for reason in ("timeout", "cancelled", "broker", "seccomp", "oom", "cpu"):
        eq(value(fams, "toolgate_sandbox_kills", "toolgate_sandbox_kills_total", reason=reason), 0.0)
    eq(value(fams, "toolgate_audit_log_failing", "toolgate_audit_log_failing"), 0.0)


@test
def calls_are_counted_by_tool_and_decision_with_exact_values():
    c = b.client(BOT)
    for q in ("refund", "shipping", "returns"):
        eq(c.call("kb.search", {"query": q})["isError"], False)
    r = c.call("kb.search", {"query": "one too many"})
    eq(r["_meta"]["toolgate/decision"]["decision"], "rate_limited")
    r = c.call("kb.search", {"query": "x" * 21})
    eq(r["_meta"]["toolgate/decision"]["decision"], "invalid")
    eq(c.call("kb.delete", {})["_meta"]["toolgate/decision"]["decision"], "forbid")
    eq(c.call("secret.read", {})["_meta"]["toolgate/decision"]["decision"], "deny")
    # A tool name that is not configured is a JSON-RPC error: no label for it.
    eq(c.request("tools/call", {"name": "no.such.tool", "arguments": {}})["error"]["code"], -32602)
    c.close()
    fams = scrape()
    eq(calls(fams, "kb.search", "permit"), 3.0)
    eq(calls(fams, "kb.search", "rate_limited"), 1.0)
    eq(calls(fams, "kb.search", "invalid"), 1.0)
    eq(calls(fams, "kb.delete", "forbid"), 1.0)
    eq(calls(fams, "secret.read", "deny"), 1.0)
    eq(value(fams, "toolgate_rate_limit_refusals", "toolgate_rate_limit_refusals_total",
             tool="kb.search"), 1.0)
    tools = {s.labels["tool"] for s in fams["toolgate_calls"].samples}
    eq(tools, {"kb.search", "kb.delete", "secret.read"})
    # Every answered call is in its tool's latency histogram.
    eq(value(fams, "toolgate_call_duration_seconds", "toolgate_call_duration_seconds_count",
             tool="kb.search"), 5.0)
    eq(value(fams, "toolgate_call_duration_seconds", "toolgate_call_duration_seconds_bucket",
             tool="kb.search", le="+Inf"), 5.0)
    total = value(fams, "toolgate_call_duration_seconds", "toolgate_call_duration_seconds_sum",
                  tool="kb.search")
    assert 0 < total < 30, total
    # The audit records this broker wrote, all of them.
    eq(value(fams, "toolgate_audit_records", "toolgate_audit_records_total"), float(len(b.records())))
    n = value(fams, "toolgate_audit_fsync_duration_seconds",
              "toolgate_audit_fsync_duration_seconds_count")
    assert n >= 1, n
    eq(value(fams, "toolgate_audit_fsync_duration_seconds",
             "toolgate_audit_fsync_duration_seconds_bucket", le="+Inf"), n)


@test
def a_timeout_a_cancellation_and_a_capped_output_are_counted_by_reason():
    c = b.client(BOT)
    r = c.call("slow", {})
    contains(text_of(r), "timed out after 300 ms")
    id = c.call_async("tools/call", {"name": "slow.long", "arguments": {}})
    wait_until(lambda: len(processes_with(MARK + "-c")) == 2, 10, "the long tool running")
    fams = scrape()
    eq(value(fams, "toolgate_calls_in_flight", "toolgate_calls_in_flight"), 1.0)
    eq(value(fams, "toolgate_connections", "toolgate_connections"), 1.0)
    c.notify("notifications/cancelled", {"requestId": id, "reason": "not needed"})
    wait_until(lambda: not processes_with(MARK + "-c"), 5, "the cancelled tool tree is gone")
    r = c.call("flood", {"bytes": 5000})
    eq(r["_meta"]["toolgate/execution"]["truncated"], True)
    c.close()
    wait_until(lambda: value(scrape(), "toolgate_calls_in_flight", "toolgate_calls_in_flight") == 0,
               5, "no call in flight")
    fams = scrape()
    kills = {s.labels["reason"]: s.value for s in fams["toolgate_sandbox_kills"].samples}
    eq(kills, {"timeout": 1.0, "cancelled": 1.0, "broker": 0.0, "seccomp": 0.0, "oom": 0.0,
               "cpu": 0.0})
    eq(value(fams, "toolgate_sandbox_limit_hits", "toolgate_sandbox_limit_hits_total",
             limit="output_bytes"), 1.0)
    eq(calls(fams, "slow", "permit"), 1.0)
    eq(calls(fams, "slow.long", "permit"), 1.0)
    eq(value(fams, "toolgate_call_duration_seconds", "toolgate_call_duration_seconds_bucket",
             tool="slow", le="0.25"), 0.0, "a 300 ms timeout takes at least 300 ms")
    eq(value(fams, "toolgate_call_duration_seconds", "toolgate_call_duration_seconds_bucket",
             tool="slow", le="+Inf"), 1.0)
    eq(value(fams, "toolgate_connections", "toolgate_connections"), 0.0)


@test
def a_held_call_is_pending_until_it_ends_and_its_outcome_is_counted():
    c = b.client(BOT)
    c.call_async("tools/call", {"name": "refund.issue", "arguments": {}})
    wait_until(lambda: value(scrape(), "toolgate_approvals_pending", "toolgate_approvals_pending") == 1,
               5, "one approval pending")
    fams = scrape()
    eq(calls(fams, "refund.issue", "held"), 1.0)
    eq(value(fams, "toolgate_calls_in_flight", "toolgate_calls_in_flight"), 1.0)
    c.close()   # the caller leaves: the hold is withdrawn
    wait_until(lambda: value(scrape(), "toolgate_approvals_pending", "toolgate_approvals_pending") == 0,
               5, "no approval pending")
    fams = scrape()
    eq(value(fams, "toolgate_approvals", "toolgate_approvals_total", outcome="withdrawn"), 1.0)
    eq(value(fams, "toolgate_approvals", "toolgate_approvals_total", outcome="approved"), 0.0)


def stats_as(uid, *extra):
    return run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", TOOLGATE,
                "stats", "--socket", b.socket] + list(extra))


@test
def toolgate_stats_prints_the_same_text_for_an_admin_principal_and_for_root():
    for uid in (OPS, 0):
        p = run([TOOLGATE, "--socket", b.socket, "stats"]) if uid == 0 else stats_as(uid)
        eq((p.returncode, p.stderr), (0, ""))
        fams = families(p.stdout)
        eq(calls(fams, "kb.search", "permit"), 3.0)
        eq(value(fams, "toolgate_audit_records", "toolgate_audit_records_total"),
           float(len(b.records())))
    p = run([TOOLGATE, "stats", "--help"])
    eq((p.returncode, p.stdout), (0, "usage: toolgate [--socket PATH] stats [--socket PATH]\n"))
    p = run([TOOLGATE, "stats", "--bogus"])
    eq((p.returncode, p.stderr), (2, 'toolgate stats: unexpected argument "--bogus"\n'
                                     "usage: toolgate [--socket PATH] stats [--socket PATH]\n"))


@test
def the_metrics_method_is_refused_to_anyone_who_is_not_an_admin():
    p = stats_as(VIEWER)
    eq((p.returncode, p.stdout, p.stderr),
       (1, "", 'toolgate stats: toolgate/metrics is for admin principals only: uid 41303 '
               '(principal viewer) is not an admin ("admin": true in the policies)\n'))
    for uid, who in ((BOT, "(principal support-bot)"), (NOBODY_KNOWN, "(no principal)")):
        c = b.client(uid)
        r = c.request("toolgate/metrics")
        eq(r["error"], {"code": -32001, "message": "toolgate/metrics is for admin principals only: "
                        "uid %d %s is not an admin (\"admin\": true in the policies)" % (uid, who)})
        c.close()
    c = b.client(OPS)
    r = c.request("toolgate/metrics")["result"]
    eq(sorted(r), ["content_type", "text"])
    eq(r["content_type"], "text/plain; version=0.0.4; charset=utf-8")
    families(r["text"])
    c.close()


@test
def the_endpoint_speaks_http_as_clients_expect():
    status, headers, body = fetch("GET", "/")
    eq((status, body), (404, "404 Not Found: this endpoint serves only /metrics\n"))
    status, headers, body = fetch("POST", "/metrics")
    eq((status, headers["allow"], body),
       (405, "GET, HEAD", "405 Method Not Allowed: /metrics answers GET and HEAD only\n"))
    status, headers, body = fetch("HEAD", "/metrics")
    eq((status, body), (200, ""))
    assert int(headers["content-length"]) > 1000, headers
    eq(headers["connection"], "close")
    # curl, too: the exposition and its content type.
    p = run(["curl", "-sS", "-w", "\\n%{http_code} %{content_type}", "http://127.0.0.1:%d/metrics" % PORT])
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "\n200 text/plain; version=0.0.4; charset=utf-8")
    contains(p.stdout, '\ntoolgate_calls_total{tool="kb.search",decision="permit"} 3\n')
    # Raw bytes that are not HTTP get a 400 at once.
    s = socket.create_connection(("127.0.0.1", PORT), timeout=5)
    s.sendall(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03")
    eq(s.recv(100).split(b"\r\n")[0], b"HTTP/1.1 400 Bad Request")
    s.close()


@test
def a_slow_http_client_is_cut_off_and_never_stalls_the_broker():
    slow = socket.create_connection(("127.0.0.1", PORT), timeout=10)
    slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")   # and never the blank line
    t0 = time.time()
    # Meanwhile the broker serves its socket and other scrapes at once.
    c = b.client(OPS)
    eq(c.request("ping")["result"], {})
    c.close()
    scrape()
    assert time.time() - t0 < 2, time.time() - t0
    data = slow.recv(200)
    took = time.time() - t0
    eq(data.split(b"\r\n")[0], b"HTTP/1.1 408 Request Timeout")
    assert 4 <= took < 8, took
    eq(slow.recv(100), b"", "then closed")
    slow.close()


@test
def reloads_and_refused_reloads_are_counted():
    bad = os.path.join(b.config, "tools.d", "broken.json")
    with open(bad, "w") as f:
        f.write('{"name": "broken"')
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: value(scrape(), "toolgate_config_reload_failures",
                             "toolgate_config_reload_failures_total") == 1, 5, "a refused reload")
    os.unlink(bad)
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: value(scrape(), "toolgate_config_loads", "toolgate_config_loads_total") == 2,
               5, "a second load")
    eq(value(scrape(), "toolgate_config_tools", "toolgate_config_tools"), 7.0)


@test
def a_non_loopback_address_is_refused_at_start_unless_allowed():
    # A value the flag never accepts is a usage error (2), before anything starts;
    # an address that cannot be bound is a failure to start (1).
    p = run([TOOLGATED, "--config-dir", b.config, "--state-dir", b.state + "-2", "--socket",
             b.socket + "-2", "--foreground", "--metrics-listen", "0.0.0.0:0"], timeout=20)
    eq((p.returncode, p.stderr),
       (2, "toolgated: --metrics-listen: 0.0.0.0:0: not a loopback address; the endpoint has no "
           "authentication, so listening beyond this host needs --metrics-allow-remote\n"))
    eq(os.path.exists(b.state + "-2"), False, "nothing was started")
    p = run([TOOLGATED, "--metrics-allow-remote"])
    eq((p.returncode, p.stderr), (2, "toolgated: --metrics-allow-remote goes with --metrics-listen\n"))
    p = run([TOOLGATED, "--config-dir", b.config, "--state-dir", b.state + "-2", "--socket",
             b.socket + "-2", "--foreground", "--metrics-listen", "127.0.0.1:%d" % PORT], timeout=20)
    eq(p.returncode, 1)
    contains(p.stderr, "toolgated: --metrics-listen: 127.0.0.1:%d: bind: Address already in use" % PORT)


b.close()
summary()
