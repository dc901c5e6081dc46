#!/usr/bin/env python3
"""Turns the JSON lines of scripts/bench/run.sh into BENCHMARKS.md tables and docs/bench.svg.

    report.py RESULTS.jsonl [--markdown BENCHMARKS.md] [--svg docs/bench.svg]
              [--command CMD] [--elapsed SECONDS]

Medians with min-max over the rounds; ratios of medians. The tables go between
`<!-- bench:begin -->` and `<!-- bench:end -->` in the Markdown file (the section is created in
place of "## Not measured yet" the first time). Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
from collections import OrderedDict

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# Targets (from the performance issue).
PY_TARGET = 30.0  # Python SDK CPU per request / ours, at least
RAW_TARGET = 1.30  # ours / raw hyper, at most
FULL_TARGET = 1.10  # ours / raw hyper + the core decoder, at most
RUNTIME_TARGET = 0.10  # runtimes within 10 % of each other
STREAM_KIB_TARGET = 20.0  # KiB per open stream, at most

LABELS = OrderedDict(
    [
        (("claude-kit", "tokio"), "claude-kit (tokio)"),
        (("claude-kit", "smol"), "claude-kit (smol)"),
        (("claude-kit", "async-std"), "claude-kit (async-std)"),
        (("claude-kit/h2", "tokio"), "claude-kit (tokio, HTTP/2)"),
        (("claude-kit/h2", "smol"), "claude-kit (smol, HTTP/2)"),
        (("claude-kit/h2", "async-std"), "claude-kit (async-std, HTTP/2)"),
        (("raw-hyper", "tokio"), "raw hyper baseline (tokio)"),
        (("raw-hyper-full", "tokio"), "raw hyper + core decoder (tokio)"),
        (("anthropic-python", "asyncio"), "Python `anthropic` (asyncio)"),
    ]
)


def label(row):
    client = row["client"] + ("/h2" if row.get("http") == "2" else "")
    key = (client, row["runtime"])
    if key in LABELS:
        return LABELS[key]
    if row["client"] == "anthropic-node":
        return "TypeScript `@anthropic-ai/sdk` (Node)"
    return f"{row['client']} ({row['runtime']})"


def order(name):
    names = list(LABELS.values()) + ["TypeScript `@anthropic-ai/sdk` (Node)"]
    # Rust peers (any other client name) come between the baselines and the official SDKs.
    if name not in names:
        return (names.index(LABELS[("raw-hyper-full", "tokio")]), name)
    return (names.index(name), "")


def med(xs):
    return statistics.median(xs)


def fmt(x, digits=None):
    if digits is None:
        digits = 0 if abs(x) >= 100 else (1 if abs(x) >= 10 else 2)
    return f"{x:,.{digits}f}"


def spread(xs, digits=None):
    return f"{fmt(med(xs), digits)} ({fmt(min(xs), digits)}–{fmt(max(xs), digits)})"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": sh("nproc"),
        "cpu": cpu,
        "mem": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "rustc": sh("rustc --version"),
        "python": platform.python_version(),
        "node": sh("node --version"),
    }


def group(rows, key):
    out = OrderedDict()
    for row in rows:
        out.setdefault(key(row), []).append(row)
    return out


def verdict(ok):
    return "**met**" if ok else "**missed**"


def build(rows, args):
    reqs = [r for r in rows if r.get("scenario") is None]
    many = [r for r in rows if r.get("scenario") == "many-streams"]
    lat = [r for r in rows if r.get("scenario") == "latency"]
    m = machine()
    lines = [BEGIN, ""]
    measuring = args.elapsed - args.setup
    setup = (
        f"of which {args.setup // 60} min {args.setup % 60} s building and installing the clients "
        f"and {measuring // 60} min {measuring % 60} s measuring, "
        if args.setup
        else ""
    )
    lines.append(
        f"Command: `{args.command}` (took {args.elapsed // 60} min {args.elapsed % 60} s, {setup}"
        f"{datetime.date.today().isoformat()}). Machine: {m['nproc']} vCPUs ({m['cpu']}), "
        f"{m['mem']}, {m['kernel']}; {m['rustc']}; Python {m['python']}; Node {m['node']}. "
        "Shared with other work: absolute wall times are indicative, CPU times are what to compare."
    )
    lines.append("")
    lines.append("![CPU per 1,000 requests and memory per open stream](docs/bench.svg)")
    lines.append("")

    # Requests table.
    med_cpu = {}
    med_rps = {}
    for stream in (False, True):
        sel = [r for r in reqs if r["stream"] == stream]
        if not sel:
            continue
        g = group(sel, label)
        rounds = max(len(v) for v in g.values())
        mode = "streaming (read to the end)" if stream else "non-streaming"
        lines.append(f"**{mode.capitalize()}**, concurrency {sel[0]['concurrency']}, {rounds} rounds; "
                     "median (min–max):")
        lines.append("")
        lines.append("| client | requests/run | errors | client CPU ms / 1k requests | wall s | requests/s | peak RSS MiB | mock server CPU, cores |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for name in sorted(g, key=order):
            rs = g[name]
            cpu = [r["cpu_ms_per_1k"] for r in rs]
            med_cpu[(name, stream)] = med(cpu)
            wall = [r["wall_s"] for r in rs]
            rps = [r["requests"] / r["wall_s"] for r in rs if r["wall_s"] > 0]
            rss = [r["peak_rss_kb"] / 1024 for r in rs]
            mock = [r.get("mock_cpu_s", 0) / r["wall_s"] for r in rs if r["wall_s"] > 0]
            med_rps[(name, stream)] = med(rps) if rps else 0
            lines.append(
                f"| {name} | {rs[0]['requests']:,} | {sum(r['errors'] for r in rs)} | {spread(cpu)} | "
                f"{spread(wall)} | {fmt(med(rps), 0)} | {spread(rss, 1)} | {fmt(med(mock), 2)} |"
            )
        lines.append("")

    # Ratios and targets.
    ours = [LABELS[("claude-kit", rt)] for rt in ("tokio", "smol", "async-std")]
    raw = LABELS[("raw-hyper", "tokio")]
    full = LABELS[("raw-hyper-full", "tokio")]
    py = LABELS[("anthropic-python", "asyncio")]
    node = "TypeScript `@anthropic-ai/sdk` (Node)"
    lines.append("Ratios of the medians of CPU per request, and the targets:")
    lines.append("")
    lines.append("| ratio | non-streaming | streaming | target | verdict |")
    lines.append("| --- | --- | --- | --- | --- |")

    def ratio(a, b, stream):
        if (a, stream) in med_cpu and (b, stream) in med_cpu and med_cpu[(b, stream)] > 0:
            return med_cpu[(a, stream)] / med_cpu[(b, stream)]
        return None

    def row(title, pairs, target, ok, judged=True):
        vals = [ratio(a, b, s) for (a, b), s in zip(pairs, (False, True))]
        if all(v is None for v in vals):
            return
        cells = [("–" if v is None else f"{v:.2f}×") for v in vals]
        good = all(ok(v) for v in vals if v is not None)
        lines.append(f"| {title} | {cells[0]} | {cells[1]} | {target} | {verdict(good) if judged else '–'} |")

    row("Python SDK / claude-kit (tokio)", [(py, ours[0])] * 2, f"≥ {PY_TARGET:.0f}×", lambda v: v >= PY_TARGET)
    for o in ours[1:]:
        row(f"Python SDK / {o}", [(py, o)] * 2, f"≥ {PY_TARGET:.0f}×", lambda v: v >= PY_TARGET)
    row("Node SDK / claude-kit (tokio)", [(node, ours[0])] * 2, "(for reference)", lambda v: True, judged=False)
    for o in ours:
        row(f"{o} / raw hyper + core decoder", [(o, full)] * 2, f"≤ {FULL_TARGET:.2f}×", lambda v: v <= FULL_TARGET)
    for o in ours:
        row(f"{o} / raw hyper", [(o, raw)] * 2, f"≤ {RAW_TARGET:.2f}×", lambda v: v <= RAW_TARGET)
    row("raw hyper + core decoder / raw hyper", [(full, raw)] * 2, "(the protocol work itself)", lambda v: True, judged=False)
    for o in ours[1:]:
        row(f"{o} / claude-kit (tokio)", [(o, ours[0])] * 2, f"within ±{RUNTIME_TARGET:.0%}",
            lambda v: abs(v - 1) <= RUNTIME_TARGET)
    lines.append("")

    # Rust peers: ahead on CPU per request and requests per second?
    known = set(LABELS.values()) | {node}
    peers = sorted({n for n, _ in med_cpu if n not in known}, key=order)
    if peers:
        lines.append("Against the Rust peers (each on tokio with one worker thread, as ours): "
                     "claude-kit's best and worst runtime against each peer, medians:")
        lines.append("")
        lines.append("| peer | CPU / request, peer ÷ claude-kit (non-streaming) | (streaming) | requests/s, claude-kit ÷ peer (non-streaming) | (streaming) | ahead on both? |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for peer in peers:
            cells, ahead = [], True
            for metric in ("cpu", "rps"):
                for stream in (False, True):
                    if (peer, stream) not in med_cpu:
                        cells.append("–")
                        continue
                    if metric == "cpu":
                        vals = [med_cpu[(peer, stream)] / med_cpu[(o, stream)] for o in ours if med_cpu.get((o, stream))]
                    else:
                        vals = [med_rps[(o, stream)] / med_rps[(peer, stream)] for o in ours
                                if (o, stream) in med_rps and med_rps.get((peer, stream))]
                    if not vals:
                        cells.append("–")
                        continue
                    ahead &= min(vals) > 1
                    cells.append(f"{min(vals):.2f}–{max(vals):.2f}×")
            lines.append(f"| {peer} | {' | '.join(cells)} | {verdict(ahead)} |")
        lines.append("")

    # Latency.
    if lat:
        g = group(lat, label)
        rounds = max(len(v) for v in g.values())
        lines.append(f"**Streaming latency**: {lat[0]['requests']:,} streamed requests one after another "
                     f"(nothing else in flight) on one thread, {rounds} rounds; the mock sends every event at once, so "
                     "the time between two text deltas is what the client spends per event. median (min–max) of the runs' medians:")
        lines.append("")
        lines.append("| client | request → first text delta, µs (p50) | (p99) | between text deltas, µs (p50) | (mean) |")
        lines.append("| --- | --- | --- | --- | --- |")
        med_lat = {}
        for name in sorted(g, key=order):
            rs = g[name]
            med_lat[name] = (med([r["first_delta_us_p50"] for r in rs]), med([r["inter_delta_us_p50"] for r in rs]))
            lines.append(
                f"| {name} | {spread([r['first_delta_us_p50'] for r in rs])} | {spread([r['first_delta_us_p99'] for r in rs])} | "
                f"{spread([r['inter_delta_us_p50'] for r in rs])} | {spread([r['inter_delta_us_mean'] for r in rs])} |"
            )
        lines.append("")
        if full in med_lat:
            added = ", ".join(
                f"{o}: {med_lat[o][0] - med_lat[full][0]:+.1f} µs to the first delta, "
                f"{med_lat[o][1] - med_lat[full][1]:+.2f} µs per event" for o in ours if o in med_lat)
            lines.append(f"Added by the SDK over raw hyper + core decoder (medians): {added}.")
            lines.append("")

    # Many streams.
    med_kib = {}
    if many:
        g = group(many, label)
        lines.append(
            "**Many open streams** on one thread, against a mock pausing "
            f"{args.token_delay_ms} ms before each of its 12 tokens (a stream stays open ~{12 * args.token_delay_ms / 1000:g} s); RSS (VmRSS) sampled once "
            "every stream has received its first event. median (min–max):"
        )
        lines.append("")
        lines.append("| client | streams | errors | KiB per open stream | RSS before MiB | RSS all open MiB | time to open all, s | wall s | client CPU s |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name in sorted(g, key=order):
            rs = g[name]
            kib = [r["kb_per_stream"] for r in rs]
            med_kib[name] = med(kib)
            lines.append(
                f"| {name} | {rs[0]['streams']:,} | {sum(r['errors'] for r in rs)} | {spread(kib)} | "
                f"{fmt(med([r['rss_kb_before'] / 1024 for r in rs]), 1)} | "
                f"{fmt(med([r['rss_kb_all_open'] / 1024 for r in rs]), 1)} | "
                f"{spread([r['open_s'] for r in rs])} | {spread([r['wall_s'] for r in rs])} | "
                f"{fmt(med([r['cpu_user_s'] + r['cpu_sys_s'] for r in rs]))} |"
            )
        lines.append("")
        cells = ", ".join(f"{o}: {fmt(med_kib[o])} KiB" for o in ours if o in med_kib)
        ok = all(med_kib[o] <= STREAM_KIB_TARGET for o in ours if o in med_kib)
        lines.append(f"Target ≤ {STREAM_KIB_TARGET:.0f} KiB per open stream on every runtime: {verdict(ok)} ({cells}).")
        lines.append("")
        h2 = []
        for rt in ("tokio", "smol", "async-std"):
            one, two = LABELS[("claude-kit", rt)], LABELS[("claude-kit/h2", rt)]
            if one in g and two in g:
                cpu = lambda n: med([r["cpu_user_s"] + r["cpu_sys_s"] for r in g[n]])  # noqa: E731
                h2.append(f"{rt}: {fmt(med_kib[two])} vs {fmt(med_kib[one])} KiB per stream, "
                          f"{fmt(cpu(two))} vs {fmt(cpu(one))} s of client CPU, "
                          f"{g[two][0].get('connections')} connection(s) vs {g[one][0].get('connections')}")
        if h2:
            lines.append("HTTP/2 (prior knowledge, every stream on one connection) against HTTP/1.1 (a connection "
                         "per stream): " + "; ".join(h2) + ".")
            lines.append("")
        peers_many = [n for n in med_kib if n not in known]
        if peers_many:
            best = min(med_kib[o] for o in ours if o in med_kib)
            worst = max(med_kib[o] for o in ours if o in med_kib)
            for peer in sorted(peers_many, key=order):
                lines.append(f"- {peer}: {fmt(med_kib[peer])} KiB per open stream; claude-kit {fmt(best)}–{fmt(worst)} KiB: "
                             f"{'ahead' if worst < med_kib[peer] else 'not ahead'}.")
            lines.append("")

    # The Claude Code backend.
    agent = [r for r in rows if r.get("scenario") == "agent"]
    if agent:
        try:
            import report_agent

            lines.append(report_agent.agent_section(agent))
            lines.append("")
            if args.svg:
                report_agent.agent_svg(agent, os.path.join(os.path.dirname(args.svg), "bench-agent.svg"))
        except ImportError:
            lines.append("(scripts/bench/report_agent.py missing: the agent rows are not shown)")
            lines.append("")
    lines.append(END)
    return "\n".join(lines), med_cpu, med_kib


SECTION = """## Client against raw hyper, the Rust peers and the official SDKs (issues: benchmark, performance)

