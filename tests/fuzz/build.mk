# libFuzzer target for the capture reader: $(O)/tests/fuzz_capture, run by
# tests/integration/capture-fuzz. Built only where clang's libFuzzer runtime
# is installed (libclang-rt-14-dev, in `tools/install-deps test`).
FUZZ_CC		?= clang
FUZZ_BIN	:= $(O)/tests/fuzz_capture
FUZZ_SRCS	:= tests/fuzz/fuzz_capture.c user/lib/capture.c user/lib/err.c
FUZZ_OK		:= $(shell echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' | \
		     $(FUZZ_CC) -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null && echo y)

ifeq ($(FUZZ_OK),y)
all: $(FUZZ_BIN)
endif

$(FUZZ_BIN): $(FUZZ_SRCS) user/lib/capture.h user/lib/err.h bpf/kvmmt.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Werror -Ibpf -Iuser/lib \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(FUZZ_SRCS) -o $@ -lz -lzstd

# A capture writer driver for event kinds this host cannot produce.
CAPSYNTH	:= $(O)/tests/kvmmt-capsynth

all: $(CAPSYNTH)

$(CAPSYNTH): tests/integration/capture-synth.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)
