#!/usr/bin/env bash
# The whole system in one command (`make demo`): builds the server and both clients, starts the
# server on its embedded default (SQLite + a local directory) in a fresh temporary directory on a
# free port, registers an organization, uploads the Collatz example program and its 16 input
# groups, lends this machine's CPUs to prove every group, verifies every proof locally with the
# organization's client, aggregates the results, checks the answer and prints a summary.
#
# The donor registers (`executor-client donor init`), so the summary shows its credit and rank.
#
# Nothing outside the temporary directory is read or written (no config files, no data of yours);
# the server is stopped on exit, also on Ctrl-C, unless `--keep` is given: then it keeps running
# (with its data in the temporary directory) and the script prints the dashboard's URL and how to
# stop it. Needs only cargo and the usual shell tools (grep, sed, awk, mktemp).
set -euo pipefail
KEEP=""
for arg in "$@"; do
    case "$arg" in
        --keep) KEEP=1 ;;
        -h | --help)
            echo "usage: scripts/demo.sh [--keep]   (--keep: leave the server running at the end)"
            exit 0
            ;;
        *)
            echo "unknown argument: $arg (usage: scripts/demo.sh [--keep])" >&2
            exit 2
            ;;
    esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

# The expected answer for [1, 257) (example-program/README.md).
EXPECTED_TOTAL=11515
EXPECTED_LONGEST=127
EXPECTED_START=231

step() { printf '\n==> %s\n' "$*"; }
info() { printf '    %s\n' "$*"; }
fail() {
    printf '\nDEMO FAILED: %s\n' "$*" >&2
    exit 1
}

started=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairo-demo.XXXXXX")
SERVER_PID=""
EXECUTOR_PID=""
cleanup() {
    local status=$?
    if [[ -n "$EXECUTOR_PID" ]] && kill -0 "$EXECUTOR_PID" 2>/dev/null; then
        # Two interrupts: the executor stops at once (its reservation simply times out).
        kill -INT "$EXECUTOR_PID" 2>/dev/null || true
        sleep 0.2
        kill -INT "$EXECUTOR_PID" 2>/dev/null || true
        wait "$EXECUTOR_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        printf '\n==> Stopping the server (pid %s)\n' "$SERVER_PID"
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $status -eq 0 && -n "$KEEP" ]]; then
        : # the kept server's data stays in $WORK
    elif [[ $status -eq 0 ]]; then
        rm -rf "$WORK"
    else
        printf 'The demo'"'"'s files (server log, client state) are kept in %s\n' "$WORK" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'printf "\ninterrupted\n" >&2; exit 130' INT TERM

# --- 1. Build -------------------------------------------------------------------------------
step "Building the server and both clients (release; the first build takes a few minutes)"
. "$ROOT/scripts/build-deps.sh"
cargo build --release --locked -p program-distributor -p executor-client -p uploader-client
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps --locked |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET_DIR/release"
for binary in program-distributor executor-client uploader-client; do
    [[ -x "$BIN/$binary" ]] || fail "$BIN/$binary was not built"
done
info "binaries in $BIN"
run_started=$SECONDS

# --- 2. Server ------------------------------------------------------------------------------
step "Starting the server (embedded SQLite + local directory in $WORK/server, free port)"
mkdir -p "$WORK/server"
echo '{}' >"$WORK/server/config.json"
# Only this demo's settings: no config file or database/storage variables of yours are used.
(
    cd "$WORK/server"
    exec env -u DATABASE_URL -u DOCKERIZED_DATABASE_URL -u FILES_STORAGE_CONNECTION_STRING \
        -u FILES_STORAGE_ARGUMENTS_SEPARATOR -u FILES_STORAGE_DIRECTORY -u S3_ENDPOINT \
        -u S3_FORCE_PATH_STYLE -u CONFIG_FILE -u SERVER_WORKERS \
        DATA_DIR="$WORK/server/data" SERVER_ADDRESS=127.0.0.1 SERVER_PORT=0 RUST_LOG=info \
        NO_COLOR=1 "$BIN/program-distributor" --config "$WORK/server/config.json"
) >"$WORK/server/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 300); do
    PORT=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server/server.log" |
        grep 'program-distributor listening' | grep -o 'port=[0-9]*' | head -n1 | cut -d= -f2 || true)
    [[ -n "$PORT" ]] && break
    kill -0 "$SERVER_PID" 2>/dev/null || {
        cat "$WORK/server/server.log" >&2
        fail "the server did not start (log above)"
    }
    sleep 0.1
done
[[ -n "$PORT" ]] || fail "the server did not say which port it listens on (see $WORK/server/server.log)"
URL="http://127.0.0.1:$PORT"
info "server $URL (pid $SERVER_PID, log $WORK/server/server.log)"