One command builds everything (the workspace's release binaries and `bench/peers`, a Cargo
project of its own outside the workspace), installs the official Python SDK
(`anthropic==2.12.0`, in `target/bench-venv`), the Python Agent SDK
(`claude-agent-sdk==0.2.189`, in `target/bench-agent-venv`), the TypeScript SDK
(`@anthropic-ai/sdk`, in `target/bench-node`, skipped if npm cannot install it) and the pinned
Claude Code CLI, starts one mock server process (`claude-kit-mock --threads 2`) and runs every
client against it, rounds interleaved:

```sh
scripts/bench/run.sh
```

What is measured (`crates/bench`, binary `claude-kit-bench`; `bench/peers`, binary
`claude-kit-peers`; `scripts/bench/*`):

- `claude-kit-bench client`: a fresh `Client` (retries off), N requests with C in flight
  (C worker tasks), streaming ones read to the end (`final_text`). Each runtime in its natural
  mode with **one executor thread**: tokio's multi-thread scheduler with 1 worker, smol's
  global executor (`SMOL_THREADS=1`), async-std's pool (`ASYNC_STD_THREAD_COUNT=1`); the main
  thread only waits in `block_on`. `--http2`: the same over HTTP/2 (prior knowledge, one
  connection multiplexing every request; the `http2` feature).
