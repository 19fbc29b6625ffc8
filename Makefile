# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# kvmmt: one Makefile for the BPF objects, the library, the programs and the tests.
#
#   make                 build everything into build/
#   make SAN=1           the same with ASan+UBSan, into build-san/
#   make check           install test dependencies, build with SAN=1, run all tests
#   make demo            install dependencies, build, start test VMs, run kvmmt-top
#   make bench           run tools/bench (measured tables)
#   make install         install programs, man pages, the systemd unit and the
#                        Prometheus rules and Grafana dashboard (contrib/prometheus)

SAN	?= 0
ifeq ($(SAN),1)
O	?= build-san
else
O	?= build
endif
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
PREFIX	?= /usr/local
DESTDIR	?=

ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION	:= $(shell git describe --always --dirty 2>/dev/null || echo 0.1)

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP
ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
endif
INCLUDES := -I$(O) -Ibpf -Iuser/lib
LDLIBS	:= -lbpf -lelf -lz -lzstd -ljson-c -lncursesw -lsystemd -lm -lpthread

BPF_CFLAGS := -target bpf -g -O2 -Wall -Werror -D__TARGET_ARCH_$(ARCH) -Ibpf -I$(O)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(O)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS	 := $(patsubst bpf/%.bpf.c,$(O)/%.skel.h,$(BPF_SRCS))

LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(LIB_SRCS))
LIB	 := $(O)/libkvmmt.a

# Every directory under user/progs/ is one program of that name.
PROGS	 := $(notdir $(patsubst %/,%,$(dir $(wildcard user/progs/*/*.c))))
PROGS	 := $(sort $(PROGS))
PROG_BINS := $(addprefix $(O)/bin/,$(PROGS))

# tools/testvmm is the test VMM, kvmmt-testvmm.
TESTVMM	 := $(O)/bin/kvmmt-testvmm

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRCS))

# systemd units name the programs where this PREFIX installs them
UNITS	 := $(patsubst user/systemd/%.in,$(O)/systemd/%,$(wildcard user/systemd/*.in))

all: $(PROG_BINS) $(TESTVMM) $(UNIT_BINS) $(UNITS)

.PHONY: all check demo bench install clean deps tests units

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) | $(O)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(O)/user/lib/%.o: user/lib/%.c $(SKELS) | $(O)/user/lib
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(AR) rcs $@ $^

# The version is a real dependency: $(O)/version.h changes only when it
# does, and what includes it is rebuilt then.
VERSION_H := $(O)/version.h
$(VERSION_H): FORCE
	@mkdir -p $(dir $@)
	@echo '#define KVMMT_VERSION "$(VERSION)"' >$@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@
FORCE:
.PHONY: FORCE

$(O)/user/progs/%.o: user/progs/%.c $(SKELS) | $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -c $< -o $@

# Keep objects and skeletons: they are intermediate files of the link rules.
.SECONDARY:

.SECONDEXPANSION:
# No % inside: a pattern rule replaces it with the stem before expansion.
$(O)/bin/%: $$(addprefix $(O)/,$$(addsuffix .o,$$(basename $$(wildcard user/progs/$$*/*.c)))) $(LIB) | $(O)/bin
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(O)/tools/testvmm/%.o: tools/testvmm/%.c | $(VERSION_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -Itools/testvmm -c $< -o $@

$(TESTVMM): $(patsubst %.c,$(O)/%.o,$(wildcard tools/testvmm/*.c)) | $(O)/bin
	$(CC) $(LDFLAGS) -o $@ $^ -ljson-c -lpthread

$(O)/tests/%.o: tests/unit/%.c $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(INCLUDES) -Itests/unit -c $< -o $@

$(O)/tests/test_%: $(O)/tests/test_%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) -lcriterion $(LDLIBS)

$(O)/bpf $(O)/user/lib $(O)/bin:
	@mkdir -p $@

# Extra build rules owned by a subdirectory (fuzz targets, bench helpers).
-include $(wildcard tools/*/build.mk tests/*/build.mk)

deps:
	tools/install-deps test

check:
	tools/check

demo:
	tools/demo build

bench: all
	tools/bench/run $(O)

MANPAGES := $(filter-out %kvmmt-testvmm.8,$(wildcard user/man/*.[1-8]))

$(O)/systemd/%: user/systemd/%.in Makefile
	@mkdir -p $(dir $@)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' $< >$@.tmp && mv $@.tmp $@

units: $(UNITS)

install: all $(UNITS)
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(PROG_BINS) $(DESTDIR)$(PREFIX)/sbin/
	for m in $(MANPAGES); do \
		d=$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}; \
		install -d $$d && install -m 0644 $$m $$d/ || exit 1; \
	done
	$(if $(wildcard user/man/*.5),install -d $(DESTDIR)$(PREFIX)/share/man/man5 && \
		install -m 0644 $(wildcard user/man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5/)
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 $(UNITS) $(DESTDIR)/lib/systemd/system/
	install -d $(DESTDIR)$(PREFIX)/share/kvmmt/prometheus
	install -m 0644 contrib/prometheus/* $(DESTDIR)$(PREFIX)/share/kvmmt/prometheus/

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
