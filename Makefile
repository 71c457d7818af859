# rblmux -- build, test, run. Plain make, no autotools.
#
#   make            build bin/rblmuxd and bin/rblmuxctl
#   make run        install what is missing, build, run on conf/rblmux.conf
#   make test       install what is missing, build, run every test suite
#   make fuzz       run each fuzz target for FUZZ_SECONDS (default 300)
#   make install    PREFIX=/usr/local DESTDIR=

PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc/rblmux
UNITDIR		?= /lib/systemd/system

CC		?= cc
CFLAGS		?= -O2 -g
WARN		 = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS	+= -Iinclude -D_GNU_SOURCE -DSYSCONFDIR='"$(SYSCONFDIR)"'
ALLCFLAGS	 = -std=c11 $(WARN) $(CFLAGS) $(CPPFLAGS)
LIBS		 = -lldns -lev -llmdb -lpthread -lm

# Debian packages needed to build, and in addition to test.
BUILD_DEPS	 = gcc make pkg-config libldns-dev libev-dev liblmdb-dev
TEST_DEPS	 = libcmocka-dev rbldnsd knot-dnsutils bind9-dnsutils python3 \
		   clang libclang-rt-14-dev mandoc lmdb-utils unbound spamassassin \
		   postfix nsd knot dnsdist rspamd libidn12
# Test-only packages unpacked under build/debs, not installed (exim4
# conflicts with postfix); tests/integration/test_gen.py runs exim4 there.
TEST_DEBS	 = exim4-base exim4-daemon-light

