# Makefile — ephemerd-vm: the host agent (native and Windows), the guest's PID 1 (static
# musl), their tests, fuzzers and benchmarks.
#
#   make             build/native/ephemerd-vmhost, the host agent for this machine
#   make demo        the main job: boot the VM for real under QEMU from a sample data dir
#                    (docs/config.sample.toml), wait until it is ready, stop it in order
#                    and show what the guest reported about the staged config
#   make test        everything CI runs: unit tests under ASan+UBSan, the layer check, the
#                    kill loop, the config.toml differential test, the Windows build's unit
#                    tests under wine, bounded fuzz runs, the static guest build and the
#                    end-to-end boots under QEMU
#   make check       unit tests (host, guest, common) under ASan+UBSan
#   make unit        the same tests without sanitizers
#   make layer-check the host binary holds no guest code and the guest binary no host code
#   make kill-loop   50 SIGKILLs during `initrd build`: no temp file left, a valid output
#   make config-diff config.toml through `config show` and two reference TOML parsers
#   make e2e         end-to-end boots of a real kernel under QEMU (test/e2e/e2e.sh)
#   make fuzz        longer libFuzzer runs (make fuzz-smoke: 10 s each, part of make test)
#   make bench       initrd-builder and boot benchmarks (figures only)
#   make windows     build/win/ephemerd-vmhost.exe (make test-windows: its tests under wine)
#   make guest       build/musl/ephemerd-init: the guest's PID 1, static musl, size-checked
#   make fresh-check scripts/fresh-machine.sh: the README's two commands in a new Debian 12
#                    root (slow; not part of make test)
#   make hcs-fake    the simulated HCS DLLs (test only); make test-hcs-fake: their tests
#   make hcs-boot    a real boot through test/hcs/hcsboot.py (the Linux side of the HCS tests)
#   make e2e-hcs     the Windows agent under wine through the simulated HCS (test/e2e/e2e-hcs.sh)
#   make test-service-wine  the Windows service under wine's SCM, simulated HCS
#                    (test/e2e/service-wine.sh: install, start, reload, stop, uninstall)
#   make release     dist/: the Windows zip and the Linux tarball of VERSION (make release
#                    VERSION=x.y.z), SHA256SUMS; reproducible (scripts/release/release.sh)
#   make release-check  two releases in two build dirs, compared byte for byte (slow)
#   make release-test   the archives installed as a user would: the Linux one boots under
#                    QEMU, the Windows one under wine through the simulated HCS
#   make man         BUILD/man/*.8 from docs/man/ (make man-check: every --help flag in them)
#   make setup       install the Debian packages (run by every target that needs them)
#   make format      clang-format the tree
#   make clean
#
# Every target installs what it needs first: Debian packages (scripts/setup.sh), libraries
# cross-built from Debian source packages (scripts/deps/), the test kernel
# (scripts/test/test-kernel.sh). Nothing here reads the machine's state when the Makefile is
# parsed: pkg-config runs when the first compile needs it, after setup.
#
# Layers are static libraries, each compiled with only the include paths it may use:
#   libcommon.a  common/         sees common/
#   libhost.a    host/*/         sees common/ and host/
#   libguest.a   guest/          sees common/ and guest/
# Tests link the library they test (and libcommon.a) plus test/lib. Warnings are errors.

.DEFAULT_GOAL := all

BUILD    ?= build
DEPS_DIR ?= $(BUILD)/deps
# Scripts run from other directories (apt resolves relative paths against /etc/apt).
override DEPS_DIR := $(abspath $(DEPS_DIR))
export DEPS_DIR

CC       ?= cc
WIN_CC   ?= x86_64-w64-mingw32-gcc
FUZZ_CC  ?= clang
MUSL_CC  ?= musl-gcc
PKGS     := libarchive libuv nettle libzstd zlib libcjson

