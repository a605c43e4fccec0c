"""Approvals and rate limits end to end: a call an approve rule holds waits
for a human principal (another uid), who lists and decides it with the real
CLI; self-approval is refused; deadlines deny; cancellation withdraws; a
restart refuses what was pending; all of it is audited; an agent that stops
reading its replies is cut off without its held call ending twice; a call
approved after a reload makes no spare of the replaced tool.  A rate limit
of N lets exactly N calls through per window, and its counters survive a
reload."""
import fcntl
import json
import os
import shutil
import signal
import struct
import subprocess
import termios
import time

from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, run, summary, test, text_of,
                   tool_file, wait_until)

BOT, LEAD = 41201, 41202
T = lambda name: os.path.join(TEST_TOOLS, name)
SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"},
          "amount_cents": {"type": "integer", "minimum": 1}},
          "required": ["order_id", "amount_cents"], "additionalProperties": False}
TOOLS = [tool_file("refund.issue", [T("echo-args")], effect="write", schema=SCHEMA),
         tool_file("refund.quick", [T("echo-args")], effect="write", schema=SCHEMA),
         tool_file("kb.search", [T("echo-args")]),
         # Three results of 22 MB fill a client's 64 MiB of unread replies.
         tool_file("bulk.flood", [T("flood")], limits={"output_bytes": 24 << 20},
                   schema={"type": "object", "properties": {"bytes": {"type": "integer"}}})]
POLICY = {
    "principals": {"support-bot": {"uids": [BOT]}, "support-lead": {"uids": [LEAD]}},
    "rules": [
        {"id": "small-refunds", "effect": "permit", "agents": ["support-bot"],
         "tools": ["refund.issue"], "when": {"args.amount_cents": {"<=": 5000}}},
        {"id": "large-refunds", "effect": "approve", "agents": ["support-bot"],
         "tools": ["refund.issue"], "approvers": ["support-lead"],
         "when": {"args.amount_cents": {"<=": 50000}}},
        {"id": "quick", "effect": "approve", "agents": ["support-bot", "support-lead"],
         "tools": ["refund.quick"], "approvers": ["support-lead"], "deadline_seconds": 1},
        {"id": "kb", "effect": "permit", "agents": ["support-bot"], "tools": ["kb.*"]},
        {"id": "bulk", "effect": "permit", "agents": ["support-bot"], "tools": ["bulk.*"]},
    ],
    "rate_limits": [{"id": "kb-cap", "agents": ["support-bot"], "tools": ["kb.*"], "per": "agent",
                     "calls": 3, "seconds": 3600}],
}
b = Broker(TOOLS, POLICY).start()


def cli_as(uid, *args):
    return run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", TOOLGATE,
                "--socket", b.socket] + list(args))


def hold(amount=20000, tool="refund.issue", progress=None):
    c = b.client(BOT)
    p = {"name": tool, "arguments": {"order_id": "ORD-7", "amount_cents": amount}}
    if progress:
        p["_meta"] = {"progressToken": progress}
    id = c.call_async("tools/call", p)
    return c, id


def pending(uid=LEAD):
    c = b.client(uid)
    r = c.request("toolgate/approvals/list")["result"]["approvals"]
    c.close()
    return r


def spares():
    c = b.client(LEAD)
    r = c.request("toolgate/status")["result"]["spares"]
    c.close()
    return r


@test
def a_held_call_waits_and_the_approver_sees_exactly_what_was_asked():
    c, id = hold(progress="p-1")
    m = c.read_msg()
    eq(m["method"], "notifications/progress")
    eq(m["params"]["progressToken"], "p-1")
    contains(m["params"]["message"], "waiting for approval by support-lead (apr-")
    wait_until(lambda: len(pending()) == 1, 5, "the approval to be listed")
    a = pending()[0]
    eq((a["tool"], a["arguments"], a["agent"], a["user"], a["rule"]),
       ("refund.issue", {"order_id": "ORD-7", "amount_cents": 20000}, "support-bot", None,
        "large-refunds"))
    eq(sorted(a), ["agent", "arguments", "deadline", "id", "requested_at", "rule", "tool", "user"])
    eq(pending(BOT), [], "the agent does not see approvals it may not decide")
    p = cli_as(LEAD, "approvals", "approve", a["id"], "--reason", "customer is gold tier")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "approved " + a["id"] + " (audit seq ")
    r = c.wait(id)["result"]
    eq(r["isError"], False, text_of(r))
    eq(json.loads(text_of(r))["amount_cents"], 20000)
    recs = b.records()
    ap = [x for x in recs if x["event"] == "approval"][-1]
    eq((ap["decision"], ap["agent"], ap["peer"]["uid"], ap["approval_id"], ap["requested_by"]),
       ("approved", "support-lead", LEAD, a["id"], "support-bot"))
    eq(ap["reason"], "approved by support-lead: customer is gold tier")
    held = [x for x in recs if x.get("approval_id") == a["id"] and x["event"] == "decision"][0]
    eq((held["decision"], held["approvers"]), ("held", ["support-lead"]))
    start = [x for x in recs if x["event"] == "exec_start"][-1]
    eq(start["approved_by"], "support-lead")


