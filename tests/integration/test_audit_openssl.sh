#!/bin/sh
# test_audit_openssl.sh: the audit log checked with stock tools only.
#
# Builds tests/integration/audit_writer.c (the audit log and the audit CLI
# without the rest of toolgate), writes a small log, then checks with
# openssl, base64, sha256sum and plain sh -- no toolgate code and no jq --
# that a record's signature verifies, that the chain links, and that one
# flipped byte makes openssl refuse.  Then the CLI contract of
# `audit verify`, `audit show` and `keygen`.  Run from the repository root.
# Last line: "N passed, N failed"; exit status non-zero on any failure.
set -u

cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/test_audit_openssl.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; }
# check NAME COMMAND...: passes when COMMAND exits 0.
check() { name=$1; shift; if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi; }

writer=$work/audit_writer
if ! scripts/build-one.sh "$writer" tests/integration/audit_writer.c \
	src/keys.c src/audit.c src/audit_verify.c src/audit_files.c src/merkle.c src/note.c src/base64.c src/cli_audit.c \
	src/cli_proof.c src/cli_util.c \
	src/error.c >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	fail build_audit_writer "scripts/build-one.sh failed"
	echo "$passed passed, $failed failed"
	exit 1
fi

# The CLI checks run through the real binary when the test runner names it
# (TOOLGATE=bin/toolgate), else through the driver's copy of the same code.
tg=${TOOLGATE:-}
[ -n "$tg" ] && [ ! -x "$tg" ] && tg=
tg_audit() { sub=$1; shift; if [ -n "$tg" ]; then "$tg" audit "$sub" "$@"; else "$writer" "$sub" "$@"; fi; }
tg_keygen() { if [ -n "$tg" ]; then "$tg" keygen "$@"; else "$writer" keygen "$@"; fi; }
echo "# CLI under test: ${tg:-$writer (driver)}"

state=$work/state
log=$state/audit/audit.log
key=$state/keys/audit.key
pub=$state/keys/audit.pub
"$writer" write "$state" 5 >/dev/null

# --- the files -----------------------------------------------------------
mode_of() { stat -c %a "$1"; }
check "audit.key is mode 600" test "$(mode_of "$key")" = 600
check "audit.pub is mode 644" test "$(mode_of "$pub")" = 644
check "audit.log is mode 600" test "$(mode_of "$log")" = 600
openssl pkey -in "$key" -pubout >"$work/derived.pub" 2>/dev/null
check "openssl pkey -pubout of audit.key is exactly audit.pub" cmp -s "$work/derived.pub" "$pub"

