# Makefile — ephemerd-vm: host agent (native and Windows), tests, fuzzers, benchmarks.
#
#   make            native ephemerd-vmhost            (build/native/ephemerd-vmhost)
#   make test       everything that runs here: unit tests under ASan+UBSan, the Windows
#                   build's unit tests under wine, bounded fuzz runs (installs what it needs)
#   make check      unit tests under ASan+UBSan
#   make fuzz       longer libFuzzer runs
#   make demo       the main job: build a boot initrd from sample inputs and inspect it
#   make bench      benchmarks (figures only)
#   make windows    build/win/ephemerd-vmhost.exe
#   make guest      build/musl/ephemerd-init: the guest's PID 1, static musl, size-checked
#                   (libraries from scripts/deps-musl.sh)
#   make setup      install build dependencies (apt) — run by the targets that need them
#   make clean
#
# Warnings are errors everywhere. Dependencies: see scripts/setup.sh (Debian packages)
# and scripts/deps-win.sh (cross-built from Debian source packages, cached).

BUILD    ?= build
DEPS_DIR ?= $(BUILD)/deps
# Scripts run from other directories (apt resolves relative paths against /etc/apt).
override DEPS_DIR := $(abspath $(DEPS_DIR))
export DEPS_DIR

CC       ?= cc
WIN_CC   ?= x86_64-w64-mingw32-gcc
FUZZ_CC  ?= clang
PKGS     := libarchive libuv nettle libzstd zlib libcjson

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wpointer-arith -Wundef
CSTD     := -std=c11
OPT      ?= -O2 -g
INCS     := -Icommon -Ihost -Iguest -Itest/unit -I$(DEPS_DIR)/inih

# inih is compiled from the pristine upstream ini.c with the same options on every target.
# Lines up to the config size limit are accepted; the TOML layer handles comments.
INIH_DEFS := -DINI_HANDLER_LINENO=1 -DINI_USE_STACK=0 -DINI_ALLOW_REALLOC=1 \
             -DINI_INITIAL_ALLOC=256 -DINI_MAX_LINE=1048578 -DINI_ALLOW_MULTILINE=0 \
             -DINI_ALLOW_INLINE_COMMENTS=0 '-DINI_START_COMMENT_PREFIXES="\#"' \
             -DINI_ALLOW_BOM=1 -DINI_STOP_ON_FIRST_ERROR=0 -DINI_CALL_HANDLER_ON_NEW_SECTION=0 \
             -DINI_ALLOW_NO_VALUE=0
INIH_SRC  := $(DEPS_DIR)/inih/ini.c

NATIVE_CFLAGS := $(CSTD) $(OPT) $(WARN) -D_GNU_SOURCE -pthread $(INCS) $(INIH_DEFS) \
                 $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
NATIVE_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
SAN_FLAGS     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

WIN_PREFIX := $(DEPS_DIR)/x86_64-w64-mingw32
WIN_CFLAGS := $(CSTD) $(OPT) $(WARN) $(INCS) $(INIH_DEFS) -I$(WIN_PREFIX)/include \
              -DLIBARCHIVE_STATIC -DCJSON_HIDE_SYMBOLS -D_WIN32_WINNT=0x0A00 \
              -DWIN32_LEAN_AND_MEAN -D__USE_MINGW_ANSI_STDIO=1
WIN_LIBS   := -static -L$(WIN_PREFIX)/lib -larchive -lzstd -lz -lnettle -luv -lcjson \
              -lbcrypt -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 -lshell32 -ladvapi32

