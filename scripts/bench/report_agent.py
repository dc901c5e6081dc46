"""The Claude Code backend's section of BENCHMARKS.md and its chart (used by report.py).

Rows are the JSON lines of `claude-kit-bench agent` (client `claude-kit` or `raw`: the CLI
driven by hand) and of scripts/bench/python_agent.py (client `python`), each with `cli` `fake`
or `real`.
"""

import statistics
from collections import OrderedDict

CPU_TARGET_MS = 0.3  # the SDK's own CPU per query, at most
PY_TARGET = 20.0  # Python Agent SDK CPU per query / ours, at least
ADDED_TARGET_MS = 5.0  # time to the first message over the CLI driven by hand, at most
WARM_TARGET = 1 / 5  # pooled time to the first message / cold, at most

NAMES = OrderedDict(
    [
        (("claude-kit", "tokio"), "claude-kit (tokio)"),
        (("claude-kit", "tokio-current-thread"), "claude-kit (tokio, current thread)"),
        (("claude-kit", "smol"), "claude-kit (smol)"),
        (("raw", "threads"), "the CLI driven by hand (std::process)"),
        (("python", "asyncio"), "Python `claude-agent-sdk` (asyncio)"),
    ]
)


def name(row):
    return NAMES.get((row["client"], row["runtime"]), f"{row['client']} ({row['runtime']})")


