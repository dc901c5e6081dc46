//! Client-side rate limiting: stay under the API's limits instead of bouncing off them.
//!
//! The Messages API limits each organisation to so many requests, input tokens and output
//! tokens per minute, and answers `429` past them. A batch of hundreds of prompts that fires
//! everything at once spends its retries on those 429s; one that paces itself never sees them.
//! This module has the two pure parts of pacing:
//!
//! - [`RateLimiter`]: a GCRA (generic cell rate algorithm, the exact form of a token bucket)
//!   over `now: Instant`: `per_minute` units per minute, bursts up to `burst` units, O(1) state
//!   (one instant). It says "go" or "try again at instant T"; the async driver sleeps until T
//!   on its runtime. In any window of 60 s it grants at most `burst + per_minute` units.
//! - [`RateLimitInfo`]: the `anthropic-ratelimit-*` headers of a response, parsed, so that the
//!   limiter can be aligned with what the server reports ([`RateLimiter::observe`]).
//!
//! Nothing here reads a clock: every method takes `now`, so tests are deterministic and a
//! runtime with a virtual clock works.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant};
//! use claude_kit_core::policy::limit::{RateLimitInfo, RateLimiter};
//!
//! // 60 requests per minute, at most 2 at once: one every second after the burst.
//! let start = Instant::now();
//! let mut limiter = RateLimiter::per_minute(60).with_burst(2);
//! assert_eq!(limiter.try_acquire(1, start), Ok(()));
//! assert_eq!(limiter.try_acquire(1, start), Ok(()));
//! let again = limiter.try_acquire(1, start).unwrap_err();
//! assert_eq!(again, start + Duration::from_secs(1));
//! assert_eq!(limiter.try_acquire(1, again), Ok(()));
//!
//! // What the server says about its own limits.
//! let mut headers = http::HeaderMap::new();
//! headers.insert("anthropic-ratelimit-requests-limit", "50".parse().unwrap());
//! headers.insert("anthropic-ratelimit-requests-remaining", "49".parse().unwrap());
//! headers.insert("anthropic-ratelimit-requests-reset", "2024-01-01T00:00:30Z".parse().unwrap());
//! let info = RateLimitInfo::from_headers(&headers);
//! let requests = info.requests.unwrap();
//! assert_eq!((requests.limit, requests.remaining), (Some(50), Some(49)));
//! assert!(info.tokens.is_none());
//! ```

use std::time::{Duration, Instant, SystemTime};

use http::HeaderMap;

/// GCRA / token bucket: `per_minute` units per minute, with bursts up to `burst` units.
///
/// The state is the *debt*: how long the bucket needs to refill completely, kept as the
/// instant it will be full again. Taking `n` units adds `n` emission intervals
/// (`60 s / per_minute`, rounded up to the nanosecond so that rounding never makes the limiter
/// more generous); a request is granted when the debt stays within `burst` intervals.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    /// `60 s / per_minute`, rounded up.
    interval: Duration,
    /// When the bucket is full again; `None` (or a past instant) when it is full.
    full_at: Option<Instant>,
}

impl RateLimiter {
    /// `per_minute` units per minute, with bursts of up to a full minute's worth (as the API's
    /// own limits allow). 0 is treated as 1: a limiter that never grants anything would only
    /// hang its callers.
    pub fn per_minute(per_minute: u32) -> Self {
        let per_minute = per_minute.max(1);
        let nanos_per_minute = 60_000_000_000u64;
        let interval = Duration::from_nanos(nanos_per_minute.div_ceil(u64::from(per_minute)));
        Self {
            per_minute,
            burst: per_minute,
            interval,
            full_at: None,
        }
    }

    /// At most `burst` units at once (0 is treated as 1). A smaller burst spreads requests
    /// evenly instead of letting a minute's worth go at once.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The units granted per minute, in the long run.
    pub fn rate_per_minute(&self) -> u32 {
        self.per_minute
    }

