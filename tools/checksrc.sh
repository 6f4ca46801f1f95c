#!/bin/bash
# checksrc.sh: the house rules a compiler does not check (curl's checksrc).
#   - SQL lives only in src/db/ and in *_store.c files;
#   - layers: src/base includes nothing above it; src/domain never sees HTTP;
#   - every .c and .h file opens with a comment saying what it is for;
#   - no tabs, lines of at most 100 columns.
# Prints each violation as file:line: message and exits 1 if there was any.
set -u
cd "$(dirname "$0")/.." || exit 2
bad=0
report() { echo "$1"; bad=1; }

while IFS= read -r hit; do
    report "$hit: SQL outside a *_store.c file"
done < <(grep -nE '"(SELECT|INSERT INTO|UPDATE [a-z_]+ SET|DELETE FROM|CREATE TABLE)' \
    $(find src -name '*.c' ! -name '*_store.c' ! -path 'src/db/*') 2>/dev/null)

while IFS= read -r hit; do
    report "$hit: src/base must not include higher layers"
done < <(grep -nE '#include "(db|http|domain|api|app|cli)/' src/base/*.[ch])

while IFS= read -r hit; do
    report "$hit: the domain must not know about HTTP"
done < <(grep -nE '#include ("http/|"api/|<microhttpd)' $(find src/domain -name '*.[ch]'))

for f in $(find src tests/unit -name '*.[ch]'); do
    head -c 2 "$f" | grep -q '^/\*' || report "$f:1: file does not open with a comment"
    grep -nP '\t' "$f" | head -3 | while IFS= read -r hit; do echo "$f:${hit%%:*}: tab"; done
    perl -CSD -ne 'print "$ARGV:$.: line longer than 100 columns\n" if length($_) > 101' "$f"
done | { grep . && exit 1 || exit 0; } || bad=1

if [ "$bad" -eq 0 ]; then
    echo "checksrc: ok"
fi
exit "$bad"