@test
def the_cli_lists_what_waits_for_the_lead():
    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    p = cli_as(LEAD, "approvals", "list")
    eq(p.returncode, 0, p.stderr)
    contains(p.stdout, "refund.issue")
    contains(p.stdout, '{"order_id":"ORD-7","amount_cents":20000}')
    p = cli_as(BOT, "approvals", "list")
    eq((p.returncode, p.stdout.strip()), (0, "no approvals waiting for you"))
    aid = pending()[0]["id"]
    eq(cli_as(LEAD, "approvals", "deny", aid, "--reason", "too large").returncode, 0)
    r = c.wait(id)["result"]
    eq(r["isError"], True)
    eq(r["_meta"]["toolgate/decision"]["reason"], "denied by support-lead: too large")
    eq(text_of(r), "toolgate refused the call to refund.issue: denied by support-lead: too large")


@test
def an_agent_can_never_approve_its_own_call():
    c, id = hold(tool="refund.quick")
    # support-lead is also an agent of rule quick: its own held call is not its to decide.
    lc = b.client(LEAD)
    lid = lc.call_async("tools/call", {"name": "refund.quick",
                                       "arguments": {"order_id": "ORD-8", "amount_cents": 10}})
    wait_until(lambda: len(pending()) >= 1, 5, "listed")
    own = [x for x in json.loads(cli_as(LEAD, "approvals", "list", "--json").stdout)["approvals"]
           if x["agent"] == "support-lead"]
    eq(own, [], "its own call is not listed for it")
    recs = b.records()
    own_id = [x for x in recs if x.get("approval_id") and x["agent"] == "support-lead"][-1]["approval_id"]
    p = cli_as(LEAD, "approvals", "approve", own_id)
    eq(p.returncode, 1)
    contains(p.stderr, "support-lead cannot decide on its own call")
    p = cli_as(BOT, "approvals", "approve", pending()[0]["id"])
    eq(p.returncode, 1)
    contains(p.stderr, "support-bot")
    # both expire after their 1 s deadline
    for cl, i in ((c, id), (lc, lid)):
        r = cl.wait(i, 10)["result"]
        eq(r["_meta"]["toolgate/decision"]["reason"],
           "the approval deadline passed: no approver decided within 1 s")


@test
def an_expired_deadline_denies_and_is_audited():
    c, id = hold(tool="refund.quick", amount=99)
    r = c.wait(id, 10)["result"]
    eq(r["isError"], True)
    ex = [x for x in b.records() if x["event"] == "approval"][-1]
    eq((ex["decision"], ex["agent"], ex["reason"]),
       ("expired", None, "the approval deadline passed: no approver decided within 1 s"))


@test
def cancelling_a_held_call_withdraws_the_request():
    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    aid = pending()[0]["id"]
    c.notify("notifications/cancelled", {"requestId": id, "reason": "user left"})
    wait_until(lambda: pending() == [], 5, "withdrawn")
    w = [x for x in b.records() if x["event"] == "approval"][-1]
    eq((w["approval_id"], w["decision"], w["reason"]),
       (aid, "withdrawn", "cancelled by the client (user left)"))
    eq(cli_as(LEAD, "approvals", "approve", aid).returncode, 1)


OUT_MAX = 64 << 20   # what the broker keeps of replies a client has not read


