"""The official Python Agent SDK (claude-agent-sdk) in the agent benchmark: the anchor.

    python_agent.py --cli PATH [--queries N] [--base-url URL] [--home DIR] [--cli-kind fake|real]

The same cold query as `claude-kit-bench agent` (connect = spawn + initialize, query("Hello"),
receive_response() to the result, disconnect), one after another, on asyncio; prints one JSON
line: `scenario: "agent"`, `client: "python"`, this process's own CPU per query
(`getrusage(RUSAGE_SELF)`: children, i.e. the CLI, excluded), the medians of the wall time to
the first assistant message and to the result, the time `import claude_agent_sdk` took, and the
peak RSS. The Python SDK has no pool: `warm_*` are null.
"""

import argparse
import asyncio
import json
import os
import resource
import statistics
import tempfile
import time

T0 = time.perf_counter()
import claude_agent_sdk  # noqa: E402  (the import is measured)
from claude_agent_sdk import (  # noqa: E402
    AssistantMessage,
    ClaudeAgentOptions,
    ClaudeSDKClient,
    ResultMessage,
)

IMPORT_S = time.perf_counter() - T0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def status_kb(field: str):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


async def turn(options: ClaudeAgentOptions):
    start = time.perf_counter()
    first = None
    async with ClaudeSDKClient(options) as client:
        await client.query("Hello")
        async for message in client.receive_response():
            if first is None and isinstance(message, AssistantMessage):
                first = time.perf_counter() - start
            if isinstance(message, ResultMessage):
                result = time.perf_counter() - start
                if message.is_error:
                    raise RuntimeError(f"error result: {message.result!r}")
    if first is None:
        raise RuntimeError("no assistant message")
    return first, result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--base-url")
    parser.add_argument("--home")
    parser.add_argument("--cli-kind")
    args = parser.parse_args()
    home = args.home or tempfile.mkdtemp(prefix="claude-kit-bench-py-agent-")
    env = {
        "HOME": home,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
    }
    if args.base_url:
        env["ANTHROPIC_BASE_URL"] = args.base_url
        env["ANTHROPIC_API_KEY"] = "sk-ant-bench-key"
    options = ClaudeAgentOptions(cli_path=args.cli, max_turns=1, env=env)
    kind = args.cli_kind or ("fake" if "fake" in os.path.basename(args.cli) else "real")

    firsts, results = [], []
    before = cpu_s()
    wall = time.perf_counter()
    for _ in range(args.queries):
        first, result = await turn(options)
        firsts.append(first)
        results.append(result)
    wall = time.perf_counter() - wall
    cpu = cpu_s() - before

    def median_ms(values):
        return round(statistics.median(values) * 1e3, 1) if values else None

    print(
        json.dumps(
            {
                "scenario": "agent",
                "client": "python",
                "runtime": "asyncio",
                "sdk_version": claude_agent_sdk.__version__,
                "cli": kind,
                "queries": args.queries,
                "warm_queries": 0,
                "sdk_cpu_ms_per_query": round(cpu * 1e3 / max(args.queries, 1), 4),
                "import_s": round(IMPORT_S, 3),
                "wall_s": round(wall, 2),
                "first_message_ms": median_ms(firsts),
                "result_ms": median_ms(results),
                "warm_first_message_ms": None,
                "warm_result_ms": None,
                "max_rss_kb": status_kb("VmHWM"),
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