# --- one record, verified with openssl alone ---------------------------------
# Record 1 carries `,"sig":"x"}` inside an argument string: inside JSON
# strings quotes are escaped, so the last `,"sig":` is the real member.
L=$(sed -n 1p "$log")
printf '%s' "${L%,\"sig\":*}}" >"$work/msg"
S=${L##*,\"sig\":\"}
S=${S%\"\}}
printf '%s\n' "$S" | base64 -d >"$work/sig"
check "signature is 64 bytes of standard base64" test "$(wc -c <"$work/sig")" -eq 64
out=$(openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/msg" -sigfile "$work/sig" 2>&1)
if [ "$out" = "Signature Verified Successfully" ]; then ok "openssl verifies record 1"
else fail "openssl verifies record 1" "got: $out"; fi

L3=$(sed -n 3p "$log")
printf '%s' "${L3%,\"sig\":*}}" >"$work/msg3"
S=${L3##*,\"sig\":\"}
printf '%s\n' "${S%\"\}}" | base64 -d >"$work/sig3"
out=$(openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/msg3" -sigfile "$work/sig3" 2>&1)
if [ "$out" = "Signature Verified Successfully" ]; then ok "openssl verifies record 3 (with extras)"
else fail "openssl verifies record 3 (with extras)" "got: $out"; fi

# One flipped byte in the message: "refund" becomes "refune".
sed 's/refund\.issue/refune.issue/' "$work/msg" >"$work/msg.flipped"
check "the flip changed exactly one byte" test "$(cmp -l "$work/msg" "$work/msg.flipped" | wc -l)" -eq 1
if out=$(openssl pkeyutl -verify -pubin -inkey "$pub" -rawin -in "$work/msg.flipped" \
	-sigfile "$work/sig" 2>&1); then
	fail "openssl refuses the record with one flipped byte" "openssl accepted it: $out"
else
	case $out in
	*"Signature Verification Failure"*) ok "openssl refuses the record with one flipped byte" ;;
	*) fail "openssl refuses the record with one flipped byte" "unexpected output: $out" ;;
	esac
fi

# --- the chain, with sha256sum --------------------------------------------
prev_of() { sed -n "$1p" "$log" | sed 's/.*"prev":"\([0-9a-f]*\)".*/\1/'; }
check "seq 1 has prev of 64 zeros" \
	test "$(prev_of 1)" = 0000000000000000000000000000000000000000000000000000000000000000
chain_ok=1
for n in 2 3 4 5; do
	want=$(sed -n "$((n - 1))p" "$log" | tr -d '\n' | sha256sum | cut -d' ' -f1)
	[ "$(prev_of "$n")" = "$want" ] || chain_ok=0
done
check "each prev is sha256sum of the previous line without newline" test $chain_ok = 1

# --- audit verify -------------------------------------------------------------
out=$(tg_audit verify "$log" --key "$pub" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = "$log: 5 records, chain and signatures valid" ]; then
	ok "audit verify: valid log exits 0"
else fail "audit verify: valid log exits 0" "rc=$rc out=$out"; fi

# The chain continues across a restart of the writer.
"$writer" write "$state" 3 >/dev/null
out=$(tg_audit verify "$log" --key "$pub" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = "$log: 8 records, chain and signatures valid" ]; then
	ok "audit verify: 8 records after a second writer run"
else fail "audit verify: 8 records after a second writer run" "rc=$rc out=$out"; fi

sed '3s/"reason":"started"/"reason":"starten"/' "$log" >"$work/tampered.log"
out=$(tg_audit verify "$work/tampered.log" --key "$pub" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "$work/tampered.log: seq 3: signature does not verify" ]; then
	ok "audit verify: one changed byte names seq 3, exit 1"
else fail "audit verify: one changed byte names seq 3, exit 1" "rc=$rc out=$out"; fi

sed '4d' "$log" >"$work/removed.log"
out=$(tg_audit verify "$work/removed.log" --key "$pub" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "$work/removed.log: seq 5: out of order (expected seq 4)" ]; then
	ok "audit verify: a removed record is named"
else fail "audit verify: a removed record is named" "rc=$rc out=$out"; fi

out=$(tg_audit verify "$log" --key "$pub" --json 2>&1); rc=$?
if [ $rc = 0 ] && [ "$out" = '{"valid":true,"records":8,"error":null}' ]; then
	ok "audit verify --json: valid"
else fail "audit verify --json: valid" "rc=$rc out=$out"; fi

out=$(tg_audit verify "$work/tampered.log" --key "$pub" --json 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = '{"valid":false,"records":2,"error":"seq 3: signature does not verify"}' ]; then
	ok "audit verify --json: invalid"
else fail "audit verify --json: invalid" "rc=$rc out=$out"; fi

out=$(tg_audit verify "$log" --key "$pub" --checkpoint "$work/x.note" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "$log: $work/x.note: cannot open: No such file or directory" ]; then
	ok "audit verify --checkpoint with a missing checkpoint: names it, exit 1"
else fail "audit verify --checkpoint with a missing checkpoint: names it, exit 1" "rc=$rc out=$out"; fi

out=$(tg_audit verify "$log" 2>&1); rc=$?
want="toolgate audit verify: missing --key AUDIT.pub
usage: toolgate audit verify LOG --key AUDIT.pub [--checkpoint FILE [--merkle-only]] [--json]"
if [ $rc = 2 ] && [ "$out" = "$want" ]; then ok "audit verify without --key: usage, exit 2"
else fail "audit verify without --key: usage, exit 2" "rc=$rc out=$out"; fi

out=$(tg_audit verify "$log" --key "$key" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "toolgate audit verify: $key: not a PEM public key" ]; then
	ok "audit verify with a private key as --key: names the key file"
else fail "audit verify with a private key as --key: names the key file" "rc=$rc out=$out"; fi

# --- audit show ---------------------------------------------------------------
out=$(tg_audit show "$log" 2>&1); rc=$?
if [ $rc = 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 8 ]; then ok "audit show: one line per record"
else fail "audit show: one line per record" "rc=$rc out=$out"; fi
line1=$(printf '%s\n' "$out" | sed -n 1p)
case $line1 in
*" 1  call.decision    support-bot      alice            refund.issue         permit   permitted by rule small-refunds")
	ok "audit show: aligned columns time, seq, event, agent, user, tool, decision, reason" ;;
*) fail "audit show: aligned columns time, seq, event, agent, user, tool, decision, reason" "got: $line1" ;;
esac
line2=$(printf '%s\n' "$out" | sed -n 2p)
case $line2 in
*" 2  call.end         support-bot      alice            refund.issue         -        exit 0") ok "audit show: exit status column" ;;
*) fail "audit show: exit status column" "got: $line2" ;;
esac

