#!/usr/bin/env bash
# Brings up what the tests talk to, on a fresh Debian machine or a warm one:
#   - the MariaDB client library diesel links against (libmariadb-dev),
#   - a MariaDB server on 127.0.0.1:3306 (root, empty password), installed and started if absent,
#   - an S3-compatible server (s3s-fs, checks SigV4) on 127.0.0.1:$S3_PORT, installed into .tools/,
#   - headless Chromium and chromedriver (Debian's chromium, chromium-driver) for the dashboard's
#     browser test.
# Source it (`. scripts/services.sh`) to get the TEST_* variables the test suites read.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
S3_PORT="${S3_PORT:-9100}"
S3S_VERSION=0.14.1

. "$ROOT/scripts/build-deps.sh"

mariadb_up() { mariadb-admin --host=127.0.0.1 --port=3306 --user=root ping >/dev/null 2>&1; }

ensure_mariadb() {
    if mariadb_up; then return; fi
    command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || apt_install mariadb-server mariadb-client
    say "starting MariaDB"
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 1 60); do mariadb_up && break; sleep 0.5; done
    mariadb_up || { say "MariaDB did not come up on 127.0.0.1:3306"; exit 1; }
    # A packaged install authenticates root by unix socket; the tests connect over TCP.
    as_root mariadb -uroot -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;" 2>/dev/null || true
}

s3_up() { (exec 3<>"/dev/tcp/127.0.0.1/$S3_PORT") 2>/dev/null; }

ensure_s3() {
    local bin="$ROOT/.tools/bin/s3s-fs"
    if s3_up; then return; fi
    if [ ! -x "$bin" ]; then
        say "building the S3-compatible test server (s3s-fs $S3S_VERSION, ~2 min, once)"
        cargo install --quiet s3s-fs --version "$S3S_VERSION" --features binary --locked --root "$ROOT/.tools" >&2
    fi
    mkdir -p "$ROOT/.data/s3"
    say "starting s3s-fs on 127.0.0.1:$S3_PORT"
    nohup "$bin" --host 127.0.0.1 --port "$S3_PORT" \
        --access-key "$TEST_S3_ACCESS_KEY" --secret-key "$TEST_S3_SECRET_KEY" \
        "$ROOT/.data/s3" >"$ROOT/.data/s3s-fs.log" 2>&1 &
    for _ in $(seq 1 50); do s3_up && break; sleep 0.2; done
    s3_up || { say "s3s-fs did not come up; see .data/s3s-fs.log"; exit 1; }
}

ensure_browser() {
    command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 && return
    apt_install chromium chromium-driver
}

export TEST_MYSQL_URL="${TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
export TEST_S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
export TEST_S3_REGION="us-east-1"
export TEST_S3_ACCESS_KEY="${TEST_S3_ACCESS_KEY:-test-access-key}"
export TEST_S3_SECRET_KEY="${TEST_S3_SECRET_KEY:-test-secret-key}"

ensure_mariadb
ensure_s3
ensure_browser
say "ready: MariaDB at $TEST_MYSQL_URL, S3 at $TEST_S3_ENDPOINT"
