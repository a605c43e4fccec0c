"""Delegation tokens end to end: the real broker verifies PASETO v4.public
tokens minted by `toolgate token mint`, binds them to itself and to the
calling agent, intersects their scope with the policy, refuses replays of
single-use tokens (also after a restart), and audits the user."""
import json
import os
import shutil

from tglib import (Broker, TEST_TOOLS, TOOLGATE, contains, eq, run, summary, test, text_of,
                   tool_file)

BOT, LEAD = 41101, 41102
T = lambda name: os.path.join(TEST_TOOLS, name)

REFUND_SCHEMA = {"type": "object", "properties": {
    "order_id": {"type": "string"}, "amount_cents": {"type": "integer", "minimum": 1}},
    "required": ["order_id", "amount_cents"], "additionalProperties": False}
TOOLS = [tool_file("refund.issue", [T("echo-args")], effect="write", schema=REFUND_SCHEMA),
         tool_file("kb.search", [T("echo-args")]),
         tool_file("kb.inspect", [T("inspect")])]
POLICY = {
    "principals": {"support-bot": {"uids": [BOT]}, "support-lead": {"uids": [LEAD]}},
    "rules": [
        {"id": "kb", "effect": "permit", "agents": ["support-bot"], "tools": ["kb.*"]},
        {"id": "small-refunds", "effect": "permit", "agents": ["support-bot"],
         "tools": ["refund.issue"], "delegation": "required",
         "when": {"args.amount_cents": {"<=": 5000}}},
    ],
}

b = Broker(TOOLS, POLICY, args=["--clock-skew", "0"])
issuers = os.path.join(b.config, "keys", "issuers")
os.makedirs(issuers)
keys = os.path.join(b.dir, "keys")
os.makedirs(keys)
for kid in ("idp", "other", "once"):
    p = run([TOOLGATE, "keygen", "--out", os.path.join(keys, kid)])
    assert p.returncode == 0, p.stderr
    shutil.copy(os.path.join(keys, kid + ".pub"), os.path.join(issuers, kid + ".pem"))
with open(os.path.join(issuers, "once.json"), "w") as f:
    json.dump({"single_use": True}, f)
b.start()


def mint(key="idp", kid="idp", sub="alice", agent="support-bot", aud="test-broker", ttl="10m",
         tools=None, extra=()):
    scope = json.dumps(tools if tools is not None else {"refund.issue": {}, "kb.*": {}})
    args = [TOOLGATE, "token", "mint", "--key", os.path.join(keys, key + ".key"), "--sub", sub,
            "--agent", agent, "--aud", aud, "--ttl", ttl, "--tools", scope]
    if kid:
        args += ["--kid", kid, "--iss", kid]
    p = run(args + list(extra))
    assert p.returncode == 0, p.stderr
    return p.stdout.strip()


def refund(token, amount=1200, uid=BOT):
    c = b.client(uid)
    params = {"name": "refund.issue", "arguments": {"order_id": "ORD-1", "amount_cents": amount}}
    if token is not None:
        params["_meta"] = {"toolgate/delegation": token}
    r = c.request("tools/call", params)["result"]
    c.close()
    return r


def refused(r, reason):
    """Refused with exactly this reason, and the refusal is in the audit log."""
    d = r["_meta"]["toolgate/decision"]
    eq((r["isError"], d["decision"]), (True, "deny"), text_of(r))
    eq(d["reason"], reason)
    rec = [x for x in b.records() if x["seq"] == d["audit_seq"]][0]
    eq((rec["event"], rec["decision"], rec["reason"]), ("decision", "deny", reason))
    return rec


def flip(token, part_index, pos):
    """Change one base64url character of the token's payload part."""
    head, body = token[:10], token[10:]
    parts = body.split(".")
    s = list(parts[part_index])
    s[pos] = "A" if s[pos] != "A" else "B"
    parts[part_index] = "".join(s)
    return head + ".".join(parts)


