# tests/bench/bench.mk: `make bench`, included from the top Makefile (see docs/BENCHMARKS.md).
#
#   bench        build the bench programs and the CLI, then tests/bench/run.sh: data set
#                (cached by seed under build/bench/), every benchmark, the PostGIS reference,
#                the table, build/bench/results.json
#   bench-build  only build build/bench/bin/*_bench
#   bench-clean  remove build/bench/ (cached data sets included)
#
# A benchmark is a program tests/bench/NAME_bench.c (built here with the release flags of
# the Makefile against libcivgrid.a, into build/bench/bin/NAME_bench) that prints JSON
# lines, plus one step in tests/bench/run.sh. Settings go through the environment:
#   make bench BENCH_RUNS=5 BENCH_SEED=2 BENCH_POINTS=1000000 BENCH_ONLY="locate fsync"
#   BENCH_POSTGIS=0 (no reference)  BENCH_FRESH=1 (regenerate the data set)
#   BENCH_HTTP_SECONDS=30 (wrk time of the intake benchmark)  BENCH_YEAR_EVENTS=1700000
#   BENCH_BINDIR=build/NAME/bench (where the programs go; another build's, e.g. with
#   BUILD=build/NAME, so that two engineers do not overwrite each other's)

BENCH_BINDIR ?= build/bench/bin
BENCH_SRC := $(sort $(wildcard tests/bench/*_bench.c))
BENCH_PROGS := $(BENCH_SRC:tests/bench/%.c=$(BENCH_BINDIR)/%)

.PHONY: bench-build bench-clean

ifeq ($(SANITIZE),1)
bench bench-build:
	@echo "make bench measures the release build: run it without SANITIZE=1" >&2; exit 2
else
$(BENCH_BINDIR)/%: tests/bench/%.c $(BUILD)/libcivgrid.a
	@mkdir -p $(@D)
	@echo "  BENCH-CC $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -MF $@.d $(LDOPT) -o $@ $< $(BUILD)/libcivgrid.a $(LDLIBS)

bench-build: $(BENCH_PROGS) $(CIVGRID) $(CIVGRIDD)

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)BENCH_CC="$(CC)" BENCH_CFLAGS="-std=c11 $(OPT)" BENCH_LDFLAGS="$(LDOPT)" \
		CIVGRID=$(CIVGRID) CIVGRIDD=$(CIVGRIDD) BENCH_BIN=$(BENCH_BINDIR) tests/bench/run.sh
endif

bench-clean:
	rm -rf build/bench