- Two baselines, both tokio with one worker, one keep-alive hyper 1.x `client::conn::http1`
  connection per worker over tokio `TcpStream` (hyper-util `TokioIo`), no pool, no timeouts:
  - `raw-hyper`, the floor: a hand-written SSE split that parses only the text deltas (and, not
    streaming, only the text of the JSON body);
  - `raw-hyper-full`, the same protocol work as the SDK with none of its machinery: every body
    chunk goes through the core crate's `MessageStreamDecoder` (every event parsed, the final
    `Message` accumulated), and non-streaming bodies are deserialised into the core `Message`.
- The Rust peers (`bench/peers`, rustls only, its own lock file; never seen by the workspace's
  tests, clippy or `cargo deny`), each on tokio with one worker, C tasks, retries off where the
  crate has them: a plain `reqwest` 0.13 + `eventsource-stream` + `serde` client written the way
  most Rust code does it (`reqwest-eventsource`), `misanthropic` 1.0.0-alpha.25,
  `anthropic-async` 0.5.4 (non-streaming only: its streaming feature does not compile) and
  `claude-agent` 0.2.25. Considered and left out: `clust` 0.9 and `anthropic-sdk-rust` 0.1.1
  (they pull OpenSSL through reqwest's default features), `anthropic` 0.0.8 (unmaintained since
  2024). `bench/peers/README.md` says how each is pointed at the mock.
