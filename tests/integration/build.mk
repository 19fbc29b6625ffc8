# Test drivers the integration tests run, built with the rest: make tests
DPDUMP	:= $(O)/tests/kvmmt-dpdump

all: $(DPDUMP)
tests: $(DPDUMP)

$(O)/tests/integration/%.o: tests/integration/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(DPDUMP): $(O)/tests/integration/datapath-dump.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)
