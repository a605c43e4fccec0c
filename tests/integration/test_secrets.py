"""Secrets, writeOnly arguments, idempotency keys and trace context, through
the real broker (issue 6, points 6 to 8; README "Secrets, idempotency and
tracing").  The tool, echo-env, tries to leak everything it was given on
stdout and stderr; the test looks for the secret in every response, every
audit record and the broker's log, and counts the tool's runs in a file."""
import json
import os
import shutil
import signal
import tempfile
import time

from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, run, summary, test, text_of,
                   tool_file, wait_until)

BOT, BOT2 = 41701, 41702
SECRET = "sk_live_5f2b9c1e7a4d8b3f"
OTHER_SECRET = "pw-db-9a8b7c6d5e"
T = lambda name: os.path.join(TEST_TOOLS, name)
RUNS = tempfile.mkdtemp(prefix="tg-secrets-", dir="/var/tmp")
os.chmod(RUNS, 0o777)
COUNT = os.path.join(RUNS, "runs")
TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def tool(name, argv, **kw):
    t = tool_file(name, [T("echo-env")] + argv, **kw)
    t["sandbox"]["write_paths"] = [RUNS]
    return t


TOOLS = [
    tool("leak", ["--var", "API_KEY"], secrets={"API_KEY": "api", "DB_PASSWORD": "db"}),
    tool("leak.fail", ["--var", "API_KEY", "--fail"], secrets={"API_KEY": "api"}),
    tool("leak.cut", ["--var", "API_KEY", "--pad", "50"], secrets={"API_KEY": "api"},
         limits={"output_bytes": 60}),
    tool("plain", []),
    tool("login", [], schema={"type": "object", "properties": {
        "user": {"type": "string"},
        "password": {"type": "string", "writeOnly": True},
        "card": {"type": "object", "properties": {"number": {"type": "string", "writeOnly": True}}}},
        "additionalProperties": False}),
    tool("refund", ["--count", COUNT], effect="write",
         schema={"type": "object", "properties": {"order": {"type": "string"}},
                 "additionalProperties": False}),
    tool("refund.slow", ["--count", COUNT, "--sleep-ms", "1500"], effect="write"),
]
POLICY = {"principals": {"bot": {"uids": [BOT]}, "bot2": {"uids": [BOT2]}},
          "rules": [{"id": "all", "effect": "permit", "agents": ["bot", "bot2"], "tools": ["*"]}]}

b = Broker(TOOLS, POLICY)
os.makedirs(os.path.join(b.config, "secrets"), mode=0o700)
for name, value in (("api", SECRET), ("db", OTHER_SECRET)):
    p = os.path.join(b.config, "secrets", name)
    with open(p, "w") as f:
        f.write(value + "\n")
    os.chmod(p, 0o600)
b.start()


def runs():
    try:
        with open(COUNT) as f:
            return len(f.read().splitlines())
    except FileNotFoundError:
        return 0


def call(c, name, args, meta=None, timeout=30):
    p = {"name": name, "arguments": args}
    if meta is not None:
        p["_meta"] = meta
    r = c.request("tools/call", p, timeout)
    assert "result" in r, r
    return r["result"]


def audit_text():
    with open(b.audit_log) as f:
        return f.read()


# ---- secrets ---------------------------------------------------------------

