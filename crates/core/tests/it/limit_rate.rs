//! Client-side rate limiting: the GCRA limiter and the `anthropic-ratelimit-*` headers.

use std::time::{Duration, Instant, SystemTime};

use claude_kit_core::policy::limit::{Limit, RateLimitInfo, RateLimiter};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn a_burst_then_the_steady_rate() {
    let t0 = Instant::now();
    // 60 per minute: one a second, bursts of a full minute.
    let mut limiter = RateLimiter::per_minute(60);
    assert_eq!(limiter.available(t0), 60);
    for _ in 0..60 {
        assert_eq!(limiter.try_acquire(1, t0), Ok(()));
    }
    assert_eq!(limiter.available(t0), 0);
    assert_eq!(limiter.try_acquire(1, t0), Err(t0 + secs(1)));
    // Not yet…
    assert_eq!(limiter.try_acquire(1, t0 + ms(999)), Err(t0 + secs(1)));
    // …now: then one a second.
    for n in 1..=5 {
        let at = t0 + secs(n);
        assert_eq!(limiter.try_acquire(1, at), Ok(()));
        assert_eq!(limiter.try_acquire(1, at), Err(at + secs(1)));
    }
    // Idle for a minute: the whole burst is back, and no more.
    let later = t0 + secs(5 + 60);
    assert_eq!(limiter.available(later), 60);
    assert_eq!(limiter.available(later + secs(3600)), 60);
}

#[test]
fn the_retry_instant_is_exact() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(600).with_burst(10); // one per 100 ms
    assert_eq!(limiter.try_acquire(10, t0), Ok(()));
    // 3 units need 300 ms.
    let retry = limiter.try_acquire(3, t0 + ms(50)).unwrap_err();
    assert_eq!(retry, t0 + ms(300));
    // No state change on Err: asking again gives the same answer.
    assert_eq!(limiter.try_acquire(3, t0 + ms(50)), Err(retry));
    assert_eq!(
        limiter.try_acquire(3, retry - Duration::from_nanos(1)),
        Err(retry)
    );
    assert_eq!(limiter.try_acquire(3, retry), Ok(()));
    assert_eq!(limiter.available(retry), 0);
}

#[test]
fn costs_above_the_burst_are_clamped() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(60).with_burst(5);
    assert_eq!(limiter.burst(), 5);
    assert_eq!(limiter.rate_per_minute(), 60);
    // 1000 units cost a full bucket: granted when full…
    assert_eq!(limiter.try_acquire(1000, t0), Ok(()));
    assert_eq!(limiter.available(t0), 0);
    // …and next when it is full again.
    assert_eq!(limiter.try_acquire(1000, t0 + secs(1)), Err(t0 + secs(5)));
    assert_eq!(limiter.try_acquire(1000, t0 + secs(5)), Ok(()));
    // Cost 0 always passes.
    assert_eq!(limiter.try_acquire(0, t0 + secs(5)), Ok(()));
}

#[test]
fn zero_rate_and_burst_are_one() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(0).with_burst(0);
    assert_eq!((limiter.rate_per_minute(), limiter.burst()), (1, 1));
    assert_eq!(limiter.try_acquire(1, t0), Ok(()));
    assert_eq!(limiter.try_acquire(1, t0), Err(t0 + secs(60)));
}

#[test]
fn uneven_rates_round_towards_strictness() {
    let t0 = Instant::now();
    // 7 per minute: 8.571428572 s each (rounded up).
    let mut limiter = RateLimiter::per_minute(7).with_burst(1);
    assert_eq!(limiter.try_acquire(1, t0), Ok(()));
    let next = limiter.try_acquire(1, t0).unwrap_err();
    assert_eq!(next, t0 + Duration::from_nanos(8_571_428_572));
}

