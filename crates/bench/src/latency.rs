//! `claude-kit-bench latency`: streamed requests one after another (nothing else in flight),
//! timing each one's first text delta from the moment the request is made, and the gaps
//! between its deltas as the caller sees them. Against the mock, whose events all arrive at
//! once, a gap is what the client spends between two events: its added latency per event.

use std::time::{Duration, Instant};

use crate::{Args, procfs};

/// The timings of one run.
#[derive(Default)]
pub(crate) struct Timings {
    /// Per request: request made → first text delta.
    first_delta: Vec<Duration>,
    /// Every gap between two text deltas of one request.
    gaps: Vec<Duration>,
    /// Requests that failed or had no delta.
    pub(crate) errors: usize,
}

/// The clock of one request.
pub(crate) struct RequestClock {
    start: Instant,
    last: Option<Instant>,
}

impl RequestClock {
    /// A request made now.
    pub(crate) fn start() -> Self {
        Self {
            start: Instant::now(),
            last: None,
        }
    }

    /// A text delta reached the caller now.
    pub(crate) fn delta(&mut self, timings: &mut Timings) {
        let now = Instant::now();
        match self.last {
            None => timings.first_delta.push(now - self.start),
            Some(last) => timings.gaps.push(now - last),
        }
        self.last = Some(now);
    }

    /// The request ended; `ok` when it succeeded.
    pub(crate) fn end(self, ok: bool, timings: &mut Timings) {
        if !ok || self.last.is_none() {
            timings.errors += 1;
        }
    }
}

/// The `q`-quantile of `values`, in microseconds.
fn quantile_us(values: &mut [Duration], q: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    let index = ((values.len() - 1) as f64 * q).round() as usize;
    values[index].as_secs_f64() * 1e6
}

/// The JSON line of a `latency` run.
pub(crate) fn report(
    client: &str,
    runtime: &str,
    args: &Args,
    before: procfs::Cpu,
    mut timings: Timings,
) -> String {
    let after = procfs::cpu();
    let gaps = timings.gaps.len().max(1) as f64;
    let mean_gap = timings.gaps.iter().map(Duration::as_secs_f64).sum::<f64>() / gaps * 1e6;
    serde_json::json!({
        "scenario": "latency",
        "client": client,
        "runtime": runtime,
        "requests": args.requests,
        "errors": timings.errors,
        "first_delta_us_p50": round(quantile_us(&mut timings.first_delta, 0.5)),
        "first_delta_us_p99": round(quantile_us(&mut timings.first_delta, 0.99)),
        "inter_delta_us_p50": round(quantile_us(&mut timings.gaps, 0.5)),
        "inter_delta_us_mean": round(mean_gap),
        "cpu_user_s": round(after.user_s - before.user_s),
        "cpu_sys_s": round(after.sys_s - before.sys_s),
    })
    .to_string()
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