def order(n):
    names = list(NAMES.values())
    return (names.index(n) if n in names else len(names), n)


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cell(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"


def verdict(ok):
    return "**met**" if ok else "**missed**"


def medians(rows):
    """{(cli, name): {field: median}}."""
    out = OrderedDict()
    for row in rows:
        out.setdefault((row["cli"], name(row)), []).append(row)
    fields = ("sdk_cpu_ms_per_query", "first_message_ms", "result_ms", "warm_first_message_ms",
              "warm_result_ms", "max_rss_kb", "import_s")
    return OrderedDict(
        (key, dict({f: med([r.get(f) for r in rs]) for f in fields}, runs=len(rs), queries=rs[0]["queries"],
                   version=rs[0].get("cli_version") or rs[0].get("sdk_version")))
        for key, rs in out.items()
    )


def agent_section(rows):
    m = medians(rows)
    lines = [
        "### The Claude Code backend",
        "",
        "![The Claude Code backend: SDK CPU per query and time to the first message](docs/bench-agent.svg)",
        "",
        "Sequential cold queries (spawn the CLI, `initialize`, `query(\"Hello\")`, read to the result, "
        "disconnect), then the same with a CLI started ahead (claude-kit's `WarmPool`; by hand: a "
        "thread that spawns and initializes the next CLI). SDK CPU is the measuring process's own "
        "(threads' `schedstat` for claude-kit and by hand, `getrusage(RUSAGE_SELF)` for Python): "
        "the CLI children are not counted. Medians over the runs; times are medians of the queries.",
        "",
    ]
    for cli in ("fake", "real"):
        sel = [(n, v) for (c, n), v in m.items() if c == cli]
        if not sel:
            continue
        what = ("the fake CLI (`claude-kit-fake-claude`: the CLI's own cost left out)" if cli == "fake"
                else "the real Claude Code CLI against the mock server")
        lines.append(f"**Through {what}**:")
        lines.append("")
        lines.append("| client | queries × runs | SDK CPU ms / query | first message, ms | result, ms | "
                     "pooled: first message, ms | pooled: result, ms | peak RSS MiB | import, s |")
        lines.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for n, v in sorted(sel, key=lambda kv: order(kv[0])):
            rss = None if v["max_rss_kb"] is None else v["max_rss_kb"] / 1024
            lines.append(
                f"| {n} | {v['queries']} × {v['runs']} | {cell(v['sdk_cpu_ms_per_query'], 3)} | "
                f"{cell(v['first_message_ms'])} | {cell(v['result_ms'])} | {cell(v['warm_first_message_ms'])} | "
                f"{cell(v['warm_result_ms'])} | {cell(rss)} | {cell(v['import_s'], 2)} |"
            )
        lines.append("")

    lines.append("Targets:")
    lines.append("")
    lines.append("| target | figure | verdict |")
    lines.append("| --- | --- | --- |")
    ours = [n for n in NAMES.values() if n.startswith("claude-kit")]
    raw = NAMES[("raw", "threads")]
    py = NAMES[("python", "asyncio")]
    for cli in ("fake", "real"):
        for o in ours:
            v = m.get((cli, o))
            if not v:
                continue
            cpu = v["sdk_cpu_ms_per_query"]
            if cpu is not None:
                lines.append(f"| {o}, {cli} CLI: SDK CPU ≤ {CPU_TARGET_MS} ms / query | {cpu:.3f} ms | "
                             f"{verdict(cpu <= CPU_TARGET_MS)} |")
            p = m.get((cli, py))
            if p and cpu and p["sdk_cpu_ms_per_query"] is not None:
                r = p["sdk_cpu_ms_per_query"] / cpu
                lines.append(f"| {o}, {cli} CLI: ≥ {PY_TARGET:.0f}× less SDK CPU than Python | {r:.1f}× | "
                             f"{verdict(r >= PY_TARGET)} |")
            h = m.get((cli, raw))
            if h and v["first_message_ms"] is not None and h["first_message_ms"] is not None:
                added = v["first_message_ms"] - h["first_message_ms"]
                lines.append(f"| {o}, {cli} CLI: ≤ {ADDED_TARGET_MS:.0f} ms added to the first message over the CLI by hand | "
                             f"{added:+.1f} ms ({v['first_message_ms']:.1f} vs {h['first_message_ms']:.1f}) | "
                             f"{verdict(added <= ADDED_TARGET_MS)} |")
            if v["warm_first_message_ms"] is not None and v["first_message_ms"]:
                r = v["warm_first_message_ms"] / v["first_message_ms"]
                lines.append(f"| {o}, {cli} CLI: pooled first message ≤ 1/5 of cold | {r:.3f} "
                             f"({v['warm_first_message_ms']:.1f} vs {v['first_message_ms']:.1f} ms) | "
                             f"{verdict(r <= WARM_TARGET)} |")
    return "\n".join(lines)


def agent_svg(rows, path):
    """Two bar groups per CLI kind: SDK CPU per query (log scale) and cold / pooled time to the
    first message."""
    m = medians(rows)
    import math

    bars = []  # (group, label, value, unit)
    for cli in ("fake", "real"):
        for (c, n), v in sorted(m.items(), key=lambda kv: order(kv[0][1])):
            if c != cli or v["sdk_cpu_ms_per_query"] is None:
                continue
            bars.append((f"SDK CPU per query, {cli} CLI (ms, log scale)", n, v["sdk_cpu_ms_per_query"], "ms"))
    for cli in ("fake", "real"):
        for (c, n), v in sorted(m.items(), key=lambda kv: order(kv[0][1])):
            if c != cli:
                continue
            if v["first_message_ms"] is not None:
                bars.append((f"time to the first message, {cli} CLI (ms)", f"{n}, cold", v["first_message_ms"], "ms"))
            if v["warm_first_message_ms"] is not None:
                bars.append((f"time to the first message, {cli} CLI (ms)", f"{n}, pooled", v["warm_first_message_ms"], "ms"))
    w, left, bar_w, row_h = 900, 330, 480, 20
    y = 30
    body = []
    groups = OrderedDict()
    for g, n, v, u in bars:
        groups.setdefault(g, []).append((n, v, u))
    for g, items in groups.items():
        body.append(f'<text x="10" y="{y}" font-weight="bold">{g}</text>')
        y += 8
        log = "log" in g
        vals = [v for _, v, _ in items]
        if log:
            lo = math.floor(math.log10(max(min(vals), 1e-3))) - 0.5
            hi = math.log10(max(vals)) + 0.2
            scale = lambda v: (math.log10(max(v, 1e-3)) - lo) / (hi - lo)  # noqa: E731
        else:
            top = max(vals) or 1
            scale = lambda v: v / top  # noqa: E731
        for n, v, u in items:
            color = "#d9822b" if n.startswith("claude-kit") else ("#999" if "hand" in n else "#4a7ab7")
            length = max(2, bar_w * scale(v))
            body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(n)}</text>')
            body.append(f'<rect x="{left}" y="{y + 2}" width="{length:.1f}" height="{row_h - 6}" fill="{color}"/>')
            body.append(f'<text x="{left + length + 4:.1f}" y="{y + 14}">{v:,.3g} {u}</text>')
            y += row_h
        y += 16
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{y}" viewBox="0 0 {w} {y}" '
            'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>')
    with open(path, "w") as f:
        f.write(head + "\n" + "\n".join(body) + "\n</svg>\n")


def escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "")
