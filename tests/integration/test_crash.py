"""Crash safety of the audit log: SIGKILL the broker while 50 calls run,
restart it, and the log still verifies, any torn last line having been cut
and recorded; every call whose tool started has its start record."""
import json
import os
import signal
import tempfile
import time

from tglib import Broker, TEST_TOOLS, TOOLGATE, eq, run, summary, test, text_of, tool_file, wait_until

AGENT_UID = 41601
CALLS = 50
T = lambda name: os.path.join(TEST_TOOLS, name)
MARK_DIR = tempfile.mkdtemp(prefix="tg-crash-", dir="/var/tmp")
os.chmod(MARK_DIR, 0o777)

tool = tool_file("mark", [T("mark"), MARK_DIR, "300"],
                 schema={"type": "object", "properties": {"id": {"type": "string", "pattern": "^[a-z0-9-]+$"}},
                         "required": ["id"], "additionalProperties": False})
tool["sandbox"]["write_paths"] = [MARK_DIR]
POLICY = {"principals": {"agent": {"uids": [AGENT_UID]}},
          "rules": [{"id": "all", "effect": "permit", "agents": ["agent"], "tools": ["*"]}]}

def broker(*extra):
    tempfile.tempdir = "/var/tmp"
    try:
        return Broker([tool], POLICY, args=["--max-calls-per-connection", "4"] + list(extra))
    finally:
        tempfile.tempdir = None


def log_lines(b):
    """Every line of the log: its closed segments in order, then audit.log."""
    d = os.path.dirname(b.audit_log)
    names = sorted(n for n in os.listdir(d) if n.startswith("audit-")) + ["audit.log"]
    return b"".join(open(os.path.join(d, n), "rb").read() for n in names).split(b"\n")


def sigkill_during_calls(b, log_path):
    b.start()
    clients = [b.client(AGENT_UID) for _ in range(CALLS)]
    for i, c in enumerate(clients):
        c.call_async("tools/call", {"name": "mark", "arguments": {"id": "c%d" % i}})
    wait_until(lambda: len(os.listdir(MARK_DIR)) >= 3, 20, "some tools to start")
    b.stop(signal.SIGKILL)
    for c in clients:
        c.close()
    started = sorted(os.listdir(MARK_DIR))
    b.start()   # the same state dir: the log is checked and repaired at open
    # The socket accepts (into its backlog) a moment before the new broker's
    # first records are durable; nothing is served before they are.
    last_events = lambda: [json.loads(l)["event"] for l in log_lines(b)[:-1][-2:]]
    wait_until(lambda: last_events() == ["broker_start", "config_load"], 10,
               "the restarted broker's first records on disk")
    lines = log_lines(b)
    eq(lines[-1], b"", "the log ends with a complete line")
    recs = [json.loads(l) for l in lines[:-1]]
    p = run([TOOLGATE, "audit", "verify", log_path, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)
    if log_path != b.audit_log:
        nseg = len([n for n in os.listdir(log_path) if n.startswith("audit-")])
        # How many depends on how group commit batched the calls' records
        # (a 1K segment closes after any write that passes it): one at least.
        assert nseg >= 1, "the log was closed into segments: %d" % nseg
    starts = {r["args"]["id"] for r in recs if r["event"] == "exec_start"}
    eq([m for m in started if m not in starts], [], "every tool that started has its start record")
    eq([r["event"] for r in recs[-2:]], ["broker_start", "config_load"], "the restarted broker's first records")
    r = b.client(AGENT_UID).call("mark", {"id": "after"}, timeout=20)
    eq((r["isError"], text_of(r)), (False, "ok\n"))
    print("    %d of %d tools had started; %d records; repaired: %s; %d segments" % (
        len(started), CALLS, len(recs), any(x["event"] == "log_repaired" for x in recs),
        len([n for n in os.listdir(os.path.dirname(b.audit_log)) if n.startswith("audit-")])), flush=True)
    b.close()
    for f in os.listdir(MARK_DIR):
        os.unlink(os.path.join(MARK_DIR, f))


@test
def sigkill_during_fifty_calls_leaves_a_log_that_verifies_and_holds_every_start():
    b = broker()
    sigkill_during_calls(b, b.audit_log)


@test
def the_same_with_the_log_rotating_into_small_segments_meanwhile():
    b = broker("--audit-segment-size", "1K")
    sigkill_during_calls(b, os.path.dirname(b.audit_log))


for f in os.listdir(MARK_DIR):
    os.unlink(os.path.join(MARK_DIR, f))
os.rmdir(MARK_DIR)
summary()
