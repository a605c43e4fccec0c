#!/bin/sh
# Install the Debian packages toolgate needs to build and test, when missing.
# As root it runs apt-get; otherwise it prints the exact command to run.
set -e
PKGS="gcc make libc6-dev pkg-config libseccomp-dev libcap-dev libjansson-dev libsodium-dev libssl-dev openssl python3 bubblewrap iproute2 procps jq rsyslog rsyslog-openssl python3-prometheus-client curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# The PASETO interop test needs node and npm; whatever provides them (Debian's
# packages or another install already on PATH) will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
		apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing; }
else
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root:  apt-get install -y$missing" >&2
	exit 1
fi
