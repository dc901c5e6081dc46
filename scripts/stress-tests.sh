#!/usr/bin/env bash
# Runs the README test command (`cargo test --workspace --all-features`) several times in a row
# on a starved CPU, to shake out flaky tests.
#
# What it does:
#   1. builds every test once, unpinned (`cargo test --no-run`), so the runs measure the tests
#      and not the compiler;
#   2. starts a busy loop pinned to one CPU (the last one by default) and keeps it running for
#      the whole script (it is killed on exit, however the script ends);
#   3. runs the test command N times (default 10), pinned to that same CPU with `taskset`, so
#      every test thread, mock server and runtime worker shares half of one core with the busy
#      loop; the tests keep as many test threads as the machine has CPUs (RUST_TEST_THREADS),
#      so they also compete with each other there;
#   4. prints each run's result and time, then `passed N/M in T s`; exits non-zero when any
#      run failed, and keeps each failing run's log as target/stress/run-<i>.log (the folder is
#      emptied when the script starts; passing runs leave no log).
#
# How to run it (from anywhere in the repository):
#   scripts/stress-tests.sh            # 10 runs
#   scripts/stress-tests.sh -n 3       # 3 runs (or STRESS_RUNS=3 scripts/stress-tests.sh)
#   scripts/stress-tests.sh -c 0       # pin to CPU 0 instead (or STRESS_CPU=0)
# A run that takes longer than STRESS_RUN_TIMEOUT (default 1800 s) is killed and counts as a
# failure: a hang is a bug too.
#
# Why: a test that waits on a condition with a short timeout, reads a counter before the action
# it counts has surely happened, or uses a sleep as synchronisation passes on an idle machine and
# fails on a loaded CI runner. Starving the tests of CPU makes such races show up here, on
# demand, instead of once a week in CI. A test that fails here is broken, not unlucky: make it
# wait for the event it needs (with a generous bound), never add a longer sleep.
#
# Needs `taskset` (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

usage() {
    sed -n '2,/^# Needs/p' "$0" | sed 's/^# \{0,1\}//'
}

runs=${STRESS_RUNS:-10}
cpu=${STRESS_CPU:-}
run_timeout=${STRESS_RUN_TIMEOUT:-1800}
while getopts "n:c:h" opt; do
    case "$opt" in
        n) runs=$OPTARG ;;
        c) cpu=$OPTARG ;;
        h) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
    echo "stress-tests: the number of runs must be a positive integer, not '$runs'" >&2
    exit 2
fi

if ! command -v taskset >/dev/null 2>&1; then
    echo "stress-tests: taskset not found; it is part of util-linux (e.g. apt-get install util-linux)." >&2
    echo "Without it the tests cannot be pinned to one CPU, and the runs would not be starved." >&2
    exit 2
fi
cpus=$(nproc)
if [ -z "$cpu" ]; then
    # The last CPU this script may run on.
    cpu=$(taskset -pc $$ | sed 's/.*: *//' | tr ',' '\n' | tail -n 1 | sed 's/.*-//')
fi
if ! taskset -c "$cpu" true 2>/dev/null; then
    echo "stress-tests: cannot pin to CPU '$cpu'" >&2
    exit 2
fi
# As many test threads as an unpinned run would use (pinned, the test harness would see one CPU
# and run the tests one at a time).
export RUST_TEST_THREADS=${RUST_TEST_THREADS:-$cpus}

echo "stress-tests: building the tests (unpinned)"
cargo test --workspace --all-features --no-run --quiet

logs=target/stress
rm -rf "$logs"
mkdir -p "$logs"

busy_pid=
stop_busy_loop() {
    if [ -n "$busy_pid" ]; then
        kill "$busy_pid" 2>/dev/null || true
        wait "$busy_pid" 2>/dev/null || true
        busy_pid=
    fi
}
trap stop_busy_loop EXIT
trap 'stop_busy_loop; exit 130' INT
trap 'stop_busy_loop; exit 143' TERM
taskset -c "$cpu" sh -c 'while :; do :; done' &
busy_pid=$!

echo "stress-tests: $runs run(s) of 'cargo test --workspace --all-features' on CPU $cpu," \
    "beside a busy loop (pid $busy_pid), $RUST_TEST_THREADS test threads"

now_ms() { date +%s%3N; }
seconds() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

passed=0
start_all=$(now_ms)
for ((i = 1; i <= runs; i++)); do
    log="$logs/run-$i.log"
    start=$(now_ms)
    set +e
    timeout --kill-after=30 "$run_timeout" \
        taskset -c "$cpu" cargo test --workspace --all-features >"$log" 2>&1
    status=$?
    set -e
    took=$(seconds $(($(now_ms) - start)))
    if [ "$status" -eq 0 ]; then
        passed=$((passed + 1))
        rm -f "$log"
        echo "run $i/$runs: pass in $took s"
    else
        if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
            why="timed out after $run_timeout s"
        else
            why="exit status $status"
        fi
        echo "run $i/$runs: FAIL ($why) in $took s; log: $log"
        # The failing tests, and where they panicked.
        grep -E '^test .* FAILED$|panicked at|^error: test failed' "$log" | head -n 20 | sed 's/^/    /' || true
    fi
done
stop_busy_loop

total=$(seconds $(($(now_ms) - start_all)))
echo "passed $passed/$runs in $total s"
[ "$passed" -eq "$runs" ]
