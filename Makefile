# jobrunner — one plain Makefile.
#   make                 build build/jobrunner
#   make check           unit (cmocka) and CLI tests; ends with "N passed, N failed"
#   make check SANITIZE=1  the same under ASan + UBSan (objects in build/san/)
#   make bench           benchmarks, printing ratios against baselines measured in the same run
#   make fuzz            libFuzzer targets for FUZZ_TIME seconds each (clang)
#   make deps            install the Debian packages needed (as root)
#   make demo            build and run the demo batch in jobs.d/ with the store in db/
#   make install         PREFIX=/usr/local DESTDIR=  (make uninstall: the same, removed)

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKG_CONFIG ?= pkg-config

O := build
ifeq ($(SANITIZE),1)
O := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# pkg-config module -> Debian package that provides it.
PKG_MODULES := yaml-0.1 sqlite3 inih libcrypto
DEB_yaml-0.1  := libyaml-dev
DEB_sqlite3   := libsqlite3-dev
DEB_inih      := libinih-dev
DEB_libcrypto := libssl-dev
DEB_cmocka    := libcmocka-dev

# Everything `make deps` installs: build libraries, test tools, run-time tools.
DEB_PACKAGES := build-essential pkg-config libyaml-dev libsqlite3-dev libinih-dev \
	libssl-dev libcmocka-dev sqlite3 bubblewrap python3 python3-jsonschema python3-yaml \
	valgrind clang libclang-rt-14-dev mandoc groff-base man-db procps util-linux

# A missing library is named with its Debian package before anything is
# compiled. A prerequisite, not a parse-time check, so that `make deps check`
# and `make deps demo` work on a fresh machine: deps runs first, then this.
.DEFAULT_GOAL := all
check-libs:
	@command -v $(PKG_CONFIG) >/dev/null || { echo "jobrunner: $(PKG_CONFIG) not found (Debian package pkg-config): run 'make deps' as root, or apt-get install pkg-config" >&2; exit 1; }
	@$(foreach m,$(PKG_MODULES),$(PKG_CONFIG) --exists $(m) || { echo "jobrunner: missing library $(m) (Debian package $(DEB_$(m))): run 'make deps' as root, or apt-get install $(DEB_$(m))" >&2; exit 1; };) true
.PHONY: check-libs

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wno-format-nonliteral -Wvla -Wpointer-arith -Wcast-qual
CPPFLAGS += -D_GNU_SOURCE -DJR_VERSION='"$(VERSION)"' -iquote jobrunner -I$(O)/gen
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 $(WARN) $(SANFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKG_MODULES) 2>/dev/null)
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(shell $(PKG_CONFIG) --libs $(PKG_MODULES) 2>/dev/null)

LIB_SRC  := $(sort $(filter-out jobrunner/main.c,$(wildcard jobrunner/*.c)))
LIB_OBJ  := $(LIB_SRC:%.c=$(O)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
HELP_SRC := $(sort $(wildcard tests/helpers/*.c))
HELP_BIN := $(HELP_SRC:tests/helpers/%.c=$(O)/tests/helpers/%)
BENCH_SRC:= $(sort $(wildcard tests/bench/*.c))
BENCH_BIN:= $(BENCH_SRC:tests/bench/%.c=$(O)/tests/bench/%)

MAN_PAGES := $(sort $(wildcard man/*.[15]))
SCHEMAS   := $(sort $(wildcard schemas/*))

all: $(O)/jobrunner
.PHONY: all check bench fuzz deps demo install uninstall clean unit-bins
.SECONDARY:

$(O)/libjobrunner.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/jobrunner: $(O)/obj/jobrunner/main.o $(O)/libjobrunner.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/obj/%.o: %.c | check-libs
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(O)/libjobrunner.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

$(O)/obj/tests/unit/%.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
$(O)/obj/tests/unit/%.o: | check-cmocka

check-cmocka:
	@$(PKG_CONFIG) --exists cmocka || { echo "missing cmocka (Debian package libcmocka-dev): run 'make deps' as root" >&2; exit 1; }
.PHONY: check-cmocka

$(O)/tests/helpers/%: $(O)/obj/tests/helpers/%.o $(O)/libjobrunner.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/tests/bench/%: $(O)/obj/tests/bench/%.o $(O)/libjobrunner.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# schemas/store.sql embedded in the binary as a C string literal.
%/gen/store_sql.h: schemas/store.sql
	@mkdir -p $(@D)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $< >$@.tmp && mv $@.tmp $@
$(O)/obj/jobrunner/store.o: $(O)/gen/store_sql.h

unit-bins: $(UNIT_BIN) $(HELP_BIN)

check: $(O)/jobrunner $(UNIT_BIN) $(HELP_BIN) $(BENCH_BIN)
	@O=$(O) SANITIZE=$(SANITIZE) bash tests/run.sh

bench: $(O)/jobrunner $(BENCH_BIN) $(HELP_BIN)
	@O=$(O) bash tests/bench/run.sh

FUZZ_TIME ?= 60
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN  := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
FUZZFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/%: tests/fuzz/%.c $(LIB_SRC) build/gen/store_sql.h
	@mkdir -p $(@D)
	clang $(CPPFLAGS) -Ibuild/gen -DJR_FUZZING -std=c11 $(WARN) $(FUZZFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKG_MODULES) 2>/dev/null) \
		-o $@ $(filter %.c,$^) $(LDLIBS)
fuzz: $(FUZZ_BIN)
	@FUZZ_TIME=$(FUZZ_TIME) bash tests/fuzz/run.sh $(FUZZ_BIN)

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps installs Debian packages: run it as root" >&2; exit 1; fi
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEB_PACKAGES)

demo: $(O)/jobrunner
	@bash tools/demo.sh $(O)/jobrunner

install: $(O)/jobrunner
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/jobrunner
	install -m 0755 $(O)/jobrunner $(DESTDIR)$(PREFIX)/bin/jobrunner
	set -e; for m in $(MAN_PAGES); do \
		sed 's|/usr/local/share/jobrunner|$(PREFIX)/share/jobrunner|g' $$m >$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m#man/}.tmp; \
		chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m#man/}.tmp; \
		mv -fT $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m#man/}.tmp $(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$${m#man/}; \
	done
	install -m 0644 $(SCHEMAS) $(DESTDIR)$(PREFIX)/share/jobrunner/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/jobrunner \
		$(patsubst man/%.1,$(DESTDIR)$(PREFIX)/share/man/man1/%.1,$(filter %.1,$(MAN_PAGES))) \
		$(patsubst man/%.5,$(DESTDIR)$(PREFIX)/share/man/man5/%.5,$(filter %.5,$(MAN_PAGES))) \
		$(SCHEMAS:schemas/%=$(DESTDIR)$(PREFIX)/share/jobrunner/%)
	-rmdir $(DESTDIR)$(PREFIX)/share/jobrunner 2>/dev/null

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
