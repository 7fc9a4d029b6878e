#!/usr/bin/env bash
# What building the workspace needs beyond a Rust toolchain: the MariaDB client library that
# diesel's MySQL backend links against, and pkg-config to find it. Installs them from Debian's
# packages when missing. Sourced by services.sh, run by the demo (xtask); runnable on its own.
set -euo pipefail

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    if [ -z "${APT_UPDATED:-}" ]; then
        as_root apt-get update -qq >&2
        APT_UPDATED=1
    fi
    say "installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >&2
}

ensure_build_deps() {
    local missing=()
    for pkg in libmariadb-dev pkg-config; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

ensure_build_deps
