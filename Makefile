# Gatehouse — one non-recursive Makefile.
#   make run     install dependencies, build, run on etc/gatehouse.conf
#   make check   install dependencies, build, run every test suite and a
#                bounded fuzzing run (FUZZ_SECONDS per target)
#   make check SANITIZE=1   the same suites built with ASan + UBSan
#   make fuzz    fuzz the parsers longer (FUZZ_SECONDS=600 make fuzz)
#   make         build only
#   V=1          show full command lines;  CI=1  warnings are errors

PKGS      := openssl libmaxminddb zlib libconfig libcares libpcre2-8 libcrypt libsystemd libnghttp2 \
             libbrotlienc libbrotlidec libzstd ldap krb5-gssapi hiredis
TEST_PKGS := check
BUILD     ?= build
FUZZ_SECONDS ?= 30
ifneq ($(SANITIZE),)
BUILD     := build-asan
OPT       := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS   += -fsanitize=address,undefined
endif

CC        ?= cc
OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2
ifneq ($(CI),)
WARN      += -Werror
endif
# Deferred (=) so pkg-config runs after `make deps` has installed the libraries.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
CHECK_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS))
CHECK_LIBS   = $(shell pkg-config --libs $(TEST_PKGS))
# Each folder sees only what it may use: src/common its own folders,
# each mode src/common and itself, main.c and the tests everything.  So the
# compiler refuses a common file that includes a mode's header, and a mode
# that includes the other's (`make layering` proves it).
COMMON_DIRS := $(sort $(dir $(wildcard src/common/*/*.c src/common/*/*.h)))
COMMON_INC  := $(patsubst %/,-I%,$(COMMON_DIRS))
CPPFLAGS  := -D_GNU_SOURCE
INC_common  := $(COMMON_INC)
INC_forward := $(COMMON_INC) -Isrc/forward
INC_reverse := $(COMMON_INC) -Isrc/reverse
INC_all     := $(COMMON_INC) -Isrc/forward -Isrc/reverse -Itests/support -Itests/unit
# The include path of a source file: by its top folder under src/.
inc_for = $(or $(INC_$(word 2,$(subst /, ,$(1)))),$(INC_all))
CFLAGS    += -std=gnu11 $(OPT) $(WARN) -pthread -MMD -MP
LDLIBS     = $(PKG_LIBS) -pthread

ifeq ($(V),)
Q := @
else
Q :=
endif

