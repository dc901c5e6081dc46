//! Rate limits: per-minute request and token budgets, reported in `anthropic-ratelimit-*`
//! headers, with `429 rate_limit_error` when the requests of a minute exceed the budget.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http::header::{HeaderMap, HeaderName, HeaderValue};

use crate::lock;

/// The length of a rate-limit window.
const WINDOW: Duration = Duration::from_secs(60);

/// The default limits: high enough never to be reached by tests.
pub(crate) const DEFAULT_LIMIT: u64 = 1_000_000;

/// Fixed one-minute windows; a window starts with the first request after the previous one
/// ended.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    requests_per_minute: u64,
    tokens_per_minute: u64,
    window: Mutex<Option<Window>>,
}

/// Usage in the current window.
#[derive(Debug)]
struct Window {
    started: Instant,
    /// When the window ends, as wall-clock time (for the `-reset` headers).
    resets_at: SystemTime,
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
}

/// The verdict on one request.
#[derive(Debug)]
pub(crate) struct Admission {
    /// The `anthropic-ratelimit-*` headers.
    pub(crate) headers: HeaderMap,
    /// `Some(seconds until the window resets, at least 1)` when the request is over the limit.
    pub(crate) retry_after: Option<u64>,
}

impl RateLimiter {
    pub(crate) fn new(requests_per_minute: u64, tokens_per_minute: u64) -> Self {
        RateLimiter {
            requests_per_minute,
            tokens_per_minute,
            window: Mutex::new(None),
        }
    }

    /// The request-per-minute limit.
    pub(crate) fn requests_per_minute(&self) -> u64 {
        self.requests_per_minute
    }

    /// Counts a request that may use these tokens (its input, and `max_tokens` of output).
    /// A request over the limit is counted but its tokens are not.
    pub(crate) fn admit(&self, input_tokens: u64, output_tokens: u64) -> Admission {
        let now = Instant::now();
        let mut slot = lock(&self.window);
        if slot
            .as_ref()
            .is_some_and(|w| now.duration_since(w.started) >= WINDOW)
        {
            *slot = None;
        }
        let window = slot.get_or_insert_with(|| Window {
            started: now,
            resets_at: SystemTime::now() + WINDOW,
            requests: 0,
            input_tokens: 0,
            output_tokens: 0,
        });
        window.requests += 1;
        let limited = window.requests > self.requests_per_minute;
        if !limited {
            window.input_tokens = window.input_tokens.saturating_add(input_tokens);
            window.output_tokens = window.output_tokens.saturating_add(output_tokens);
        }
        let left = WINDOW.saturating_sub(now.duration_since(window.started));
        let retry_after = limited.then(|| left.as_secs_f64().ceil().max(1.0) as u64);
        let reset = rfc3339(window.resets_at);
        let rpm = self.requests_per_minute;
        let tpm = self.tokens_per_minute;
        let used_tokens = window.input_tokens.saturating_add(window.output_tokens);
        let mut headers = HeaderMap::new();
        let mut add = |name: &'static str, value: String| {
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        add("anthropic-ratelimit-requests-limit", rpm.to_string());
        add(
            "anthropic-ratelimit-requests-remaining",
            rpm.saturating_sub(window.requests).to_string(),
        );
        add("anthropic-ratelimit-requests-reset", reset.clone());
        add("anthropic-ratelimit-tokens-limit", tpm.to_string());
        add(
            "anthropic-ratelimit-tokens-remaining",
            tpm.saturating_sub(used_tokens).to_string(),
        );
        add("anthropic-ratelimit-tokens-reset", reset.clone());
        add("anthropic-ratelimit-input-tokens-limit", tpm.to_string());
        add(
            "anthropic-ratelimit-input-tokens-remaining",
            tpm.saturating_sub(window.input_tokens).to_string(),
        );
        add("anthropic-ratelimit-input-tokens-reset", reset.clone());
        add("anthropic-ratelimit-output-tokens-limit", tpm.to_string());
        add(
            "anthropic-ratelimit-output-tokens-remaining",
            tpm.saturating_sub(window.output_tokens).to_string(),
        );
        add("anthropic-ratelimit-output-tokens-reset", reset);
        Admission {
            headers,
            retry_after,
        }
    }
}

/// `time` in RFC 3339, UTC, whole seconds: `2025-01-31T12:34:56Z`.
pub(crate) fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian date of a day number (days since 1970-01-01), after Howard
/// Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |secs| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(at(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(at(4_102_444_800 + 3661), "2100-01-01T01:01:01Z");
    }

    #[test]
    fn window_counts_and_limits() {
        let limiter = RateLimiter::new(2, 100);
        let header = |a: &Admission, name: &str| a.headers[name].to_str().unwrap().to_owned();
        let first = limiter.admit(10, 20);
        assert_eq!(first.retry_after, None);
        assert_eq!(header(&first, "anthropic-ratelimit-requests-limit"), "2");
        assert_eq!(
            header(&first, "anthropic-ratelimit-requests-remaining"),
            "1"
        );
        assert_eq!(header(&first, "anthropic-ratelimit-tokens-remaining"), "70");
        assert_eq!(
            header(&first, "anthropic-ratelimit-input-tokens-remaining"),
            "90"
        );
        assert_eq!(
            header(&first, "anthropic-ratelimit-output-tokens-remaining"),
            "80"
        );
        let second = limiter.admit(100, 100);
        assert_eq!(second.retry_after, None);
        assert_eq!(
            header(&second, "anthropic-ratelimit-requests-remaining"),
            "0"
        );
        assert_eq!(header(&second, "anthropic-ratelimit-tokens-remaining"), "0");
        let third = limiter.admit(1, 1);
        let retry = third.retry_after.expect("limited");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(
            header(&third, "anthropic-ratelimit-requests-remaining"),
            "0"
        );
        assert_eq!(
            header(&first, "anthropic-ratelimit-requests-reset"),
            header(&third, "anthropic-ratelimit-tokens-reset")
        );
        assert_eq!(third.headers.len(), 12);
    }
}
