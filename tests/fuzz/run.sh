#!/bin/bash
# run.sh: runs each libFuzzer harness given (build/fuzz/bin/fuzz_NAME) for
# FUZZ_SECONDS on its committed seed corpus tests/fuzz/corpus/NAME/ (every file
# of which also runs as a regression input first) plus the corpus grown by
# earlier runs, build/fuzz/corpus/NAME/, where new inputs go. A crash, leak,
# sanitizer report or timeout leaves its input in build/fuzz/artifacts/NAME/
# and fails the run. Ends with one line per harness and "N passed, N failed".
#
#   FUZZ_SECONDS=30   time per harness      FUZZ_ONLY="geojson time"   a subset
#   FUZZ_ARGS=...     more libFuzzer flags
set -u
cd "$(dirname "$0")/../.." || exit 2

seconds=${FUZZ_SECONDS:-30}
pass=0
fail=0
summary=()
for bin in "$@"; do
    name=$(basename "$bin")
    name=${name#fuzz_}
    if [ -n "${FUZZ_ONLY:-}" ] && ! [[ " $FUZZ_ONLY " == *" $name "* ]]; then
        continue
    fi
    seeds=tests/fuzz/corpus/$name
    work=build/fuzz/corpus/$name
    art=build/fuzz/artifacts/$name
    log=build/fuzz/logs/$name.log
    mkdir -p "$work" "$art" "$(dirname "$log")"
    if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
        echo "fuzz $name: no seed corpus in $seeds"
        fail=$((fail + 1))
        continue
    fi
    echo "fuzz $name: ${seconds}s, seeds $seeds, log $log"
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
        "$bin" -max_total_time="$seconds" -timeout=20 -print_final_stats=1 \
        -artifact_prefix="$art/" ${FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\)/\1/p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1)
    line=$(printf '  %-14s %10s runs, %s, %s' "$name" "${runs:-?}" "${cov:-cov: ?}" "${corp:-corp: ?}")
    if [ "$rc" -eq 0 ]; then
        pass=$((pass + 1))
        summary+=("$line")
    else
        fail=$((fail + 1))
        summary+=("$line  FAILED (exit $rc; input in $art/)")
        echo "FAILED: fuzz $name (exit $rc), end of $log:"
        grep -v '^#[0-9]' "$log" | tail -60
    fi
done
echo
echo "civgrid fuzz summary (${seconds}s each):"
printf '%s\n' "${summary[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
