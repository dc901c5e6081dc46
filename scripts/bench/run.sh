#!/usr/bin/env bash
# The client benchmark, in one go (see BENCHMARKS.md, "Client against raw hyper and the
# official SDKs"):
#
#   scripts/bench/run.sh
#
# Builds the release binaries (and bench/peers, the other Rust clients), installs the official
# Python SDK (anthropic==2.12.0) into target/bench-venv, the Python Agent SDK
# (claude-agent-sdk==0.2.189) into target/bench-agent-venv and, if npm can, the TypeScript SDK
# into target/bench-node and the pinned Claude Code CLI into target/claude-code; starts ONE mock
# server process (2 threads) and runs every client against it, streaming and not, R times,
# interleaved; then the many-streams scenario against a second mock whose tokens are slow, so
# that every stream stays open. Each run prints one JSON line, kept with the mock server's CPU
# time during the run in $OUT/results.jsonl; scripts/bench/report.py then writes the tables into
# BENCHMARKS.md and docs/bench.svg.
#
# Knobs (environment): BENCH_R (4), BENCH_N (10000 requests per Rust run), BENCH_SDK_N (1000
# requests per Python / Node run: they cost ~30-60x more CPU per request), BENCH_C (32),
# BENCH_MANY_R (2), BENCH_STREAMS (10000), BENCH_PY_STREAMS (2000), BENCH_TOKEN_DELAY_MS
# (1000), BENCH_LATENCY_N (2000 sequential streams per latency run), BENCH_THREADS (1 executor
# thread per runtime), BENCH_AGENT_R (3 rounds of the agent scenario: a median of three, which
# one slow round does not move), BENCH_AGENT_N (50 queries through the fake CLI),
# BENCH_AGENT_REAL_N (8 through the real one), BENCH_NO_REPORT=1 (keep BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
R=${BENCH_R:-4}
N=${BENCH_N:-10000}
SDK_N=${BENCH_SDK_N:-1000}
C=${BENCH_C:-32}
MANY_R=${BENCH_MANY_R:-2}
LATENCY_N=${BENCH_LATENCY_N:-2000}
STREAMS=${BENCH_STREAMS:-10000}
PY_STREAMS=${BENCH_PY_STREAMS:-2000}
TOKEN_DELAY_MS=${BENCH_TOKEN_DELAY_MS:-1000}
THREADS=${BENCH_THREADS:-1}
AGENT_R=${BENCH_AGENT_R:-3}
AGENT_N=${BENCH_AGENT_N:-50}
AGENT_REAL_N=${BENCH_AGENT_REAL_N:-8}
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

echo "== Python Agent SDK"
APY=$TARGET/bench-agent-venv/bin/python
if ! "$APY" -c 'import claude_agent_sdk, sys; sys.exit(claude_agent_sdk.__version__ != "0.2.189")' 2>/dev/null; then
    python3 -m venv "$TARGET/bench-agent-venv"
    "$TARGET/bench-agent-venv/bin/pip" install --quiet 'claude-agent-sdk==0.2.189'
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

echo "== Rust peers"
# Other Rust clients (bench/peers, a Cargo project of its own outside the workspace):
# `claude-kit-peers list` names them, `list --streaming` those that can stream.
PEERS=$TARGET/peers/release/claude-kit-peers
PEER_IMPLS=
PEER_STREAM_IMPLS=
if CARGO_TARGET_DIR=$TARGET/peers cargo build --release --manifest-path bench/peers/Cargo.toml --locked; then
    PEER_IMPLS=$("$PEERS" list)
    PEER_STREAM_IMPLS=$("$PEERS" list --streaming)
    echo "peers: $(echo $PEER_IMPLS) (streaming: $(echo $PEER_STREAM_IMPLS))"
else
    echo "bench/peers did not build: skipping the Rust peers"
fi

# Building and installing the clients (first run on a fresh machine: minutes) is over; the
# measurements start here.
MEASURE_START=$(date +%s)

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
        run "$BIN/claude-kit-bench" client --url "$URL" --requests "$N" --concurrency "$C" \
            --runtime tokio --threads "$THREADS" --model "$MODEL" --http2 $stream
        for baseline in raw-hyper raw-hyper-full; do
            run "$BIN/claude-kit-bench" "$baseline" --url "$URL" --requests "$N" --concurrency "$C" \
                --threads "$THREADS" --model "$MODEL" $stream
        done
        if [ -n "$stream" ]; then impls=$PEER_STREAM_IMPLS; else impls=$PEER_IMPLS; fi
        for impl in $impls; do
            run "$PEERS" client --impl "$impl" --url "$URL" --requests "$N" --concurrency "$C" \
                --threads "$THREADS" --model "$MODEL" $stream
        done
        run "$PY" scripts/bench/python_client.py client --url "$URL" --requests "$SDK_N" \
            --concurrency "$C" --model "$MODEL" $stream
        if [ "$HAVE_NODE" = 1 ]; then
            run node scripts/bench/node_client.mjs client --url "$URL" --requests "$SDK_N" \
                --concurrency "$C" --model "$MODEL" $stream
        fi
    done
