#!/usr/bin/env bash
# Splits the range [FIRST, LAST) of starting values into input groups of WIDTH values each:
#   example-program/make-inputs.sh [FIRST [LAST [WIDTH]]]     (defaults: 1 257 16)
# writes example-program/inputs/collatz-A-B.csv holding "a,b" for each job.
set -euo pipefail
first="${1:-1}"; last="${2:-257}"; width="${3:-16}"
if ! [ "$first" -ge 1 ] 2>/dev/null || ! [ "$last" -gt "$first" ] 2>/dev/null || ! [ "$width" -ge 1 ] 2>/dev/null; then
    echo "usage: $0 [FIRST>=1 [LAST>FIRST [WIDTH>=1]]]" >&2
    exit 2
fi
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/inputs"
rm -rf "$dir" && mkdir -p "$dir"
for ((a = first; a < last; a += width)); do
    b=$((a + width < last ? a + width : last))
    printf '%d,%d\n' "$a" "$b" > "$dir/$(printf 'collatz-%06d-%06d.csv' "$a" "$b")"
done
echo "wrote $(ls "$dir" | wc -l) input groups to $dir" >&2
