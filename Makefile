# smolkit build: libsmol (static + shared) and the `smol` command.
#   make            build build/libsmol.a, build/libsmol.so and build/smol
#   make test       install missing packages, build, run every test (prints "N passed, N failed")
#   make demo       install missing packages, build, run the bundled demo
#   make asan       the same build with AddressSanitizer + UBSan into build-asan/
#   make fuzz       libFuzzer targets (clang) into build-fuzz/
CC      ?= cc
BUILD   ?= build
WERROR  ?=
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) -Iinclude -Isrc -fPIC -pthread
LIBS    = -lcjson -lpcre2-8 -lutf8proc -lzstd -lz -lm -lpthread
VERSION = 0.1.0
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

SRC      := $(sort $(wildcard src/*/*.c))
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
CLI_SRC  := $(sort $(wildcard cli/*.c))
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

# SIMD translation units are named *_avx2.c / *_avx512.c and get their ISA flags here only;
# the code in them runs only after the run-time CPU check in src/base/cpu.c.
ISA_avx2   = -mavx2 -mfma -mf16c
ISA_avx512 = -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16
isa_flags  = $(if $(findstring _avx512,$1),$(ISA_avx512),$(if $(findstring _avx2,$1),$(ISA_avx2),))
# Under the sanitizers the AVX-512 kernels build at -O0: clang takes minutes to instrument them
# at -O1, while -O0 compiles in seconds and the tests still run them in a few seconds.
san_simd_opt = $(if $(findstring _avx512,$1),-O0)

# V=1 shows full commands
Q = $(if $(V),,@)

BUILD_FLAGS = $(OPT) $(SAN)
CFLAGS_ALL  = $(CFLAGS_BASE) $(BUILD_FLAGS) -DSMOL_VERSION='"$(VERSION)"' -DSMOL_BUILD_FLAGS='"$(CC) $(BUILD_FLAGS)"'

.PHONY: all test demo asan fuzz clean check-deps examples
all: $(BUILD)/libsmol.a $(BUILD)/libsmol.so $(BUILD)/smol $(TEST_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  CC      $(BUILD)/$<')
	$(Q)$(CC) $(CFLAGS_ALL) $(call isa_flags,$<) $(if $(SAN),$(call san_simd_opt,$<)) -MMD -MP -c $< -o $@

$(BUILD)/libsmol.a: $(OBJ)
	@rm -f $@
	@$(if $(V),,echo '  AR      $@')
	$(Q)ar rcs $@ $^

$(BUILD)/libsmol.so: $(OBJ)
	@$(if $(V),,echo '  LD      $@')
	$(Q)$(CC) -shared $(SAN) -o $@ $^ $(LIBS)

$(BUILD)/smol: $(CLI_OBJ) $(BUILD)/libsmol.a
	@$(if $(V),,echo '  LD      $@')
	$(Q)$(CC) $(SAN) -o $@ $(CLI_OBJ) $(BUILD)/libsmol.a $(LIBS)

$(BUILD)/tests/%: tests/%.c tests/check.h tests/compare.h $(BUILD)/libsmol.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  TEST    $@')
	$(Q)$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libsmol.a $(LIBS)

check-deps:
	@bash scripts/deps.sh

test: check-deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@$(MAKE) --no-print-directory -j$(JOBS) asan
	@bash tests/run.sh

demo: check-deps
	@$(MAKE) --no-print-directory -j$(JOBS) all
	@bash scripts/demo.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all

# libFuzzer targets: each tests/fuzz/fuzz_X.c is linked with the library sources built by clang.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -g -O1 -pthread -fsanitize=fuzzer-no-link,address,undefined
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)
fuzz:
	@$(MAKE) --no-print-directory -j$(JOBS) BUILD=build-fuzz CC=clang OPT="-O1 -g" SAN="-fsanitize=fuzzer-no-link,address,undefined" build-fuzz/libsmol.a
	@$(MAKE) --no-print-directory -j$(JOBS) $(FUZZ_BIN)

build-fuzz/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) build-fuzz/libsmol.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  FUZZ    $@')
	$(Q)clang $(FUZZ_CFLAGS) -fsanitize=fuzzer $< build-fuzz/libsmol.a $(LIBS) -o $@

# examples/*.c: programs that use only include/smol.h, into $(BUILD)/examples/
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
examples: $(EXAMPLES)
$(BUILD)/examples/%: examples/%.c include/smol.h $(BUILD)/libsmol.a
	@mkdir -p $(dir $@)
	@$(if $(V),,echo '  EXAMPLE $@')
	$(Q)$(CC) -std=c11 -Wall -Wextra $(WERROR) -Iinclude $(BUILD_FLAGS) -pthread -o $@ $< $(BUILD)/libsmol.a $(LIBS)

clean:
	rm -rf build build-asan build-fuzz

-include $(OBJ:.o=.d) $(CLI_OBJ:.o=.d)
