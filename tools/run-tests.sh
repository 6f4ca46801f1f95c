#!/bin/bash
# run-tests.sh: runs civgrid's test suites and ends with one summary line,
# "N passed, N failed". Every unit-test binary runs in its own process, so a
# crash is one failure, not the end of the run. Exit status 0 only when
# nothing failed.
#
#   SUITES="lint unit unit-asan api web"   which suites (default: all of them)
set -u
cd "$(dirname "$0")/.." || exit 2

SUITES=${SUITES:-"lint unit unit-asan api web"}
total_pass=0
total_fail=0
summary=()
logdir=$(mktemp -d /tmp/civgrid-tests.XXXXXX)

record() { # suite passed failed
    summary+=("$(printf '  %-10s %4d passed, %d failed' "$1" "$2" "$3")")
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}

run_unit() { # suite build-dir
    local pass=0 fail=0
    for t in $(find "$2/tests" -type f -name '*_test' 2>/dev/null | sort); do
        local log="$logdir/$(echo "$t" | tr / _).log"
        timeout 300 "$t" >"$log" 2>&1
        local rc=$?
        local p f
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
        p=${p:-0}
        f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
            f=1 # crashed or timed out before its summary
        fi
        if [ "$f" -ne 0 ]; then
            echo "FAILED: $t (log below)"
            cat "$log"
        fi
        pass=$((pass + p))
        fail=$((fail + f))
    done
    if [ $((pass + fail)) -eq 0 ]; then
        echo "no unit tests found in $2/tests: run 'make test-build' first"
        fail=1
    fi
    echo "$1: $pass passed, $fail failed"
    record "$1" "$pass" "$fail"
}

run_node() { # suite dir env...
    local suite=$1 dir=$2
    shift 2
    local log="$logdir/$suite.log"
    env "$@" node --test --test-reporter=tap "$dir"/ >"$log" 2>&1
    local rc=$?
    local p f
    p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$log" | tail -1)
    f=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$log" | tail -1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    if [ "$f" -ne 0 ] || [ "$p" -eq 0 ]; then
        echo "FAILED: $suite (TAP output below)"
        cat "$log"
        [ "$f" -eq 0 ] && f=1
    fi
    echo "$suite: $p passed, $f failed"
    record "$suite" "$p" "$f"
}

run_lint() { # the house rules, the generated docs, the format: one check each
    local pass=0 fail=0 name
    local -a sources
    mapfile -t sources < <(find src tests/unit -name '*.[ch]' | sort)
    for name in checksrc api-doc clang-format; do
        case $name in
        checksrc) tools/checksrc.sh ;;
        api-doc) tools/gen-api-doc.sh --check ;;
        clang-format) clang-format --dry-run -Werror "${sources[@]}" ;;
        esac >"$logdir/lint.log" 2>&1
        if [ $? -eq 0 ]; then
            pass=$((pass + 1))
        else
            echo "FAILED: lint check '$name'"
            head -40 "$logdir/lint.log"
            fail=$((fail + 1))
        fi
    done
    echo "lint: $pass passed, $fail failed"
    record lint "$pass" "$fail"
}

for s in $SUITES; do
    case $s in
    lint) run_lint ;;
    unit) run_unit unit build ;;
    unit-asan) run_unit unit-asan build/asan ;;
    api) run_node api tests/api CIVGRIDD="${CIVGRIDD:-build/asan/civgridd}" \
        CIVGRID="${CIVGRID:-build/asan/civgrid}" \
        ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ;;
    api-release) run_node api-release tests/api CIVGRIDD=build/civgridd CIVGRID=build/civgrid ;;
    web) run_node web tests/web CIVGRIDD=build/civgridd ;;
    *) echo "unknown suite '$s'"; exit 2 ;;
    esac
done

rm -rf "$logdir"
echo
echo "civgrid test summary:"
printf '%s\n' "${summary[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
