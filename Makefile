# civgrid: one non-recursive GNU Makefile (see docs/BUILD.md).
#
#   make               build build/civgridd and build/civgrid (gcc, -Werror)
#   make SANITIZE=1    the same with clang + ASan + UBSan into build/asan/
#   make run           install what is missing, build, create the database, serve :8080
#   make test          every test: unit (gcc and sanitizer builds), API, browser
#   make lint          clang-format check and the house rules of tools/checksrc.sh
#   make test-resilience   kill -9 and overload tests against build/civgridd (not in make test)
#   make fuzz          libFuzzer harnesses of tests/fuzz/ for FUZZ_SECONDS each (tests/fuzz/fuzz.mk)
#   make V=1           show the commands

ifeq ($(SANITIZE),1)
CC := clang
BUILD := build/asan
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDOPT := -fsanitize=address,undefined
else
CC ?= gcc
BUILD := build
OPT := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
LDOPT := -pie -Wl,-z,relro,-z,now
endif
ifeq ($(origin CC),default)
CC := gcc
endif

PKGS := libmicrohttpd jansson sqlite3 geos libsodium libcrypto gdlib
WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
        -Wpointer-arith -Wwrite-strings -Wvla -Wformat=2 -Wno-format-nonliteral \
        -Wundef -Wold-style-definition -fno-common
CFLAGS := -std=c11 $(OPT) $(WARN) -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LDLIBS := $(LDLIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRC := $(wildcard src/base/*.c src/db/*.c src/http/*.c src/domain/*/*.c src/api/*.c) \
           src/app/config.c src/app/routes.c src/app/gate.c src/app/setup.c
MIGRATIONS := $(sort $(wildcard src/db/migrations/*.sql))
DEMO_DATA := cg_demo_zhongshan_outline=data/geo/zhongshan-442000.geojson \
             cg_demo_dongguan_outline=data/geo/dongguan-441900.geojson \
             cg_demo_towns_csv=data/divisions/towns-dongguan-zhongshan.csv \
             cg_catalogue_urban_cjt214_csv=data/catalogue/urban-cjt214.csv \
             cg_catalogue_urban_gbt47678_csv=data/catalogue/urban-gbt47678.csv \
             cg_catalogue_social_csv=data/catalogue/social.csv \
             cg_catalogue_hotline_csv=data/catalogue/hotline.csv
GEN_SRC := $(BUILD)/gen/migrations.c $(BUILD)/gen/demo_data.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/migrations.o \
           $(BUILD)/obj/gen/demo_data.o
SERVER_OBJ := $(BUILD)/obj/src/app/server_main.o
CLI_SRC := $(wildcard src/cli/*.c)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/*/*_test.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

CIVGRIDD := $(BUILD)/civgridd
CIVGRID := $(BUILD)/civgrid

.PHONY: all deps run test test-unit test-api test-build lint clean bench
all: $(CIVGRIDD) $(CIVGRID)

$(BUILD)/gen/migrations.c: $(MIGRATIONS) tools/embed-sql.sh
	@mkdir -p $(@D)
	$(Q)tools/embed-sql.sh $@ $(MIGRATIONS)

$(BUILD)/gen/demo_data.c: $(wildcard data/geo/*.geojson data/divisions/*.csv data/catalogue/*.csv) \
                          tools/embed-data.sh
	@mkdir -p $(@D)
	$(Q)tools/embed-data.sh $@ $(DEMO_DATA)

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libcivgrid.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(CIVGRIDD): $(SERVER_OBJ) $(BUILD)/libcivgrid.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(OPT) $(LDOPT) -o $@ $^ $(LDLIBS)

$(CIVGRID): $(CLI_OBJ) $(BUILD)/libcivgrid.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(OPT) $(LDOPT) -o $@ $^ $(LDLIBS)

# Unit tests include the .c they test when they need its static functions (h2o's habit).
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libcivgrid.a
	@mkdir -p $(@D)
	@echo "  TEST-CC $<"
	$(Q)$(CC) $(CFLAGS) -Itests/unit -MMD -MP -MF $@.d $(LDOPT) -o $@ $< $(BUILD)/libcivgrid.a $(TEST_LDLIBS)

test-build: $(CIVGRIDD) $(CIVGRID) $(UNIT_BIN)

# ---- the two commands of README.md -------------------------------------------------------

deps:
	$(Q)tools/deps.sh

DB ?= civgrid.db
run: deps
	$(Q)$(MAKE) --no-print-directory all web-vendor
	$(Q)test -f $(DB) || { $(CIVGRID) --db $(DB) init && \
		$(CIVGRID) --db $(DB) demo --city zhongshan --events 150 && \
		$(CIVGRID) --db $(DB) user demo --out demo-accounts.txt >/dev/null; }
	@echo "demo accounts (role, login, password, scope), kept in demo-accounts.txt:"
	@cat demo-accounts.txt 2>/dev/null || echo "(demo-accounts.txt is gone: civgrid user demo makes new ones)"
	@echo "administrators set up a second factor (TOTP) at their first sign-in"
	@echo "civgrid is starting on http://127.0.0.1:8080 (Ctrl-C stops it)"
	$(Q)exec $(CIVGRIDD) --db $(DB) --web-root web/public

test: deps
	$(Q)$(MAKE) --no-print-directory test-build web-vendor
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test-build
	$(Q)tools/run-tests.sh

test-unit: test-build
	$(Q)SUITES=unit tools/run-tests.sh

test-api: test-build
	$(Q)SUITES=api CIVGRIDD=$(CIVGRIDD) CIVGRID=$(CIVGRID) tools/run-tests.sh

.PHONY: test-resilience
test-resilience: $(CIVGRIDD) $(CIVGRID)
	$(Q)CIVGRIDD=$(CIVGRIDD) CIVGRID=$(CIVGRID) node --test tests/resilience/

lint:
	$(Q)tools/checksrc.sh
	$(Q)clang-format --dry-run -Werror $(LIB_SRC) $(CLI_SRC) src/app/server_main.c \
		$(wildcard src/*/*.h src/domain/*/*.h)

clean:
	rm -rf build

include tests/bench/bench.mk
include web/web.mk
include tests/fuzz/fuzz.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