@test
def a_secret_reaches_its_tool_but_no_response_audit_record_or_log_line():
    c = b.client(BOT)
    r = call(c, "leak", {"echo": SECRET})
    text = text_of(r)
    eq(r["isError"], False)
    # The tool had the exact value: its reversal is not a literal occurrence.
    contains(text, "REV(API_KEY)=" + SECRET[::-1])
    contains(text, "API_KEY=[REDACTED:api]\n")
    contains(text, "DB_PASSWORD=[REDACTED:db]\n")
    # Arguments that carry the value (the model echoing it back) too.
    contains(text, 'ARGS={"echo":"[REDACTED:api]"}')
    assert SECRET not in json.dumps(r) and OTHER_SECRET not in json.dumps(r), r
    r = call(c, "leak.fail", {})
    eq(r["isError"], True)
    contains(text_of(r), "--- stderr ---\nARGS={}\n")
    contains(text_of(r), "API_KEY=[REDACTED:api]\n")
    assert SECRET not in json.dumps(r), r
    recs = b.records()
    end = [x for x in recs if x["event"] == "exec_end" and x["tool"] == "leak"][-1]
    start = [x for x in recs if x["event"] == "exec_start" and x["tool"] == "leak"][-1]
    eq(start["args"], {"echo": "[REDACTED:api]"}, "the audited arguments")
    eq(end["truncated"], False, "a redacted stream is not a cut one")
    assert SECRET not in audit_text() and OTHER_SECRET not in audit_text()
    assert SECRET not in b.log() and OTHER_SECRET not in b.log()
    c.close()


@test
def only_the_tool_that_names_a_secret_gets_it():
    c = b.client(BOT)
    text = text_of(call(c, "plain", {}))
    assert "API_KEY" not in text and "[REDACTED" not in text, text
    c.close()


@test
def a_secret_cut_by_the_output_cap_leaves_no_prefix_of_itself():
    # 50 'x', then the secret at byte 50 of a 60-byte capture.
    r = call(b.client(BOT), "leak.cut", {})
    text = text_of(r)
    contains(text, "x" * 50 + "[REDACTED")
    assert "sk_" not in text and SECRET[:3] not in text.split("[REDACTED")[0], text
    eq(r["_meta"]["toolgate/execution"]["truncated"], True)


@test
def check_config_names_a_secret_file_with_a_bad_mode_or_owner():
    # The first tool file in name order that uses it is the one named.
    p = os.path.join(b.config, "secrets", "api")
    try:
        os.chmod(p, 0o644)
        r = run([TOOLGATE, "check-config", b.config])
        eq((r.returncode, r.stderr), (1, "tools.d/leak.cut.json: secrets.API_KEY: secrets/api: has mode 0644; "
                                         "group and others must have no access (chmod 600)\n"))
        os.chmod(p, 0o600)
        os.chown(p, 1001, 1001)
        r = run([TOOLGATE, "check-config", b.config])
        eq((r.returncode, r.stderr), (1, "tools.d/leak.cut.json: secrets.API_KEY: secrets/api: is owned by uid 1001; "
                                         "it must be owned by uid 0, the user the broker runs as\n"))
    finally:
        os.chown(p, 0, 0)
        os.chmod(p, 0o600)
    eq(run([TOOLGATE, "check-config", b.config]).returncode, 0)


# ---- writeOnly -------------------------------------------------------------

@test
def a_write_only_argument_reaches_the_tool_but_not_the_audit_log():
    r = call(b.client(BOT), "login", {"user": "ann", "password": "hunter2-pw",
                                       "card": {"number": "4111111111111111"}})
    contains(text_of(r), '"password":"hunter2-pw"')
    contains(text_of(r), '"number":"4111111111111111"')
    recs = [x for x in b.records() if x.get("tool") == "login"]
    eq(sorted(x["event"] for x in recs), ["decision", "exec_end", "exec_start"])
    for x in recs:
        if x["event"] != "exec_end":
            eq(x["args"], {"user": "ann", "password": "[REDACTED]", "card": {"number": "[REDACTED]"}})
    assert "hunter2-pw" not in audit_text() and "4111111111111111" not in audit_text()


# ---- idempotency -----------------------------------------------------------

