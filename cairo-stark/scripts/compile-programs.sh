#!/usr/bin/env bash
# Recompiles the Cairo 0 corpus (tests/programs) and the guest template in proof mode.
#
# Uses cairo-compile from $CAIRO_VENV (default: /work/.venv-cairo if present, else
# ./.venv-cairo), installing cairo-lang 0.14.0.1 from PyPI into it when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
default_venv=/work/.venv-cairo
[ -x "$default_venv/bin/cairo-compile" ] || default_venv="$here/.venv-cairo"
venv="${CAIRO_VENV:-$default_venv}"

if [ ! -x "$venv/bin/cairo-compile" ]; then
    echo "installing cairo-lang 0.14.0.1 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "cairo-lang==0.14.0.1"
fi

compile() {
    local src="$1"
    shift
    local out="${src%.cairo}.json"
    "$venv/bin/cairo-compile" "$src" --output "$out" "$@"
    echo "compiled $(realpath --relative-to="$here" "$out")"
}

for src in "$here"/tests/programs/*.cairo; do
    compile "$src" --proof_mode
done
# Programs the executor must refuse or stop: a failing assert, an endless loop, and one
# compiled without --proof_mode on purpose.
compile "$here/tests/fixtures/fails.cairo" --proof_mode
compile "$here/tests/fixtures/forever.cairo" --proof_mode
compile "$here/tests/fixtures/not_proof_mode.cairo"
compile "$here/guest-template/guest.cairo" --proof_mode