- Python: `AsyncAnthropic(max_retries=0)`, N requests gathered under `asyncio.Semaphore(C)`;
  Node: `new Anthropic({maxRetries: 0})` with C async workers. They make fewer requests per run
  (CPU is per request, so this changes nothing but the run time).
- claude-kit, the baselines and the official SDKs send the same 108-character API key, so that
  what a client does per secret (redaction scans, header bytes) costs what it costs in
  production; the peers send `bench` (5 bytes), which if anything favours them.
- CPU is the client process's own user + system time (the process CPU clock,
  `CLOCK_PROCESS_CPUTIME_ID`, to the nanosecond for the Rust clients — `/proc/self/stat`'s
  10 ms ticks were ~7 % of a 10,000-request run —, `getrusage`, `process.cpuUsage`) from
  just before the first request to the end, so start-up and imports
  are excluded; peak RSS is `VmHWM` / `ru_maxrss`. The mock server's CPU is read from
  `/proc/<pid>/stat` around each run: "mock server CPU, cores" is how busy it was (2 = both
  cores), i.e. whether it, not the client, set the pace.
- The reply is the mock's default answer: a 12-token text (~370-byte JSON body), or 17 SSE
  events (~2.3 KB) when streaming. So the figures are the per-request overhead of each client:
  HTTP, JSON, SSE, accumulation, runtime.