# --- 3. Organization --------------------------------------------------------------------------
RUN_ID="$(date +%s)-$$"
USERNAME="demo-$RUN_ID"
ORG_NAME="Collatz Demo $RUN_ID"
PASSWORD="demo password $RUN_ID"
mkdir -p "$WORK/uploader" "$WORK/executor"
printf '{"program_distributor_url": "%s"}\n' "$URL" >"$WORK/uploader/config.json"
printf '{"program_distributor_url": "%s"}\n' "$URL" >"$WORK/executor/config.json"
uploader() {
    (cd "$WORK/uploader" && exec "$BIN/uploader-client" --config "$WORK/uploader/config.json" \
        --state-dir "$WORK/uploader/state" "$@")
}
# The first number after "key": in a JSON text.
json_number() { grep -o "\"$1\": *[0-9]*" | head -n1 | grep -o '[0-9]*$'; }
json_string() { grep -o "\"$1\": *\"[^\"]*\"" | head -n1 | sed 's/.*"\([^"]*\)"$/\1/'; }

step "Registering the organization \"$ORG_NAME\" and logging in"
printf '%s\n' "$PASSWORD" | uploader register --username "$USERNAME" --name "$ORG_NAME" \
    --description "The make demo organization" --password-stdin
printf '%s\n' "$PASSWORD" | uploader login --username "$USERNAME" --password-stdin

# --- 4. Program and inputs ----------------------------------------------------------------------
step "Uploading the example program (example-program/collatz.json)"
PROGRAM_ID=$(uploader program upload "$ROOT/example-program/collatz.json" --name collatz \
    --description "Collatz stopping times over [1, 257)" --lock-timeout 600 --json |
    json_string program_id)
[[ -n "$PROGRAM_ID" ]] || fail "no program id from the upload"
info "program $PROGRAM_ID"