@test
def a_retry_with_the_same_key_gets_the_first_result_without_a_second_run():
    before = runs()
    c = b.client(BOT)
    first = call(c, "refund", {"order": "A-1"}, {"toolgate/idempotencyKey": "k-1"})
    eq(runs(), before + 1)
    again = call(c, "refund", {"order": "A-1"}, {"toolgate/idempotencyKey": "k-1"})
    eq(runs(), before + 1, "the tool did not run again")
    eq(text_of(again), text_of(first))
    dec = first["_meta"]["toolgate/decision"]["audit_seq"]
    rp = again["_meta"]["toolgate/replay"]
    eq((rp["idempotency_key"], rp["original_seq"]), ("k-1", dec))
    rec = [x for x in b.records() if x["event"] == "replay"][-1]
    eq((rec["seq"], rec["original_seq"], rec["idempotency_key"], rec["tool"], rec["agent"]),
       (rp["audit_seq"], dec, "k-1", "refund", "bot"))
    # The first call's records carry the key.
    keyed = [x["event"] for x in b.records() if x.get("idempotency_key") == "k-1"]
    eq(keyed, ["decision", "exec_start", "exec_end", "decision", "replay"])
    # toolgate/status shows the store: this key's entry is in it.
    st = c.request("toolgate/status", {})["result"]["idempotency"]
    assert st["entries"] >= 1 and st["bytes"] > 0, st
    eq((st["max_entries"], st["max_bytes"], st["window_ms"]), (10000, 256 << 20, 24 * 3600 * 1000))
    c.close()


@test
def the_same_key_with_other_arguments_or_another_tool_is_refused():
    c = b.client(BOT)
    call(c, "refund", {"order": "B-1"}, {"toolgate/idempotencyKey": "k-2"})
    n = runs()
    dec = [x for x in b.records() if x.get("idempotency_key") == "k-2"][0]["seq"]
    r = call(c, "refund", {"order": "B-2"}, {"toolgate/idempotencyKey": "k-2"})
    eq((r["isError"], r["_meta"]["toolgate/decision"]["decision"]), (True, "invalid"))
    contains(text_of(r), 'idempotency key "k-2" already names another call (decided in audit seq %d) '
                         'with a different tool, user or arguments; use a new key for a new call' % dec)
    r = call(c, "plain", {}, {"toolgate/idempotencyKey": "k-2"})
    eq(r["isError"], True)
    eq(runs(), n)
    c.close()


@test
def a_key_is_scoped_to_its_agent():
    n = runs()
    call(b.client(BOT), "refund", {"order": "C-1"}, {"toolgate/idempotencyKey": "k-3"})
    call(b.client(BOT2), "refund", {"order": "C-1"}, {"toolgate/idempotencyKey": "k-3"})
    eq(runs(), n + 2, "another agent's key never matches")


@test
def a_malformed_key_is_refused_before_anything_runs():
    n = runs()
    c = b.client(BOT)
    for bad in ("has space", "x" * 129, 42):
        r = call(c, "refund", {"order": "D-1"}, {"toolgate/idempotencyKey": bad})
        eq((r["isError"], r["_meta"]["toolgate/decision"]["decision"]), (True, "invalid"))
        want = ('idempotency key refused: _meta["toolgate/idempotencyKey"] must be a string'
                if bad == 42 else
                'idempotency key refused: _meta["toolgate/idempotencyKey"] must be 1 to 128 characters '
                'of A-Z a-z 0-9 . _ : -')
        contains(text_of(r), want)
    eq(runs(), n)
    c.close()


@test
def a_retry_while_the_first_call_runs_waits_for_its_result():
    n = runs()
    c1, c2 = b.client(BOT), b.client(BOT)
    meta = {"toolgate/idempotencyKey": "k-slow"}
    i1 = c1.call_async("tools/call", {"name": "refund.slow", "arguments": {}, "_meta": meta})
    wait_until(lambda: runs() == n + 1, 10, "the first run")
    i2 = c2.call_async("tools/call", {"name": "refund.slow", "arguments": {}, "_meta": meta})
    r1, r2 = c1.wait(i1)["result"], c2.wait(i2)["result"]
    eq(text_of(r2), text_of(r1))
    eq(r2["_meta"]["toolgate/replay"]["original_seq"], r1["_meta"]["toolgate/decision"]["audit_seq"])
    eq(runs(), n + 1)
    c1.close()
    c2.close()


