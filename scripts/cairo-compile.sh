#!/usr/bin/env bash
# Compiles Cairo 0 sources in proof mode with cairo-lang from PyPI, installed once into
# .venv-cairo at the repository root (or $CAIRO_VENV). Each X.cairo becomes X.json beside it.
#   scripts/cairo-compile.sh [--no-proof-mode] path/to/a.cairo [more.cairo ...]
# --no-proof-mode exists for test fixtures that must be refused.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CAIRO_VENV:-$ROOT/.venv-cairo}"
CAIRO_LANG_VERSION=0.14.0.1

mode=--proof_mode
if [ "${1:-}" = --no-proof-mode ]; then
    mode=
    shift
fi
if [ $# -eq 0 ]; then
    echo "usage: $0 [--no-proof-mode] FILE.cairo [FILE.cairo ...]" >&2
    exit 2
fi
if [ ! -x "$VENV/bin/cairo-compile" ]; then
    echo "installing cairo-lang $CAIRO_LANG_VERSION into $VENV (once)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "cairo-lang==$CAIRO_LANG_VERSION"
fi
# The debug info is kept: with it, a failed run names the source line (`guest.cairo:12:5`). Each
# file is compiled from its own directory and the library's paths are cut at `starkware/`, so the
# JSON names no directory of this machine.
for source in "$@"; do
    dir="$(dirname "$source")"
    name="$(basename "$source")"
    output="${name%.cairo}.json"
    (cd "$dir" && "$VENV/bin/cairo-compile" "$name" --output "$output" $mode)
    "$VENV/bin/python3" - "$dir/$output" <<'PY'
import json, sys
path = sys.argv[1]
with open(path) as f:
    program = json.load(f)
for location in (program.get("debug_info") or {}).get("instruction_locations", {}).values():
    for place in [location["inst"]] + [hint["location"] for hint in location.get("hints", [])]:
        while place:
            name = place["input_file"]["filename"]
            place["input_file"]["filename"] = name[name.find("starkware/"):] if "starkware/" in name else name
            place = (place.get("parent_location") or [None])[0]
with open(path, "w") as f:
    json.dump(program, f, indent=4)
    f.write("\n")
PY
    echo "compiled $source -> $dir/$output" >&2
done
