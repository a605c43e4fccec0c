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

tempfile.tempdir = "/var/tmp"
try:
    b = Broker([tool], POLICY, args=["--max-calls-per-connection", "4"])
finally:
    tempfile.tempdir = None
b.start()


@test
def sigkill_during_fifty_calls_leaves_a_log_that_verifies_and_holds_every_start():
    clients = [b.client(AGENT_UID) for _ in range(CALLS)]
    for i, c in enumerate(clients):
        c.call_async("tools/call", {"name": "mark", "arguments": {"id": "c%d" % i}})
    wait_until(lambda: len(os.listdir(MARK_DIR)) >= 3, 20, "some tools to start")
    b.stop(signal.SIGKILL)
    for c in clients:
        c.close()
    started = sorted(os.listdir(MARK_DIR))
    b.start()   # the same state dir: the log is checked and repaired at open
    lines = open(b.audit_log, "rb").read().split(b"\n")
    eq(lines[-1], b"", "the log ends with a complete line")
    recs = [json.loads(l) for l in lines[:-1]]
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)
    starts = {r["args"]["id"] for r in recs if r["event"] == "exec_start"}
    eq([m for m in started if m not in starts], [], "every tool that started has its start record")
    eq([r["event"] for r in recs[-2:]], ["broker_start", "config_load"], "the restarted broker's first records")
    r = b.client(AGENT_UID).call("mark", {"id": "after"}, timeout=20)
    eq((r["isError"], text_of(r)), (False, "ok\n"))
    print("    %d of %d tools had started; %d records; repaired: %s" % (
        len(started), CALLS, len(recs), any(x["event"] == "log_repaired" for x in recs)), flush=True)


b.close()
for f in os.listdir(MARK_DIR):
    os.unlink(os.path.join(MARK_DIR, f))
os.rmdir(MARK_DIR)
summary()
