"""test_mcp_sdk: `toolgate mcp` driven by the official MCP TypeScript SDK.

The SDK's StdioClientTransport launches `toolgate mcp --socket ...` against a
real toolgated, as any MCP client that launches a command would, in both eras
of MCP:
  - 2025-11-25 with initialize: @modelcontextprotocol/sdk (v1) and
    @modelcontextprotocol/client (v2) with its default negotiation;
  - 2026-07-28 without initialize: v2 probing with server/discover ("auto",
    a dual-era client meeting a dual-era server) and v2 pinned to 2026-07-28
    (a modern-only client).
In each: the revision and server identity, tools/list over several pages
(the broker runs with --page-size 4), a permitted call, a denial as a result
with isError and _meta["toolgate/decision"], a cancellation through the SDK's
AbortSignal that kills the tool's process tree (and the audit log's exec_end
record says cancelled), and an oversize request answered at once.
The node side is tests/sdk/sdk-client.mjs; the packages are pinned in
tests/sdk/package-lock.json and installed with `npm ci` on every run.  This
check is required: without node or npm, or when the install fails, it FAILS.
"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from tglib import (Broker, REPO, TEST_TOOLS, TOOLGATE, eq, summary, test, tool_file,  # noqa: E402
                   _results)

SDK_DIR = os.path.join(REPO, "tests", "sdk")
MARK = "tg-sdk-%d" % os.getpid()
PAGE = 4


def T(name):
    return os.path.join(TEST_TOOLS, name)


def fatal(name, detail):
    print("FAIL " + name)
    for line in str(detail).splitlines():
        print("    " + line)
    _results["failed"] += 1
    summary()


# --- node and the pinned packages ------------------------------------------
for exe, pkg in (("node", "nodejs"), ("npm", "npm")):
    if not shutil.which(exe):
        fatal("%s is installed" % exe, "no %s in PATH (apt-get install %s): this check is required" % (exe, pkg))
p = subprocess.run(["npm", "ci", "--prefix", SDK_DIR, "--no-audit", "--no-fund"],
                   capture_output=True, text=True, timeout=600)
if p.returncode != 0:
    fatal("npm ci installs the pinned packages of tests/sdk",
          "npm ci failed (no access to the npm registry?):\n" + (p.stdout + p.stderr)[-2000:])
print("ok   npm ci installs the pinned packages of tests/sdk")
_results["passed"] += 1

# --- the broker ---------------------------------------------------------------
ECHO_SCHEMA = {"type": "object", "properties": {"msg": {"type": "string"}},
               "required": ["msg"], "additionalProperties": False}
TOOLS = [tool_file("echo", [T("echo-args")], schema=ECHO_SCHEMA),
         tool_file("refund", [T("echo-args")], effect="write", schema={
             "type": "object", "properties": {"amount": {"type": "integer", "minimum": 1}},
             "required": ["amount"], "additionalProperties": False}),
         tool_file("sleeper.long", [T("sleeper"), MARK], limits={"timeout_ms": 60000})]
TOOLS += [tool_file("f.%02d" % i, [T("echo-args")]) for i in range(1, 9)]
HIDDEN = tool_file("hidden", [T("echo-args")])   # no rule names it: never listed
POLICY = {
    "principals": {"sdk-agent": {"uids": [0]}},
    "rules": [
        {"id": "sdk-read", "effect": "permit", "agents": ["sdk-agent"],
         "tools": ["echo", "f.*", "sleeper.long"]},
        {"id": "small-refunds", "effect": "permit", "agents": ["sdk-agent"], "tools": ["refund"],
         "when": {"args.amount": {"<=": 100}}},
    ],
}
NAMES = sorted(t["name"] for t in TOOLS)
assert -(-len(NAMES) // PAGE) >= 3, "the list must span several pages"

b = Broker(TOOLS + [HIDDEN], POLICY, args=["--page-size", str(PAGE)]).start()
CONFIG = json.dumps({"toolgate": TOOLGATE, "socket": b.socket, "tools": NAMES, "pageSize": PAGE,
                     "marker": MARK, "maxMessage": 1048576})


def cancelled_ends():
    return [r for r in b.records() if r["event"] == "exec_end" and r["tool"] == "sleeper.long"
            and "cancelled by the client" in (r.get("reason") or "")]


def node_era(era):
    """Run one era of the node client; count its ok/FAIL lines."""
    before = len(cancelled_ends())
    p = subprocess.run(["node", os.path.join(SDK_DIR, "sdk-client.mjs"), era],
                       env=dict(os.environ, TG_SDK_CONFIG=CONFIG),
                       capture_output=True, text=True, timeout=300)
    oks = fails = 0
    for line in p.stdout.splitlines():
        if line.startswith("ok   ") or line.startswith("FAIL ") or line.startswith("    "):
            print(line)
        oks += line.startswith("ok   ")
        fails += line.startswith("FAIL ")
    _results["passed"] += oks
    _results["failed"] += fails
    if p.returncode != 0 and fails == 0 or oks == 0:
        print("FAIL [%s] node exited %d without saying why" % (era, p.returncode))
        for line in (p.stdout + p.stderr).splitlines()[-30:]:
            print("    " + line)
        _results["failed"] += 1

    @test
    def the_audit_log_says_the_call_was_cancelled_by_the_client():
        ends = cancelled_ends()
        eq(len(ends), before + 1, "one more exec_end record of sleeper.long, cancelled by the client")
        eq(ends[-1]["decision"], "permit")


try:
    for era in ("legacy-v1", "legacy-v2", "modern-auto", "modern-pin"):
        node_era(era)

    @test
    def the_audit_log_verifies_after_every_era():
        p = subprocess.run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub],
                           capture_output=True, text=True)
        eq(p.returncode, 0, p.stdout + p.stderr)
finally:
    b.close()
summary()
