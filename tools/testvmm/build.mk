# kvmmt-testvmm prints its --json report through json-c.
$(TESTVMM): LDFLAGS += -Wl,--push-state,--no-as-needed -ljson-c -Wl,--pop-state