# Sources. Platform code is chosen by file name: *_posix.c natively, *_win.c for Windows.
COMMON_SRC := $(wildcard common/*.c)
HOST_SRC   := $(filter-out host/main.c,$(wildcard host/*.c))
GUEST_SRC  := $(filter-out guest/main.c,$(wildcard guest/*.c))
LIB_SRC    := $(COMMON_SRC) $(HOST_SRC)
# Guest code is Linux-only: linked into the native test binaries, never into Windows ones.
POSIX_SRC  := $(filter-out %_win.c,$(LIB_SRC)) $(GUEST_SRC)
WINLIB_SRC := $(filter-out %_posix.c,$(LIB_SRC))

UNIT_TESTS     := $(wildcard test/unit/test_*.c)
GUEST_TESTS    := $(wildcard test/guest/test_*.c)
UNIT_SUPPORT   := $(wildcard test/unit/testutil*.c)
WIN_TESTS      := $(filter-out %_posix.c,$(UNIT_TESTS))
FUZZ_TARGETS   := $(wildcard test/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))

NATIVE_OBJ := $(call obj,native,$(POSIX_SRC)) $(BUILD)/native/inih.o
ASAN_OBJ   := $(call obj,asan,$(POSIX_SRC)) $(BUILD)/asan/inih.o
FUZZ_OBJ   := $(call obj,fuzz,$(POSIX_SRC)) $(BUILD)/fuzz/inih.o
WIN_OBJ    := $(call obj,win,$(WINLIB_SRC)) $(BUILD)/win/inih.o

NATIVE_BIN := $(BUILD)/native/ephemerd-vmhost
WIN_BIN    := $(BUILD)/win/ephemerd-vmhost.exe
ASAN_TESTS := $(patsubst test/unit/%.c,$(BUILD)/asan/test/%,$(filter-out $(UNIT_SUPPORT),$(UNIT_TESTS))) \
              $(patsubst test/guest/%.c,$(BUILD)/asan/gtest/%,$(GUEST_TESTS))
NATIVE_TESTS := $(patsubst test/unit/%.c,$(BUILD)/native/test/%,$(filter-out $(UNIT_SUPPORT),$(UNIT_TESTS))) \
              $(patsubst test/guest/%.c,$(BUILD)/native/gtest/%,$(GUEST_TESTS))
NATIVE_INIT := $(BUILD)/native/ephemerd-init
ASAN_INIT   := $(BUILD)/asan/ephemerd-init
WIN_TEST_BINS := $(patsubst test/unit/%.c,$(BUILD)/win/test/%.exe,$(filter-out $(UNIT_SUPPORT),$(WIN_TESTS)))
FUZZ_BINS  := $(patsubst test/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_TARGETS))
NATIVE_SUPPORT_OBJ := $(call obj,native,$(filter-out %_win.c,$(UNIT_SUPPORT)))
ASAN_SUPPORT_OBJ := $(call obj,asan,$(filter-out %_win.c,$(UNIT_SUPPORT)))
WIN_SUPPORT_OBJ := $(call obj,win,$(filter-out %_posix.c,$(UNIT_SUPPORT)))

# Quiet by default; `make V=1` shows full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

SETUP_STAMP := $(BUILD)/.setup-ok
WIN_STAMP   := $(WIN_PREFIX)/.deps-ok

.PHONY: all setup test check unit fuzz fuzz-smoke bench windows test-windows clean format demo \
        guest guest-size clean-guest kernel e2e e2e-assets bench-boot
.DELETE_ON_ERROR:
.SECONDARY:

all: $(NATIVE_BIN)

setup: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh
	@mkdir -p $(@D) && touch $@

$(INIH_SRC): | $(SETUP_STAMP)
	scripts/deps-inih.sh

$(WIN_STAMP): scripts/deps-win.sh scripts/debsrc.sh | $(SETUP_STAMP)
	scripts/deps-win.sh

# ---- native ---------------------------------------------------------------------------
$(BUILD)/native/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/native/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CSTD) $(OPT) $(INIH_DEFS) -c $< -o $@
$(BUILD)/native/gtest/%: $(BUILD)/native/test/guest/%.o $(NATIVE_OBJ) $(NATIVE_SUPPORT_OBJ)
	@mkdir -p $(@D)
	@echo "  LD $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS) -lcmocka
$(NATIVE_INIT): $(BUILD)/native/guest/main.o $(NATIVE_OBJ)
	@echo "  LD $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS)
$(NATIVE_BIN): $(BUILD)/native/host/main.o $(NATIVE_OBJ)
	@echo "  CC $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS)
$(BUILD)/native/test/%: $(BUILD)/native/test/unit/%.o $(NATIVE_OBJ) $(NATIVE_SUPPORT_OBJ)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS) -lcmocka

# ---- ASan + UBSan ---------------------------------------------------------------------
$(BUILD)/asan/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@
$(BUILD)/asan/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CSTD) $(OPT) $(INIH_DEFS) $(SAN_FLAGS) -c $< -o $@
$(BUILD)/asan/test/%: $(BUILD)/asan/test/unit/%.o $(ASAN_OBJ) $(ASAN_SUPPORT_OBJ)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS) -lcmocka
$(BUILD)/asan/gtest/%: $(BUILD)/asan/test/guest/%.o $(ASAN_OBJ) $(ASAN_SUPPORT_OBJ)
	@mkdir -p $(@D)
	@echo "  LD $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS) -lcmocka
$(ASAN_INIT): $(BUILD)/asan/guest/main.o $(ASAN_OBJ)
	@echo "  LD $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS)
$(BUILD)/asan/ephemerd-vmhost: $(BUILD)/asan/host/main.o $(ASAN_OBJ)
	@echo "  CC $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS)

# ---- fuzz (clang libFuzzer) -----------------------------------------------------------
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g -O1
$(BUILD)/fuzz/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZ_CC) $(filter-out -O2 -g,$(NATIVE_CFLAGS)) $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZ_CC) $(CSTD) $(INIH_DEFS) $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/test/fuzz/fuzz_%.o $(FUZZ_OBJ)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(NATIVE_LIBS)

# ---- Windows (mingw-w64) --------------------------------------------------------------
$(BUILD)/win/%.o: %.c | $(WIN_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) $(WIN_CFLAGS) -MMD -MP -c $< -o $@
$(BUILD)/win/inih.o: $(INIH_SRC) | $(WIN_STAMP)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) $(CSTD) $(OPT) $(INIH_DEFS) -c $< -o $@
$(WIN_BIN): $(BUILD)/win/host/main.o $(WIN_OBJ)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) -o $@ $^ $(WIN_LIBS)
$(BUILD)/win/test/%.exe: $(BUILD)/win/test/unit/%.o $(WIN_OBJ) $(WIN_SUPPORT_OBJ)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) -o $@ $^ -lcmocka $(WIN_LIBS)

windows: $(WIN_BIN)

# ---- guest (musl, static) -------------------------------------------------------------
# ephemerd-init, the guest's PID 1: guest/*.c and the POSIX common/*.c (never host/),
# compiled with musl-gcc -Os, linked static with --gc-sections against the libraries
# scripts/deps-musl.sh builds, then stripped. The unstripped binary is kept beside it.
MUSL_CC      ?= musl-gcc
MUSL_PREFIX  := $(DEPS_DIR)/musl
MUSL_STAMP   := $(MUSL_PREFIX)/.deps-ok
MUSL_SRC     := $(wildcard guest/*.c) $(filter-out %_win.c,$(COMMON_SRC))
MUSL_OBJ     := $(call obj,musl,$(MUSL_SRC))
MUSL_CFLAGS  := $(CSTD) -Os -g $(WARN) -D_GNU_SOURCE -Icommon -Iguest -I$(MUSL_PREFIX)/include \
                -isystem $(MUSL_PREFIX)/kinclude -ffunction-sections -fdata-sections
MUSL_LDFLAGS := -static -Wl,--gc-sections
MUSL_LIBS    := -L$(MUSL_PREFIX)/lib -larchive -lnettle -lz
MUSL_INIT    := $(BUILD)/musl/ephemerd-init
GUEST_MAX_BYTES := 1048576

$(MUSL_STAMP): scripts/deps-musl.sh scripts/debsrc.sh | $(SETUP_STAMP)
	scripts/deps-musl.sh

$(BUILD)/musl/%.o: %.c | $(MUSL_STAMP)
	@mkdir -p $(@D)
	@echo "  MUSLCC $@"
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -MMD -MP -c $< -o $@
$(MUSL_INIT).debug: $(MUSL_OBJ) $(MUSL_STAMP)
	@echo "  MUSLLD $@"
	$(Q)$(MUSL_CC) $(MUSL_LDFLAGS) -o $@ $(filter %.o,$^) $(MUSL_LIBS)
$(MUSL_INIT): $(MUSL_INIT).debug
	@echo "  STRIP $@"
	$(Q)strip --strip-all -R .comment -o $@ $<

guest: guest-size

# Fails unless `file` says statically linked and stripped and the size is under 1 MiB.
guest-size: $(MUSL_INIT)
	@info=$$(file -b $<) && size=$$(stat -c %s $<) && \
	case "$$info" in *"statically linked"*) ;; \
	  *) echo "guest-size: $< is not statically linked: $$info" >&2; exit 1 ;; esac && \
	case "$$info" in *", stripped"*) ;; \
	  *) echo "guest-size: $< is not stripped: $$info" >&2; exit 1 ;; esac && \
	echo "ephemerd-init: $$(( (size + 1023) / 1024 )) KiB ($$size bytes), static, stripped" && \
	echo "  file: $$info" && \
	if [ "$$size" -ge $(GUEST_MAX_BYTES) ]; then \
	  echo "guest-size: $< is $$size bytes, over the limit of $(GUEST_MAX_BYTES)" >&2; exit 1; fi

clean-guest:
	rm -rf $(BUILD)/musl

-include $(wildcard $(BUILD)/musl/guest/*.d $(BUILD)/musl/common/*.d)

# ---- running --------------------------------------------------------------------------
unit: $(NATIVE_TESTS) $(NATIVE_BIN) $(if $(wildcard guest/main.c),$(NATIVE_INIT))
	$(TEST_KERNEL_ENV); EVM_VMHOST=$(NATIVE_BIN) EVM_INIT=$(NATIVE_INIT) \
	  scripts/run-tests.sh native $(NATIVE_TESTS)

# Tests that boot a real kernel take it from the test-kernel cache when it is there
# (`make kernel`, run by `make test`); without it they skip and say so.
KERNEL_ENV := $(BUILD)/kernel/current.env
TEST_KERNEL_ENV = if [ -f $(KERNEL_ENV) ]; then . ./$(KERNEL_ENV); \
                    export EVM_TEST_KERNEL="$$VMLINUX" EVM_TEST_MODULES="$$MODULES_DIR"; fi
check: $(ASAN_TESTS) $(BUILD)/asan/ephemerd-vmhost $(if $(wildcard guest/main.c),$(ASAN_INIT))
	$(TEST_KERNEL_ENV); EVM_VMHOST=$(BUILD)/asan/ephemerd-vmhost EVM_INIT=$(ASAN_INIT) \
	  scripts/run-tests.sh asan $(ASAN_TESTS)

kernel:
	BUILD=$(BUILD) scripts/test-kernel.sh

# Everything a real boot needs: kernel, guest init, stand-in daemon, rootfs, base initrd.
e2e-assets: $(NATIVE_BIN) guest
	BUILD=$(BUILD) scripts/e2e-assets.sh $(NATIVE_BIN) $(MUSL_INIT)

e2e: e2e-assets
	BUILD=$(BUILD) test/e2e/e2e.sh $(NATIVE_BIN)

test-windows: $(WIN_TEST_BINS) $(WIN_BIN)
	scripts/run-tests.sh wine $(WIN_TEST_BINS)

fuzz-smoke: $(FUZZ_BINS)
	scripts/fuzz.sh 10 $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	scripts/fuzz.sh 120 $(FUZZ_BINS)

test: e2e-assets check test-windows fuzz-smoke e2e
	@echo "make test: all suites passed"

demo: e2e-assets
	BUILD=$(BUILD) scripts/demo.sh $(NATIVE_BIN)

bench: $(NATIVE_BIN) e2e-assets
	bench/run.sh $(NATIVE_BIN)
	BUILD=$(BUILD) bench/boot.sh $(NATIVE_BIN)

bench-boot: e2e-assets
	BUILD=$(BUILD) bench/boot.sh $(NATIVE_BIN)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean: clean-guest
	rm -rf $(BUILD)/native $(BUILD)/asan $(BUILD)/fuzz $(BUILD)/win $(BUILD)/bench

-include $(shell find $(BUILD)/native $(BUILD)/asan $(BUILD)/win $(BUILD)/fuzz -name '*.d' 2>/dev/null)
