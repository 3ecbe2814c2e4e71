# fake.mk — the simulated HCS (test/hcs/fake/, TEST ONLY, never shipped): computecore.dll,
# computenetwork.dll and virtdisk.dll cross-built with mingw, statically linked (they load
# under wine with no other DLL than the system's), and their test under wine. Included by the
# main Makefile; it uses its WIN_CC, WIN_CFLAGS, WIN_PREFIX, WIN_STAMP and the Windows
# libcommon.a/libtest.a rules.
#
#   make hcs-fake        $(BUILD)/win/hcsfake/{computecore,computenetwork,virtdisk}.dll
#   make test-hcs-fake   those DLLs' test (test_fakes.exe) under wine; it needs qemu-img
#
# The agent under test loads the DLLs from EVM_HCS_DLL_DIR=<Windows path of $(HCSFAKE_DIR)>
# and needs WINEDLLOVERRIDES=virtdisk=n (wine's builtin virtdisk.dll aborts).

HCSFAKE_SAVED_GOAL := $(.DEFAULT_GOAL)

HCSFAKE_SRC  := test/hcs/fake
HCSFAKE_DIR  := $(BUILD)/win/hcsfake
HCSFAKE_OBJ   = $(patsubst %,$(HCSFAKE_DIR)/obj/%.o,$(1))
HCSFAKE_COMMON := fakeproto hcsvalidate
HCSFAKE_DLLS := $(HCSFAKE_DIR)/computecore.dll $(HCSFAKE_DIR)/computenetwork.dll \
                $(HCSFAKE_DIR)/virtdisk.dll
HCSFAKE_TEST := $(HCSFAKE_DIR)/test_fakes.exe
HCSFAKE_CFLAGS = $(WIN_CFLAGS) -Icommon -I$(HCSFAKE_SRC) -Itest/lib
# Everything static: no libgcc/winpthread/cJSON DLL beside them; only system DLLs imported.
HCSFAKE_LDFLAGS := -shared -static -static-libgcc
HCSFAKE_LIBS  = $(BUILD)/win/libcommon.a -L$(WIN_PREFIX)/lib -lcjson -lnettle -lws2_32 \
                -lole32 -lbcrypt -ladvapi32

.PHONY: hcs-fake test-hcs-fake

hcs-fake: $(HCSFAKE_DLLS)

$(HCSFAKE_DIR)/obj/%.o: $(HCSFAKE_SRC)/%.c | $(WIN_STAMP)
	@mkdir -p $(@D)
	@echo "  WINCC $@"
	$(Q)$(WIN_CC) $(HCSFAKE_CFLAGS) -MMD -MP -c $< -o $@

$(HCSFAKE_DIR)/computecore.dll: $(call HCSFAKE_OBJ,computecore fakevm fakeguest $(HCSFAKE_COMMON)) \
    $(HCSFAKE_SRC)/computecore.def $(BUILD)/win/libcommon.a
$(HCSFAKE_DIR)/computenetwork.dll: $(call HCSFAKE_OBJ,computenetwork $(HCSFAKE_COMMON)) \
    $(HCSFAKE_SRC)/computenetwork.def $(BUILD)/win/libcommon.a
$(HCSFAKE_DIR)/virtdisk.dll: $(call HCSFAKE_OBJ,virtdisk $(HCSFAKE_COMMON)) \
    $(HCSFAKE_SRC)/virtdisk.def $(BUILD)/win/libcommon.a
$(HCSFAKE_DLLS):
	@echo "  WINDLL $@"
	$(Q)$(WIN_CC) $(HCSFAKE_LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.def,$^) $(HCSFAKE_LIBS)

$(HCSFAKE_TEST): $(call HCSFAKE_OBJ,test_fakes) $(BUILD)/win/libtest.a $(BUILD)/win/libcommon.a
	@echo "  WINLD $@"
	$(Q)$(WIN_CC) -static -o $@ $^ -L$(WIN_PREFIX)/lib -lcmocka $(WIN_LIBS)

# The test finds the DLLs beside itself and gives its child processes virtdisk=n.
test-hcs-fake: $(HCSFAKE_DLLS) $(HCSFAKE_TEST)
	BUILD=$(BUILD) scripts/test/run-tests.sh wine $(HCSFAKE_TEST)

-include $(wildcard $(HCSFAKE_DIR)/obj/*.d)

.DEFAULT_GOAL := $(HCSFAKE_SAVED_GOAL)