done

echo "== latency: $LATENCY_N streams one after another, $R rounds"
for round in $(seq "$R"); do
    for rt in tokio smol async-std; do
        run "$BIN/claude-kit-bench" latency --url "$URL" --requests "$LATENCY_N" --runtime "$rt" --model "$MODEL"
    done
    run "$BIN/claude-kit-bench" latency --url "$URL" --requests "$LATENCY_N" --client raw-hyper-full --model "$MODEL"
done

echo "== many streams: $STREAMS (Python $PY_STREAMS), token delay ${TOKEN_DELAY_MS} ms, $MANY_R rounds"
start_mock --token-delay-ms "$TOKEN_DELAY_MS"
for round in $(seq "$MANY_R"); do
    echo "-- round $round/$MANY_R"
    for rt in tokio smol async-std; do
        for http in "" --http2; do
            run "$BIN/claude-kit-bench" many-streams --url "$URL" --streams "$STREAMS" --runtime "$rt" --model "$MODEL" $http
        done
    done
    for baseline in raw-hyper raw-hyper-full; do
        run "$BIN/claude-kit-bench" many-streams --url "$URL" --streams "$STREAMS" --client "$baseline" --model "$MODEL"
    done
    for impl in $PEER_STREAM_IMPLS; do
        run "$PEERS" many-streams --impl "$impl" --url "$URL" --streams "$STREAMS" --model "$MODEL"
    done
    run "$PY" scripts/bench/python_client.py many-streams --url "$URL" --streams "$PY_STREAMS" --model "$MODEL"
done

# The Claude Code backend: cold queries (spawn, initialize, one turn, disconnect) and pooled ones,
# through the fake CLI (the CLI's own cost excluded) and the pinned real CLI against the mock;
# claude-kit, the CLI driven by hand (`--driver raw`), and the official Python Agent SDK.
echo "== agent: fake CLI $AGENT_N queries, real CLI $AGENT_REAL_N queries, $AGENT_R rounds"
FAKE=$BIN/claude-kit-fake-claude
REAL=$(scripts/install-claude-code.sh 2>>"$OUT/stderr.log" | tail -n 1) || REAL=
[ -x "$REAL" ] || { echo "the real CLI is unavailable: skipping it"; REAL=; }
start_mock
# One run not recorded first: right after the many-streams scenario (20,000 sockets closed) the
# first run that spawns processes was consistently slower, whichever client it was (pooled first
# message 1.5 ms in round 1 against 0.5 in round 2, same binary).
"$BIN/claude-kit-bench" agent --cli "$FAKE" --queries 5 >/dev/null 2>>"$OUT/stderr.log" || true
for round in $(seq "$AGENT_R"); do
    echo "-- round $round/$AGENT_R"
    # tokio twice: the query on `block_on`'s thread and the session's tasks on a worker (a
    # hand-off between two threads per frame), and everything on one thread.
    for rt in tokio tokio-current-thread smol; do
        run "$BIN/claude-kit-bench" agent --cli "$FAKE" --queries "$AGENT_N" --runtime "$rt"
    done
    run "$BIN/claude-kit-bench" agent --cli "$FAKE" --queries "$AGENT_N" --driver raw
    run "$APY" scripts/bench/python_agent.py --cli "$FAKE" --queries "$AGENT_N"
    if [ -n "$REAL" ]; then
        for driver in ours raw; do
            run "$BIN/claude-kit-bench" agent --cli "$REAL" --base-url "$URL" \
                --queries "$AGENT_REAL_N" --driver "$driver"
        done
        run "$APY" scripts/bench/python_agent.py --cli "$REAL" --base-url "$URL" --queries "$AGENT_REAL_N"
    fi
done
cleanup
MOCK_PID=

ELAPSED=$(( $(date +%s) - START ))
SETUP=$(( MEASURE_START - START ))
echo "== done in ${ELAPSED}s (${SETUP}s of them building and installing): $RESULTS"
if [ "${BENCH_NO_REPORT:-0}" != 1 ]; then
    python3 scripts/bench/report.py "$RESULTS" --elapsed "$ELAPSED" --setup "$SETUP" \
        --command "scripts/bench/run.sh" --markdown BENCHMARKS.md --svg docs/bench.svg
fi