INPUT_FILES=("$ROOT"/example-program/inputs/*.csv)
GROUP_COUNT=${#INPUT_FILES[@]}
step "Uploading its $GROUP_COUNT input groups (example-program/inputs/)"
uploader inputs upload collatz "${INPUT_FILES[@]}"

# --- 5. Proving -----------------------------------------------------------------------------
# The donor's key lives in the demo's directory, not in your config directory.
export EXECUTOR_DONOR_FILE="$WORK/executor/donor.json"
executor() {
    (cd "$WORK/executor" && exec "$BIN/executor-client" --config "$WORK/executor/config.json" "$@")
}
DONOR_NAME="Demo Donor $RUN_ID"
step "Registering the donor \"$DONOR_NAME\" (executor-client donor init: a key, kept 0600)"
executor donor init --name "$DONOR_NAME"
CPUS=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)
status_json() { uploader program status collatz --json; }
proven_count() {
    local status proven confirmed
    status=$(status_json)
    proven=$(json_number proven <<<"$status")
    confirmed=$(json_number confirmed <<<"$status")
    echo $((${proven:-0} + ${confirmed:-0}))
}
for round in 1 2 3; do
    done_count=$(proven_count)
    [[ "$done_count" -ge "$GROUP_COUNT" ]] && break
    left=$((GROUP_COUNT - done_count))
    step "Proving: executor-client run --program $PROGRAM_ID --jobs $left --cpus $CPUS (round $round)"
    # In the background and waited for, so that Ctrl-C reaches the trap at once.
    # The donor's measured proving speed is kept in the demo's folder, not in the user's home.
    (cd "$WORK/executor" && XDG_CONFIG_HOME="$WORK/executor" exec "$BIN/executor-client" \
        --config "$WORK/executor/config.json" \
        run --program "$PROGRAM_ID" --jobs "$left" --cpus "$CPUS") &
    EXECUTOR_PID=$!
    if ! wait "$EXECUTOR_PID"; then
        info "the executor reported jobs that were not accepted; checking the status"
    fi
    EXECUTOR_PID=""
done
step "Program status"
uploader program status collatz
done_count=$(proven_count)
[[ "$done_count" -eq "$GROUP_COUNT" ]] || fail "only $done_count of $GROUP_COUNT input groups are proven"

# --- 6. Verify and aggregate ----------------------------------------------------------------------
step "Verifying every proof locally (uploader-client proofs verify: the organization's own program and inputs)"
VERIFY=$(uploader proofs verify collatz --json) || fail "proofs verify failed: $VERIFY"
VERIFIED=$(json_number verified <<<"$VERIFY")
[[ "$VERIFIED" -eq "$GROUP_COUNT" ]] || fail "verified $VERIFIED proofs, expected $GROUP_COUNT: $VERIFY"
info "$VERIFIED proofs verified, 0 rejected"

step "Aggregating the results (uploader-client results aggregate: sum of column 3, max of column 4)"
AGGREGATE=$(uploader results aggregate collatz --column 3:sum --column 4:max)
printf '%s\n' "$AGGREGATE" | sed 's/^/    /'
TOTAL=$(grep '^column 3 sum:' <<<"$AGGREGATE" | grep -o '[0-9]*$')
LONGEST=$(grep '^column 4 max:' <<<"$AGGREGATE" | grep -o '[0-9]*$')
# The start of the longest chain: output 5 of the group holding the maximum of output 4 (the
# smallest start on ties). Also checks that the groups' [a, b) ranges tile [1, 257).
RESULTS_CSV=$(uploader results show collatz --csv)
read -r START COVERED LOW HIGH < <(awk -F, 'NR > 1 {
        a = $(NF-4); b = $(NF-3); longest = $(NF-1); start = $NF
        if (n == 0 || longest + 0 > best || (longest + 0 == best && start + 0 < at)) {
            best = longest + 0; at = start + 0
        }
        covered += b - a
        if (n == 0 || a + 0 < low) low = a + 0
        if (n == 0 || b + 0 > high) high = b + 0
        n++
    }
    END { print at, covered, low, high }' <<<"$RESULTS_CSV")
STEPS=$(grep -o '"steps": *[0-9]*' "$WORK/uploader/state/results/$PROGRAM_ID.jsonl" |
    grep -o '[0-9]*$' | awk '{ s += $1 } END { print s + 0 }')

# What the server's own verification of each upload cost (from its log).
SERVER_CHECKS=$(sed 's/\x1b\[[0-9;]*m//g' "$WORK/server/server.log" | grep 'proof verified' |
    grep -o 'millis=[0-9]*' | cut -d= -f2 |
    awk '{ s += $1; n++; if ($1 > m) m = $1 }
        END { if (n) printf "%d uploads, %.0f ms on average, %d ms at most", n, s / n, m; else print "none logged" }')

# The donor's standing, as the server credits it (the first "steps" and "jobs" are the totals).
DONOR=$(executor donor status --json) || fail "donor status failed: $DONOR"
DONOR_STEPS=$(json_number steps <<<"$DONOR")
DONOR_JOBS=$(json_number jobs <<<"$DONOR")
DONOR_RANK=$(json_number rank <<<"$DONOR")
[[ "$DONOR_STEPS" == "$STEPS" ]] || fail "the donor was credited $DONOR_STEPS steps, the proofs prove $STEPS"

ELAPSED=$((SECONDS - started))
RUN_TIME=$((SECONDS - run_started))
printf '\n==================== answer ====================\n'
printf 'Collatz stopping times over [%s, %s):\n' "$LOW" "$HIGH"
printf '  total of all stopping times : %s\n' "$TOTAL"
printf '  longest chain               : %s steps, starting at %s\n' "$LONGEST" "$START"
printf '==================== summary ===================\n'
printf '  input groups                : %s (all proven, ranges cover %s values)\n' "$GROUP_COUNT" "$COVERED"
printf '  proofs verified             : %s (by the organization, against its own copies)\n' "$VERIFIED"
printf '  server-side verification    : %s\n' "$SERVER_CHECKS"
printf '  Cairo steps proven          : %s\n' "$STEPS"
printf '  donor credit                : %s steps in %s jobs, rank #%s (%s)\n' \
    "$DONOR_STEPS" "$DONOR_JOBS" "${DONOR_RANK:-?}" "$DONOR_NAME"
printf '  dashboard                   : %s/\n' "$URL"
printf '  CPUs lent                   : %s\n' "$CPUS"
printf '  wall time                   : %ss (server start to answer; %ss with the build)\n' \
    "$RUN_TIME" "$ELAPSED"
printf '================================================\n'

[[ "$TOTAL" == "$EXPECTED_TOTAL" ]] || fail "total is $TOTAL, expected $EXPECTED_TOTAL"
[[ "$LONGEST" == "$EXPECTED_LONGEST" ]] || fail "longest is $LONGEST, expected $EXPECTED_LONGEST"
[[ "$START" == "$EXPECTED_START" ]] || fail "longest chain starts at $START, expected $EXPECTED_START"
[[ "$LOW" == 1 && "$HIGH" == 257 && "$COVERED" == 256 ]] ||
    fail "the groups cover [$LOW, $HIGH) with $COVERED values, expected [1, 257) with 256"
printf 'DEMO OK: the answer matches the expected one (total %s, longest %s at %s)\n' \
    "$EXPECTED_TOTAL" "$EXPECTED_LONGEST" "$EXPECTED_START"
if [[ -n "$KEEP" ]]; then
    printf '\nThe server keeps running (--keep): open the dashboard at %s/\n' "$URL"
    printf 'Stop it with: kill %s   (its data: %s)\n' "$SERVER_PID" "$WORK"
    SERVER_PID=""
fi
