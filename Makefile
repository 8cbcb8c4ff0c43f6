# petrel - build, run, test, fuzz, bench.
#
#   make          build/petrel (release, -O2 -g)
#   make run      install missing packages, build, start a sample server
#   make test     install missing packages, build, run every test
#   make asan     build-asan/petrel (ASan + UBSan, no recovery)
#   make fuzz     libFuzzer targets under ASan + UBSan (clang)
#   make bench    compare petrel with Postfix (+ Dovecot) on this machine
#
# Sources are found by wildcard, so a new module needs no Makefile edit:
# every src/**/*.c except src/main.c goes into a library that the binary,
# the unit tests and the fuzz targets all link. So does one generated
# file per build directory, BUILD/gen/web_assets.c: the admin web's
# pages, scripts and styles (src/web/assets/) as a C table.

# `make` alone builds the program: the flavour macro below defines rules
# first, and without this the first of them would be the default goal.
.DEFAULT_GOAL := all

PKGS     := libevent libevent_openssl libevent_pthreads openssl sqlite3 \
	    libunbound libxcrypt libidn2 zlib jansson libpsl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# -Wno-format-truncation: every snprintf into a fixed buffer truncates on
# purpose (bounded log and reply texts); GCC's -O2 guesses flag them all.
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2 -Wpointer-arith -Wcast-qual \
	    -Wno-format-nonliteral -Wno-format-truncation
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS)
SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
PYTHON   := /usr/bin/python3

SRC      := $(shell find src -name '*.c' ! -name main.c | sort)
UNIT     := $(sort $(wildcard tests/unit/test_*.c))
FUZZ     := $(sort $(wildcard fuzz/fuzz_*.c))
ASSETS   := $(sort $(wildcard src/web/assets/*.* src/web/assets/pages/*.html))

# The admin web's files, compiled in (src/web/web_assets.h).
%/gen/web_assets.c: $(ASSETS) scripts/embed-assets.py
	@mkdir -p $(@D)
	@echo "  GEN     $@"
	@$(PYTHON) scripts/embed-assets.py $@ $(ASSETS)

# One pattern for both flavours: $(B) is the build directory.
define flavour
$(1)/obj/%.o: %.c $$(shell find src -name '*.h')
	@mkdir -p $$(@D)
	@echo "  CC      $$@"
	@$$(CC) $(2) -c $$< -o $$@
$(1)/libpetrel.a: $$(SRC:%.c=$(1)/obj/%.o) $(1)/obj/$(1)/gen/web_assets.o
	@rm -f $$@
	@ar rcs $$@ $$^
$(1)/petrel: $(1)/obj/src/main.o $(1)/libpetrel.a
	@echo "  LD      $$@"
	@$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS) -lpthread
$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/libpetrel.a
	@mkdir -p $$(@D)
	@echo "  LD      $$@"
	@$$(CC) $(2) -o $$@ $$^ $$(PKG_LIBS) -lcmocka -lpthread
endef

CC       ?= cc
CFLAGS_REL  := $(BASE_CFLAGS) -O2 -g
CFLAGS_ASAN := $(BASE_CFLAGS) -O1 -g $(SAN)

$(eval $(call flavour,build,$(CFLAGS_REL)))
$(eval $(call flavour,build-asan,$(CFLAGS_ASAN)))

UNIT_REL  := $(UNIT:tests/unit/%.c=build/tests/%)
UNIT_ASAN := $(UNIT:tests/unit/%.c=build-asan/tests/%)

.PHONY: all asan deps run test unit pytest fuzz fuzz-short bench format \
	format-check clean install
.SECONDARY:

all: build/petrel

asan: build-asan/petrel

deps:
	@sh scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory build/petrel
	@sh scripts/run-sample.sh

unit: $(UNIT_REL) $(UNIT_ASAN)
	@set -e; for t in $(UNIT_REL) $(UNIT_ASAN); do echo "== $$t"; $$t; done

# The black-box suite drives the ASan + UBSan binary: every test is also
# a sanitizer run.
pytest: build-asan/petrel build/petrel
	PETREL_BIN=$(CURDIR)/build-asan/petrel $(PYTHON) -m pytest -q \
		-p no:cacheprovider tests/blackbox

test: deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory fuzz-short
	@$(MAKE) --no-print-directory pytest

# libFuzzer: clang, ASan + UBSan; sources rebuilt with coverage hooks.
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -O1 -g \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
build-fuzz/obj/%.o: %.c $(shell find src -name '*.h')
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@clang $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/libpetrel.a: $(SRC:%.c=build-fuzz/obj/%.o) \
		build-fuzz/obj/build-fuzz/gen/web_assets.o
	@rm -f $@
	@ar rcs $@ $^
build-fuzz/%: fuzz/%.c build-fuzz/libpetrel.a
	@echo "  LD      $@"
	@clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lpthread

FUZZ_BIN := $(FUZZ:fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 300
fuzz: deps $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f#build-fuzz/}; \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		    build-fuzz/corpus/$$n fuzz/corpus/$$n; done

# In `make test`: each target runs briefly over its seeds plus fresh
# inputs, so the targets keep building and the seeds keep passing.
FUZZ_SHORT ?= 10
fuzz-short: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f#build-fuzz/}; \
		mkdir -p build-fuzz/corpus/$$n; \
		echo "== fuzz $$n ($(FUZZ_SHORT)s)"; \
		$$f -max_total_time=$(FUZZ_SHORT) build-fuzz/corpus/$$n \
		    fuzz/corpus/$$n 2>build-fuzz/$$n.log || \
		    { tail -40 build-fuzz/$$n.log; exit 1; }; \
		grep -E '^Done|stat::number_of_executed_units' \
		    build-fuzz/$$n.log || true; done

bench: deps build/petrel
	@sh bench/run.sh

format:
	clang-format -i $$(find src tests/unit fuzz -name '*.[ch]')

format-check:
	clang-format --dry-run -Werror $$(find src tests/unit fuzz -name '*.[ch]')

PREFIX ?= /usr/local
install: build/petrel
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 build/petrel $(DESTDIR)$(PREFIX)/sbin/petrel
	ln -sf petrel $(DESTDIR)$(PREFIX)/sbin/sendmail

clean:
	rm -rf build build-asan build-fuzz