- `claude-kit-bench latency`: streamed requests one after another on one thread (tokio
  current-thread, a smol `Executor`, async-std's `block_on`), timing request → first text delta
  and the gaps between text deltas; the mock writes all events at once, so a gap is the
  client's own cost per event. Against `raw-hyper-full`, the difference is the latency the SDK
  adds.
- `claude-kit-bench many-streams`: opens S streams at once on one thread (tokio
  current-thread; smol with a private `Executor` in `block_on`; async-std, which has no
  single-thread mode, `block_on` plus its 1-thread pool), samples VmRSS when every stream has
  received its first event, then reads them all. `kb_per_stream = (all_open - before) / S`.
  Also over HTTP/2 (`--http2`) and for the peers that stream.
- `claude-kit-bench agent`: the Claude Code backend (see its section below).

Raw per-run JSON lines are kept in `target/bench-results/<date>/results.jsonl`; the tables
below are written by `scripts/bench/report.py` (and `report_agent.py`) from them.

"""


def write_markdown(path, body):
    text = open(path).read()
    if BEGIN in text and END in text:
        start = text.index(BEGIN)
        end = text.index(END) + len(END)
        text = text[:start] + body + text[end:]
    else:
        match = re.search(r"^## Not measured yet\n.*\Z", text, flags=re.S | re.M)
        block = SECTION + body + "\n"
        if match:
            text = text[: match.start()] + block
        else:
            text = text.rstrip("\n") + "\n\n" + block
    open(path, "w").write(text)


def svg(med_cpu, med_kib, path):
    """Two horizontal bar charts: CPU per 1,000 requests (log scale) and KiB per open stream."""
    names = sorted({n for n, _ in med_cpu}, key=order)
    colors = {False: "#4e79a7", True: "#f28e2b"}
    w, left, right = 860, 270, 40
    bar, gap = 13, 10
    plot_w = w - left - right
    parts = []
    y = 40
    parts.append(f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">'
                 "Client CPU per 1,000 requests (ms, log scale; lower is better)</text>")
    values = [v for v in med_cpu.values() if v > 0]
    import math

    lo = 10 ** math.floor(math.log10(min(values))) if values else 1
    hi = 10 ** math.ceil(math.log10(max(values))) if values else 10

    def xlog(v):
        return left + plot_w * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    top = y
    for name in names:
        plain = name.replace("`", "")
        parts.append(f'<text x="{left - 8}" y="{y + bar + 4}" text-anchor="end" font-size="12">{plain}</text>')
        for i, stream in enumerate((False, True)):
            v = med_cpu.get((name, stream))
            if v is None:
                continue
            yy = y + i * bar
            parts.append(f'<rect x="{left}" y="{yy}" width="{xlog(v) - left:.1f}" height="{bar - 2}" fill="{colors[stream]}"/>')
            parts.append(f'<text x="{xlog(v) + 4:.1f}" y="{yy + bar - 3}" font-size="10">{fmt(v)}</text>')
        y += 2 * bar + gap
    decade = lo
    while decade <= hi:
        x = xlog(decade)
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#bbb" stroke-dasharray="2,3"/>')
        parts.append(f'<text x="{x:.1f}" y="{y + 12}" text-anchor="middle" font-size="10">{fmt(decade)}</text>')
        decade *= 10
    y += 22
    for i, (stream, text) in enumerate(((False, "non-streaming"), (True, "streaming"))):
        parts.append(f'<rect x="{left + i * 140}" y="{y}" width="12" height="12" fill="{colors[stream]}"/>')
        parts.append(f'<text x="{left + i * 140 + 16}" y="{y + 10}" font-size="12">{text}</text>')
    y += 30
    if med_kib:
        parts.append(f'<text x="{w / 2}" y="{y}" text-anchor="middle" font-size="15" font-weight="bold">'
                     "Memory per open stream (KiB; lower is better)</text>")
        y += 14
        hi_k = max(max(med_kib.values()), STREAM_KIB_TARGET) * 1.15
        top = y
        for name in sorted(med_kib, key=order):
            v = med_kib[name]
            plain = name.replace("`", "")
            parts.append(f'<text x="{left - 8}" y="{y + bar - 2}" text-anchor="end" font-size="12">{plain}</text>')
            parts.append(f'<rect x="{left}" y="{y}" width="{plot_w * v / hi_k:.1f}" height="{bar}" fill="#59a14f"/>')
            parts.append(f'<text x="{left + plot_w * v / hi_k + 4:.1f}" y="{y + bar - 2}" font-size="10">{fmt(v)}</text>')
            y += bar + gap
        x = left + plot_w * STREAM_KIB_TARGET / hi_k
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y}" stroke="#e15759" stroke-dasharray="4,3"/>')
        parts.append(f'<text x="{x + 3:.1f}" y="{y + 10}" font-size="10" fill="#e15759">target {STREAM_KIB_TARGET:.0f} KiB</text>')
        y += 24
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{y}" viewBox="0 0 {w} {y}" '
            'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n')
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(head + "\n".join(parts) + "\n</svg>\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("results")
    p.add_argument("--markdown")
    p.add_argument("--svg")
    p.add_argument("--command", default="scripts/bench/run.sh")
    p.add_argument("--elapsed", type=int, default=0)
    p.add_argument("--setup", type=int, default=0, help="seconds of --elapsed spent building and installing")
    p.add_argument("--token-delay-ms", type=int, default=int(os.environ.get("BENCH_TOKEN_DELAY_MS", "1000")))
    args = p.parse_args()
    rows = [json.loads(line) for line in open(args.results) if line.strip().startswith("{")]
    body, med_cpu, med_kib = build(rows, args)
    print(body)
    if args.markdown:
        write_markdown(args.markdown, body)
    if args.svg:
        svg(med_cpu, med_kib, args.svg)


if __name__ == "__main__":
    main()