B		 = build
HDRS		:= $(wildcard include/*.h src/*.h)
LIB_SRCS	:= $(filter-out src/main.c src/rblmuxctl.c,$(wildcard src/*.c))
LIB_OBJS	:= $(LIB_SRCS:src/%.c=$(B)/obj/%.o)
UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS	:= $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)

# Sanitizer build of the library and unit tests (run by make test).
SAN		 = -fsanitize=address,undefined -fno-omit-frame-pointer \
		   -fno-sanitize-recover=undefined
SAN_OBJS	:= $(LIB_SRCS:src/%.c=$(B)/san/obj/%.o)
SAN_BINS	:= $(UNIT_SRCS:tests/unit/%.c=$(B)/san/tests/%)
FUZZ_OBJS	:= $(LIB_SRCS:src/%.c=$(B)/fuzz/obj/%.o)

.PHONY: all run test check unit fuzz fuzz-build deps deps-test install clean lint

all: bin/rblmuxd bin/rblmuxctl

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

$(B)/librblmux.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

bin/rblmuxd: $(B)/obj/main.o $(B)/librblmux.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

bin/rblmuxctl: $(B)/obj/rblmuxctl.o $(B)/librblmux.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# --- unit tests -----------------------------------------------------------

$(B)/tests/%: tests/unit/%.c $(B)/librblmux.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -o $@ $< $(B)/librblmux.a -lcmocka $(LIBS) \
	    $(UNIT_LDFLAGS)

# unit tests that make chosen allocations fail (tests/unit/failalloc.h)
FAILALLOC_TESTS	 = test_conf test_acl
$(FAILALLOC_TESTS:%=$(B)/tests/%) $(FAILALLOC_TESTS:%=$(B)/san/tests/%): \
    UNIT_LDFLAGS = -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup

$(B)/san/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SAN) -c -o $@ $<

$(B)/san/librblmux.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/san/tests/%: tests/unit/%.c $(B)/san/librblmux.a $(wildcard tests/unit/*.h)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SAN) -o $@ $< $(B)/san/librblmux.a -lcmocka $(LIBS) \
	    $(UNIT_LDFLAGS)

# the daemon and its tool under ASan/UBSan, for the integration suites
$(B)/san/bin/rblmuxd: $(B)/san/obj/main.o $(B)/san/librblmux.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LIBS)

$(B)/san/bin/rblmuxctl: $(B)/san/obj/rblmuxctl.o $(B)/san/librblmux.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LIBS)

# the daemon with the test-only delayed source (tests/support/), plain and
# under ASan/UBSan, for tests/integration/test_pending.py; bin/rblmuxd
# never contains it
$(B)/support/%.o: tests/support/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) -c -o $@ $<

$(B)/san/support/%.o: tests/support/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(ALLCFLAGS) $(SAN) -c -o $@ $<

$(B)/tests/rblmuxd-test: $(B)/obj/main.o $(B)/support/delay_source.o \
    $(B)/librblmux.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(B)/san/tests/rblmuxd-test: $(B)/san/obj/main.o \
    $(B)/san/support/delay_source.o $(B)/san/librblmux.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LIBS)

unit: $(UNIT_BINS) $(SAN_BINS) $(B)/san/bin/rblmuxd $(B)/san/bin/rblmuxctl \
    $(B)/tests/rblmuxd-test $(B)/san/tests/rblmuxd-test

# --- fuzzing (clang libFuzzer) --------------------------------------------

FUZZ_CC		 = clang
FUZZ_FLAGS	 = -g -O1 -fsanitize=fuzzer-no-link,address,undefined
$(B)/fuzz/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 $(WARN) $(CPPFLAGS) $(FUZZ_FLAGS) -c -o $@ $<

$(B)/fuzz/libfuzz.a: $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/fuzz/%: tests/fuzz/%.c $(B)/fuzz/libfuzz.a
	@mkdir -p $(@D)
	$(FUZZ_CC) -std=c11 $(WARN) $(CPPFLAGS) -g -O1 \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(B)/fuzz/libfuzz.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

FUZZ_SECONDS	?= 300
fuzz: deps-test fuzz-build
	@for f in $(FUZZ_BINS); do \
	    n=$$(basename $$f); mkdir -p $(B)/corpus/$$n; \
	    echo "== $$n for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $(B)/corpus/$$n tests/fuzz/corpus/$$n || exit 1; \
	done

# --- dependencies ---------------------------------------------------------

# Install missing Debian packages (as root), or print the command to do so.
deps:
	@tools/install-deps $(BUILD_DEPS)

deps-test:
	@tools/install-deps $(BUILD_DEPS) $(TEST_DEPS)
	@tools/unpack-debs $(B)/debs $(TEST_DEBS)

# --- the two README commands ----------------------------------------------

run: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	./bin/rblmuxd -f -c conf/rblmux.conf

test: deps-test
	@$(MAKE) --no-print-directory -j$$(nproc) all unit fuzz-build
	@tests/run-all

check: test

lint:
	mandoc -Tlint -Wwarning docs/*.5 docs/*.8

# --- install --------------------------------------------------------------

CACHEDIR	?= /var/cache/rblmux
STATEDIR	?= /var/lib/rblmux
RUNDIR		?= /run/rblmux

# The example config is written for the source tree (zones/, var/); the
# installed copy points at the installed lists and the system directories.
INSTALL_CONF_SED = -e 's|file: zones/|file: $(SYSCONFDIR)/zones/|' \
	-e 's|cache-dir: var/|cache-dir: $(CACHEDIR)/|' \
	-e 's|state-dir: var/|state-dir: $(STATEDIR)/|' \
	-e 's|control-socket: var/rblmux.sock|control-socket: $(RUNDIR)/rblmux.sock|'

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(SYSCONFDIR)/zones $(DESTDIR)$(UNITDIR)
	install -m 755 bin/rblmuxd $(DESTDIR)$(SBINDIR)/rblmuxd
	install -m 755 bin/rblmuxctl $(DESTDIR)$(BINDIR)/rblmuxctl
	install -m 644 docs/rblmux.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/rblmuxd.8 docs/rblmuxctl.8 $(DESTDIR)$(MANDIR)/man8/
	for f in zones/*.ip4set; do \
	    test -e $(DESTDIR)$(SYSCONFDIR)/$$f || \
	    install -m 644 $$f $(DESTDIR)$(SYSCONFDIR)/$$f; done
	test -e $(DESTDIR)$(SYSCONFDIR)/rblmux.conf || { \
	    sed $(INSTALL_CONF_SED) conf/rblmux.conf > $(DESTDIR)$(SYSCONFDIR)/rblmux.conf.new && \
	    chmod 644 $(DESTDIR)$(SYSCONFDIR)/rblmux.conf.new && \
	    mv $(DESTDIR)$(SYSCONFDIR)/rblmux.conf.new $(DESTDIR)$(SYSCONFDIR)/rblmux.conf; }
	sed -e 's|/usr/local/sbin/|$(SBINDIR)/|g' -e 's|/etc/rblmux/|$(SYSCONFDIR)/|g' \
	    conf/rblmuxd.service > $(DESTDIR)$(UNITDIR)/rblmuxd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/rblmuxd.service

clean:
	rm -rf $(B) bin
