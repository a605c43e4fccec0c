#!/bin/sh
# make install: binaries under PREFIX, a valid /etc/toolgate that permits
# nothing, the demo configuration as an example, and an admin's edits kept.
set -u
cd "$(dirname "$0")/../.."
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; [ -n "${2:-}" ] && echo "    $2"; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

make -s install DESTDIR="$D" PREFIX=/usr >"$D/out" 2>&1 || bad "make install runs" "$(cat "$D/out")"
for f in usr/sbin/toolgated usr/bin/toolgate; do
	[ -x "$D/$f" ] && ok "installs $f" || bad "installs $f"
done

# Every installed file, exactly, with its mode: nothing missing, nothing extra.
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null); UNITDIR=${UNITDIR:-/usr/lib/systemd/system}
SYSUSERSDIR=$(pkg-config --variable=sysusersdir systemd 2>/dev/null); SYSUSERSDIR=${SYSUSERSDIR:-/usr/lib/sysusers.d}
TMPFILESDIR=$(pkg-config --variable=tmpfilesdir systemd 2>/dev/null); TMPFILESDIR=${TMPFILESDIR:-/usr/lib/tmpfiles.d}
{
	echo "755 usr/sbin/toolgated"
	echo "755 usr/bin/toolgate"
	echo "644 usr/share/man/man1/toolgate.1"
	echo "644 usr/share/man/man5/toolgate-policies.5"
	echo "644 usr/share/man/man5/toolgate-tools.d.5"
	echo "644 usr/share/man/man8/toolgated.8"
	echo "644 ${UNITDIR#/}/toolgated.service"
	echo "644 ${UNITDIR#/}/toolgated.socket"
	echo "644 ${SYSUSERSDIR#/}/toolgate.conf"
	echo "644 ${TMPFILESDIR#/}/toolgate.conf"
	echo "755 usr/share/toolgate/verify-audit.sh"
	for f in sandbox/*.json sandbox/NOTICE; do echo "644 etc/toolgate/$f"; echo "644 usr/share/toolgate/demo/$f"; done
	for f in tools.d/*.json policies/*.json; do echo "644 usr/share/toolgate/demo/$f"; done
	for f in demo/tools/*.c; do b=$(basename "$f" .c); echo "755 usr/share/toolgate/demo/bin/$b"; done
} | sort -k2 > "$D/want"
(cd "$D" && find . -type f ! -name out ! -name want ! -name got -printf '%m %P\n' | sort -k2) > "$D/got"
diff "$D/want" "$D/got" > "$D/diff" && ok "installs exactly the expected files, with their modes ($(wc -l < "$D/want"))" \
	|| bad "installed files (- missing, + extra)" "$(cat "$D/diff")"
for d in tools.d policies keys/issuers; do
	[ -d "$D/etc/toolgate/$d" ] && [ -z "$(ls -A "$D/etc/toolgate/$d")" ] && ok "installs an empty /etc/toolgate/$d" \
		|| bad "installs an empty /etc/toolgate/$d"
done
grep -qx 'ExecStart=/usr/sbin/toolgated --foreground' "$D/$UNITDIR/toolgated.service" \
	&& ok "the unit starts PREFIX/sbin/toolgated in the foreground" \
	|| bad "ExecStart" "$(grep ExecStart "$D/$UNITDIR/toolgated.service")"
grep -qx 'ListenStream=/run/toolgate/toolgate.sock' "$D/$UNITDIR/toolgated.socket" &&
	grep -qx 'SocketMode=0666' "$D/$UNITDIR/toolgated.socket" \
	&& ok "the socket unit listens on /run/toolgate/toolgate.sock, mode 0666" || bad "socket unit"
for f in usr/share/man/man1/toolgate.1 usr/share/man/man5/toolgate-policies.5 \
	 usr/share/man/man5/toolgate-tools.d.5 usr/share/man/man8/toolgated.8; do
	cmp -s "$D/$f" "man/$(basename "$f")" && ok "installs man/$(basename "$f") as /$f" || bad "man page $f"
done

# The tmpfiles.d and sysusers.d entries, applied to the installed tree by
# systemd's own tools.
if systemd-tmpfiles --root="$D" --create "$D/$TMPFILESDIR/toolgate.conf" >"$D/out" 2>&1; then
	got=$(stat -c '%a %U %n' "$D/var/lib/toolgate" "$D/run/toolgate" "$D/etc/toolgate/secrets" | sed "s|$D||")
	want=$(printf '700 root /var/lib/toolgate\n755 root /run/toolgate\n700 root /etc/toolgate/secrets')
	[ "$got" = "$want" ] && ok "tmpfiles.d: /var/lib/toolgate 0700, /run/toolgate 0755, secrets 0700" \
		|| bad "tmpfiles.d directories" "$got"
else
	bad "systemd-tmpfiles --create" "$(cat "$D/out")"
fi
mkdir -p "$D/etc" && touch "$D/etc/group" "$D/etc/passwd"
systemd-sysusers --root="$D" "$D/$SYSUSERSDIR/toolgate.conf" >"$D/out" 2>&1 &&
	grep -q '^toolgate:x:[0-9]*:$' "$D/etc/group" \
	&& ok "sysusers.d: makes the system group toolgate" || bad "sysusers.d" "$(cat "$D/out"; cat "$D/etc/group")"

# The units, as systemd reads them: installed with a PREFIX whose binaries
# exist, so that systemd-analyze verify checks ExecStart and the man pages.
P="$D/prefix"
make -s install DESTDIR= PREFIX="$P" SYSCONFDIR="$P/etc" SYSTEMDUNITDIR="$P/units" \
	SYSUSERSDIR="$P/sysusers.d" TMPFILESDIR="$P/tmpfiles.d" >"$D/out" 2>&1 || bad "make install PREFIX=$P" "$(cat "$D/out")"
grep -qx "ExecStart=$P/sbin/toolgated --foreground" "$P/units/toolgated.service" \
	&& ok "ExecStart follows PREFIX" || bad "ExecStart follows PREFIX" "$(grep ExecStart "$P/units/toolgated.service")"
out=$(cd "$D" && MANPATH="$P/share/man" systemd-analyze verify "$P/units/toolgated.service" \
	"$P/units/toolgated.socket" 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify: the units, their ExecStart and man pages are right" \
	|| bad "systemd-analyze verify" "$out"

out=$("$D/usr/bin/toolgate" check-config "$D/etc/toolgate" 2>&1)
[ "$out" = "$D/etc/toolgate: valid: 0 tools, 3 sandbox profiles" ] \
	&& ok "the installed /etc/toolgate is valid and permits nothing" || bad "installed /etc/toolgate" "$out"
out=$("$D/usr/bin/toolgate" check-config "$D/usr/share/toolgate/demo" 2>&1 | head -n 1)
[ "$out" = "$D/usr/share/toolgate/demo: valid: 5 tools, 3 sandbox profiles" ] \
	&& ok "the demo configuration is installed as a valid example" || bad "demo example" "$out"
echo '{"defaultAction":"SCMP_ACT_ALLOW"}' > "$D/etc/toolgate/sandbox/default.json"
make -s install DESTDIR="$D" PREFIX=/usr >"$D/out" 2>&1
grep -q "keeping existing $D/etc/toolgate/sandbox/default.json" "$D/out" &&
	[ "$(cat "$D/etc/toolgate/sandbox/default.json")" = '{"defaultAction":"SCMP_ACT_ALLOW"}' ] \
	&& ok "a reinstall keeps the admin's edited profile" || bad "reinstall keeps edits" "$(cat "$D/out")"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