@test
def a_call_with_a_key_outlives_its_client_and_its_retry_gets_the_result():
    n = runs()
    c1 = b.client(BOT)
    meta = {"toolgate/idempotencyKey": "k-gone"}
    c1.call_async("tools/call", {"name": "refund.slow", "arguments": {}, "_meta": meta})
    wait_until(lambda: runs() == n + 1, 10, "the first run")
    c1.close()   # the connection is lost while the refund runs
    time.sleep(0.2)
    r = call(b.client(BOT), "refund.slow", {}, meta)
    eq(r["isError"], False)
    contains(text_of(r), "ARGS={}")
    eq(runs(), n + 1, "ran once")
    end = [x for x in b.records() if x["event"] == "exec_end" and x.get("idempotency_key") == "k-gone"]
    eq(end[0]["exit"], 0, "the first run was not killed when its client left")


@test
def an_idempotent_retry_after_a_restart_does_not_run_the_tool_again():
    c = b.client(BOT)
    first = call(c, "refund", {"order": "E-1"}, {"toolgate/idempotencyKey": "k-restart"})
    c.close()
    n = runs()
    b.stop()
    b.start()
    again = call(b.client(BOT), "refund", {"order": "E-1"}, {"toolgate/idempotencyKey": "k-restart"})
    eq(text_of(again), text_of(first))
    eq(again["_meta"]["toolgate/replay"]["original_seq"], first["_meta"]["toolgate/decision"]["audit_seq"])
    eq(runs(), n)


@test
def after_a_crash_during_the_call_a_retry_is_refused_not_run_again():
    n = runs()
    c = b.client(BOT)
    meta = {"toolgate/idempotencyKey": "k-crash"}
    c.call_async("tools/call", {"name": "refund.slow", "arguments": {}, "_meta": meta})
    wait_until(lambda: runs() == n + 1, 10, "the first run")
    b.stop(signal.SIGKILL)
    c.close()
    b.start()
    dec = [x for x in b.records() if x.get("idempotency_key") == "k-crash"][0]["seq"]
    r = call(b.client(BOT), "refund.slow", {}, meta)
    eq((r["isError"], r["_meta"]["toolgate/decision"]["decision"]), (True, "invalid"))
    contains(text_of(r), 'idempotency key "k-crash" names a call that started (decided in audit seq %d) '
                         'but whose result was never stored: the broker stopped while it ran. It is not '
                         'run again: check what it did, then use a new key' % dec)
    eq(runs(), n + 1)


# ---- trace context ---------------------------------------------------------

@test
def a_traceparent_reaches_the_tools_environment_and_the_calls_records():
    r = call(b.client(BOT), "plain", {"n": 1}, {"traceparent": TP})
    contains(text_of(r), "\nTRACEPARENT=" + TP + "\n")
    recs = [x for x in b.records() if x.get("traceparent") == TP]
    eq([x["event"] for x in recs], ["decision", "exec_start", "exec_end"])


@test
def an_invalid_traceparent_is_ignored_and_logged():
    bad = ["00-00000000000000000000000000000000-00f067aa0ba902b7-01",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", 7]
    c = b.client(BOT)
    for tp in bad:
        r = call(c, "plain", {"bad": 1}, {"traceparent": tp})
        eq(r["isError"], False)
        assert "TRACEPARENT" not in text_of(r), text_of(r)
    eq([x for x in b.records() if x.get("args") == {"bad": 1} and "traceparent" in x], [])
    contains(b.log(), "plain from uid %d: ignoring _meta.traceparent: not a W3C traceparent" % BOT)
    c.close()


@test
def the_log_still_verifies():
    r = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(r.returncode, 0, r.stdout + r.stderr)
    assert SECRET not in audit_text() and SECRET not in b.log()


b.close()
shutil.rmtree(RUNS, ignore_errors=True)
summary()
