#!/usr/bin/env python3
"""The official Python SDK (`anthropic`, AsyncAnthropic) under the same load as
`claude-kit-bench`, printing the same JSON line.

    python_client.py client --url URL --requests N --concurrency C [--stream]
    python_client.py many-streams --url URL --streams S

`client`: N requests, at most C in flight (an asyncio.Semaphore), streaming ones read to the
end with `get_final_text()`; retries off, one AsyncAnthropic. CPU is this process's
`resource.getrusage(RUSAGE_SELF)` user + system time after minus before (interpreter start-up
and imports excluded), peak RSS is `ru_maxrss`.

`many-streams`: opens S streams at once (connection limit raised to S), samples VmRSS once
every stream has received its first event, then reads them all to the end.
"""
import argparse
import asyncio
import json
import resource
import sys
import time

import anthropic
import httpx2 as httpx  # the transport anthropic 2.x is built on

PROMPT = "Benchmark: say hello."


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def vm_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def new_client(args, connections=None):
    kwargs = {}
    if connections is not None:
        kwargs["http_client"] = anthropic.DefaultAsyncHttpxClient(
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            # The SDK's default connect timeout (5 s) expires while one event loop opens
            # thousands of streams on a busy machine; this measures memory, not timeouts.
            timeout=httpx.Timeout(600.0, connect=120.0),
            trust_env=False,
        )
    return anthropic.AsyncAnthropic(api_key="sk-ant-api03-benchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmark-AAAA", base_url=args.url, max_retries=0, **kwargs)


async def one(client, args):
    if args.stream:
        async with client.messages.stream(
            model=args.model, max_tokens=args.max_tokens, messages=[{"role": "user", "content": PROMPT}]
        ) as stream:
            text = await stream.get_final_text()
    else:
        message = await client.messages.create(
            model=args.model, max_tokens=args.max_tokens, messages=[{"role": "user", "content": PROMPT}]
        )
        text = "".join(b.text for b in message.content if b.type == "text")
    return bool(text)


async def run_client(args):
    client = new_client(args)  # the SDK as shipped: its default limits (1000 connections) fit C
    sem = asyncio.Semaphore(args.concurrency)
    errors = 0

    async def guarded():
        nonlocal errors
        async with sem:
            try:
                if not await one(client, args):
                    errors += 1
            except Exception:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(guarded() for _ in range(args.requests)))
    wall = time.perf_counter() - start
    await client.close()
    return errors, wall


async def run_many(args):
    client = new_client(args, connections=args.streams)
    rss_before = vm_kb("VmRSS")
    start = time.perf_counter()

    async def open_one():
        manager = client.messages.stream(
            model=args.model, max_tokens=args.max_tokens, messages=[{"role": "user", "content": PROMPT}]
        )
        stream = await manager.__aenter__()
        # The first event: message_start.
        first = await stream.__anext__()
        return manager, stream, first

    opened = await asyncio.gather(*(open_one() for _ in range(args.streams)), return_exceptions=True)
    open_wall = time.perf_counter() - start
    rss_open = vm_kb("VmRSS")

    reported = []

    def report(error):
        # The first error is worth a line on stderr: "errors: 2000" alone says nothing.
        if not reported:
            reported.append(error)
            print(f"many-streams: first error: {type(error).__name__}: {error}", file=sys.stderr)

    async def finish(item):
        if isinstance(item, BaseException):
            report(item)
            return False
        manager, stream, _ = item
        try:
            text = await stream.get_final_text()
            return bool(text)
        except Exception as error:
            report(error)
            return False
        finally:
            await manager.__aexit__(None, None, None)

    oks = await asyncio.gather(*(finish(o) for o in opened))
    wall = time.perf_counter() - start
    await client.close()
    return {
        "rss_kb_before": rss_before,
        "rss_kb_all_open": rss_open,
        "errors": args.streams - sum(1 for ok in oks if ok),
        "open_s": round(open_wall, 4),
        "wall_s": round(wall, 4),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["client", "many-streams"])
    p.add_argument("--url", required=True)
    p.add_argument("--requests", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--stream", action="store_true")
    p.add_argument("--streams", type=int, default=1000)
    p.add_argument("--model", default="claude-sonnet-4-5")
    p.add_argument("--max-tokens", type=int, default=256)
    args = p.parse_args()

    u0, s0 = cpu()
    if args.mode == "client":
        errors, wall = asyncio.run(run_client(args))
        u1, s1 = cpu()
        out = {
            "client": "anthropic-python",
            "runtime": "asyncio",
            "version": anthropic.__version__,
            "threads": 1,
            "stream": args.stream,
            "requests": args.requests,
            "concurrency": args.concurrency,
            "errors": errors,
            "wall_s": round(wall, 4),
            "cpu_user_s": round(u1 - u0, 4),
            "cpu_sys_s": round(s1 - s0, 4),
            "cpu_ms_per_1k": round((u1 - u0 + s1 - s0) * 1e6 / max(args.requests, 1), 4),
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    else:
        result = asyncio.run(run_many(args))
        u1, s1 = cpu()
        out = {
            "scenario": "many-streams",
            "client": "anthropic-python",
            "runtime": "asyncio",
            "version": anthropic.__version__,
            "streams": args.streams,
            **result,
            "kb_per_stream": round((result["rss_kb_all_open"] - result["rss_kb_before"]) / max(args.streams, 1), 4),
            "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            "cpu_user_s": round(u1 - u0, 4),
            "cpu_sys_s": round(s1 - s0, 4),
        }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
