#!/bin/sh
# The man pages: each formats without a single warning (groff -man -ww and
# man --warnings), and they document what the binaries have: every option of
# toolgated --help is in toolgated(8), every command of toolgate --help is in
# toolgate(1).
set -u
cd "$(dirname "$0")/../.."
TOOLGATE=${TOOLGATE:-bin/toolgate}
TOOLGATED=${TOOLGATED:-bin/toolgated}
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

for page in man/toolgated.8 man/toolgate.1 man/toolgate-tools.d.5 man/toolgate-policies.5; do
	groff -man -ww -z "$page" >"$D/w" 2>&1
	[ $? -eq 0 ] && [ ! -s "$D/w" ] && ok "groff -man -ww: $page has no warnings" \
		|| bad "groff -man -ww: $page" "$(head -n 5 "$D/w")"
	MANWIDTH=200 man --warnings -l "$page" >"$D/text" 2>"$D/w"
	[ $? -eq 0 ] && [ ! -s "$D/w" ] && ok "man --warnings: $page has no warnings" \
		|| bad "man --warnings: $page" "$(head -n 5 "$D/w")"
	name=$(basename "$page")
	col -b <"$D/text" >"$D/$name.txt"
done

missing=""
for opt in $("$TOOLGATED" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$opt" "$D/toolgated.8.txt" || missing="$missing $opt"
done
[ -z "$missing" ] && ok "toolgated(8) documents every option of toolgated --help" \
	|| bad "toolgated(8) documents every option" "missing:$missing"

missing=""
"$TOOLGATE" --help | sed -n 's/^\(usage:\)\{0,1\} *toolgate \(\[--socket PATH\] \)\{0,1\}//p' |
	awk '{ cmd = ""; for (i = 1; i <= NF; i++) { if ($i !~ /^[a-z][a-z|-]*$/) break; cmd = cmd (cmd ? " " : "") $i }
	       if (cmd != "") print cmd }' | sort -u > "$D/cmds"
while read -r cmd; do
	case "$cmd" in
	*"|"*) head=${cmd% *}; set -- $(echo "${cmd##* }" | tr '|' ' ') ;;
	*) head=""; set -- "$cmd" ;;
	esac
	for c in "$@"; do
		full="${head:+$head }$c"
		grep -q -- "$full" "$D/toolgate.1.txt" || missing="$missing [$full]"
	done
done < "$D/cmds"
for opt in $("$TOOLGATE" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -q -- "$opt" "$D/toolgate.1.txt" || missing="$missing $opt"
done
[ -z "$missing" ] && ok "toolgate(1) documents every command and option of toolgate --help" \
	|| bad "toolgate(1) documents every command" "missing:$missing"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
