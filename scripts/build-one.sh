#!/bin/sh
# Build one test or program from explicit sources, with the project's flags,
# independent of the rest of src/ (handy while other modules are in flux).
#   scripts/build-one.sh OUT SRC...      e.g.
#   scripts/build-one.sh build/t_schema tests/unit/test_schema.c src/schema.c src/error.c
# SAN=1 adds AddressSanitizer and UndefinedBehaviorSanitizer.
set -e
out=$1; shift
mkdir -p "$(dirname "$out")"
opt="-O2 -D_FORTIFY_SOURCE=2"
[ "${SAN:-0}" = 1 ] && opt="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
exec gcc -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral $opt -g \
	-fstack-protector-strong -fPIE -fstack-clash-protection -fcf-protection -Iinclude -Itests/unit -D_GNU_SOURCE \
	$(pkg-config --cflags libseccomp libcap jansson libsodium libcrypto libssl) \
	-pie -Wl,-z,relro,-z,now -o "$out" "$@" \
	$(pkg-config --libs libseccomp libcap jansson libsodium libcrypto libssl)