#[test]
fn refund_gives_units_back_but_never_beyond_full() {
    let t0 = Instant::now();
    let mut tokens = RateLimiter::per_minute(10_000);
    assert_eq!(tokens.try_acquire(1000, t0), Ok(()));
    assert_eq!(tokens.available(t0), 9000);
    // The request used 300 of its estimated 1000.
    tokens.refund(700, t0);
    assert_eq!(tokens.available(t0), 9700);
    tokens.refund(1_000_000, t0);
    assert_eq!(tokens.available(t0), 10_000);
    // The bucket is full, so nothing more fits than the burst.
    assert_eq!(tokens.try_acquire(10_000, t0), Ok(()));
    assert_eq!(tokens.available(t0), 0);
    assert!(tokens.try_acquire(1, t0).is_err());
    // A refund lets a waiting request through earlier.
    tokens.refund(1, t0);
    assert_eq!(tokens.try_acquire(1, t0), Ok(()));
}

#[test]
fn observe_tightens_to_the_server() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(60); // one a second
    // The server says only 10 are left, full again in 50 s.
    limiter.observe(10, Some(t0 + secs(50)), t0);
    assert_eq!(limiter.available(t0), 10);
    for _ in 0..10 {
        assert_eq!(limiter.try_acquire(1, t0), Ok(()));
    }
    assert_eq!(limiter.try_acquire(1, t0), Err(t0 + secs(1)));
    assert_eq!(limiter.available(t0 + secs(60)), 60);
}

#[test]
fn observe_never_loosens() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(60);
    for _ in 0..50 {
        limiter.try_acquire(1, t0).unwrap();
    }
    // The server reports more than we have: the local limiter stays as it is.
    limiter.observe(59, Some(t0 + secs(1)), t0);
    assert_eq!(limiter.available(t0), 10);
    limiter.observe(1_000_000, None, t0);
    assert_eq!(limiter.available(t0), 10);
}

#[test]
fn observe_waits_for_a_distant_reset() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(60);
    // Nothing left until a reset in two minutes (a window longer than ours).
    limiter.observe(0, Some(t0 + secs(120)), t0);
    assert_eq!(limiter.available(t0), 0);
    assert_eq!(limiter.available(t0 + secs(60)), 0);
    assert_eq!(limiter.try_acquire(1, t0 + secs(30)), Err(t0 + secs(61)));
    assert_eq!(limiter.available(t0 + secs(120)), 60);
    // A reset in the past, or none, only counts the remaining units.
    let mut limiter = RateLimiter::per_minute(60);
    limiter.observe(0, Some(t0), t0 + secs(1));
    assert_eq!(limiter.try_acquire(1, t0 + secs(1)), Err(t0 + secs(2)));
    let mut limiter = RateLimiter::per_minute(60);
    limiter.observe(30, None, t0);
    assert_eq!(limiter.available(t0), 30);
    assert_eq!(limiter.available(t0 + secs(30)), 60);
}

#[test]
fn a_server_with_more_than_the_burst_does_not_constrain() {
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(100);
    limiter.observe(50_000, Some(t0 + secs(59)), t0);
    assert_eq!(limiter.available(t0), 100);
}

#[test]
fn the_minute_bound_is_reached_exactly() {
    // A full bucket emptied at once, then one unit as soon as each is available: in the closed
    // window [t0, t0 + 60 s], burst + per_minute units are granted, and not one more.
    let t0 = Instant::now();
    let mut limiter = RateLimiter::per_minute(60).with_burst(10);
    let mut now = t0;
    let mut granted = 0;
    while now <= t0 + secs(60) {
        match limiter.try_acquire(1, now) {
            Ok(()) => granted += 1,
            Err(at) => now = at,
        }
    }
    assert_eq!(granted, 10 + 60);
}