out=$(tg_audit show "$log" --json --agent support-bot --tool refund.issue --user alice 2>&1); rc=$?
want=$(grep '"agent":"support-bot"' "$log")
if [ $rc = 0 ] && [ "$out" = "$want" ]; then ok "audit show --json: the matching raw lines"
else fail "audit show --json: the matching raw lines" "rc=$rc out=$out"; fi

out=$(tg_audit show "$log" --user nobody 2>&1); rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then ok "audit show: a filter that matches nothing prints nothing"
else fail "audit show: a filter that matches nothing prints nothing" "rc=$rc out=$out"; fi

out=$(tg_audit show "$log" --since 2999-01-01 2>&1); rc=$?
out2=$(tg_audit show "$log" --since 2000-01-01T00:00:00+02:00 2>&1)
if [ $rc = 0 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$out2" | wc -l)" -eq 8 ]; then
	ok "audit show --since: filters by time"
else fail "audit show --since: filters by time" "rc=$rc out=$out out2=$out2"; fi

out=$(tg_audit show "$log" --since yesterday 2>&1); rc=$?
want="toolgate audit show: --since: not an RFC 3339 time or YYYY-MM-DD date: yesterday
usage: toolgate audit show LOG [--tool T] [--user U] [--agent A] [--decision D] [--since TIME]
                           [--until TIME] [--json]"
if [ $rc = 2 ] && [ "$out" = "$want" ]; then ok "audit show --since garbage: usage, exit 2"
else fail "audit show --since garbage: usage, exit 2" "rc=$rc out=$out"; fi

out=$(tg_audit show "$log" --until 2000-01-01 2>&1); rc=$?
out2=$(tg_audit show "$log" --since 2000-01-01 --until 2999-01-01 2>&1)
if [ $rc = 0 ] && [ -z "$out" ] && [ "$(printf '%s\n' "$out2" | wc -l)" -eq 8 ]; then
	ok "audit show --until: filters by time (exclusive)"
else fail "audit show --until: filters by time (exclusive)" "rc=$rc out=$out out2=$out2"; fi

out=$(tg_audit show "$log" --json --decision permit 2>&1); rc=$?
want=$(grep '"decision":"permit"' "$log")
if [ $rc = 0 ] && [ -n "$want" ] && [ "$out" = "$want" ]; then ok "audit show --decision: only those decisions"
else fail "audit show --decision: only those decisions" "rc=$rc out=$out"; fi

# Control characters from a record never reach the terminal.
esc=$(printf '\033')
printf '{"seq":1,"time":"2026-01-01T00:00:00.000Z","event":"x","user":"a\\u001b[31mb"}\n' >"$work/esc.log"
out=$(tg_audit show "$work/esc.log" 2>&1)
case $out in
*"$esc"*) fail "audit show: escape sequences are neutralised" "raw ESC in: $out" ;;
*"a?[31mb"*) ok "audit show: escape sequences are neutralised" ;;
*) fail "audit show: escape sequences are neutralised" "got: $out" ;;
esac

# --- keygen -------------------------------------------------------------------
out=$(tg_keygen --out "$work/issuer" 2>&1); rc=$?
case $out in
"wrote $work/issuer.key (private, mode 0600) and $work/issuer.pub, key_id "????????????????)
	[ $rc = 0 ] && ok "keygen: writes PREFIX.key and PREFIX.pub" || fail "keygen: writes PREFIX.key and PREFIX.pub" "rc=$rc" ;;
*) fail "keygen: writes PREFIX.key and PREFIX.pub" "rc=$rc out=$out" ;;
esac
check "keygen: PREFIX.key is mode 600" test "$(mode_of "$work/issuer.key")" = 600
openssl pkey -in "$work/issuer.key" -pubout 2>/dev/null | cmp -s - "$work/issuer.pub"
check "keygen: openssl derives exactly PREFIX.pub" test $? = 0
out=$(tg_keygen --out "$work/issuer" 2>&1); rc=$?
if [ $rc = 1 ] && [ "$out" = "toolgate keygen: $work/issuer.key: already exists (will not overwrite a key file)" ]; then
	ok "keygen: refuses to overwrite"
else fail "keygen: refuses to overwrite" "rc=$rc out=$out"; fi
out=$(tg_keygen 2>&1); rc=$?
if [ $rc = 2 ] && [ "$out" = "toolgate keygen: missing --out PREFIX
usage: toolgate keygen --out PREFIX" ]; then ok "keygen without --out: usage, exit 2"
else fail "keygen without --out: usage, exit 2" "rc=$rc out=$out"; fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
