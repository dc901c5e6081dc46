//! The retry policy: every rule of the official SDKs, with a fixed clock and fixed randomness.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use claude_kit_core::policy::retry::{
    Decision, Failure, RETRY_COUNT_HEADER, RetryEvent, RetryPolicy,
};
use claude_kit_core::{ApiErrorKind, TimeoutPhase};
use http::{HeaderMap, HeaderValue, StatusCode};
use proptest::prelude::*;

/// 2023-11-14T22:13:20Z, a fixed wall clock.
fn wall_now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The delay of the first retry for a 429 with these headers, with no jitter (r = 0).
fn delay_429(pairs: &[(&'static str, &str)]) -> Duration {
    let map = headers(pairs);
    let failure = Failure::Status {
        status: status(429),
        headers: &map,
    };
    RetryPolicy::new().delay(&failure, 0, wall_now(), 0.0)
}

#[test]
fn retried_statuses() {
    let policy = RetryPolicy::new();
    let empty = HeaderMap::new();
    let retried = |code| {
        policy.is_retryable(&Failure::Status {
            status: status(code),
            headers: &empty,
        })
    };
    for code in [408, 409, 429, 500, 501, 502, 503, 504, 529, 599] {
        assert!(retried(code), "{code} is retried");
    }
    for code in [
        200, 201, 301, 304, 400, 401, 402, 403, 404, 405, 410, 413, 422, 499,
    ] {
        assert!(!retried(code), "{code} is not retried");
    }
}

#[test]
fn x_should_retry_always_wins() {
    let policy = RetryPolicy::new();
    let yes = headers(&[("x-should-retry", "true")]);
    let no = headers(&[("x-should-retry", "false")]);
    let odd = headers(&[("x-should-retry", "maybe")]);
    for code in [400, 401, 404, 422] {
        assert!(policy.is_retryable(&Failure::Status {
            status: status(code),
            headers: &yes
        }));
    }
    for code in [408, 409, 429, 500, 503, 529] {
        assert!(!policy.is_retryable(&Failure::Status {
            status: status(code),
            headers: &no
        }));
    }
    // Any other value is ignored: the status decides.
    assert!(policy.is_retryable(&Failure::Status {
        status: status(529),
        headers: &odd
    }));
    assert!(!policy.is_retryable(&Failure::Status {
        status: status(400),
        headers: &odd
    }));
    // And it wins over a custom predicate too.
    let custom = RetryPolicy::new().retry_if(|_| false);
    assert!(custom.is_retryable(&Failure::Status {
        status: status(400),
        headers: &yes
    }));
    let custom = RetryPolicy::new().retry_if(|_| true);
    assert!(!custom.is_retryable(&Failure::Status {
        status: status(503),
        headers: &no
    }));
}

#[test]
fn connection_failures_and_timeouts_before_content() {
    let policy = RetryPolicy::new();
    assert!(policy.is_retryable(&Failure::Connect));
    assert!(policy.is_retryable(&Failure::Transport {
        content_yielded: false
    }));
    for phase in [
        TimeoutPhase::Connect,
        TimeoutPhase::ResponseHeaders,
        TimeoutPhase::Idle,
    ] {
        assert!(policy.is_retryable(&Failure::Timeout {
            phase,
            content_yielded: false
        }));
        assert!(!policy.is_retryable(&Failure::Timeout {
            phase,
            content_yielded: true
        }));
    }
    assert!(!policy.is_retryable(&Failure::Transport {
        content_yielded: true
    }));
    // The total deadline is never retried, should a driver pass it anyway.
    assert!(!policy.is_retryable(&Failure::Timeout {
        phase: TimeoutPhase::Total,
        content_yielded: false
    }));
}

#[test]
fn stream_errors_only_with_the_opt_in_and_never_after_content() {
    let retryable = [
        ApiErrorKind::Overloaded,
        ApiErrorKind::RateLimit,
        ApiErrorKind::Internal,
        ApiErrorKind::Timeout,
    ];
    let permanent = [
        ApiErrorKind::InvalidRequest,
        ApiErrorKind::Authentication,
        ApiErrorKind::NotFound,
        ApiErrorKind::Other("brand_new_error".into()),
    ];
    let off = RetryPolicy::new();
    let on = RetryPolicy::new().retry_stream_errors(true);
    for kind in &retryable {
        let before = Failure::StreamError {
            kind,
            content_yielded: false,
        };
        let after = Failure::StreamError {
            kind,
            content_yielded: true,
        };
        assert!(
            !off.is_retryable(&before),
            "{kind} is not retried by default"
        );
        assert!(
            on.is_retryable(&before),
            "{kind} is retried with the opt-in"
        );
        assert!(
            !on.is_retryable(&after),
            "{kind} is never retried after content"
        );
    }
    for kind in &permanent {
        let failure = Failure::StreamError {
            kind,
            content_yielded: false,
        };
        assert!(!on.is_retryable(&failure), "{kind} is never retried");
    }
    // A stream error retried waits for backoff.
    let now = Instant::now();
    let kind = ApiErrorKind::Overloaded;
    let failure = Failure::StreamError {
        kind: &kind,
        content_yielded: false,
    };
    assert_eq!(
        on.decide(&failure, 0, now, wall_now(), 0.0),
        Decision::RetryAt(now + ms(500))
    );
    assert_eq!(
        off.decide(&failure, 0, now, wall_now(), 0.0),
        Decision::GiveUp
    );
}

#[test]
fn retry_after_ms_is_used_first() {
    assert_eq!(delay_429(&[("retry-after-ms", "1500")]), ms(1500));
    assert_eq!(
        delay_429(&[("retry-after-ms", "1.5")]),
        Duration::from_micros(1500)
    );
    assert_eq!(
        delay_429(&[("retry-after-ms", "250"), ("retry-after", "30")]),
        ms(250)
    );
    // A malformed retry-after-ms falls through to retry-after.
    assert_eq!(
        delay_429(&[("retry-after-ms", "soon"), ("retry-after", "3")]),
        ms(3000)
    );
}

#[test]
fn retry_after_seconds() {
    assert_eq!(delay_429(&[("retry-after", "2")]), ms(2000));
    assert_eq!(delay_429(&[("retry-after", "0.75")]), ms(750));
    assert_eq!(delay_429(&[("retry-after", " 60 ")]), ms(60_000));
}

#[test]
fn retry_after_http_date() {
    // wall_now is 2023-11-14T22:13:20Z.
    assert_eq!(
        delay_429(&[("retry-after", "Tue, 14 Nov 2023 22:13:30 GMT")]),
        ms(10_000)
    );
    assert_eq!(
        delay_429(&[("retry-after", "Tue, 14 Nov 2023 22:14:20 GMT")]),
        ms(60_000)
    );
}

#[test]
fn out_of_range_server_delays_fall_back_to_backoff() {
    let backoff = ms(500); // retry 0, r = 0
    for pairs in [
        &[("retry-after-ms", "0")][..],
        &[("retry-after-ms", "-100")],
        &[("retry-after-ms", "60001")],
        &[("retry-after-ms", "NaN")],
        &[("retry-after-ms", "inf")],
        &[("retry-after", "0")],
        &[("retry-after", "-5")],
        &[("retry-after", "61")],
        &[("retry-after", "3600")],
        // A date in the past, now, and more than 60 s ahead.
        &[("retry-after", "Tue, 14 Nov 2023 22:13:10 GMT")],
        &[("retry-after", "Tue, 14 Nov 2023 22:13:20 GMT")],
        &[("retry-after", "Tue, 14 Nov 2023 22:14:21 GMT")],
        // Garbage.
        &[("retry-after", "later")],
        &[],
        // An out-of-range retry-after-ms wins over a valid retry-after, as in the Python SDK.
        &[("retry-after-ms", "0"), ("retry-after", "5")],
    ] {
        assert_eq!(delay_429(pairs), backoff, "{pairs:?}");
    }
}

#[test]
fn max_server_delay_is_configurable() {
    let map = headers(&[("retry-after", "120")]);
    let failure = Failure::Status {
        status: status(529),
        headers: &map,
    };
    let policy = RetryPolicy::new().max_server_delay(Duration::from_secs(300));
    assert_eq!(
        policy.delay(&failure, 0, wall_now(), 0.9),
        Duration::from_secs(120)
    );
    let policy = RetryPolicy::new().max_server_delay(Duration::from_secs(10));
    let map = headers(&[("retry-after", "11")]);
    let failure = Failure::Status {
        status: status(529),
        headers: &map,
    };
    assert_eq!(policy.delay(&failure, 0, wall_now(), 0.0), ms(500));
}

#[test]
fn server_delay_has_no_jitter() {
    let map = headers(&[("retry-after", "4")]);
    let failure = Failure::Status {
        status: status(503),
        headers: &map,
    };
    for r in [0.0, 0.5, 0.999] {
        assert_eq!(
            RetryPolicy::new().delay(&failure, 1, wall_now(), r),
            ms(4000)
        );
    }
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let policy = RetryPolicy::new();
    let expected = [500, 1000, 2000, 4000, 8000, 8000, 8000];
    for (n, want) in expected.into_iter().enumerate() {
        assert_eq!(
            policy.delay(&Failure::Connect, n as u32, wall_now(), 0.0),
            ms(want),
            "retry {n}"
        );
    }
    assert_eq!(
        policy.delay(&Failure::Connect, u32::MAX, wall_now(), 0.0),
        ms(8000)
    );
    let custom = RetryPolicy::new().backoff(ms(100), ms(350));
    let got: Vec<_> = (0..4)
        .map(|n| custom.delay(&Failure::Connect, n, wall_now(), 0.0))
        .collect();
    assert_eq!(got, [ms(100), ms(200), ms(350), ms(350)]);
}

#[test]
fn jitter_shortens_by_up_to_a_quarter() {
    let policy = RetryPolicy::new();
    assert_eq!(
        policy.delay(&Failure::Connect, 0, wall_now(), 0.5),
        ms(437) + Duration::from_micros(500)
    );
    assert_eq!(
        policy.delay(&Failure::Connect, 4, wall_now(), 0.5),
        ms(7000)
    );
    // Configurable and clamped.
    let none = RetryPolicy::new().jitter(0.0);
    assert_eq!(none.delay(&Failure::Connect, 2, wall_now(), 0.9), ms(2000));
    let full = RetryPolicy::new().jitter(7.0);
    assert_eq!(full.delay(&Failure::Connect, 2, wall_now(), 0.5), ms(1000));
    let negative = RetryPolicy::new().jitter(-1.0);
    assert_eq!(
        negative.delay(&Failure::Connect, 2, wall_now(), 0.5),
        ms(2000)
    );
    // Random numbers out of range are clamped: never negative, never above the backoff.
    assert_eq!(
        full.delay(&Failure::Connect, 0, wall_now(), 5.0),
        Duration::ZERO
    );
    assert_eq!(
        policy.delay(&Failure::Connect, 0, wall_now(), -3.0),
        ms(500)
    );
    assert_eq!(
        policy.delay(&Failure::Connect, 0, wall_now(), f64::NAN),
        ms(500)
    );
}

proptest! {
    #[test]
    fn backoff_with_jitter_is_within_bounds(n in 0u32..64, r in 0.0f64..1.0) {
        let policy = RetryPolicy::new();
        let d = Duration::from_secs_f64((0.5 * 2f64.powi(n as i32)).min(8.0));
        let delay = policy.delay(&Failure::Connect, n, wall_now(), r);
        prop_assert!(delay <= d, "{delay:?} > {d:?}");
        // One nanosecond of slack for float rounding.
        prop_assert!(delay + Duration::from_nanos(1) >= d.mul_f64(0.75), "{delay:?} < 0.75 · {d:?}");
    }

    #[test]
    fn decide_is_backoff_from_now(n in 0u32..2, r in 0.0f64..1.0) {
        let policy = RetryPolicy::new();
        let now = Instant::now();
        let failure = Failure::Transport { content_yielded: false };
        let delay = policy.delay(&failure, n, wall_now(), r);
        prop_assert_eq!(policy.decide(&failure, n, now, wall_now(), r), Decision::RetryAt(now + delay));
    }
}

#[test]
fn gives_up_when_retries_are_used_up() {
    let now = Instant::now();
    let empty = HeaderMap::new();
    let failure = Failure::Status {
        status: status(529),
        headers: &empty,
    };
    let policy = RetryPolicy::new();
    assert_eq!(policy.get_max_retries(), 2);
    assert_eq!(
        policy.decide(&failure, 0, now, wall_now(), 0.0),
        Decision::RetryAt(now + ms(500))
    );
    assert_eq!(
        policy.decide(&failure, 1, now, wall_now(), 0.0),
        Decision::RetryAt(now + ms(1000))
    );
    assert_eq!(
        policy.decide(&failure, 2, now, wall_now(), 0.0),
        Decision::GiveUp
    );
    assert_eq!(
        policy.decide(&failure, 9, now, wall_now(), 0.0),
        Decision::GiveUp
    );

    let five = RetryPolicy::new().max_retries(5);
    assert_eq!(five.get_max_retries(), 5);
    assert_eq!(
        five.decide(&failure, 4, now, wall_now(), 0.0),
        Decision::RetryAt(now + ms(8000))
    );
    assert_eq!(
        five.decide(&failure, 5, now, wall_now(), 0.0),
        Decision::GiveUp
    );
}

#[test]
fn never_retries_nothing() {
    let now = Instant::now();
    let policy = RetryPolicy::never();
    assert_eq!(policy.get_max_retries(), 0);
    let empty = HeaderMap::new();
    let yes = headers(&[("x-should-retry", "true")]);
    for failure in [
        Failure::Connect,
        Failure::Status {
            status: status(529),
            headers: &empty,
        },
        Failure::Status {
            status: status(400),
            headers: &yes,
        },
    ] {
        assert!(policy.is_retryable(&failure));
        assert_eq!(
            policy.decide(&failure, 0, now, wall_now(), 0.0),
            Decision::GiveUp
        );
    }
}

#[test]
fn non_retryable_failures_give_up_at_once() {
    let now = Instant::now();
    let empty = HeaderMap::new();
    let policy = RetryPolicy::new().max_retries(10);
    for failure in [
        Failure::Status {
            status: status(400),
            headers: &empty,
        },
        Failure::Transport {
            content_yielded: true,
        },
        Failure::Timeout {
            phase: TimeoutPhase::Idle,
            content_yielded: true,
        },
    ] {
        assert_eq!(
            policy.decide(&failure, 0, now, wall_now(), 0.0),
            Decision::GiveUp
        );
    }
}

#[test]
fn retry_if_replaces_the_rule() {
    let empty = HeaderMap::new();
    // Retry only connection failures, and 400s (say, a flaky proxy).
    let policy = RetryPolicy::new().retry_if(|failure| match failure {
        Failure::Connect => true,
        Failure::Status { status, .. } => status.as_u16() == 400,
        _ => false,
    });
    assert!(policy.is_retryable(&Failure::Connect));
    assert!(policy.is_retryable(&Failure::Status {
        status: status(400),
        headers: &empty
    }));
    assert!(!policy.is_retryable(&Failure::Status {
        status: status(529),
        headers: &empty
    }));
    assert!(!policy.is_retryable(&Failure::Transport {
        content_yielded: false
    }));
    // The predicate decides stream errors without the opt-in…
    let kind = ApiErrorKind::Other("custom".into());
    let everything = RetryPolicy::new().retry_if(|_| true);
    assert!(everything.is_retryable(&Failure::StreamError {
        kind: &kind,
        content_yielded: false
    }));
    // …but never after content.
    assert!(!everything.is_retryable(&Failure::StreamError {
        kind: &kind,
        content_yielded: true
    }));
    assert!(!everything.is_retryable(&Failure::Transport {
        content_yielded: true
    }));
    // Delays are unchanged.
    let now = Instant::now();
    assert_eq!(
        policy.decide(&Failure::Connect, 1, now, wall_now(), 0.0),
        Decision::RetryAt(now + ms(1000))
    );
}

#[test]
fn on_retry_is_called_by_notify() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let policy = RetryPolicy::new().on_retry(move |event| {
        log.lock().unwrap().push((
            event.retries_done,
            event.delay,
            event.failure.content_yielded(),
        ));
    });
    let failure = Failure::Connect;
    policy.notify(&RetryEvent::new(&failure, 1, ms(875)));
    // Clones share the callback.
    policy.clone().notify(&RetryEvent::new(&failure, 2, ms(10)));
    assert_eq!(
        *seen.lock().unwrap(),
        [(1, ms(875), false), (2, ms(10), false)]
    );
    // No callback: nothing happens.
    RetryPolicy::new().notify(&RetryEvent::new(&failure, 0, ms(1)));
}

#[test]
fn defaults_and_header_name() {
    assert_eq!(RETRY_COUNT_HEADER, "x-stainless-retry-count");
    http::HeaderName::from_static(RETRY_COUNT_HEADER);
    let policy = RetryPolicy::default();
    assert_eq!(policy.get_max_retries(), 2);
    assert!(format!("{policy:?}").starts_with("RetryPolicy {"));
}

#[test]
fn policy_is_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<RetryPolicy>();
}