    /// The most units granted at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    fn debt(&self, now: Instant) -> Duration {
        self.full_at.map_or(Duration::ZERO, |full_at| {
            full_at.saturating_duration_since(now)
        })
    }

    fn capacity(&self) -> Duration {
        self.units(self.burst)
    }

    fn units(&self, units: u32) -> Duration {
        // At most 60 s · u32::MAX: representable.
        self.interval.saturating_mul(units)
    }

    fn set_debt(&mut self, debt: Duration, now: Instant) {
        self.full_at = if debt.is_zero() {
            None
        } else {
            Some(crate::policy::saturating_deadline(now, debt))
        };
    }

    /// Takes `cost` units at `now` if available: `Ok(())` — or `Err(instant)` when the caller
    /// may try again (no state change on `Err`); trying again at that instant succeeds unless
    /// someone else took units in between.
    ///
    /// A cost larger than the burst is clamped to the burst: it would never fit otherwise. It
    /// then waits for a full bucket and empties it. `now` should not go backwards; an earlier
    /// instant is treated as if no time had passed since the last call.
    pub fn try_acquire(&mut self, cost: u32, now: Instant) -> Result<(), Instant> {
        let cost = cost.min(self.burst);
        let debt = self.debt(now).saturating_add(self.units(cost));
        let capacity = self.capacity();
        if debt <= capacity {
            self.set_debt(debt, now);
            Ok(())
        } else {
            Err(crate::policy::saturating_deadline(now, debt - capacity))
        }
    }

    /// Gives back units taken but not used (e.g. a request estimated at 1000 tokens used 300):
    /// never below empty, that is never fuller than a full bucket.
    pub fn refund(&mut self, units: u32, now: Instant) {
        let debt = self.debt(now).saturating_sub(self.units(units));
        self.set_debt(debt, now);
    }

    /// Aligns with what the server reports: `remaining` units now, and (optionally) the instant
    /// its window is full again. Never lets the local limiter be more generous than the server,
    /// and never loosens it:
    ///
    /// - afterwards `available(now) <= remaining`;
    /// - when `remaining` is less than the burst, the limiter is not full again before
    ///   `reset_at` either (with `remaining` 0 and a distant reset, nothing is granted until
    ///   close to it).
    pub fn observe(&mut self, remaining: u64, reset_at: Option<Instant>, now: Instant) {
        let burst = u64::from(self.burst);
        let missing = burst - remaining.min(burst);
        // `missing <= burst <= u32::MAX`.
        let mut debt = self.debt(now).max(self.units(missing as u32));
        if remaining < burst
            && let Some(reset_at) = reset_at
        {
            debt = debt.max(reset_at.saturating_duration_since(now));
        }
        self.set_debt(debt, now);
    }

    /// The units that could be taken at `now`, at most the burst.
    pub fn available(&self, now: Instant) -> u32 {
        let free = self.capacity().saturating_sub(self.debt(now));
        let units = free.as_nanos() / self.interval.as_nanos();
        units.min(u128::from(self.burst)) as u32
    }
}

/// The `anthropic-ratelimit-*` response headers, parsed.
///
/// Every response of the API carries them; a missing or malformed header is `None`, never an
/// error, because rate-limit information is advisory and must not fail a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RateLimitInfo {
    /// `anthropic-ratelimit-requests-*`: requests per minute.
    pub requests: Option<Limit>,
    /// `anthropic-ratelimit-tokens-*`: the most restrictive of the token limits.
    pub tokens: Option<Limit>,
    /// `anthropic-ratelimit-input-tokens-*`: input tokens per minute.
    pub input_tokens: Option<Limit>,
    /// `anthropic-ratelimit-output-tokens-*`: output tokens per minute.
    pub output_tokens: Option<Limit>,
    /// `retry-after` in seconds (whole or fractional). The HTTP-date form is left to
    /// [`retry`](super::retry), which is given the wall clock.
    pub retry_after: Option<Duration>,
}

/// One limit: `anthropic-ratelimit-<name>-{limit,remaining,reset}`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limit {
    /// The most units allowed in the window.
    pub limit: Option<u64>,
    /// The units left now.
    pub remaining: Option<u64>,
    /// When the limit is fully replenished.
    pub reset: Option<SystemTime>,
}

impl Limit {
    /// A limit from its three parts.
    pub fn new(limit: Option<u64>, remaining: Option<u64>, reset: Option<SystemTime>) -> Self {
        Self {
            limit,
            remaining,
            reset,
        }
    }

