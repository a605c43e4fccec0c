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

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
