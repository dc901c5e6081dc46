//! This process's CPU time and memory, read from `/proc` and the process CPU clock in safe
//! Rust (Linux only; elsewhere the `/proc` figures read as zero).

/// User and system CPU seconds of the whole process (every thread, live or exited), in the
/// 10 ms steps of `/proc/self/stat`, and its total CPU time to the nanosecond.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cpu {
    /// User time, seconds.
    pub(crate) user_s: f64,
    /// System time, seconds.
    pub(crate) sys_s: f64,
    /// User and system time of every thread, live or exited, seconds to the nanosecond
    /// (`CLOCK_PROCESS_CPUTIME_ID`).
    pub(crate) total_s: f64,
}

impl Cpu {
    /// CPU seconds (user and system) from `before` to `self`, to the nanosecond: the 10 ms
    /// ticks of `user_s` and `sys_s` are ~7 % of a 10,000-request run's ~0.15 s.
    pub(crate) fn seconds_since(&self, before: &Cpu) -> f64 {
        self.total_s - before.total_s
    }
}

/// Clock ticks per second of `/proc/self/stat` (`USER_HZ`): 100 on every Linux architecture
/// the project runs on (`getconf CLK_TCK`). Reading `sysconf` would need `libc` and `unsafe`.
const TICKS_PER_SECOND: f64 = 100.0;

/// The process's CPU time so far, from fields 14 (`utime`) and 15 (`stime`) of
/// `/proc/self/stat`.
pub(crate) fn cpu() -> Cpu {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Cpu::default();
    };
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Cpu::default();
    };
    // `rest` starts at field 3 (state), so utime / stime are its 12th / 13th fields.
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || {
        fields
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0) as f64
            / TICKS_PER_SECOND
    };
    let user_s = next();
    let sys_s = next();
    let clock = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Cpu {
        user_s,
        sys_s,
        total_s: clock.tv_sec as f64 + clock.tv_nsec as f64 / 1e9,
    }
}

/// A `kB` line of `/proc/self/status` (`VmHWM`: peak resident set; `VmRSS`: current).
pub(crate) fn status_kb(key: &str) -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix(':')?;
            value.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0)
}
