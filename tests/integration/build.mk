# Test drivers the integration tests run, built with the rest: make tests
DP_TEST_BINS := $(O)/tests/kvmmt-dpdump $(O)/tests/kvmmt-dptestrun \
	$(O)/tests/kvmmt-iterslots

all: $(DP_TEST_BINS)
tests: $(DP_TEST_BINS)

$(O)/tests/integration/%.o: tests/integration/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(O)/tests/kvmmt-dpdump: $(O)/tests/integration/datapath-dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(O)/tests/kvmmt-dptestrun: $(O)/tests/integration/datapath-testrun.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(O)/tests/kvmmt-iterslots: $(O)/tests/integration/iter-slots.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# policyd-* glue: a NOTIFY_SOCKET listener and a QMP client on user/lib/qmp.c
POLICYD_TEST_BINS := $(O)/tests/notify-listen $(O)/tests/qmp-call

all: $(POLICYD_TEST_BINS)
tests: $(POLICYD_TEST_BINS)

$(O)/tests/notify-listen: $(O)/tests/integration/notify-listen.o
	$(CC) $(LDFLAGS) -o $@ $<

$(O)/tests/qmp-call: $(O)/tests/integration/qmp-call.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# zap-causes: a VM whose memory is taken away in known amounts
ZAP_TEST_BINS := $(O)/tests/kvmmt-zapvmm

all: $(ZAP_TEST_BINS)
tests: $(ZAP_TEST_BINS)

$(O)/tests/kvmmt-zapvmm: $(O)/tests/integration/zap-vmm.o
	$(CC) $(LDFLAGS) -o $@ $<

# host-side mappings: a VM whose kvmclock page the host kernel maps
GPC_TEST_BINS := $(O)/tests/kvmmt-gpcvmm

all: $(GPC_TEST_BINS)
tests: $(GPC_TEST_BINS)

$(O)/tests/kvmmt-gpcvmm: $(O)/tests/integration/gpc-vmm.o
	$(CC) $(LDFLAGS) -o $@ $<