def unread(c):
    """Bytes the broker sent that c has not read yet (in c's socket)."""
    return struct.unpack("i", fcntl.ioctl(c.sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]


def settled_unread(c):
    """unread(c) once the broker has written all it will write to c."""
    last = None
    while True:
        time.sleep(0.3)
        now = unread(c)
        if now == last:
            return now
        last = now


def flood_line(n, i=0):
    return (b'{"jsonrpc":"2.0","id":"f%06d","method":"tools/call","params":{"name":"bulk.flood",'
            b'"arguments":{"bytes":%d}}}\n' % (i, n))


def read_line(c):
    while b"\n" not in c.buf:
        c.buf += c.sock.recv(1 << 20)
    line, c.buf = c.buf.split(b"\n", 1)
    return line


@test
def an_agent_that_stops_reading_is_cut_off_and_its_held_call_ends_once():
    # The broker reads no more requests from a client with 1 MiB of replies
    # unread, but the results of calls already running still queue up: at
    # 64 MiB the client is dropped.  Here the reply that crosses that line
    # is the denial of a held call: the connection is dropped at the end of
    # that batch, and the call ends once (one approval record, the broker
    # lives on).
    reason = "r" * 200
    probe = b.client(BOT)
    # The size of a flood's reply line: its output, the output's size in
    # digits, and the rest (give or take a digit of a duration or seq).
    probe.send_raw(flood_line(1000))
    base = len(read_line(probe)) + 1 - 1001 - len("1001")
    # ... of the denial's, with the same reason ...
    h, hid = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    eq(cli_as(LEAD, "approvals", "deny", pending()[0]["id"], "--reason", reason).returncode, 0)
    line = read_line(h)
    contains(line.decode(), '"decision":"deny"')
    denial = len(line) + 1
    h.close()
    # ... and what a client's socket holds of a large reply it does not read.
    probe.send_raw(flood_line(1000000))
    absorbed = settled_unread(probe)
    probe.close()
    probe = b.client(BOT)

    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    aid = pending()[0]["id"]
    # n bytes of output make a reply line of base + n + 1 + digits(n + 1).
    def output_for(line):
        n = line - base - 1 - 8
        return n + (8 - len(str(n + 1)))
    # First a result that fills c's socket and leaves 512 KiB queued (less
    # than the 1 MiB at which the broker stops reading c's requests) ...
    first = absorbed + (512 << 10)
    c.send_raw(flood_line(output_for(first), 1))
    eq(settled_unread(c), absorbed)
    # ... then three that leave half a denial of room below the limit.
    rest = OUT_MAX - (512 << 10) - denial // 2
    lines = [rest // 3, rest // 3, rest - 2 * (rest // 3)]
    c.send_raw(b"".join(flood_line(output_for(n), i + 2) for i, n in enumerate(lines)))
    # (The socket is full: only the end of those calls says they are queued.)
    wait_until(lambda: probe.request("toolgate/status")["result"]["calls_in_flight"] == 1, 30,
               "the floods ended, the held call waits")
    left = OUT_MAX - (first + rest - unread(c))
    if not 0 < left < denial:
        raise AssertionError("%d bytes of room below the limit, not between 0 and the denial's %d"
                             % (left, denial))
    p = cli_as(LEAD, "approvals", "deny", aid, "--reason", reason)
    eq(p.returncode, 0, p.stderr)
    wait_until(lambda: "the client does not read its replies" in b.log(), 5, "the agent cut off")
    c.close()
    eq(b.proc.poll(), None, "the broker runs on")
    eq(probe.request("ping")["result"], {})
    ap = [x["decision"] for x in b.records() if x["event"] == "approval" and x["approval_id"] == aid]
    eq(ap, ["denied"])
    st = probe.request("toolgate/status")["result"]
    eq(st["calls_in_flight"], 0)
    probe.close()


@test
def a_call_approved_after_a_reload_makes_no_spare_of_the_replaced_tool():
    # The approved call runs under the snapshot it was decided in; spares
    # are only ever made for the current configuration's tools.
    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    n = len(b.records())
    b.write_tool(dict(TOOLS[0], description="Refunds, redeployed"))
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any(x["event"] == "config_load" for x in b.records()[n:]), 5, "reload")
    wait_until(lambda: spares()["ready"] == 0, 5, "the replaced configuration's spares to go")
    made = spares()["made"]
    eq(cli_as(LEAD, "approvals", "approve", pending()[0]["id"]).returncode, 0)
    eq(c.wait(id)["result"]["isError"], False)
    time.sleep(0.5)
    eq((spares()["ready"], spares()["made"]), (0, made))
    # A call of the tool as it is now gets its spares, as before.
    r = b.client(BOT).call("refund.issue", {"order_id": "ORD-9", "amount_cents": 10})
    eq(r["isError"], False)
    wait_until(lambda: spares()["ready"] == 2, 5, "spares of the current tool")


@test
def a_restart_refuses_what_was_pending():
    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    aid = pending()[0]["id"]
    b.stop(signal.SIGKILL)
    b.start()
    r = [x for x in b.records() if x["event"] == "approval" and x["approval_id"] == aid]
    eq(len(r), 1)
    eq((r[0]["decision"], r[0]["reason"]),
       ("refused", "the broker restarted before anyone decided; the call was refused"))
    eq(pending(), [])


@test
def sigterm_refuses_held_calls_instead_of_waiting_for_them():
    c, id = hold()
    wait_until(lambda: len(pending()) == 1, 5, "listed")
    b.proc.send_signal(signal.SIGTERM)
    r = c.wait(id, 10)["result"]
    eq(r["_meta"]["toolgate/decision"]["reason"],
       "the broker is stopping; the call waiting for approval was refused")
    eq(b.proc.wait(10), 0)
    b.start()


@test
def a_rate_limit_of_n_lets_exactly_n_calls_through_and_survives_a_reload():
    c = b.client(BOT)
    results = [c.call("kb.search", {}) for _ in range(5)]
    eq([r["isError"] for r in results], [False, False, False, True, True])
    d = results[3]["_meta"]["toolgate/decision"]
    eq(d["decision"], "rate_limited")
    contains(d["reason"], "rate limit kb-cap reached: 3 calls per 3600 s per agent (agent support-bot); retry in ")
    eq(d["retry_after_ms"] > 0, True)
    n = len(b.records())
    b.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: any(x["event"] == "config_load" for x in b.records()[n:]), 5, "reload")
    eq(c.call("kb.search", {})["_meta"]["toolgate/decision"]["decision"], "rate_limited")


@test
def the_log_of_all_this_verifies():
    b.stop()
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)


b.close()
summary()