proptest! {
    /// The GCRA guarantee: in any window of 60 s, at most `burst + per_minute` units.
    #[test]
    fn never_more_than_burst_plus_rate_in_a_minute(
        per_minute in 1u32..200,
        burst in 1u32..200,
        steps in prop::collection::vec((0u64..3_000, 0u32..50, prop::bool::weighted(0.8)), 1..400),
        start_full in any::<bool>(),
    ) {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::per_minute(per_minute).with_burst(burst);
        let mut now = t0;
        let mut granted: Vec<(Instant, u32)> = Vec::new();
        if start_full {
            // Start saturated: the tightest case for the bound.
            limiter.try_acquire(burst, now).unwrap();
            granted.push((now, burst));
        }
        for (advance_ms, cost, wait) in steps {
            now += ms(advance_ms);
            match limiter.try_acquire(cost, now) {
                Ok(()) => granted.push((now, cost.min(burst))),
                Err(at) => {
                    prop_assert!(at > now);
                    if wait {
                        // Waiting until the instant given always works.
                        now = at;
                        prop_assert_eq!(limiter.try_acquire(cost, now), Ok(()));
                        granted.push((now, cost.min(burst)));
                    }
                }
            }
            prop_assert!(limiter.available(now) <= burst);
        }
        let limit = u64::from(burst) + u64::from(per_minute);
        for (i, &(start, _)) in granted.iter().enumerate() {
            let in_window: u64 = granted[i..]
                .iter()
                .take_while(|(at, _)| *at <= start + secs(60))
                .map(|&(_, units)| u64::from(units))
                .sum();
            prop_assert!(in_window <= limit, "{} units in 60 s > {}", in_window, limit);
        }
    }

    /// `available` tells the truth: exactly that many units fit.
    #[test]
    fn available_units_fit(
        per_minute in 1u32..1000,
        taken in 0u32..1000,
        after_ms in 0u64..120_000,
    ) {
        let t0 = Instant::now();
        let mut limiter = RateLimiter::per_minute(per_minute);
        let _ = limiter.try_acquire(taken, t0);
        let now = t0 + ms(after_ms);
        let available = limiter.available(now);
        if available > 0 {
            prop_assert_eq!(limiter.clone().try_acquire(available, now), Ok(()));
        }
        if available < per_minute {
            prop_assert!(limiter.try_acquire(available + 1, now).is_err());
        }
    }
}

fn header_map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn every_header() {
    let headers = header_map(&[
        ("anthropic-ratelimit-requests-limit", "50"),
        ("anthropic-ratelimit-requests-remaining", "49"),
        ("anthropic-ratelimit-requests-reset", "2024-01-01T00:00:30Z"),
        ("anthropic-ratelimit-tokens-limit", "90000"),
        ("anthropic-ratelimit-tokens-remaining", "88000"),
        ("anthropic-ratelimit-tokens-reset", "2024-01-01T00:00:01Z"),
        ("anthropic-ratelimit-input-tokens-limit", "80000"),
        ("anthropic-ratelimit-input-tokens-remaining", "79000"),
        (
            "anthropic-ratelimit-input-tokens-reset",
            "2024-01-01T00:00:02.5Z",
        ),
        ("anthropic-ratelimit-output-tokens-limit", "10000"),
        ("anthropic-ratelimit-output-tokens-remaining", "9000"),
        (
            "anthropic-ratelimit-output-tokens-reset",
            "2024-01-01T01:00:03+01:00",
        ),
        ("retry-after", "7"),
    ]);
    let info = RateLimitInfo::from_headers(&headers);
    let midnight = 1_704_067_200;
    assert_eq!(
        info.requests,
        Some(Limit::new(Some(50), Some(49), Some(at(midnight + 30))))
    );
    assert_eq!(
        info.tokens,
        Some(Limit::new(
            Some(90_000),
            Some(88_000),
            Some(at(midnight + 1))
        ))
    );
    assert_eq!(
        info.input_tokens,
        Some(Limit::new(
            Some(80_000),
            Some(79_000),
            Some(at(midnight + 2) + ms(500))
        ))
    );
    assert_eq!(
        info.output_tokens,
        Some(Limit::new(Some(10_000), Some(9000), Some(at(midnight + 3))))
    );
    assert_eq!(info.retry_after, Some(secs(7)));
    assert!(!info.is_empty());
}

