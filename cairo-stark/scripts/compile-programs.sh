#!/usr/bin/env bash
# Recompiles the Cairo 0 corpus (tests/programs), the test fixtures and the guest template.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
compile="$here/../scripts/cairo-compile.sh"

"$compile" "$here"/tests/programs/*.cairo "$here/guest-template/guest.cairo"
# Programs the executor must refuse or stop: a failing assert and an endless loop (both in proof
# mode), and one compiled without --proof_mode on purpose.
"$compile" "$here/tests/fixtures/fails.cairo" "$here/tests/fixtures/forever.cairo"
"$compile" --no-proof-mode "$here/tests/fixtures/not_proof_mode.cairo"
