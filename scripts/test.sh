#!/usr/bin/env bash
# The project's test command: brings up MariaDB and the S3-compatible server, then runs every
# test of the workspace (the prover's crates are built optimized even in the test profile).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/services.sh
cargo test --workspace --locked "$@"