WARN     := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Wpointer-arith -Wundef
CSTD     := -std=c11
OPT      ?= -O2 -g
# No build path in any object: debug info and __FILE__ name the checkout as ".", the build
# dir as BUILD and the dependencies as DEPS, wherever they are (reproducible releases).
REPRO    := -ffile-prefix-map=$(CURDIR)/= -ffile-prefix-map=$(abspath $(BUILD))=BUILD \
            -ffile-prefix-map=$(DEPS_DIR)=DEPS

# The version --version prints (both binaries, common/version.h): VERSION and the commit, in
# a generated header rewritten only when they change.
VERSION  ?= 0.1.0-dev
GEN      := $(BUILD)/gen
VERSION_H := $(GEN)/evm_version.h
VERSION_USERS := host/cli/main.c guest/main.c test/common/test_version.c

# inih is compiled from the pristine upstream ini.c with the same options on every target.
# Lines up to the config size limit are accepted; the TOML layer handles comments.
INIH_DEFS := -DINI_HANDLER_LINENO=1 -DINI_USE_STACK=0 -DINI_ALLOW_REALLOC=1 \
             -DINI_INITIAL_ALLOC=256 -DINI_MAX_LINE=1048578 -DINI_ALLOW_MULTILINE=0 \
             -DINI_ALLOW_INLINE_COMMENTS=0 '-DINI_START_COMMENT_PREFIXES="\#"' \
             -DINI_ALLOW_BOM=1 -DINI_STOP_ON_FIRST_ERROR=0 -DINI_CALL_HANDLER_ON_NEW_SECTION=0 \
             -DINI_ALLOW_NO_VALUE=0
INIH_SRC  := $(DEPS_DIR)/inih/ini.c

# ---- the layers' include paths ---------------------------------------------------------
# Chosen by the source's folder: a file can include only the headers of its own layer and
# of common/. Tests also see test/lib.
layer_incs = $(strip \
  $(if $(filter common/% test/common/% test/fuzz/common/%,$1),-Icommon) \
  $(if $(filter host/% test/host/% test/fuzz/host/% bench/%,$1),-Icommon -Ihost -I$(DEPS_DIR)/inih) \
  $(if $(filter guest/% test/guest/% test/fuzz/guest/%,$1),-Icommon -Iguest) \
  $(if $(filter test/%,$1),-Itest/lib $(if $(filter test/lib/%,$1),-Icommon)) \
  $(if $(filter $(VERSION_USERS),$1),-I$(GEN)))

# pkg-config's flags, computed once, when a recipe first needs them: by then the recipe's
# prerequisites (setup) have installed the -dev packages. A plain := here would run
# pkg-config when the Makefile is parsed, before setup, on a fresh machine.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(call pkg,--libs))$(PKG_LIBS)
pkg = $(if $(shell pkg-config --exists $(PKGS) && echo ok),$(shell pkg-config $1 $(PKGS)), \
        $(error pkg-config cannot find some of $(PKGS): run scripts/setup.sh))

NATIVE_CFLAGS = $(CSTD) $(OPT) $(WARN) $(REPRO) -D_GNU_SOURCE -pthread $(INIH_DEFS) $(PKG_CFLAGS)
NATIVE_LIBS   = $(PKG_LIBS) -pthread
SAN_FLAGS    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_FLAGS   := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -g -O1

WIN_PREFIX := $(DEPS_DIR)/x86_64-w64-mingw32
WIN_CFLAGS := $(CSTD) $(OPT) $(WARN) $(REPRO) $(INIH_DEFS) -I$(WIN_PREFIX)/include \
              -DLIBARCHIVE_STATIC -DCJSON_HIDE_SYMBOLS -D_WIN32_WINNT=0x0A00 \
              -DWIN32_LEAN_AND_MEAN -D__USE_MINGW_ANSI_STDIO=1
WIN_LIBS   := -static -L$(WIN_PREFIX)/lib -larchive -lzstd -lz -lnettle -luv -lcjson \
              -lbcrypt -lws2_32 -liphlpapi -luserenv -ldbghelp -lole32 -lshell32 -ladvapi32

