# Test drivers the integration tests run, built with the rest: make tests
DP_TEST_BINS := $(O)/tests/kvmmt-dpdump $(O)/tests/kvmmt-dptestrun

all: $(DP_TEST_BINS)
tests: $(DP_TEST_BINS)

$(O)/tests/integration/%.o: tests/integration/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(O)/tests/kvmmt-dpdump: $(O)/tests/integration/datapath-dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(O)/tests/kvmmt-dptestrun: $(O)/tests/integration/datapath-testrun.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)