@test
def a_valid_token_is_permitted_and_its_user_is_audited():
    r = refund(mint())
    eq(r["isError"], False, text_of(r))
    eq(r["_meta"]["toolgate/decision"]["rule"], "small-refunds")
    rec = [x for x in b.records() if x["seq"] == r["_meta"]["toolgate/decision"]["audit_seq"]][0]
    eq((rec["user"], rec["issuer"], rec["kid"]), ("alice", "idp", "idp"))
    eq(len(rec["jti"]), 32)
    end = [x for x in b.records() if x["event"] == "exec_end"][-1]
    eq(end["user"], "alice")


@test
def no_token_where_the_rule_requires_one():
    refused(refund(None), "no rule permits support-bot to call refund.issue with these arguments "
                          "(rule small-refunds requires a delegation token, and the call has none)")


@test
def an_expired_token():
    import time
    tok = mint(ttl="1s")
    time.sleep(2.1)
    r = refund(tok)
    contains(r["_meta"]["toolgate/decision"]["reason"], "delegation token refused: the token has expired (exp ")
    refused(r, r["_meta"]["toolgate/decision"]["reason"])


@test
def a_token_not_yet_valid():
    import datetime
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = refund(mint(ttl="2h", extra=["--nbf", later]))
    refused(r, "delegation token refused: the token is not valid before " + later)


@test
def a_token_for_another_broker():
    refused(refund(mint(aud="other-broker")),
            "delegation token refused: the token is for broker other-broker, not test-broker")


@test
def a_token_issued_to_another_agent():
    refused(refund(mint(agent="support-lead")),
            "delegation token refused: the token was issued to agent support-lead, not support-bot")


@test
def a_tampered_payload():
    refused(refund(flip(mint(), 0, 20)), "delegation token refused: the signature does not verify")


@test
def a_tampered_signature():
    tok = mint()
    refused(refund(flip(tok, 0, len(tok.split(".")[2]) - 10)),
            "delegation token refused: the signature does not verify")


@test
def an_unknown_kid():
    refused(refund(mint(kid="nosuch")), "delegation token refused: unknown key id \"nosuch\"")


@test
def a_key_that_is_not_the_kids():
    refused(refund(mint(key="other", kid="idp")),
            "delegation token refused: the signature does not verify")


@test
def a_replayed_single_use_token():
    tok = mint(key="once", kid="once")
    eq(refund(tok)["isError"], False)
    rec = refused(refund(tok), "delegation token refused: it is single-use and was already used (jti replayed)")
    eq(rec["user"], "alice")


@test
def a_token_narrower_than_the_policy():
    tok = mint(tools={"refund.issue": {"args.amount_cents": {"<=": 2000}}})
    eq(refund(tok, 1500)["isError"], False)
    refused(refund(tok, 3000), "the delegation does not cover this call: the user delegated "
                               "refund.issue only where its conditions hold: "
                               "args.amount_cents <= 2000 does not hold")


@test
def a_tool_outside_the_tokens_scope():
    tok = mint(tools={"refund.issue": {}})
    c = b.client(BOT)
    r = c.request("tools/call", {"name": "kb.search", "arguments": {},
                                 "_meta": {"toolgate/delegation": tok}})["result"]
    refused(r, "the delegation does not cover this call: the user did not delegate kb.search")


@test
def a_policy_narrower_than_the_token():
    tok = mint(tools={"refund.issue": {}})
    refused(refund(tok, 6000), "no rule permits support-bot to call refund.issue with these "
                               "arguments (rule small-refunds: args.amount_cents <= 5000 does not hold)")


@test
def a_token_given_at_initialize_is_the_connections_default():
    c = b.client(BOT, init=False)
    c.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                             "_meta": {"toolgate/delegation": mint()}})
    r = c.call("refund.issue", {"order_id": "ORD-2", "amount_cents": 100})
    eq(r["isError"], False, text_of(r))


