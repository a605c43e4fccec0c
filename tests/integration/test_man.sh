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

# Each default that toolgated --help states ("default 64M") is the man page's
# too, and an option whose --help gives 0 a meaning ("0: never") has 0 in its
# man entry: a user reads one or the other.
"$TOOLGATED" --help | awk '/^  --/ { opt = $1 } /^$/ { opt = "" }
	/^  --|^                  / { if (opt != "") print opt "\t" $0 }' > "$D/help-entries"
wrong=""
for opt in $(cut -f1 "$D/help-entries" | sort -u); do
	help=$(awk -F'\t' -v o="$opt" '$1 == o { print $2 }' "$D/help-entries" | tr -s ' \t\n' ' ')
	entry=$(awk -v o="$opt" 'index($0, "       " o) == 1 && (length($0) == length(o) + 7 ||
	        substr($0, length(o) + 8, 1) ~ /[ ,]/) { on = 1 } on && /^$/ { exit } on { print }' \
	        "$D/toolgated.8.txt" | tr -s ' \t\n' ' ' | tr 'D' 'd')
	for d in $(echo "$help" | grep -o 'default [^ ;,)]*' | sed 's/ /_/'); do
		d=$(echo "$d" | tr '_' ' ')
		case "$entry" in *"$d"*) ;; *) wrong="$wrong [$opt: --help says \"$d\"]" ;; esac
	done
	if echo "$help" | grep -Eq '(; |\()0[: ]'; then
		echo "$entry" | grep -Eq '(^|[ (;])0[:; )]' || wrong="$wrong [$opt: --help gives 0 a meaning]"
	fi
done
[ -z "$wrong" ] && ok "toolgated(8) states the defaults (and what 0 means) that --help states" \
	|| bad "toolgated(8) states the defaults of --help" "missing:$wrong"

# Every environment variable a binary reads is in its page's ENVIRONMENT.
section() { sed -n '/^ENVIRONMENT/,/^[A-Z]/p' "$D/$1.txt"; }
missing=""
for v in $(cat src/toolgate.c src/cli_*.c | grep -o 'getenv("[A-Z_]*")' | cut -d'"' -f2 | sort -u); do
	section toolgate.1 | grep -q "$v" || missing="$missing toolgate(1):$v"
done
for v in $(ls src/*.c | grep -v -e 'src/toolgate\.c' -e 'src/cli_' | xargs cat | grep -o 'getenv("[A-Z_]*")' |
           cut -d'"' -f2 | sort -u); do
	section toolgated.8 | grep -q "$v" || missing="$missing toolgated(8):$v"
done
[ -z "$missing" ] && ok "ENVIRONMENT names every variable the binaries read" \
	|| bad "ENVIRONMENT names every variable the binaries read" "missing:$missing"

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
