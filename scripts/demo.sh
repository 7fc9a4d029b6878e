#!/usr/bin/env bash
# `make demo`: the whole system end to end (xtask/src/main.rs); `--keep` leaves the server running.
cd "$(dirname "${BASH_SOURCE[0]}")/.." && exec cargo run --quiet --release --locked -p xtask --bin demo -- "$@"
