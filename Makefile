# mesh: `make` builds ./mesh; `make test` runs the whole suite under ASan+UBSan;
# `make lint` checks the layering of includes (make test runs it first); `make memcheck` runs
# the unit tests under valgrind; `make bench` runs the benchmarks;
# `make deps` installs what the build needs (Debian 12, as root) and helm into bin/ when none is
# found (docs/helm.md), and checks the tools the tests need (moto_server, aws, kubectl, helm,
# python3 with PyYAML), saying how to get a missing one.
CC      ?= gcc
# Build on every core by default: the suite builds four flavours of the same sources.
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
PKGS    := libcurl openssl yaml-0.1 sqlite3 jansson libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN    := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE $(WARN) -Iengine -Iproviders -Istate -I. $(PKG_CFLAGS)
LIBS    := $(PKG_LIBS) -lpthread -lm

SRC_ALL := $(sort $(wildcard engine/*.c engine/base/*.c engine/spec/*.c providers/*.c providers/*/*.c state/*.c))
SRC_MAIN := engine/main.c
SRC_LIB := $(filter-out $(SRC_MAIN),$(SRC_ALL))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
# Shared by the unit tests that need them (linked into each; unused code is harmless).
UNIT_SUPPORT := tests/unit/remote_mem.c
# The AWS Load Balancer Controller's published IAM policy, embedded as a C string (never read at
# run time). Its source and version: specs/policies/README.md; keep LBC_POLICY_VERSION in step.
LBC_POLICY_VERSION := v3.5.0
LBC_POLICY_H := engine/spec/lbc_policy.json.h

# Three flavours: release (./mesh), asan (tests), bench (optimised, no sanitizers).
FLAGS_release := -O2 -g
FLAGS_asan    := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FLAGS_bench   := -O2 -DNDEBUG
FLAGS_memcheck := -O0 -g

.PHONY: all test memcheck bench deps deps-check demo clean unit lint reliability fuzz
all: mesh

define flavour
build/$(1)/%.o: %.c $(wildcard engine/*.h engine/*/*.h providers/*.h providers/*/*.h state/*.h) providers/drivers.def providers/auth_hooks.def providers/check_hooks.def providers/state_backends.def state/schema.sql.h $(LBC_POLICY_H)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_COMMON) $$(FLAGS_$(1)) -c $$< -o $$@
build/$(1)/libmesh.a: $$(patsubst %.c,build/$(1)/%.o,$$(SRC_LIB))
	@rm -f $$@
	ar rcs $$@ $$^
build/$(1)/mesh: build/$(1)/engine/main.o build/$(1)/libmesh.a
	$$(CC) $$(FLAGS_$(1)) -o $$@ $$^ $$(LIBS)
build/$(1)/unit/%: tests/unit/%.c build/$(1)/libmesh.a $(wildcard tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h) $(UNIT_SUPPORT)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS_COMMON) $$(FLAGS_$(1)) -Itests/unit -o $$@ $$< $(UNIT_SUPPORT) build/$(1)/libmesh.a $$(LIBS) -lcmocka
endef
$(foreach f,release asan bench memcheck,$(eval $(call flavour,$(f))))

# libFuzzer targets (tests/fuzz/fuzz_*.c; docs/testing.md): the library compiled again with clang
# and the fuzzer's instrumentation into build/fuzz/, beside and apart from the gcc flavours.
# `make fuzz` builds them; `make fuzz FUZZ_SECONDS=N` also runs each N seconds over its seed
# corpus (tests/fuzz/corpus/TARGET/) and replays its regressions (tests/reliability/fuzz.sh).
FUZZ_CC ?= clang
FLAGS_fuzz := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
build/fuzz/%.o: %.c $(wildcard engine/*.h engine/*/*.h providers/*.h providers/*/*.h state/*.h) providers/drivers.def providers/auth_hooks.def providers/check_hooks.def providers/state_backends.def state/schema.sql.h $(LBC_POLICY_H)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CFLAGS_COMMON) $(FLAGS_fuzz) -c $< -o $@
build/fuzz/libmesh.a: $(patsubst %.c,build/fuzz/%.o,$(SRC_LIB))
	@rm -f $@
	ar rcs $@ $^
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_reply.h build/fuzz/libmesh.a
	$(FUZZ_CC) $(CFLAGS_COMMON) $(FLAGS_fuzz) -fsanitize=fuzzer -Itests/fuzz -o $@ $< build/fuzz/libmesh.a $(LIBS)
fuzz: $(FUZZ_BIN)
	@if [ -n "$(FUZZ_SECONDS)" ]; then FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/reliability/fuzz.sh; fi

state/schema.sql.h: state/schema.sql
	@{ echo '/* generated from schema.sql by the Makefile; do not edit */'; \
	   echo 'static const char schema_sql[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	   echo ';'; } > $@

$(LBC_POLICY_H): specs/policies/aws-load-balancer-controller-iam-policy.json Makefile
	@{ echo '/* generated from $< by the Makefile; do not edit */'; \
	   echo '#define LBC_POLICY_VERSION "$(LBC_POLICY_VERSION)"'; \
	   echo 'static const char lbc_policy_json[] ='; \
	   sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$$/\\n"/' $<; \
	   echo ';'; } > $@

mesh: build/release/mesh
	cp $< $@

UNIT_asan := $(patsubst tests/unit/%.c,build/asan/unit/%,$(UNIT_SRC))
UNIT_memcheck := $(patsubst tests/unit/%.c,build/memcheck/unit/%,$(UNIT_SRC))

test: deps-check lint mesh build/asan/mesh $(UNIT_asan)
	MESH_BIN=$(CURDIR)/build/asan/mesh UNIT_DIR=$(CURDIR)/build/asan/unit bash tests/run

memcheck: $(UNIT_memcheck)
	@fail=0; for t in $(UNIT_memcheck); do \
	  valgrind -q --leak-check=full --errors-for-leak-kinds=all --error-exitcode=9 $$t >/dev/null 2>build/memcheck/$$(basename $$t).vg || { echo "memcheck FAILED: $$t"; cat build/memcheck/$$(basename $$t).vg; fail=1; }; \
	  echo "memcheck ok: $$(basename $$t)"; done; exit $$fail

bench: build/bench/mesh
	MESH_BIN=$(CURDIR)/build/bench/mesh bash tests/bench/run

# Includes across a boundary DESIGN.md forbids (the rules are at the top of tests/lint.sh).
lint:
	bash tests/lint.sh

# The reliability campaign at full trial counts (tests/reliability/run; figures into docs/reliability.md).
reliability: mesh
	MESH_BIN=$(CURDIR)/mesh bash tests/reliability/run

demo: mesh
	bash specs/examples/demo.sh

deps:
	bash .ci/deps

# The tools the suites need (moto_server, aws, kubectl, python3 with PyYAML): named before any test runs.
deps-check:
	@bash .ci/deps --check

clean:
	rm -rf build mesh state/schema.sql.h $(LBC_POLICY_H)
