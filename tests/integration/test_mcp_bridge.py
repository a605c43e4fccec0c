"""test_mcp_bridge: `toolgate mcp` as a process, and the broker's two eras
of MCP on the wire.

The bridge: lines relayed both ways, the delegation token (--token,
--token-file, TOOLGATE_TOKEN) added where the client gave none, an oversize
line answered with the request's id while the bridge goes on, the end when
stdin closes (answers still due are waited for, within --drain) and when the
broker closes (exit 1, one line on stderr), nothing but protocol on stdout.
The wire (a raw client, no SDK): 2026-07-28 requests served without
initialize, with resultType, serverInfo, ttlMs/cacheScope, -32022 with the
supported versions, subscriptions/listen; an initialized connection staying
2025-era.  The SDK's view of the same is tests/integration/test_mcp_sdk.py.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, processes_with, summary,  # noqa: E402
                   test, text_of, tool_file, wait_until)

MARK = "tg-br-%d" % os.getpid()


def T(name):
    return os.path.join(TEST_TOOLS, name)


TOOLS = [tool_file("echo", [T("echo-args")]),
         tool_file("sleeper.short", [T("sleeper"), MARK + "-s"], limits={"timeout_ms": 1000}),
         tool_file("sleeper.long", [T("sleeper"), MARK + "-l"], limits={"timeout_ms": 60000})]
POLICY = {"principals": {"bridge-agent": {"uids": [0]}},
          "rules": [{"id": "all", "effect": "permit", "agents": ["bridge-agent"], "tools": ["*"]}]}

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "bridge-test", "version": "1"}}}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
MODERN_META = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
               "io.modelcontextprotocol/clientCapabilities": {},
               "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"}}
SERVER_INFO = {"name": "toolgate", "version": "0.1.0"}
ALL_VERSIONS = ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]


def call(id, name, arguments, meta=None):
    p = {"name": name, "arguments": arguments}
    if meta is not None:
        p["_meta"] = meta
    return {"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": p}


def lines(*msgs):
    return b"".join((m if isinstance(m, bytes) else json.dumps(m).encode()) + b"\n" for m in msgs)


def bridge(stdin, *args, env=None, timeout=60):
    """Run toolgate mcp with this stdin; (exit status, stdout messages, stderr)."""
    p = subprocess.run([TOOLGATE, "mcp", "--socket", b.socket] + list(args), input=stdin,
                       capture_output=True, timeout=timeout, env=dict(os.environ, **(env or {})))
    out = p.stdout.decode()
    assert out == "" or out.endswith("\n"), "stdout ends mid-line: %r" % out[-200:]
    return p.returncode, [json.loads(l) for l in out.splitlines()], p.stderr.decode()


def by_id(msgs):
    return {m.get("id"): m for m in msgs if "id" in m}


b = Broker(TOOLS, POLICY).start()

# ---------------------------------------------------------------- the bridge


@test
def help_prints_the_usage_on_stdout_and_exits_0():
    p = subprocess.run([TOOLGATE, "mcp", "--help"], capture_output=True, text=True)
    eq(p.returncode, 0)
    contains(p.stdout, "usage: toolgate [--socket PATH] mcp [--socket PATH] [--token TOKEN | --token-file FILE]")
    contains(p.stdout, "stdout carries MCP messages only")


@test
def an_unreachable_broker_is_exit_2_with_one_line_on_stderr_and_nothing_on_stdout():
    p = subprocess.run([TOOLGATE, "mcp", "--socket", "/nonexistent/tg.sock"], input=lines(INIT),
                       capture_output=True)
    eq((p.returncode, p.stdout, p.stderr.decode()),
       (2, b"", "toolgate mcp: cannot connect to the broker at /nonexistent/tg.sock: "
                "No such file or directory\n"))


@test
def usage_errors_are_exit_2():
    p = subprocess.run([TOOLGATE, "mcp", "--bogus"], capture_output=True, text=True)
    eq(p.returncode, 2)
    contains(p.stderr, 'toolgate mcp: unexpected argument "--bogus"')
    p = subprocess.run([TOOLGATE, "mcp", "--token", "a", "--token-file", "/x"], capture_output=True, text=True)
    eq((p.returncode, p.stderr.splitlines()[0]), (2, "toolgate mcp: give --token or --token-file, not both"))


@test
def lines_are_relayed_both_ways_and_stdin_eof_ends_with_exit_0():
    rc, out, err = bridge(lines(INIT, INITIALIZED, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
                                b"", b'{"jsonrpc":"2.0","id":3,"method":"ping"}\r'))
    eq((rc, err), (0, ""))
    eq([m["id"] for m in out], [1, 2, 3], "one answer per request, in order; nothing else on stdout")
    eq(out[0]["result"]["protocolVersion"], "2025-11-25")
    eq([t["name"] for t in out[1]["result"]["tools"]], ["echo", "sleeper.long", "sleeper.short"])
    eq(out[2], {"jsonrpc": "2.0", "id": 3, "result": {}}, "a CRLF line is a line")


@test
def a_last_line_without_newline_is_still_sent():
    rc, out, err = bridge(lines(INIT) + b'{"jsonrpc":"2.0","id":9,"method":"ping"}')
    eq((rc, err, by_id(out)[9]["result"]), (0, "", {}))


def decision(msg):
    return msg["result"]["_meta"]["toolgate/decision"]


TOKEN_REFUSED = "delegation token refused: "


@test
def without_a_token_the_call_is_made_without_one():
    rc, out, err = bridge(lines(INIT, call(2, "echo", {"x": 1})))
    eq((rc, err, decision(by_id(out)[2])["decision"]), (0, "", "permit"))


@test
def token_goes_into_initialize_and_tools_call_that_carry_none():
    # A token the broker cannot verify is refused by name: that it was
    # refused shows it arrived.
    rc, out, err = bridge(lines(INIT, call(2, "echo", {"x": 1})), "--token", "v4.public.bogus")
    d = decision(by_id(out)[2])
    eq((rc, err, d["decision"]), (0, "", "deny"))
    contains(d["reason"], TOKEN_REFUSED)


@test
def a_tools_call_in_the_modern_era_gets_the_token_too():
    m = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
         "params": {"name": "echo", "arguments": {}, "_meta": dict(MODERN_META)}}
    rc, out, err = bridge(lines(m), "--token", "v4.public.bogus")
    eq((rc, err, decision(by_id(out)[5])["decision"]), (0, "", "deny"))
    contains(decision(by_id(out)[5])["reason"], TOKEN_REFUSED)


@test
def the_clients_own_token_is_kept():
    # A malformed token of the client's own: the broker's error proves the
    # bridge did not replace it with its own.
    rc, out, err = bridge(lines(INIT, call(2, "echo", {}, {"toolgate/delegation": 5})), "--token", "v4.public.x")
    eq(decision(by_id(out)[2])["reason"],
       "delegation token refused: _meta[\"toolgate/delegation\"] must be a string")


@test
def toolgate_token_in_the_environment_is_used():
    rc, out, err = bridge(lines(INIT, call(2, "echo", {})), env={"TOOLGATE_TOKEN": "v4.public.bogus"})
    contains(decision(by_id(out)[2])["reason"], TOKEN_REFUSED)


@test
def a_token_file_must_be_private_to_its_owner():
    path = os.path.join(b.dir, "token")
    with open(path, "w") as f:
        f.write("v4.public.bogus\n")
    os.chmod(path, 0o644)
    p = subprocess.run([TOOLGATE, "mcp", "--socket", b.socket, "--token-file", path], input=lines(INIT),
                       capture_output=True)
    eq((p.returncode, p.stdout.decode(), p.stderr.decode()),
       (2, "", "toolgate mcp: --token-file %s: mode 0644 lets others read it; chmod 600 it\n" % path))
    os.chmod(path, 0o600)
    rc, out, err = bridge(lines(INIT, call(2, "echo", {})), "--token-file", path)
    eq((rc, err), (0, ""))
    contains(decision(by_id(out)[2])["reason"], TOKEN_REFUSED)


LIMIT = "Invalid Request: message exceeds the 1048576-byte limit"


@test
def an_oversize_line_is_answered_with_its_id_and_the_bridge_goes_on():
    big = "x" * (1024 * 1024 + 10)
    huge_call = json.dumps({"method": "tools/call", "params": {"name": "echo", "arguments": {"q": big}},
                            "jsonrpc": "2.0", "id": "late-id"}).encode()
    huge_note = json.dumps({"jsonrpc": "2.0", "method": "notifications/x", "params": {"q": big}}).encode()
    rc, out, err = bridge(lines(INIT, huge_call, huge_note, {"jsonrpc": "2.0", "id": 7, "method": "ping"}))
    eq((rc, err), (0, ""))
    # The bridge answers the oversize lines itself, at once, so they may come
    # before or after the broker's answers to initialize and ping (answers
    # are matched by id, never by order); its own two keep their order.
    eq(len([m for m in out if m.get("id") == 1 and "result" in m]), 1, "initialize answered")
    eq([m for m in out if "error" in m], [{"jsonrpc": "2.0", "id": "late-id", "error": {"code": -32600, "message": LIMIT}},
                                          {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": LIMIT}}])
    eq([m for m in out if m.get("id") == 7], [{"jsonrpc": "2.0", "id": 7, "result": {}}])
    eq(len(out), 4, "nothing else")


@test
def max_message_sets_the_bridges_limit():
    rc, out, err = bridge(lines(INIT, call(2, "echo", {"q": "y" * 300})), "--max-message", "200")
    eq(by_id(out)[2]["error"], {"code": -32600, "message":
                                "Invalid Request: message exceeds the 200-byte limit"})


@test
def after_stdin_closes_the_answers_still_due_arrive_before_exit_0():
    t0 = time.time()
    rc, out, err = bridge(lines(INIT, call(2, "sleeper.short", {})))
    eq((rc, err), (0, ""))
    contains(text_of(by_id(out)[2]["result"]), "sleeper.short failed: timed out after 1000 ms")
    assert time.time() - t0 >= 1.0, "the bridge waited for the call"


@test
def drain_bounds_the_wait_and_the_calls_still_running_are_cancelled():
    t0 = time.time()
    rc, out, err = bridge(lines(INIT, call(2, "sleeper.long", {})), "--drain", "1")
    eq((rc, err), (0, "toolgate mcp: stdin closed; calls still running after 1 s are cancelled\n"))
    eq([m.get("id") for m in out], [1], "no answer for the call that was still running")
    assert time.time() - t0 < 10, "the bridge left after about 1 s"
    wait_until(lambda: not processes_with(MARK + "-l"), 10, "the abandoned tool is killed")


@test
def when_the_broker_closes_the_bridge_exits_1_with_one_line_on_stderr():
    other = Broker(TOOLS, POLICY).start()
    try:
        p = subprocess.Popen([TOOLGATE, "mcp", "--socket", other.socket], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(lines(INIT))
        p.stdin.flush()
        first = p.stdout.readline()
        eq(json.loads(first)["id"], 1)
        other.stop()
        out, err = p.communicate(timeout=30)
        eq((p.returncode, out, err.decode()),
           (1, b"", "toolgate mcp: the broker at %s closed the connection (stopped or restarted?)\n"
            % other.socket))
    finally:
        other.close()


# ------------------------------------------------------------ the two eras


def modern(method, params=None, id=1, meta=None):
    p = dict(params or {})
    p["_meta"] = dict(MODERN_META if meta is None else meta)
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": p}


@test
def server_discover_without_initialize_lists_versions_capabilities_and_identity():
    c = b.client(init=False)
    c.send(modern("server/discover"))
    eq(c.read_msg(), {"jsonrpc": "2.0", "id": 1, "result": {
        "supportedVersions": ALL_VERSIONS,
        "capabilities": {"tools": {"listChanged": True}},
        "instructions": "Tools run in a sandbox after a policy check; every call is audited. A refused "
                        "call returns isError with the reason in _meta[\"toolgate/decision\"].",
        "ttlMs": 60000, "cacheScope": "public", "resultType": "complete",
        "_meta": {"io.modelcontextprotocol/serverInfo": SERVER_INFO}}})


@test
def a_modern_tools_list_is_cacheable_privately_and_complete():
    c = b.client(init=False)
    c.send(modern("tools/list"))
    r = c.read_msg()["result"]
    eq([t["name"] for t in r.pop("tools")], ["echo", "sleeper.long", "sleeper.short"])
    eq(r, {"ttlMs": 60000, "cacheScope": "private", "resultType": "complete",
           "_meta": {"io.modelcontextprotocol/serverInfo": SERVER_INFO}})


@test
def a_modern_tools_call_keeps_toolgates_meta_beside_the_servers_identity():
    c = b.client(init=False)
    c.send(modern("tools/call", {"name": "echo", "arguments": {"a": 1}}, id="c1"))
    r = c.read_msg()["result"]
    eq((r["resultType"], r["isError"], json.loads(text_of(r))), ("complete", False, {"a": 1}))
    eq(sorted(r["_meta"]), ["io.modelcontextprotocol/serverInfo", "toolgate/decision", "toolgate/execution"])


@test
def an_unsupported_version_is_32022_with_the_versions_to_choose_from():
    c = b.client(init=False)
    for v in ("2027-01-01", "2025-11-25"):
        c.send(modern("tools/list", meta=dict(MODERN_META, **{"io.modelcontextprotocol/protocolVersion": v})))
        eq(c.read_msg(), {"jsonrpc": "2.0", "id": 1, "error": {
            "code": -32022,
            "message": "Unsupported protocol version \"%s\": per request this server speaks 2026-07-28; "
                       "2025-11-25 and earlier begin with initialize" % v,
            "data": {"supported": ALL_VERSIONS, "requested": v}}})


@test
def a_modern_request_without_client_capabilities_is_invalid_params():
    c = b.client(init=False)
    c.send(modern("tools/list", meta={"io.modelcontextprotocol/protocolVersion": "2026-07-28"}))
    eq(c.read_msg()["error"], {"code": -32602, "message":
       "Invalid params: protocol version 2026-07-28 needs the client's capabilities, an object, in "
       "_meta[\"io.modelcontextprotocol/clientCapabilities\"] of every request"})


@test
def without_initialize_or_a_per_request_version_the_session_is_not_initialized():
    c = b.client(init=False)
    c.send({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    eq(c.read_msg()["error"], {"code": -32600, "message":
       "Invalid Request: the session is not initialized; send initialize first"})


@test
def an_initialized_connection_stays_legacy_even_with_a_per_request_version():
    c = b.client()   # initialize, 2025-11-25
    r = c.request("tools/list", {"_meta": MODERN_META})["result"]
    eq(sorted(r), ["tools"], "no resultType, ttlMs or serverInfo on a 2025-era connection")
    eq(c.request("server/discover", {"_meta": MODERN_META})["error"]["code"], -32601)


@test
def initialize_asking_for_2026_07_28_gets_the_newest_initialize_revision():
    c = b.client(init=False)
    r = c.request("initialize", {"protocolVersion": "2026-07-28", "capabilities": {}})["result"]
    eq(r["protocolVersion"], "2025-11-25")


@test
def subscriptions_listen_is_acknowledged_tagged_and_ends_on_cancel_without_a_response():
    c = b.client(init=False)
    c.send(modern("subscriptions/listen", {"notifications": {"toolsListChanged": True,
                                                             "promptsListChanged": True}}, id="sub-1"))
    eq(c.read_msg(), {"jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged", "params": {
        "notifications": {"toolsListChanged": True},
        "_meta": {"io.modelcontextprotocol/subscriptionId": "sub-1"}}})
    c.notify("notifications/cancelled", {"requestId": "sub-1"})
    eq(c.silent_for(0.3), True, "no response for the cancelled stream")
    c.send(modern("tools/list", id=2))
    eq(c.read_msg()["id"], 2, "the connection goes on")


@test
def the_bridge_relays_the_modern_era_unchanged():
    rc, out, err = bridge(lines(modern("server/discover", id="d"), modern("tools/list", id=2)))
    eq((rc, err), (0, ""))
    eq((out[0]["id"], out[0]["result"]["supportedVersions"][0]), ("d", "2026-07-28"))
    eq(out[1]["result"]["resultType"], "complete")


b.close()
summary()