#[test]
fn partial_headers() {
    let headers = header_map(&[
        ("anthropic-ratelimit-tokens-remaining", "1234"),
        (
            "anthropic-ratelimit-output-tokens-reset",
            "2024-01-01T00:00:00Z",
        ),
        ("content-type", "application/json"),
    ]);
    let info = RateLimitInfo::from_headers(&headers);
    assert_eq!(info.requests, None);
    assert_eq!(info.tokens, Some(Limit::new(None, Some(1234), None)));
    assert_eq!(info.input_tokens, None);
    assert_eq!(
        info.output_tokens,
        Some(Limit::new(None, None, Some(at(1_704_067_200))))
    );
    assert_eq!(info.retry_after, None);

    let retry_only = RateLimitInfo::from_headers(&header_map(&[("retry-after", "1.5")]));
    assert_eq!(retry_only.retry_after, Some(ms(1500)));
    assert!(!retry_only.is_empty());
}

#[test]
fn no_headers_is_empty() {
    let info = RateLimitInfo::from_headers(&HeaderMap::new());
    assert!(info.is_empty());
    assert_eq!(info, RateLimitInfo::default());
}

#[test]
fn malformed_values_are_ignored() {
    let headers = header_map(&[
        ("anthropic-ratelimit-requests-limit", "fifty"),
        ("anthropic-ratelimit-requests-remaining", "-1"),
        ("anthropic-ratelimit-requests-reset", "tomorrow"),
        ("anthropic-ratelimit-tokens-limit", "1.5"),
        (
            "anthropic-ratelimit-tokens-remaining",
            "99999999999999999999999",
        ),
        ("anthropic-ratelimit-tokens-reset", "2024-01-01T00:00:30"),
        ("anthropic-ratelimit-input-tokens-limit", ""),
        ("anthropic-ratelimit-input-tokens-remaining", " 12 "),
        (
            "anthropic-ratelimit-output-tokens-reset",
            "2024-02-30T00:00:00Z",
        ),
        ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
    ]);
    let info = RateLimitInfo::from_headers(&headers);
    assert_eq!(info.requests, None);
    assert_eq!(info.tokens, None);
    // Surrounding whitespace is tolerated.
    assert_eq!(info.input_tokens, Some(Limit::new(None, Some(12), None)));
    assert_eq!(info.output_tokens, None);
    assert_eq!(info.retry_after, None);
    assert!(!info.is_empty());

    for bad in ["-1", "NaN", "inf", "soon"] {
        let info = RateLimitInfo::from_headers(&header_map(&[("retry-after", bad)]));
        assert_eq!(info.retry_after, None, "{bad}");
        assert!(info.is_empty());
    }
    // Not UTF-8.
    let mut headers = HeaderMap::new();
    headers.insert(
        "anthropic-ratelimit-requests-limit",
        HeaderValue::from_bytes(b"5\xff").unwrap(),
    );
    assert!(RateLimitInfo::from_headers(&headers).is_empty());
}

#[test]
fn server_reset_feeds_the_limiter() {
    let now = Instant::now();
    let wall_now = at(1_704_067_200);
    let headers = header_map(&[
        ("anthropic-ratelimit-requests-remaining", "0"),
        ("anthropic-ratelimit-requests-reset", "2024-01-01T00:00:30Z"),
    ]);
    let requests = RateLimitInfo::from_headers(&headers).requests.unwrap();
    let reset_at = requests.reset_at(now, wall_now);
    assert_eq!(reset_at, Some(now + secs(30)));
    // A reset in the past is now; none is none.
    assert_eq!(requests.reset_at(now, at(1_704_067_300)), Some(now));
    assert_eq!(Limit::new(None, None, None).reset_at(now, wall_now), None);

    let mut limiter = RateLimiter::per_minute(1000);
    limiter.observe(requests.remaining.unwrap(), reset_at, now);
    assert_eq!(limiter.available(now), 0);
    assert!(limiter.try_acquire(1, now).is_err());
}
