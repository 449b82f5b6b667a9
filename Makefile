# Gatehouse — one non-recursive Makefile.
#   make run     install dependencies, build, run on etc/gatehouse.conf
#   make check   install dependencies, build, run every test suite
#   make         build only;  make sanitize  the suites under ASan + UBSan
#   V=1          show full command lines;  CI=1  warnings are errors

PKGS      := openssl libmaxminddb zlib libconfig libcares libpcre2-8 libcrypt
TEST_PKGS := check
BUILD     ?= build

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
CPPFLAGS  := -D_GNU_SOURCE -Isrc/common -Isrc/forward -Isrc/reverse -Itests/support
CFLAGS    += -std=gnu11 $(OPT) $(WARN) -pthread -MMD -MP
LDLIBS     = $(PKG_LIBS) -pthread

ifeq ($(V),)
Q := @
else
Q :=
endif

COMMON_SRC  := $(wildcard src/common/*.c)
FORWARD_SRC := $(wildcard src/forward/*.c)
REVERSE_SRC := $(wildcard src/reverse/*.c)
LIB_SRC     := $(COMMON_SRC) $(FORWARD_SRC) $(REVERSE_SRC)
UNIT_SRC    := $(wildcard tests/unit/*.c)
INTEG_SRC   := $(wildcard tests/integration/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJ   := $(call obj,$(LIB_SRC))
MAIN_OBJ  := $(call obj,src/main.c)
UNIT_OBJ  := $(call obj,$(UNIT_SRC))
INTEG_OBJ := $(call obj,$(INTEG_SRC) $(filter-out tests/support/origin.c,$(wildcard tests/support/*.c)))

GATEHOUSE := $(BUILD)/gatehouse
UNIT      := $(BUILD)/check_unit
INTEG     := $(BUILD)/check_integration
ORIGIN    := $(BUILD)/gh-origin

.PHONY: all deps run check test unit integration sanitize format clean install

all: $(GATEHOUSE)

deps:
	$(Q)sh packaging/deps.sh

run:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory all
	./$(GATEHOUSE) -f -c etc/gatehouse.conf

check:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory test

test: unit integration

unit: $(UNIT)
	$(Q)./$(UNIT)

integration: $(INTEG) $(GATEHOUSE) $(ORIGIN)
	$(Q)GH_BIN=./$(GATEHOUSE) GH_ORIGIN=./$(ORIGIN) ./$(INTEG)

sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined" \
		LDFLAGS="-fsanitize=address,undefined" test

$(GATEHOUSE): $(MAIN_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(UNIT): $(UNIT_OBJ) $(LIB_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CHECK_LIBS)

$(INTEG): $(INTEG_OBJ)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) -pthread

$(ORIGIN): $(call obj,tests/support/origin.c)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -pthread

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -c -o $@ $<

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

format:
	clang-format -i $(LIB_SRC) src/main.c $(wildcard src/*/*.h) $(UNIT_SRC) $(INTEG_SRC) $(wildcard tests/support/*.[ch])

PREFIX  ?= /usr
DESTDIR ?=
install: $(GATEHOUSE)
	install -D -m 0755 $(GATEHOUSE) $(DESTDIR)$(PREFIX)/sbin/gatehouse
	install -d $(DESTDIR)/etc/gatehouse $(DESTDIR)$(PREFIX)/share/gatehouse/www
	sed 's|"\.\./www"|"$(PREFIX)/share/gatehouse/www"|' etc/gatehouse.conf > $(DESTDIR)/etc/gatehouse/gatehouse.conf
	cp -r www/. $(DESTDIR)$(PREFIX)/share/gatehouse/www/
	install -D -m 0644 packaging/gatehouse.service $(DESTDIR)/lib/systemd/system/gatehouse.service
	install -D -m 0644 packaging/gatehouse.logrotate $(DESTDIR)/etc/logrotate.d/gatehouse

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
