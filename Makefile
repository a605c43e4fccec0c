# toolgate: top-level build.
#
#   make              toolgated, toolgate and the demo tools (bin/)
#   make test         every test, normal build then ASan+UBSan build
#   make demo         the scripted customer-support session
#   make bench        latency/throughput against the isolation floor and bwrap
#   make install      PREFIX=/usr/local DESTDIR= (also MANDIR, SYSTEMDUNITDIR,
#                     SYSUSERSDIR, TMPFILESDIR, SYSCONFDIR)
#   make deps         install missing Debian packages (as root) or say which
#
# SAN=1 builds everything sanitized into build/asan/ (used by make test).

PREFIX  ?= /usr/local
DESTDIR ?=
SYSCONFDIR ?= /etc
MANDIR  ?= $(PREFIX)/share/man
# systemd's own directories when pkg-config knows them (Debian:
# /lib/systemd/system, /usr/lib/sysusers.d, /usr/lib/tmpfiles.d), else
# below PREFIX.
SYSTEMDUNITDIR ?= $(or $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null),$(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(or $(shell pkg-config --variable=sysusersdir systemd 2>/dev/null),$(PREFIX)/lib/sysusers.d)
TMPFILESDIR ?= $(or $(shell pkg-config --variable=tmpfilesdir systemd 2>/dev/null),$(PREFIX)/lib/tmpfiles.d)

PKGS := libseccomp libcap jansson libsodium libcrypto libssl

ifeq ($(SAN),1)
O      := build/asan
BINDIR := build/asan/bin
OPT    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
SANLD  := -fsanitize=address,undefined
else
O      := build
BINDIR := bin
OPT    := -O2 -g -D_FORTIFY_SOURCE=2
SANLD  :=
endif

CC      ?= gcc
WARN    := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
HARDEN  := -fstack-protector-strong -fPIE -fstack-clash-protection -fcf-protection
CPPFLAGS += -Iinclude -D_GNU_SOURCE
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  ?=
CFLAGS  += $(WARN) $(OPT) $(HARDEN) $(PKG_CFLAGS)
LDFLAGS += -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack $(SANLD)

MAIN_SRCS := src/toolgated.c src/toolgate.c
LIB_SRCS  := $(filter-out $(MAIN_SRCS),$(wildcard src/*.c))
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(O)/obj/%.o)
LIB       := $(O)/libtoolgate.a

DEMO_SRCS  := $(wildcard demo/tools/*.c)
DEMO_BINS  := $(DEMO_SRCS:demo/tools/%.c=bin/%)
TTOOL_SRCS := $(wildcard tests/tools/*.c)
TTOOL_BINS := $(TTOOL_SRCS:tests/tools/%.c=build/test-tools/%)
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=build/bench/%)

.PHONY: all deps test test-unit demo bench install clean check-config fuzz
all: $(BINDIR)/toolgated $(BINDIR)/toolgate $(DEMO_BINS)

deps:
	@scripts/deps.sh

$(O)/obj/%.o: src/%.c $(wildcard include/*.h) | $(O)/obj
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/obj $(O)/tests $(BINDIR) build/test-tools build/bench:
	@mkdir -p $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR)/toolgated: $(O)/obj/toolgated.o $(LIB) | $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BINDIR)/toolgate: $(O)/obj/toolgate.o $(LIB) | $(BINDIR)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# Demo and test tools are always built without sanitizers: they run under
# the seccomp profiles, which do not (and should not) allow ASan's runtime.
bin/%: demo/tools/%.c $(wildcard demo/tools/*.h)
	@mkdir -p bin
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -D_FORTIFY_SOURCE=2 $(HARDEN) -pie -Wl,-z,relro,-z,now -o $@ $<

build/test-tools/%: tests/tools/%.c | build/test-tools
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 $(HARDEN) -pie -o $@ $<

$(O)/tests/%: tests/unit/%.c tests/unit/testlib.h $(LIB) | $(O)/tests
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

build/bench/%: bench/%.c $(wildcard bench/*.h) $(LIB) | build/bench
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS) -lpthread

test-unit: $(UNIT_BINS)
test-tools: $(TTOOL_BINS)

test: deps
	@tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@demo/run.sh

bench: deps
	@$(MAKE) --no-print-directory all test-tools $(BENCH_BINS)
	@bench/run.sh

# Coverage-guided fuzzing of the parsers of untrusted input (libFuzzer, with
# ASan and UBSan): FUZZ_SECONDS each (default 60).  Not part of make test.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
build/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(wildcard include/*.h)
	@mkdir -p build/fuzz
	clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKG_CFLAGS) -o $@ $< \
		$(LIB_SRCS) $(PKG_LIBS)
fuzz: deps $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do echo "== $$t"; mkdir -p build/fuzz/corpus-$$(basename $$t); \
		$$t -max_total_time=$(FUZZ_SECONDS) -max_len=8192 build/fuzz/corpus-$$(basename $$t) \
		2>&1 | tail -n 3 || exit 1; done

check-config: all
	$(BINDIR)/toolgate check-config .

# Binaries go to PREFIX; /etc/toolgate gets the sandbox profiles and empty
# tools.d/ and policies/ (a valid configuration that permits nothing), never
# overwriting what an admin changed; the demo's tools and configuration go to
# PREFIX/share/toolgate/demo as an example (toolgated --config-dir there);
# man pages to MANDIR; the systemd units, sysusers.d and tmpfiles.d entries
# to systemd's directories (the unit's ExecStart names PREFIX/sbin).
DEMODIR = $(PREFIX)/share/toolgate/demo
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINDIR)/toolgated $(DESTDIR)$(PREFIX)/sbin/toolgated
	install -m 0755 $(BINDIR)/toolgate $(DESTDIR)$(PREFIX)/bin/toolgate
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/toolgate/tools.d $(DESTDIR)$(SYSCONFDIR)/toolgate/policies \
		$(DESTDIR)$(SYSCONFDIR)/toolgate/sandbox $(DESTDIR)$(SYSCONFDIR)/toolgate/keys/issuers
	@for f in sandbox/*.json sandbox/NOTICE; do \
		t=$(DESTDIR)$(SYSCONFDIR)/toolgate/$$f; \
		if [ -e "$$t" ]; then echo "install: keeping existing $$t"; else install -m 0644 $$f "$$t"; fi; \
	done
	install -d $(DESTDIR)$(DEMODIR)/bin $(DESTDIR)$(DEMODIR)/tools.d $(DESTDIR)$(DEMODIR)/policies \
		$(DESTDIR)$(DEMODIR)/sandbox $(DESTDIR)$(DEMODIR)/keys/issuers
	install -m 0755 $(DEMO_BINS) $(DESTDIR)$(DEMODIR)/bin/
	install -m 0644 tools.d/*.json $(DESTDIR)$(DEMODIR)/tools.d/
	install -m 0644 policies/*.json $(DESTDIR)$(DEMODIR)/policies/
	install -m 0644 sandbox/*.json sandbox/NOTICE $(DESTDIR)$(DEMODIR)/sandbox/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/toolgate.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/toolgate-tools.d.5 man/toolgate-policies.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/toolgated.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	sed 's|/usr/sbin/toolgated|$(PREFIX)/sbin/toolgated|' contrib/systemd/toolgated.service \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/toolgated.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/toolgated.service
	install -m 0644 contrib/systemd/toolgated.socket $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 contrib/sysusers.d/toolgate.conf $(DESTDIR)$(SYSUSERSDIR)/toolgate.conf
	install -m 0644 contrib/tmpfiles.d/toolgate.conf $(DESTDIR)$(TMPFILESDIR)/toolgate.conf
	install -m 0755 contrib/verify-audit.sh $(DESTDIR)$(PREFIX)/share/toolgate/verify-audit.sh

clean:
	rm -rf build bin

-include $(wildcard $(O)/obj/*.d)
