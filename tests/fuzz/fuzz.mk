# tests/fuzz/fuzz.mk: `make fuzz`, included from the top Makefile (see docs/BUILD.md).
#
#   fuzz          build every harness, then run each for FUZZ_SECONDS (default 30) on its
#                 corpus; fails when one crashes (tests/fuzz/run.sh)
#   fuzz-build    only build build/fuzz/bin/fuzz_*
#   fuzz-clean    remove build/fuzz/ (the corpus grown by runs, build/fuzz/corpus/, too)
#
# A harness is tests/fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput(), with a committed
# seed corpus tests/fuzz/corpus/NAME/. Everything here is built with clang 14 into
# build/fuzz/, apart from the normal and SANITIZE=1 builds: the library with the
# sanitizers and libFuzzer's coverage (-fsanitize=fuzzer-no-link,address,undefined),
# each harness linked with -fsanitize=fuzzer, which brings main(). Settings:
#   make fuzz FUZZ_SECONDS=300 FUZZ_ONLY="geojson time"
#   FUZZ_ARGS="-max_len=65536"  (more libFuzzer flags)

FUZZ_DIR := build/fuzz
FUZZ_CC := clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OPT := -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_CFLAGS := -std=c11 $(FUZZ_OPT) -fsanitize=fuzzer-no-link $(WARN) -Isrc -I$(FUZZ_DIR)/gen \
               $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_DIR)/bin/%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/gen/migrations.o \
                $(FUZZ_DIR)/obj/gen/demo_data.o
FUZZ_SECONDS ?= 30

.PHONY: fuzz fuzz-build fuzz-clean

$(FUZZ_DIR)/gen/migrations.c: $(MIGRATIONS) tools/embed-sql.sh
	@mkdir -p $(@D)
	$(Q)tools/embed-sql.sh $@ $(MIGRATIONS)

$(FUZZ_DIR)/gen/demo_data.c: $(wildcard data/geo/*.geojson data/divisions/*.csv data/catalogue/*.csv) \
                             tools/embed-data.sh
	@mkdir -p $(@D)
	$(Q)tools/embed-data.sh $@ $(DEMO_DATA)

$(FUZZ_DIR)/obj/gen/%.o: $(FUZZ_DIR)/gen/%.c
	@mkdir -p $(@D)
	@echo "  FUZZ-CC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZ-CC $<"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libcivgrid.a: $(FUZZ_LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/bin/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libcivgrid.a
	@mkdir -p $(@D)
	@echo "  FUZZ-LD $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d -o $@ $< \
		$(FUZZ_DIR)/libcivgrid.a $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BIN)

fuzz-clean:
	rm -rf $(FUZZ_DIR)