MUSL_PREFIX  := $(DEPS_DIR)/musl
MUSL_CFLAGS  := $(CSTD) -Os -g $(WARN) $(REPRO) -D_GNU_SOURCE -I$(MUSL_PREFIX)/include \
                -isystem $(MUSL_PREFIX)/kinclude -ffunction-sections -fdata-sections
MUSL_LDFLAGS := -static -Wl,--gc-sections
MUSL_LIBS    := -L$(MUSL_PREFIX)/lib -larchive -lnettle -lz

# The release's Linux host agent: static musl, libraries from scripts/deps/musl-host.sh.
MUSLHOST_PREFIX := $(DEPS_DIR)/musl-host
MUSLHOST_CFLAGS := $(CSTD) $(OPT) $(WARN) $(REPRO) -D_GNU_SOURCE -pthread $(INIH_DEFS) \
                   -I$(MUSLHOST_PREFIX)/include -isystem $(MUSLHOST_PREFIX)/kinclude
MUSLHOST_LIBS   := -static -L$(MUSLHOST_PREFIX)/lib -larchive -lzstd -lz -lnettle -luv -lcjson \
                   -pthread

# ---- sources ---------------------------------------------------------------------------
# Platform code is chosen by file name: *_posix.c natively, *_win.c for Windows.
posix = $(filter-out %_win.c,$1)
win   = $(filter-out %_posix.c,$1)

