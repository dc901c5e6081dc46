// The official TypeScript SDK (@anthropic-ai/sdk, on Node's built-in fetch) under the same load
// as claude-kit-bench, printing the same JSON line.
//
//   node node_client.mjs client --url URL --requests N --concurrency C [--stream]
//
// C async workers share one client (retries off) and take the next request until N are done;
// streaming ones are read to the end with finalText(). CPU is process.cpuUsage() after minus
// before (start-up and imports excluded), peak RSS is process.resourceUsage().maxRSS.
// The SDK is resolved from $BENCH_NODE_MODULES (scripts/bench/run.sh installs it there).
import { createRequire } from "node:module";
import path from "node:path";

const modules = process.env.BENCH_NODE_MODULES ?? "target/bench-node/node_modules";
const require = createRequire(path.resolve(modules, "noop.js"));
const sdkPath = require.resolve("@anthropic-ai/sdk");
const { default: Anthropic } = await import(sdkPath);
const { readFileSync } = await import("node:fs");
const { version } = JSON.parse(readFileSync(path.resolve(modules, "@anthropic-ai/sdk/package.json"), "utf8"));

const argv = process.argv.slice(2);
const mode = argv.shift();
const opts = { requests: 1000, concurrency: 32, stream: false, model: "claude-mock-bench", maxTokens: 256 };
while (argv.length) {
  const a = argv.shift();
  if (a === "--url") opts.url = argv.shift();
  else if (a === "--requests") opts.requests = Number(argv.shift());
  else if (a === "--concurrency") opts.concurrency = Number(argv.shift());
  else if (a === "--stream") opts.stream = true;
  else if (a === "--model") opts.model = argv.shift();
  else if (a === "--max-tokens") opts.maxTokens = Number(argv.shift());
  else throw new Error(`unknown argument ${a}`);
}
if (mode !== "client" || !opts.url) throw new Error("usage: node_client.mjs client --url URL ...");

const PROMPT = "Benchmark: say hello.";
const client = new Anthropic({ apiKey: "sk-ant-api03-benchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmarkbenchmark-AAAA", baseURL: opts.url, maxRetries: 0 });
const params = { model: opts.model, max_tokens: opts.maxTokens, messages: [{ role: "user", content: PROMPT }] };

async function one() {
  if (opts.stream) {
    const text = await client.messages.stream(params).finalText();
    return text.length > 0;
  }
  const message = await client.messages.create(params);
  return message.content.some((b) => b.type === "text" && b.text.length > 0);
}

const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
let next = 0;
let errors = 0;
async function worker() {
  while (next++ < opts.requests) {
    try {
      if (!(await one())) errors++;
    } catch {
      errors++;
    }
  }
}
await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.requests) }, worker));
const wall = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpu0);
const r4 = (x) => Math.round(x * 1e4) / 1e4;
console.log(
  JSON.stringify({
    client: "anthropic-node",
    runtime: `node ${process.version}`,
    version,
    threads: 1,
    stream: opts.stream,
    requests: opts.requests,
    concurrency: opts.concurrency,
    errors,
    wall_s: r4(wall),
    cpu_user_s: r4(cpu.user / 1e6),
    cpu_sys_s: r4(cpu.system / 1e6),
    cpu_ms_per_1k: r4(((cpu.user + cpu.system) / 1e3 / opts.requests) * 1e3),
    peak_rss_kb: process.resourceUsage().maxRSS,
  }),
);