@test
def a_token_at_initialize_that_cannot_be_one_is_refused_there():
    # Not silently dropped (the calls would then fail for want of a token),
    # and not kept for the connection's life whatever its size.
    for bad in (5, None, "v4.public." + "A" * 9000):
        c = b.client(BOT, init=False)
        r = c.request("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                                     "_meta": {"toolgate/delegation": bad}})
        eq(r["error"], {"code": -32602, "message": "Invalid params: _meta[\"toolgate/delegation\"] must "
                        "be a delegation token, a string of at most 8192 bytes"})
        c.close()


@test
def a_restart_does_not_reopen_a_replay():
    tok = mint(key="once", kid="once")
    eq(refund(tok)["isError"], False)
    b.stop()
    b.start()
    refused(refund(tok), "delegation token refused: it is single-use and was already used (jti replayed)")


@test
def a_token_spent_before_the_log_rotated_stays_spent_after_a_restart():
    tok = mint(key="once", kid="once")
    eq(refund(tok)["isError"], False)
    b.stop()
    b.args += ["--audit-segment-size", "1K"]
    b.start()
    for _ in range(3):
        eq(refund(mint())["isError"], False)   # records enough to close segments
    adir = os.path.dirname(b.audit_log)
    assert any(n.startswith("audit-") for n in os.listdir(adir)), "the log rotated"
    b.stop()
    b.start()
    refused(refund(tok), "delegation token refused: it is single-use and was already used (jti replayed)")


def explain(tool, args, token=None, agent="support-bot"):
    cmd = [TOOLGATE, "policy", "explain", "--agent", agent, "--tool", tool, "--args", json.dumps(args),
           "--config-dir", b.config, "--broker-id", "test-broker", "--json"]
    if token:
        cmd += ["--token", token]
    p = run(cmd)
    return p.returncode, json.loads(p.stdout) if p.stdout else p.stderr


@test
def policy_explain_says_what_the_broker_decides_without_running_anything():
    rc, r = explain("refund.issue", {"order_id": "ORD-9", "amount_cents": 1200}, mint())
    eq((rc, r["decision"], r["rules"], r["user"]), (0, "permit", ["small-refunds"], "alice"))
    rc, r = explain("refund.issue", {"order_id": "ORD-9", "amount_cents": 1200})
    eq((rc, r["decision"]), (3, "deny"))
    eq(r["reason"], "no rule permits support-bot to call refund.issue with these arguments "
                    "(rule small-refunds requires a delegation token, and the call has none)")
    rc, r = explain("refund.issue", {"order_id": "ORD-9", "amount_cents": 1200}, mint(aud="elsewhere"))
    eq((rc, r["reason"]), (3, "delegation token refused: the token is for broker elsewhere, not test-broker"))
    rc, err = explain("refund.issue", {}, agent="nobody-here")
    eq(rc, 2)
    contains(err, "no principal \"nobody-here\"")


@test
def policy_explain_does_not_spend_a_single_use_token():
    tok = mint(key="once", kid="once")
    for _ in range(2):
        rc, r = explain("refund.issue", {"order_id": "ORD-9", "amount_cents": 100}, tok)
        eq((rc, r["decision"]), (0, "permit"))
    eq(refund(tok)["isError"], False, "the broker still accepts it once")


@test
def a_network_namespace_kept_for_one_users_calls_never_serves_another_users():
    # One agent, one tool, on behalf of alice, of bob, and of no one: the
    # namespace a call used may serve a later call on behalf of the same
    # user only (sandbox.h).
    tokens = {"alice": mint(sub="alice"), "bob": mint(sub="bob"), None: None}
    c = b.client(BOT)
    seen = {u: [] for u in tokens}
    for _ in range(5):
        for u, tok in tokens.items():
            for _ in range(2):
                params = {"name": "kb.inspect", "arguments": {}}
                if tok:
                    params["_meta"] = {"toolgate/delegation": tok}
                r = c.request("tools/call", params)["result"]
                eq(r["isError"], False, text_of(r))
                seen[u].append(json.loads(text_of(r))["netns_cookie"])
    c.close()
    for u in tokens:
        for v in tokens:
            if u != v:
                eq(set(seen[u]) & set(seen[v]), set(), "%s's and %s's namespaces" % (u, v))
    eq(all(len(set(s)) < len(s) for s in seen.values()), True,
       "each user's later calls reuse one of theirs: %r" % seen)


@test
def the_log_with_tokens_still_verifies():
    b.stop()
    p = run([TOOLGATE, "audit", "verify", b.audit_log, "--key", b.audit_pub])
    eq(p.returncode, 0, p.stdout + p.stderr)


b.close()
summary()