COMMON_SRC := $(wildcard common/*.c)
HOST_SRC   := $(filter-out host/cli/main.c,$(wildcard host/*/*.c))
GUEST_SRC  := $(filter-out guest/main.c,$(wildcard guest/*.c))
TLIB_SRC   := $(wildcard test/lib/*.c)
HOST_MAIN  := host/cli/main.c
GUEST_MAIN := guest/main.c

# Unit tests by layer; *_posix.c tests run natively only, *_win.c tests under wine only,
# and only common and host tests have a Windows build (guest code is Linux-only).
T_COMMON := $(wildcard test/common/test_*.c)
T_HOST   := $(wildcard test/host/*/test_*.c)
T_GUEST  := $(wildcard test/guest/test_*.c)
FUZZ_SRC := $(wildcard test/fuzz/*/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/$(1)/%.o,$(2))
tname = $(basename $(notdir $1))

# ---- per-variant objects and libraries ------------------------------------------------
# $(call libs,VARIANT) defines $(BUILD)/VARIANT/lib{common,host,guest,test}.a.
define variant_libs
$(BUILD)/$(1)/libcommon.a: $(call obj,$(1),$(call $(2),$(COMMON_SRC)))
$(BUILD)/$(1)/libhost.a: $(call obj,$(1),$(call $(2),$(HOST_SRC))) $(BUILD)/$(1)/inih.o
$(BUILD)/$(1)/libguest.a: $(call obj,$(1),$(GUEST_SRC))
$(BUILD)/$(1)/libtest.a: $(call obj,$(1),$(call $(2),$(TLIB_SRC)))
endef
$(eval $(call variant_libs,native,posix))
$(eval $(call variant_libs,asan,posix))
$(eval $(call variant_libs,fuzz,posix))
$(eval $(call variant_libs,win,win))
$(eval $(call variant_libs,muslhost,posix))
$(BUILD)/musl/libcommon.a: $(call obj,musl,$(call posix,$(COMMON_SRC)))
$(BUILD)/musl/libguest.a: $(call obj,musl,$(GUEST_SRC))

%.a:
	@mkdir -p $(@D)
	@echo "  AR $@"
	$(Q)rm -f $@ && ar rcs $@ $^

# Which library a test under test/<layer>/ links, besides libcommon.a.
layer_lib = $(strip $(if $(filter test/host/% test/fuzz/host/%,$1),libhost.a) \
                    $(if $(filter test/guest/% test/fuzz/guest/%,$1),libguest.a))

NATIVE_BIN  := $(BUILD)/native/ephemerd-vmhost
NATIVE_INIT := $(BUILD)/native/ephemerd-init
ASAN_BIN    := $(BUILD)/asan/ephemerd-vmhost
ASAN_INIT   := $(BUILD)/asan/ephemerd-init
WIN_BIN     := $(BUILD)/win/ephemerd-vmhost.exe
MUSL_INIT   := $(BUILD)/musl/ephemerd-init
MUSLHOST_BIN := $(BUILD)/muslhost/ephemerd-vmhost

# Test binaries: $(BUILD)/VARIANT/tests/<name>, one per test source (objects are under
# $(BUILD)/VARIANT/test/…, mirroring the sources).
UNIT_SRC       := $(call posix,$(T_COMMON) $(T_HOST) $(T_GUEST))
test_bins       = $(foreach t,$(2),$(BUILD)/$(1)/tests/$(call tname,$t)$(3))
NATIVE_TESTS   := $(call test_bins,native,$(UNIT_SRC))
ASAN_TESTS     := $(call test_bins,asan,$(UNIT_SRC))
WIN_TEST_SRC   := $(call win,$(T_COMMON) $(T_HOST))
WIN_TEST_BINS  := $(call test_bins,win,$(WIN_TEST_SRC),.exe)
FUZZ_BINS      := $(foreach t,$(FUZZ_SRC),$(BUILD)/fuzz/$(call tname,$t))

# One link rule per test: its object, test/lib, its layer's library, libcommon.a.
define test_rule
$(BUILD)/$(1)/tests/$(call tname,$(2))$(3): $(call obj,$(1),$(2)) $(BUILD)/$(1)/libtest.a \
    $(addprefix $(BUILD)/$(1)/,$(call layer_lib,$(2))) $(BUILD)/$(1)/libcommon.a
endef
$(foreach t,$(UNIT_SRC),$(eval $(call test_rule,native,$t)))
$(foreach t,$(UNIT_SRC),$(eval $(call test_rule,asan,$t)))
$(foreach t,$(WIN_TEST_SRC),$(eval $(call test_rule,win,$t,.exe)))
$(foreach t,$(FUZZ_SRC),$(eval $(BUILD)/fuzz/$(call tname,$t): $(call obj,fuzz,$t) \
    $(addprefix $(BUILD)/fuzz/,$(call layer_lib,$t)) $(BUILD)/fuzz/libcommon.a))

# Quiet by default; `make V=1` shows full command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif

SETUP_STAMP := $(BUILD)/.setup-ok
WIN_STAMP   := $(WIN_PREFIX)/.deps-ok
MUSL_STAMP  := $(MUSL_PREFIX)/.deps-ok
MUSLHOST_STAMP := $(MUSLHOST_PREFIX)/.deps-ok

.PHONY: all setup test check unit fuzz fuzz-smoke bench windows test-windows clean format demo \
        guest guest-size clean-guest kernel e2e e2e-assets workload-assets bench-boot layer-check kill-loop config-diff fresh-check \
        hcs-boot e2e-hcs release release-check release-test man man-check musl-host service-verify FORCE
.DELETE_ON_ERROR:
.SECONDARY:

all: $(NATIVE_BIN)

setup: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh
	@mkdir -p $(@D) && touch $@

$(INIH_SRC): | $(SETUP_STAMP)
	scripts/deps/inih.sh

$(WIN_STAMP): scripts/deps/win.sh scripts/deps/common.sh scripts/deps/debsrc.sh | $(SETUP_STAMP)
	scripts/deps/win.sh

$(MUSL_STAMP): scripts/deps/musl.sh scripts/deps/common.sh scripts/deps/debsrc.sh | $(SETUP_STAMP)
	scripts/deps/musl.sh

$(MUSLHOST_STAMP): scripts/deps/musl-host.sh scripts/deps/common.sh scripts/deps/debsrc.sh | \
                   $(SETUP_STAMP)
	scripts/deps/musl-host.sh

# Runs on every make; the header's bytes (and so the mains' rebuild) change only with them.
$(VERSION_H): FORCE
	@scripts/release/version.sh '$(VERSION)' $@
FORCE:
$(foreach v,native asan win musl muslhost,$(eval \
    $(patsubst %.c,$(BUILD)/$(v)/%.o,$(VERSION_USERS)): $(VERSION_H)))

# ---- native ---------------------------------------------------------------------------
$(BUILD)/native/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) $(call layer_incs,$<) -MMD -MP -c $< -o $@
$(BUILD)/native/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CSTD) $(OPT) $(INIH_DEFS) -c $< -o $@
$(NATIVE_BIN): $(call obj,native,$(HOST_MAIN)) $(BUILD)/native/libhost.a $(BUILD)/native/libcommon.a
	@echo "  LD $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS)
$(NATIVE_INIT): $(call obj,native,$(GUEST_MAIN)) $(BUILD)/native/libguest.a $(BUILD)/native/libcommon.a
	@echo "  LD $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS)
$(BUILD)/native/tests/%:
	@mkdir -p $(@D)
	@echo "  LD $@"
	$(Q)$(CC) -o $@ $^ $(NATIVE_LIBS) -lcmocka

# ---- ASan + UBSan ---------------------------------------------------------------------
$(BUILD)/asan/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(NATIVE_CFLAGS) $(SAN_FLAGS) $(call layer_incs,$<) -MMD -MP -c $< -o $@
$(BUILD)/asan/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  CC $@"
	$(Q)$(CC) $(CSTD) $(OPT) $(INIH_DEFS) $(SAN_FLAGS) -c $< -o $@
$(ASAN_BIN): $(call obj,asan,$(HOST_MAIN)) $(BUILD)/asan/libhost.a $(BUILD)/asan/libcommon.a
	@echo "  LD $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS)
$(ASAN_INIT): $(call obj,asan,$(GUEST_MAIN)) $(BUILD)/asan/libguest.a $(BUILD)/asan/libcommon.a
	@echo "  LD $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS)
$(BUILD)/asan/tests/%:
	@mkdir -p $(@D)
	@echo "  LD $@"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(NATIVE_LIBS) -lcmocka

# ---- fuzz (clang libFuzzer) -----------------------------------------------------------
$(BUILD)/fuzz/%.o: %.c | $(SETUP_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZ_CC) $(filter-out -O2 -g,$(NATIVE_CFLAGS)) $(FUZZ_FLAGS) $(call layer_incs,$<) \
	  -c $< -o $@
$(BUILD)/fuzz/inih.o: $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  FUZZCC $@"
	$(Q)$(FUZZ_CC) $(CSTD) $(INIH_DEFS) $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/fuzz_%:
	@echo "  FUZZLD $@"
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(NATIVE_LIBS)

# ---- Windows (mingw-w64) --------------------------------------------------------------
$(BUILD)/win/%.o: %.c | $(WIN_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) $(WIN_CFLAGS) $(call layer_incs,$<) -MMD -MP -c $< -o $@
$(BUILD)/win/inih.o: $(INIH_SRC) | $(WIN_STAMP)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) $(CSTD) $(OPT) $(INIH_DEFS) -c $< -o $@
$(WIN_BIN): $(call obj,win,$(HOST_MAIN)) $(BUILD)/win/libhost.a $(BUILD)/win/libcommon.a
	@echo "  WINLD $@"
	$(Q)$(WIN_CC) -Wl,--no-insert-timestamp -o $@ $^ $(WIN_LIBS)
$(BUILD)/win/tests/%.exe:
	@mkdir -p $(@D)
	@echo "  WINLD $@"
	$(Q)$(WIN_CC) -o $@ $^ -lcmocka $(WIN_LIBS)

windows: $(WIN_BIN)

# ---- guest (musl, static) -------------------------------------------------------------
# ephemerd-init, the guest's PID 1: libguest.a and the POSIX libcommon.a (never host/),
# compiled with musl-gcc -Os, linked static with --gc-sections against the libraries
# scripts/deps/musl.sh builds, then stripped. The unstripped binary is kept beside it.
GUEST_MAX_BYTES := 1048576

$(BUILD)/musl/%.o: %.c | $(MUSL_STAMP)
	@mkdir -p $(@D)
	@echo "  MUSLCC $@"
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) $(call layer_incs,$<) -MMD -MP -c $< -o $@
$(MUSL_INIT).debug: $(call obj,musl,$(GUEST_MAIN)) $(BUILD)/musl/libguest.a \
                    $(BUILD)/musl/libcommon.a $(MUSL_STAMP)
	@echo "  MUSLLD $@"
	$(Q)$(MUSL_CC) $(MUSL_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(MUSL_LIBS)
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

# ---- the release's Linux host agent (musl, static) ---------------------------------------
# The same libhost/libcommon sources as the native build, compiled with musl-gcc against the
# libraries scripts/deps/musl-host.sh builds, linked static; stripped beside the .debug.
$(BUILD)/muslhost/%.o: %.c | $(MUSLHOST_STAMP) $(INIH_SRC)
	@mkdir -p $(@D)
	@echo "  MUSLCC $@"
	$(Q)$(MUSL_CC) $(MUSLHOST_CFLAGS) $(call layer_incs,$<) -MMD -MP -c $< -o $@
$(BUILD)/muslhost/inih.o: $(INIH_SRC) | $(MUSLHOST_STAMP)
	@mkdir -p $(@D)
	@echo "  MUSLCC $@"
	$(Q)$(MUSL_CC) $(CSTD) $(OPT) $(REPRO) $(INIH_DEFS) -c $< -o $@
$(MUSLHOST_BIN).debug: $(call obj,muslhost,$(HOST_MAIN)) $(BUILD)/muslhost/libhost.a \
                       $(BUILD)/muslhost/libcommon.a $(MUSLHOST_STAMP)
	@echo "  MUSLLD $@"
	$(Q)$(MUSL_CC) -o $@ $(filter %.o %.a,$^) $(MUSLHOST_LIBS)
$(MUSLHOST_BIN): $(MUSLHOST_BIN).debug
	@echo "  STRIP $@"
	$(Q)strip --strip-all -R .comment -o $@ $<

musl-host: $(MUSLHOST_BIN)

# ---- running --------------------------------------------------------------------------
# Tests that boot a real kernel take it from the test-kernel cache when it is there
# (`make kernel`, run by `make test`); without it they skip and say so.
KERNEL_ENV := $(BUILD)/kernel/current.env
TEST_KERNEL_ENV = if [ -f $(KERNEL_ENV) ]; then . $(abspath $(KERNEL_ENV)); \
                    export EVM_TEST_KERNEL="$$VMLINUX" EVM_TEST_MODULES="$$MODULES_DIR"; fi

unit: $(NATIVE_TESTS) $(NATIVE_BIN) $(NATIVE_INIT)
	$(TEST_KERNEL_ENV); EVM_VMHOST=$(NATIVE_BIN) EVM_INIT=$(NATIVE_INIT) \
	  scripts/test/run-tests.sh native $(NATIVE_TESTS)

check: $(ASAN_TESTS) $(ASAN_BIN) $(ASAN_INIT)
	$(TEST_KERNEL_ENV); EVM_VMHOST=$(ASAN_BIN) EVM_INIT=$(ASAN_INIT) \
	  scripts/test/run-tests.sh asan $(ASAN_TESTS)

# The symbol boundary between the layers, on every binary that exists to be checked.
# Each entry: BINARY:ITS_OWN_LIBRARY:A_LIBRARY_IT_MUST_NOT_CONTAIN.
NL := $(BUILD)/native
LAYER_BINS := $(NATIVE_BIN):$(NL)/libhost.a:$(NL)/libguest.a \
              $(NATIVE_INIT):$(NL)/libguest.a:$(NL)/libhost.a \
              $(MUSL_INIT).debug:$(NL)/libguest.a:$(NL)/libhost.a \
              $(MUSLHOST_BIN).debug:$(NL)/libhost.a:$(NL)/libguest.a
layer-check: $(NATIVE_BIN) $(NATIVE_INIT) $(BUILD)/native/libhost.a $(BUILD)/native/libguest.a \
             $(MUSL_INIT) $(MUSLHOST_BIN)
	scripts/test/check-layers.sh $(LAYER_BINS)

kernel:
	BUILD=$(BUILD) scripts/test/test-kernel.sh

# Everything a real boot needs: kernel, guest init, stand-in daemon, rootfs, base initrd.
e2e-assets: $(NATIVE_BIN) guest
	BUILD=$(BUILD) E2E_WORKLOAD=0 scripts/test/e2e-assets.sh $(NATIVE_BIN) $(MUSL_INIT)

# e2e-assets plus the workload probe's (e2e scenarios 12, 13): the workload rootfs with
# Debian's tools, Debian's cloud kernel, and a base initrd for each kernel.
workload-assets: e2e-assets
	BUILD=$(BUILD) scripts/test/e2e-assets.sh $(NATIVE_BIN) $(MUSL_INIT)

e2e: workload-assets
	BUILD=$(BUILD) test/e2e/e2e.sh $(NATIVE_BIN)

# The systemd unit: `systemd-analyze verify` and the settings the service depends on.
service-verify: $(NATIVE_BIN)
	scripts/test/service-verify.sh $(NATIVE_BIN)

# 50 SIGKILLs at random points of `initrd build`, then one normal build: no temp file
# left, a valid output (issue 9).
kill-loop: $(NATIVE_BIN)
	test/host/initrd/kill-loop.sh $(NATIVE_BIN)

test-windows: $(WIN_TEST_BINS) $(WIN_BIN)
	scripts/test/run-tests.sh wine $(WIN_TEST_BINS)

# fuzz_toml first runs once over every document of the config-diff generator (2000, seed 1).
fuzz-smoke: $(FUZZ_BINS)
	rm -rf $(BUILD)/config-diff/corpus
	test/config/gen.py --seed 1 --count 2000 --out $(BUILD)/config-diff/corpus
	$(BUILD)/fuzz/fuzz_toml -runs=0 -timeout=10 -rss_limit_mb=2048 $(BUILD)/config-diff/corpus
	scripts/test/fuzz.sh 10 $(FUZZ_BINS)

# The differential test of config.toml (test/README.md): random TOML documents through
# `config show --json` and two reference parsers from Debian (tomllib, BurntSushi/toml).
CONFIG_DIFF_SEED ?= 1
CONFIG_DIFF_COUNT ?= 5000
config-diff: $(NATIVE_BIN)
	BUILD=$(BUILD) test/config/difftest.sh $(NATIVE_BIN) $(CONFIG_DIFF_SEED) $(CONFIG_DIFF_COUNT)

fuzz: $(FUZZ_BINS)
	scripts/test/fuzz.sh 120 $(FUZZ_BINS)

test: e2e-assets check layer-check kill-loop config-diff test-windows test-hcs-fake fuzz-smoke e2e e2e-hcs \
      hcs-boot man-check release-test release-check service-verify test-service-wine
	@echo "make test: all suites passed"

demo: e2e-assets
	BUILD=$(BUILD) scripts/demo/demo.sh $(NATIVE_BIN)

bench: $(NATIVE_BIN) e2e-assets
	bench/run.sh $(NATIVE_BIN)
	BUILD=$(BUILD) bench/boot.sh $(NATIVE_BIN)

bench-boot: e2e-assets
	BUILD=$(BUILD) bench/boot.sh $(NATIVE_BIN)

fresh-check:
	scripts/fresh-machine.sh

# ---- release (scripts/release/, docs/install.md) ------------------------------------------
# dist/ holds the archives of VERSION and SHA256SUMS. The kernel comes from the test-kernel
# cache of KERNEL_BUILD (default BUILD; release-check shares it between its two builds).
DIST         ?= dist
KERNEL_BUILD ?= $(BUILD)
# The time every release file carries: SOURCE_DATE_EPOCH when set, else the commit's time
# (0 without git); computed when a recipe first needs it.
SOURCE_EPOCH = $(eval SOURCE_EPOCH := $(or $(SOURCE_DATE_EPOCH), \
                 $(shell git log -1 --format=%ct 2>/dev/null),0))$(SOURCE_EPOCH)
MAN_SRC      := $(wildcard docs/man/*.md)
MAN_PAGES    := $(patsubst docs/man/%.md,$(BUILD)/man/%,$(MAN_SRC))

$(BUILD)/man/%: docs/man/%.md scripts/release/man.py $(VERSION_H) | $(SETUP_STAMP)
	@mkdir -p $(@D)
	@echo "  MAN $@"
	$(Q)SOURCE_DATE_EPOCH=$(SOURCE_EPOCH) scripts/release/man.py --version '$(VERSION)' $< $@
man: $(MAN_PAGES)

# Every command and flag the binaries' --help prints is in the man pages.
man-check: $(MAN_PAGES) $(NATIVE_BIN) $(NATIVE_INIT)
	scripts/release/man-check.py $(NATIVE_BIN) $(NATIVE_INIT) $(MAN_PAGES)

release: $(MUSLHOST_BIN) $(WIN_BIN) guest $(MAN_PAGES) | $(SETUP_STAMP)
	BUILD=$(BUILD) KERNEL_BUILD=$(KERNEL_BUILD) DIST=$(DIST) SOURCE_DATE_EPOCH=$(SOURCE_EPOCH) \
	  scripts/release/release.sh \
	  '$(VERSION)' $(MUSLHOST_BIN) $(WIN_BIN) $(MUSL_INIT) $(MAN_PAGES)

# Two releases from this tree in two fresh build dirs (same DEPS_DIR and kernel), compared.
release-check: | $(SETUP_STAMP)
	BUILD=$(BUILD) VERSION='$(VERSION)' MAKE='$(MAKE)' scripts/release/release-check.sh

release-test: release hcs-fake
	BUILD=$(BUILD) DIST=$(DIST) scripts/release/release-test.sh '$(VERSION)'

hcs-boot: e2e-assets
	BUILD=$(BUILD) VMHOST=$(NATIVE_BIN) test/hcs/test-hcsboot.sh

# The Windows agent under wine through the simulated HCS, booting QEMU via hcsboot.py.
e2e-hcs: e2e-assets windows hcs-fake
	BUILD=$(BUILD) test/e2e/e2e-hcs.sh $(WIN_BIN)

# The Windows service under wine's Service Control Manager, simulated HCS (no QEMU).
.PHONY: test-service-wine
test-service-wine: windows hcs-fake
	BUILD=$(BUILD) test/e2e/service-wine.sh $(WIN_BIN)

include test/hcs/fake/fake.mk

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean: clean-guest
	rm -rf $(BUILD)/native $(BUILD)/asan $(BUILD)/fuzz $(BUILD)/win $(BUILD)/bench \
	  $(BUILD)/muslhost $(BUILD)/gen $(BUILD)/man $(BUILD)/release $(BUILD)/release-test \
	  $(BUILD)/release-check

-include $(shell find $(BUILD)/native $(BUILD)/asan $(BUILD)/win $(BUILD)/fuzz $(BUILD)/musl $(BUILD)/muslhost \
                      -name '*.d' 2>/dev/null)
