# kvmmt-bench: the benchmark driver and its empty-program floor.
# Included by the top Makefile; paths are relative to the source root.

BENCH_BIN	:= $(O)/bin/kvmmt-bench
BENCH_SRCS	:= $(wildcard tools/bench/*.c)
BENCH_C_SRCS	:= $(filter-out %.bpf.c,$(BENCH_SRCS))
BENCH_OBJS	:= $(patsubst %.c,$(O)/%.o,$(BENCH_C_SRCS))
BENCH_SKEL	:= $(O)/bench/empty.skel.h
# The empty programs need no kernel types, only the UAPI headers.
BENCH_BPF_CFLAGS = $(BPF_CFLAGS) -I/usr/include/$(shell $(CC) -dumpmachine)

all: $(BENCH_BIN)

$(O)/bench/empty.bpf.o: tools/bench/empty.bpf.c
	@mkdir -p $(dir $@)
	$(CLANG) $(BENCH_BPF_CFLAGS) -c $< -o $@

$(BENCH_SKEL): $(O)/bench/empty.bpf.o
	$(BPFTOOL) gen skeleton $< name empty_bpf > $@.tmp && mv $@.tmp $@

$(O)/tools/bench/%.o: tools/bench/%.c $(BENCH_SKEL) $(SKELS) | $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -I$(O)/bench -Itools/bench -c $< -o $@

$(BENCH_BIN): $(BENCH_OBJS) $(LIB) | $(O)/bin
	$(CC) $(LDFLAGS) -o $@ $(BENCH_OBJS) $(LIB) $(LDLIBS)
