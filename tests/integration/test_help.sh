#!/bin/sh
# --help everywhere: toolgated --help, toolgate --help, and toolgate CMD
# --help for every command that toolgate --help lists (so a new command is
# checked as soon as it is listed), plus the groups (audit, token, policy).
# Each prints its usage on stdout, naming the command, and exits 0.
set -u
cd "$(dirname "$0")/../.."
TOOLGATE=${TOOLGATE:-bin/toolgate}
TOOLGATED=${TOOLGATED:-bin/toolgated}
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

# expect_help NAME CMD...: exit 0, nothing on stderr, stdout names NAME
expect_help() {
	name=$1; shift
	"$@" >"$D/out" 2>"$D/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$D/err" ] && grep -q -- "$name" "$D/out"; then
		ok "$* prints its usage and exits 0"
	else
		bad "$* prints its usage and exits 0" "exit $rc; stdout: $(head -c 300 "$D/out"); stderr: $(head -c 300 "$D/err")"
	fi
}

expect_help "usage: toolgated " "$TOOLGATED" --help
expect_help "usage: toolgate " "$TOOLGATE" --help
expect_help "usage: toolgate " "$TOOLGATE" -h

# Every command of the usage: the words after "toolgate" (and its
# [--socket PATH]) up to the first operand or option; "a|b" is both.
"$TOOLGATE" --help | sed -n 's/^\(usage:\)\{0,1\} *toolgate \(\[--socket PATH\] \)\{0,1\}//p' |
	awk '{ cmd = ""; for (i = 1; i <= NF; i++) { if ($i !~ /^[a-z][a-z|-]*$/) break; cmd = cmd (cmd ? " " : "") $i }
	       if (cmd != "") print cmd }' | sort -u > "$D/cmds"
n=$(wc -l < "$D/cmds")
[ "$n" -ge 14 ] && ok "toolgate --help lists $n commands" || bad "toolgate --help lists the commands" "$(cat "$D/cmds")"
while read -r cmd; do
	case "$cmd" in
	*"|"*)	# "approvals approve|deny": each alternative
		head=${cmd% *}; alts=${cmd##* }
		for a in $(echo "$alts" | tr '|' ' '); do
			# shellcheck disable=SC2086
			expect_help "toolgate .*$head" "$TOOLGATE" $head "$a" --help
		done ;;
	*)	# shellcheck disable=SC2086
		expect_help "toolgate .*$cmd" "$TOOLGATE" $cmd --help ;;
	esac
done < "$D/cmds"
for group in audit token policy; do
	expect_help "toolgate $group " "$TOOLGATE" "$group" --help
done

# --help is not a blanket exit 0: an unknown command is still a usage error.
"$TOOLGATE" frobnicate --help >"$D/out" 2>"$D/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(head -n 1 "$D/err")" = 'toolgate: unknown command "frobnicate"' ] \
	&& ok "an unknown command with --help is still exit 2, named" \
	|| bad "unknown command with --help" "exit $rc: $(cat "$D/err")"
"$TOOLGATE" audit >"$D/out" 2>"$D/err"
rc=$?
[ "$rc" -eq 2 ] && [ "$(head -n 1 "$D/err")" = 'toolgate audit: say which subcommand' ] \
	&& ok "a group without its subcommand is exit 2, with the group's usage" \
	|| bad "group without subcommand" "exit $rc: $(cat "$D/err")"

# A malformed value, an unknown option or a missing one is exit 2 (both
# binaries' usage code) with a first line on stderr that names the option;
# never silently accepted, never exit 1 as if a file were bad.
# expect_usage FIRST_LINE CMD...
expect_usage() {
	want=$1; shift
	"$@" >"$D/out" 2>"$D/err"
	rc=$?
	if [ "$rc" -eq 2 ] && [ "$(head -n 1 "$D/err")" = "$want" ]; then
		ok "$* is a usage error, named"
	else
		bad "$* is a usage error, named" "exit $rc; want: $want; stderr: $(head -c 300 "$D/err")"
	fi
}
# expect_ok CMD...: exit 0 (a value the documentation allows)
expect_ok() {
	"$@" >"$D/out" 2>"$D/err"
	rc=$?
	[ "$rc" -eq 0 ] && ok "$* is accepted" || bad "$* is accepted" "exit $rc: $(head -c 300 "$D/err")"
}
TGD="$TOOLGATED --config-dir . --check-config"
expect_ok $TGD --clock-skew 0
expect_usage 'toolgated: --clock-skew: "3601" is not a number between 0 and 3600' $TGD --clock-skew 3601
expect_ok $TGD --socket-group 0
expect_ok $TGD --audit-segment-size 0
expect_ok $TGD --audit-segment-size 64M
expect_usage 'toolgated: --metrics-listen: 9464: not ADDRESS:PORT (for example 127.0.0.1:9464)' \
	$TGD --metrics-listen 9464
expect_usage 'toolgated: --metrics-listen: 192.0.2.1:9464: not a loopback address; the endpoint has no authentication, so listening beyond this host needs --metrics-allow-remote' \
	$TGD --metrics-listen 192.0.2.1:9464
expect_usage 'toolgated: --forward: "::1" is not HOST[:PORT] (an IPv6 address goes in brackets: [::1]:6514)' \
	$TGD --forward ::1 --forward-ca /dev/null
expect_usage 'toolgated: --forward-ca, --forward-cert and --forward-key go with --forward' \
	$TGD --forward-ca /dev/null
expect_usage 'toolgated: --broker-id: "" is empty; it names the audit checkpoints' $TGD --broker-id ""
expect_usage 'toolgated: --broker-id: "a b" contains a space; it names the audit checkpoints' $TGD --broker-id "a b"
NOSOCK="$D/none.sock"
expect_usage 'toolgate: --socket needs a PATH' "$TOOLGATE" --socket
expect_usage 'toolgate call: --timeout: "nan" is not a number of seconds from 0.001 to 86400' \
	"$TOOLGATE" --socket "$NOSOCK" call t --timeout nan
expect_usage 'toolgate call: unknown option "--bogus"' "$TOOLGATE" --socket "$NOSOCK" call t --bogus
expect_usage 'toolgate policy explain: missing --agent AGENT' "$TOOLGATE" policy explain --tool t
expect_usage 'toolgate audit checkpoint: unknown option --bogus' "$TOOLGATE" audit checkpoint --bogus
expect_usage 'toolgate audit consistency: unknown option --json' "$TOOLGATE" audit consistency a b c --json
expect_usage 'toolgate audit prove: --seq needs a record number from 1' "$TOOLGATE" audit prove "$D/log" --seq -1
expect_usage 'toolgate audit verify: --merkle-only needs --checkpoint' \
	"$TOOLGATE" audit verify "$D/log" --key "$D/none.pub" --merkle-only
# Options may come before or after the operands (toolgate(1)).
expect_ok "$TOOLGATE" check-config --json .
expect_usage "toolgate admin: cannot connect to the broker at $NOSOCK: No such file or directory" \
	"$TOOLGATE" --socket "$NOSOCK" admin disable t --reason=incident

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
