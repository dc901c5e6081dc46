#!/usr/bin/env bash
# The client benchmark, in one go (see BENCHMARKS.md, "Client against raw hyper and the
# official SDKs"):
#
#   scripts/bench/run.sh
#
# Builds the release binaries, installs the official Python SDK (anthropic==2.12.0) into
# target/bench-venv and, if npm can, the TypeScript SDK into target/bench-node; starts ONE mock
# server process (2 threads) and runs every client against it, streaming and not, R times,
# interleaved; then the many-streams scenario against a second mock whose tokens are slow, so
# that every stream stays open. Each run prints one JSON line, kept with the mock server's CPU
# time during the run in $OUT/results.jsonl; scripts/bench/report.py then writes the tables into
# BENCHMARKS.md and docs/bench.svg.
#
# Knobs (environment): BENCH_R (5), BENCH_N (10000 requests per Rust run), BENCH_SDK_N (3000
# requests per Python / Node run: they cost ~30x more CPU per request), BENCH_C (32),
# BENCH_MANY_R (3), BENCH_STREAMS (10000), BENCH_PY_STREAMS (2000), BENCH_TOKEN_DELAY_MS
# (1000), BENCH_THREADS (1 executor thread per runtime), BENCH_NO_REPORT=1 (keep BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
R=${BENCH_R:-5}
N=${BENCH_N:-10000}
SDK_N=${BENCH_SDK_N:-3000}
C=${BENCH_C:-32}
MANY_R=${BENCH_MANY_R:-3}
STREAMS=${BENCH_STREAMS:-10000}
PY_STREAMS=${BENCH_PY_STREAMS:-2000}
TOKEN_DELAY_MS=${BENCH_TOKEN_DELAY_MS:-1000}
THREADS=${BENCH_THREADS:-1}
MODEL=claude-mock-bench
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/release
OUT=$TARGET/bench-results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
START=$(date +%s)

# Loopback only: no proxy in between.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY ANTHROPIC_BASE_URL || true
# 10,000 streams need 10,000 sockets on each side (the soft limit is often 1024).
HARD=$(ulimit -Hn)
if [ "$HARD" = unlimited ] || [ "$HARD" -ge 65536 ]; then ulimit -n 65536; else ulimit -n "$HARD"; fi
echo "fd limit: $(ulimit -n)"

echo "== build"
cargo build --release -p claude-kit-bench -p claude-kit-mock

echo "== Python SDK"
PY=$TARGET/bench-venv/bin/python
if ! "$PY" -c 'import anthropic, sys; sys.exit(anthropic.__version__ != "2.12.0")' 2>/dev/null; then
    python3 -m venv "$TARGET/bench-venv"
    "$TARGET/bench-venv/bin/pip" install --quiet 'anthropic==2.12.0'
fi

echo "== Node SDK"
NODE_DIR=$TARGET/bench-node
HAVE_NODE=0
if command -v node >/dev/null && command -v npm >/dev/null; then
    if [ -f "$NODE_DIR/node_modules/@anthropic-ai/sdk/package.json" ] ||
        (mkdir -p "$NODE_DIR" && npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" @anthropic-ai/sdk); then
        HAVE_NODE=1
    fi
fi
[ "$HAVE_NODE" = 1 ] || echo "Node or @anthropic-ai/sdk unavailable: skipping the Node client"
export BENCH_NODE_MODULES=$NODE_DIR/node_modules

MOCK_PID=
cleanup() { [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null || true; }
trap cleanup EXIT

# start_mock ARGS...: starts a mock server, sets MOCK_PID and URL.
start_mock() {
    cleanup
    "$BIN/claude-kit-mock" --addr 127.0.0.1:0 --threads 2 "$@" >"$OUT/mock.out" 2>"$OUT/mock.err" &
    MOCK_PID=$!
    URL=
    for _ in $(seq 100); do
        URL=$(head -n1 "$OUT/mock.out" 2>/dev/null || true)
        [ -n "$URL" ] && break
        sleep 0.05
    done
    [ -n "$URL" ] || { echo "mock server did not start"; cat "$OUT/mock.err"; exit 1; }
    echo "mock server $MOCK_PID at $URL ($*)"
}

# Clock ticks of user + system CPU of the mock server so far.
mock_ticks() { awk '{ print $14 + $15 }' "/proc/$MOCK_PID/stat"; }
TCK=$(getconf CLK_TCK)

# run COMMAND...: runs one measurement, appends its JSON line with the mock's CPU seconds.
run() {
    local t0 t1 line
    t0=$(mock_ticks)
    if ! line=$("$@" 2>>"$OUT/stderr.log" | tail -n1); then
        echo "FAILED: $*" | tee -a "$OUT/stderr.log"
        return 0
    fi
    t1=$(mock_ticks)
    line="${line%\}},\"mock_cpu_s\":$(awk -v a="$t0" -v b="$t1" -v t="$TCK" 'BEGIN { printf "%.2f", (b - a) / t }')}"
    echo "$line" | tee -a "$RESULTS"
}

echo "== requests: Rust N=$N, SDKs N=$SDK_N, concurrency $C, $R rounds"
start_mock
for round in $(seq "$R"); do
    echo "-- round $round/$R"
    for stream in "" --stream; do
        for rt in tokio smol async-std; do
            run "$BIN/claude-kit-bench" client --url "$URL" --requests "$N" --concurrency "$C" \
                --runtime "$rt" --threads "$THREADS" --model "$MODEL" $stream
        done
        run "$BIN/claude-kit-bench" raw-hyper --url "$URL" --requests "$N" --concurrency "$C" \
            --threads "$THREADS" --model "$MODEL" $stream
        run "$PY" scripts/bench/python_client.py client --url "$URL" --requests "$SDK_N" \
            --concurrency "$C" --model "$MODEL" $stream
        if [ "$HAVE_NODE" = 1 ]; then
            run node scripts/bench/node_client.mjs client --url "$URL" --requests "$SDK_N" \
                --concurrency "$C" --model "$MODEL" $stream
        fi
    done
done

echo "== many streams: $STREAMS (Python $PY_STREAMS), token delay ${TOKEN_DELAY_MS} ms, $MANY_R rounds"
start_mock --token-delay-ms "$TOKEN_DELAY_MS"
for round in $(seq "$MANY_R"); do
    echo "-- round $round/$MANY_R"
    for rt in tokio smol async-std; do
        run "$BIN/claude-kit-bench" many-streams --url "$URL" --streams "$STREAMS" --runtime "$rt" --model "$MODEL"
    done
    run "$BIN/claude-kit-bench" many-streams --url "$URL" --streams "$STREAMS" --client raw-hyper --model "$MODEL"
    run "$PY" scripts/bench/python_client.py many-streams --url "$URL" --streams "$PY_STREAMS" --model "$MODEL"
done
cleanup
MOCK_PID=

ELAPSED=$(( $(date +%s) - START ))
echo "== done in ${ELAPSED}s: $RESULTS"
if [ "${BENCH_NO_REPORT:-0}" != 1 ]; then
    python3 scripts/bench/report.py "$RESULTS" --elapsed "$ELAPSED" \
        --command "scripts/bench/run.sh" --markdown BENCHMARKS.md --svg docs/bench.svg
fi
