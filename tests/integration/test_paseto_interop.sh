#!/bin/sh
# test_paseto_interop.sh: toolgate's PASETO v4.public tokens against an
# independent implementation, the `paseto` npm package (pinned in
# tests/interop/package-lock.json), both ways.
#
# A bug in src/paseto.c that is the same on both sides (PAE, base64url,
# footer handling) passes every toolgate-only test; here toolgate's tokens
# must verify in node and node's tokens in toolgate, and a token signed by
# another key or with one changed payload byte must fail on the other side.
# The node side is tests/interop/paseto-interop.mjs; it prints its own
# "ok/FAIL" lines, which count here.  The pinned packages are installed with
# `npm ci` on every run: this is a required check, so if node or npm is
# missing or the install fails, the test FAILS (it never skips).
# Run from anywhere; TOOLGATE names the CLI (default bin/toolgate).
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -u

cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/test_paseto_interop.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() {
	failed=$((failed + 1)); echo "FAIL $1"; shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/    /'; done
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit; }
# A failure after which nothing else can be checked.
fatal() { fail "$@"; finish; }

interop=tests/interop
script=$interop/paseto-interop.mjs
tg=${TOOLGATE:-bin/toolgate}
echo "# CLI under test: $tg"

# nodejs: run the node side, show its lines and count them.  A node that
# exits non-zero without a FAIL line (usage error, crash) is one failure.
nodejs() {
	out=$(node "$script" "$@" 2>"$work/node.err"); rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | grep -c '^ok   ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL ')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		fail "node $1 exited $rc" "$(cat "$work/node.err")"
	elif [ "$p" = 0 ] && [ "$f" = 0 ]; then
		fail "node $1 checked nothing" "$(cat "$work/node.err")"
	fi
}

# --- the node side: present, and exactly the pinned package ----------------
command -v node >/dev/null 2>&1 ||
	fatal "node is installed" "no node in PATH (apt-get install nodejs npm): this check is required"
command -v npm >/dev/null 2>&1 ||
	fatal "npm is installed" "no npm in PATH (apt-get install npm): this check is required"
if timeout 600 npm ci --prefix "$interop" --no-audit --no-fund >"$work/npm.log" 2>&1; then
	ok "npm ci installs the pinned packages of $interop"
else
	fatal "npm ci installs the pinned packages of $interop" \
		"npm ci --prefix $interop --no-audit --no-fund failed (no access to the npm registry?):" \
		"$(grep -v -E '^npm (error|verbose) +at |^npm warn' "$work/npm.log" | head -n 8)"
fi
pinned=$(node -p 'require("./tests/interop/package.json").dependencies.paseto' 2>&1)
installed=$(node "$script" version 2>&1)
if [ "$installed" = "$pinned" ]; then ok "installed paseto is the pinned $pinned"
else fatal "installed paseto is the pinned version" "pinned: $pinned, installed: $installed"; fi

# --- keys: toolgate's PEM files, read by node -------------------------------
if ! out=$("$tg" keygen --out "$work/issuer" 2>&1) || ! out=$("$tg" keygen --out "$work/other" 2>&1); then
	fatal "toolgate keygen writes the key pairs" "$out"
fi
ok "toolgate keygen writes the key pairs"
nodejs roundtrip "$work/issuer.key" "$work/issuer.pub"

# --- toolgate -> node --------------------------------------------------------
tools='{"kb.*":{},"refund.issue":{"args.amount_cents":{"<=":5000}}}'
mint() {
	"$tg" token mint --key "$work/issuer.key" --sub alice --agent support-bot --aud broker-test \
		--ttl 10m --tools "$tools" "$@" 2>"$work/mint.err"
}
if token=$(mint --kid test-kid --iss test-issuer --jti jti-mint-1) && [ "${token#v4.public.}" != "$token" ]; then
	ok "toolgate token mint prints a v4.public token"
else
	fatal "toolgate token mint prints a v4.public token" "got: $token" "$(cat "$work/mint.err")"
fi
nodejs check-minted "$work/issuer.pub" "$token" \
	"{\"sub\":\"alice\",\"aud\":\"broker-test\",\"agent\":\"support-bot\",\"tools\":$tools,\"iss\":\"test-issuer\",\"jti\":\"jti-mint-1\",\"kid\":\"test-kid\",\"ttl_seconds\":600}"

if token2=$(mint); then
	nodejs check-minted "$work/issuer.pub" "$token2" \
		"{\"sub\":\"alice\",\"aud\":\"broker-test\",\"agent\":\"support-bot\",\"tools\":$tools,\"kid\":null,\"ttl_seconds\":600}"
else
	fail "toolgate token mint without --kid, --iss, --jti" "$(cat "$work/mint.err")"
fi

nodejs expect-reject "$work/other.pub" "$token" "node refuses toolgate's token under another key"
bad=$(node "$script" tamper "$token")
nodejs expect-reject "$work/issuer.pub" "$bad" "node refuses toolgate's token with one payload byte changed"

# --- node -> toolgate --------------------------------------------------------
claims="{\"sub\":\"bob\",\"aud\":\"broker-test\",\"agent\":\"support-bot\",\"tools\":$tools,\"iss\":\"node-issuer\",\"jti\":\"jti-node-1\"}"
ntoken=$(node "$script" sign "$work/issuer.key" "$claims" --kid test-kid --ttl 10m 2>"$work/node.err") ||
	fatal "node signs a token" "$(cat "$work/node.err")"

"$tg" token verify "$ntoken" --key "$work/issuer.pub" --json >"$work/verify.json" 2>"$work/verify.err"; rc=$?
if [ $rc = 0 ]; then ok "toolgate token verify --json accepts node's token (exit 0)"
else fail "toolgate token verify --json accepts node's token (exit 0)" "rc=$rc" \
	"$(cat "$work/verify.json" "$work/verify.err")" "token: $ntoken"; fi
nodejs same-claims "$ntoken" "$work/verify.json"

out=$("$tg" token verify "$ntoken" --key "$work/issuer.pub" 2>&1); rc=$?
has_line() { printf '%s\n' "$1" | grep -qxF "$2"; }
if [ $rc = 0 ] && has_line "$out" "sub: bob" && has_line "$out" "agent: support-bot" &&
	has_line "$out" 'footer: {"kid":"test-kid"}'; then
	ok "toolgate token verify (text) prints node's claims and footer"
else fail "toolgate token verify (text) prints node's claims and footer" "rc=$rc out=$out"; fi

# Negative: only the right key and the exact signed bytes verify.  --json
# must print nothing on stdout then: a script must not get claims it could
# mistake for verified ones.
refused() {  # refused NAME TOKEN
	"$tg" token verify "$2" --key "$work/issuer.pub" --json >"$work/out" 2>"$work/err"; rc=$?
	if [ $rc = 1 ] && [ ! -s "$work/out" ] &&
		grep -qxF "toolgate token verify: signature does not verify" "$work/err"; then
		ok "$1"
	else fail "$1" "rc=$rc stdout=$(cat "$work/out")" "stderr=$(cat "$work/err")"; fi
}
otoken=$(node "$script" sign "$work/other.key" "$claims" --kid test-kid 2>"$work/node.err") ||
	fatal "node signs a token with the other key" "$(cat "$work/node.err")"
refused "toolgate refuses node's token signed by another key: exit 1, signature does not verify" "$otoken"
refused "toolgate refuses node's token with one payload byte changed: exit 1, signature does not verify" \
	"$(node "$script" tamper "$ntoken")"

finish