    /// [`reset`](Self::reset) as an [`Instant`] on the clock whose reading is `now`, given the
    /// wall clock `wall_now` read at the same moment: what [`RateLimiter::observe`] takes. A
    /// reset in the past is `now`.
    pub fn reset_at(&self, now: Instant, wall_now: SystemTime) -> Option<Instant> {
        let reset = self.reset?;
        let ahead = reset.duration_since(wall_now).unwrap_or(Duration::ZERO);
        Some(crate::policy::saturating_deadline(now, ahead))
    }
}

impl RateLimitInfo {
    /// Parses `anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,reset}`
    /// and `retry-after`. Malformed values are ignored (`None`), never an error; a limit none
    /// of whose three headers parsed is `None`.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            requests: limit(headers, "requests"),
            tokens: limit(headers, "tokens"),
            input_tokens: limit(headers, "input-tokens"),
            output_tokens: limit(headers, "output-tokens"),
            retry_after: header_str(headers, "retry-after")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|secs| *secs >= 0.0)
                .and_then(|secs| Duration::try_from_secs_f64(secs).ok()),
        }
    }

    /// Whether no rate-limit header was found.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn limit(headers: &HeaderMap, name: &str) -> Option<Limit> {
    let get = |suffix: &str| header_str(headers, &format!("anthropic-ratelimit-{name}-{suffix}"));
    let limit = Limit {
        limit: get("limit").and_then(|v| v.parse().ok()),
        remaining: get("remaining").and_then(|v| v.parse().ok()),
        reset: get("reset").and_then(parse_rfc3339),
    };
    (limit.limit.is_some() || limit.remaining.is_some() || limit.reset.is_some()).then_some(limit)
}

/// Parses an RFC 3339 timestamp (`2024-01-01T00:00:30Z`, `2024-01-01T01:00:30.5+01:00`).
///
/// Hand-written (about forty lines) rather than a dependency: the headers use one fixed format,
/// and a date crate would be the core crate's largest dependency for a single call. Accepts `T`,
/// `t` or a space between date and time, `Z`/`z` or a `±HH:MM` offset, any number of fraction
/// digits (nanoseconds kept), and a leap second `:60` (read as the next second). Rejects
/// anything else, including out-of-range fields.
pub(crate) fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0u32;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        for (i, &d) in fraction[..digits].iter().enumerate().take(9) {
            nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
        }
        rest = &fraction[digits..];
    }
    let offset_secs: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_from_civil(i64::from(year), month, day);
    let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second)
        - offset_secs;
    let time = if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))?
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
    };
    time.checked_add(Duration::from_nanos(u64::from(nanos)))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(at(0)));
        assert_eq!(
            parse_rfc3339("2024-01-01T00:00:30Z"),
            Some(at(1_704_067_230))
        );
        assert_eq!(
            parse_rfc3339("2024-01-01T01:00:30+01:00"),
            Some(at(1_704_067_230))
        );
        assert_eq!(
            parse_rfc3339("2023-12-31t19:00:30-05:00"),
            Some(at(1_704_067_230))
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T12:00:00.25z"),
            Some(at(1_709_208_000) + Duration::from_millis(250))
        );
        assert_eq!(
            parse_rfc3339("2000-03-01 00:00:00.1234567891Z"),
            Some(at(951_868_800) + Duration::from_nanos(123_456_789))
        );
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59Z"),
            SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(1))
        );
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            Some(at(1_483_228_800))
        );
    }

    #[test]
    fn rfc3339_rejects_malformed() {
        for text in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:30",
            "2024-01-01T00:00:30+0100",
            "2024-01-01T00:00:30.Z",
            "2024-13-01T00:00:30Z",
            "2023-02-29T00:00:30Z",
            "2024-04-31T00:00:30Z",
            "2024-01-00T00:00:30Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:30+24:00",
            "2024-01-01T00:00:30Zjunk",
            "2024/01/01T00:00:30Z",
            "+024-01-01T00:00:30Z",
            "2024-01-01T00:00:30Z ",
            "１２３4-01-01T00:00:30Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text:?}");
        }
    }

    #[test]
    fn days_from_civil_matches_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1600, 1, 1), -135_140);
    }
}
