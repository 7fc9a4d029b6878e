#!/usr/bin/env bash
# Renders imgs/system.dot to system.svg and system.png (needs Graphviz: apt-get install graphviz).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dot >/dev/null || { echo "render.sh: Graphviz's dot is missing (apt-get install graphviz)" >&2; exit 1; }
dot -Tsvg system.dot -o system.svg
dot -Tpng -Gdpi=110 system.dot -o system.png
echo "rendered imgs/system.svg and imgs/system.png"
