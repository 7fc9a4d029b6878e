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
for source in "$@"; do
    output="${source%.cairo}.json"
    "$VENV/bin/cairo-compile" "$source" --output "$output" $mode --no_debug_info
    echo "compiled $source -> $output" >&2
done