COMMON_SRC  := $(wildcard src/common/*/*.c)
FORWARD_SRC := $(wildcard src/forward/*.c)
REVERSE_SRC := $(wildcard src/reverse/*.c)
LIB_SRC     := $(COMMON_SRC) $(FORWARD_SRC) $(REVERSE_SRC)
UNIT_SRC    := $(wildcard tests/unit/*.c tests/unit/*/*.c tests/unit/*/*/*.c)
INTEG_SRC   := $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ   := $(call obj,$(LIB_SRC))
MAIN_OBJ  := $(call obj,src/main.c)
UNIT_OBJ  := $(call obj,$(UNIT_SRC))
# tests/support: the harness, the client and the origin library the suites
# link; gh_origin.c is the origin as a program of its own (the README's tour).
INTEG_OBJ := $(call obj,$(INTEG_SRC) $(filter-out tests/support/gh_origin.c,$(wildcard tests/support/*.c)))

GATEHOUSE := $(BUILD)/gatehouse
UNIT      := $(BUILD)/check_unit
INTEG     := $(BUILD)/check_integration
ORIGIN    := $(BUILD)/gh-origin

.PHONY: all deps test-deps run check test layering unit integration sanitize fuzz fuzz-build format clean install man deb-check

MAN := $(BUILD)/man/gatehouse.8 $(BUILD)/man/gatehouse.conf.5 $(BUILD)/man/gatehouse-lists.8

all: $(GATEHOUSE) $(MAN)

# gatehouse(8) and gatehouse.conf(5), generated from README.md (their one source).
man: $(MAN)
$(MAN): README.md packaging/man.sh
	@echo "  MAN     $(BUILD)/man"
	$(Q)sh packaging/man.sh README.md $(BUILD)/man $(shell sed -n 's/.*GATEHOUSE_VERSION "\(.*\)"/\1/p' src/common/core/process.h)

# Builds the Debian package, runs lintian, installs it, runs the daemon as
# the unit does, reloads, rotates, purges (packaging/deb-check.sh).  Root
# only: as another user it says so and does nothing.
deb-check:
	$(Q)sh packaging/deb-check.sh

deps:
	$(Q)sh packaging/deps.sh

test-deps:
	$(Q)sh packaging/deps.sh --test

run:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	./$(GATEHOUSE) -f -c etc/gatehouse.conf

check:
	$(Q)$(MAKE) --no-print-directory test-deps
	$(Q)$(MAKE) --no-print-directory test

# The fuzzing run belongs to the plain check; the sanitizer check skips it
# (the fuzz targets are built with ASan and UBSan anyway).
ifeq ($(SANITIZE),)
test: layering unit integration fuzz deb-check
else
test: layering unit integration
endif

# The include rule, proved by compiling probes that break it (tests/layering.sh).
layering:
	$(Q)sh tests/layering.sh "$(CC)" "-std=gnu11 $(CPPFLAGS) $(PKG_CFLAGS)" "$(INC_common)" "$(INC_forward)" "$(INC_reverse)"

unit: $(UNIT) $(MAN)
	$(Q)GH_MAN=$(BUILD)/man/gatehouse.conf.5 ./$(UNIT)

integration: $(INTEG) $(GATEHOUSE) $(ORIGIN)
	$(Q)GH_BIN=./$(GATEHOUSE) GH_ORIGIN=./$(ORIGIN) GH_SANITIZED=$(SANITIZE) ./$(INTEG)

sanitize:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test

# libFuzzer targets (clang) for the request parser, the response parser,
# the chunked decoder, the PROXY protocol parser, the ClientHello reader and HTTP/2 frames; each runs FUZZ_SECONDS on a copy of its seed corpus
# and the run fails on any crash or broken invariant.
FUZZ_TARGETS := request response chunked proxyproto sni
FUZZ_SRC     := src/common/http/http1.c src/common/http/http1_chunked.c src/common/core/util.c src/common/net/proxyproto.c src/common/net/sni.c
FUZZ_BIN      = $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_CFLAGS  := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE $(COMMON_INC)

# HTTP/2 frames (fuzz_h2): the session on libnghttp2 and the translation
# into HTTP/1.1 heads, which http1.c must parse whole
FUZZ_TARGETS += h2
FUZZ_H2_SRC  := src/common/http/h2_session.c src/common/http/h2_head.c src/common/core/buf.c
build/fuzz/fuzz_h2: FUZZ_SRC += $(FUZZ_H2_SRC)
build/fuzz/fuzz_h2: FUZZ_LIBS := $(shell pkg-config --libs libnghttp2)
build/fuzz/fuzz_h2: $(FUZZ_H2_SRC)

fuzz-build: $(FUZZ_BIN)

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_head.h $(FUZZ_SRC) $(wildcard $(FUZZ_SRC:.c=.h))
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_SRC) $(FUZZ_LIBS)

fuzz: $(FUZZ_BIN)
	$(Q)for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus-$$t && \
		echo "fuzzing $$t for $(FUZZ_SECONDS) s" && \
		./build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
			-artifact_prefix=build/fuzz/crash-$$t- build/fuzz/corpus-$$t tests/fuzz/corpus/$$t \
			> build/fuzz/$$t.log 2>&1 || { tail -40 build/fuzz/$$t.log; exit 1; }; \
		grep -E "^stat::number_of_executed_units" build/fuzz/$$t.log; \
	done

$(GATEHOUSE): $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(INTEG): $(INTEG_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(shell pkg-config --libs openssl zlib) -pthread

$(ORIGIN): $(call obj,$(addprefix tests/support/,gh_origin.c origin.c origin_request.c origin_reply.c))
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -pthread

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(INC_all) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(call inc_for,$<) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

format:
	clang-format -i $(LIB_SRC) src/main.c $(wildcard src/*/*.h src/common/*/*.h) $(UNIT_SRC) $(INTEG_SRC) $(wildcard tests/support/*.[ch])

PREFIX  ?= /usr
DESTDIR ?=
DOCDIR  ?= $(PREFIX)/share/doc/gatehouse
install: $(GATEHOUSE) $(MAN)
	install -D -m 0755 $(GATEHOUSE) $(DESTDIR)$(PREFIX)/sbin/gatehouse
	install -d $(DESTDIR)/etc/gatehouse/conf.d $(DESTDIR)$(PREFIX)/share/gatehouse/www
	sed -e 's|"\.\./www"|"$(PREFIX)/share/gatehouse/www"|' \
	    -e 's|"\.\./filters/|"$(PREFIX)/share/gatehouse/filters/|' etc/gatehouse.conf > $(DESTDIR)/etc/gatehouse/gatehouse.conf
	chmod 0644 $(DESTDIR)/etc/gatehouse/gatehouse.conf
	install -m 0644 etc/blockpage.html $(DESTDIR)/etc/gatehouse/blockpage.html
	cp -r www/. $(DESTDIR)$(PREFIX)/share/gatehouse/www/
	install -d $(DESTDIR)$(PREFIX)/share/gatehouse/filters
	cp -r filters/sample filters/ads.txt filters/hosts.txt $(DESTDIR)$(PREFIX)/share/gatehouse/filters/
	install -D -m 0644 packaging/gatehouse.service $(DESTDIR)/lib/systemd/system/gatehouse.service
	install -D -m 0644 packaging/gatehouse.logrotate $(DESTDIR)/etc/logrotate.d/gatehouse
	install -D -m 0755 packaging/gatehouse-lists $(DESTDIR)$(PREFIX)/sbin/gatehouse-lists
	install -m 0644 etc/lists.conf $(DESTDIR)/etc/gatehouse/lists.conf
	install -m 0644 packaging/gatehouse-lists.service packaging/gatehouse-lists.timer $(DESTDIR)/lib/systemd/system/
	install -D -m 0644 $(BUILD)/man/gatehouse.8 $(DESTDIR)$(PREFIX)/share/man/man8/gatehouse.8
	install -D -m 0644 $(BUILD)/man/gatehouse.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/gatehouse.conf.5
	install -D -m 0644 $(BUILD)/man/gatehouse-lists.8 $(DESTDIR)$(PREFIX)/share/man/man8/gatehouse-lists.8
	install -D -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	install -D -m 0644 filters/README.md $(DESTDIR)$(DOCDIR)/filters.md
	install -D -m 0644 packaging/README.md $(DESTDIR)$(DOCDIR)/packaging.md
	install -d $(DESTDIR)$(DOCDIR)/examples
	install -m 0644 etc/examples/*.conf etc/examples/gateway.nft $(DESTDIR)$(DOCDIR)/examples/

# Side by side with nginx, HAProxy, Squid, Tinyproxy and (cache hits) Varnish on loopback:
# installs the peers, builds, runs about 8 minutes, writes
# bench/results/latest.md. Never part of `make check`; see bench/README.md.
.PHONY: bench
bench:
	$(Q)MAKE="$(MAKE)" bash bench/run.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/cache.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/tls.sh
	$(Q)MAKE="$(MAKE)" bash bench/protect.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/compress.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/compress.sh --count
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/h2.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/fleet.sh
	$(Q)MAKE="$(MAKE)" GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/shard.sh
	$(Q)GATEHOUSE=$(CURDIR)/$(GATEHOUSE) bash bench/kernel.sh
	$(Q)for f in cache tls protect compress compress-count h2 fleet shard kernel; do printf '\n' >> bench/results/latest.md; cat bench/results/$$f.md >> bench/results/latest.md; done

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
