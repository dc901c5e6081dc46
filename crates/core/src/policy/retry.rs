//! When to retry a failed request, and how long to wait first.
//!
//! The Messages API sheds load with `429 Too Many Requests` and `529 Overloaded`, and any HTTP
//! service drops a connection now and then: a client that gives up on the first failure fails
//! far more often than it must, and one that retries blindly hammers a struggling server or,
//! worse, repeats output the caller has already seen. [`RetryPolicy`] is the rule the official
//! Anthropic SDKs follow, written as a pure function so that it can be tested without a clock,
//! a network or luck:
//!
//! - **What is retried**: a response with `x-should-retry: true` (and never one with
//!   `x-should-retry: false`: the server's word always wins); otherwise the statuses 408, 409,
//!   429 and every status ≥ 500; connection failures and timeouts. Other 4xx statuses, bodies
//!   that cannot be decoded and configuration errors are never retried: they would fail the
//!   same way again. A failure after part of the response was handed to the caller is never
//!   retried either, because the retry would duplicate that output.
//! - **How long to wait** before retry `n` (0-based): the server's `retry-after-ms`
//!   (milliseconds), else `retry-after` (seconds, or an HTTP date), when it is in
//!   `(0, 60 s]`; otherwise exponential backoff `min(0.5 s · 2ⁿ, 8 s)`, shortened by up to 25 %
//!   of random jitter so that many clients that failed together do not retry together.
//! - **How often**: 2 retries by default, so at most 3 attempts.
//!
//! Time and randomness are arguments (`now`, `wall_now`, `random`), never read inside: the
//! driver that performs requests (in the `claude-kit` crate) passes its runtime's clock and a
//! random number, and tests pass fixed ones.
//!
//! # Example
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//! use claude_kit_core::policy::retry::{Decision, Failure, RetryPolicy};
//! use http::{HeaderMap, HeaderValue, StatusCode};
//!
//! let policy = RetryPolicy::new();
//! let now = Instant::now();
//! let wall_now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//!
//! // An overloaded API that asks for two seconds: honoured.
//! let mut headers = HeaderMap::new();
//! headers.insert("retry-after", HeaderValue::from_static("2"));
//! let overloaded = Failure::Status { status: StatusCode::from_u16(529).unwrap(), headers: &headers };
//! assert_eq!(
//!     policy.decide(&overloaded, 0, now, wall_now, 0.3),
//!     Decision::RetryAt(now + Duration::from_secs(2)),
//! );
//!
//! // A dropped connection: exponential backoff with jitter, 0.5 s · 2¹ · (1 − 0.25 · 0.5).
//! let broken = Failure::Transport { content_yielded: false };
//! assert_eq!(policy.delay(&broken, 1, wall_now, 0.5), Duration::from_millis(875));
//!
//! // A bad request is not retried, and neither is anything once the retries are used up.
//! let empty = HeaderMap::new();
//! let bad = Failure::Status { status: StatusCode::BAD_REQUEST, headers: &empty };
//! assert_eq!(policy.decide(&bad, 0, now, wall_now, 0.3), Decision::GiveUp);
//! assert_eq!(policy.decide(&broken, 2, now, wall_now, 0.3), Decision::GiveUp);
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http::{HeaderMap, StatusCode};

use crate::{ApiErrorKind, Error, ErrorOrigin, TimeoutPhase};

/// The header carrying the attempt number, as the official SDKs send it.
///
/// Its value is the number of retries already made for the request: `0` on the first attempt.
pub const RETRY_COUNT_HEADER: &str = "x-stainless-retry-count";

/// The official SDKs' number of retries: 2, so at most 3 attempts.
pub const DEFAULT_MAX_RETRIES: u32 = 2;
/// The official SDKs' first backoff delay: 0.5 s.
pub const DEFAULT_INITIAL_BACKOFF: Duration = Duration::from_millis(500);
/// The official SDKs' longest backoff delay: 8 s.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The official SDKs' jitter: a backoff delay is shortened by up to 25 %.
pub const DEFAULT_JITTER: f64 = 0.25;
/// The longest server-requested delay (`retry-after`, `retry-after-ms`) honoured: 60 s.
pub const DEFAULT_MAX_SERVER_DELAY: Duration = Duration::from_secs(60);

/// Why an attempt failed: what [`RetryPolicy`] decides on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure<'a> {
    /// The response had an error status (non-2xx).
    Status {
        /// The response status.
        status: StatusCode,
        /// The response headers (`x-should-retry`, `retry-after-ms`, `retry-after`).
        headers: &'a HeaderMap,
    },
    /// An `error` event inside a 200 stream (e.g. `overloaded_error`) — only retried when
    /// [`RetryPolicy::retry_stream_errors`] is on AND `content_yielded` is false.
    StreamError {
        /// The `error.type` of the event.
        kind: &'a ApiErrorKind,
        /// Whether any part of the response was already handed to the caller.
        content_yielded: bool,
    },
    /// Could not connect (refused, DNS, TLS).
    Connect,
    /// The connection broke after it was established (reset, closed early).
    Transport {
        /// Whether any part of the response was already handed to the caller (then never
        /// retried: it would duplicate output).
        content_yielded: bool,
    },
    /// A deadline passed (connect, response headers, idle). Total-deadline timeouts are never
    /// passed here (and are never retried if they are).
    Timeout {
        /// The deadline that passed.
        phase: TimeoutPhase,
        /// Whether any part of the response was already handed to the caller (then never
        /// retried: it would duplicate output).
        content_yielded: bool,
    },
}

impl<'a> Failure<'a> {
    /// What the retry policy sees of `error`: the failure of an attempt whose response had
    /// `headers` (for an error status) and had handed `content_yielded` to the caller. `None`
    /// for errors that are never retried (the total deadline, decoding, configuration, a
    /// closed client), and for an error status without its headers.
    ///
    /// ```
    /// use claude_kit_core::policy::retry::Failure;
    /// use claude_kit_core::{Error, redact::Secrets};
    ///
    /// let event = Error::stream_event(br#"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#, &Secrets::none());
    /// assert!(matches!(Failure::classify(&event, None, false), Some(Failure::StreamError { .. })));
    /// let status = Error::api(http::StatusCode::TOO_MANY_REQUESTS, None, b"slow down");
    /// let headers = http::HeaderMap::new();
    /// assert!(matches!(Failure::classify(&status, Some(&headers), false), Some(Failure::Status { .. })));
    /// assert!(Failure::classify(&Error::decode("bad JSON"), None, false).is_none());
    /// ```
    pub fn classify(
        error: &'a Error,
        headers: Option<&'a HeaderMap>,
        content_yielded: bool,
    ) -> Option<Self> {
        Some(match error {
            Error::Api {
                origin: ErrorOrigin::Stream,
                kind,
                ..
            } => Failure::StreamError {
                kind,
                content_yielded,
            },
            Error::Api { status, .. } => Failure::Status {
                status: *status,
                headers: headers?,
            },
            Error::Connect { .. } => Failure::Connect,
            Error::Transport { .. } => Failure::Transport { content_yielded },
            Error::Timeout { phase, .. } if *phase != TimeoutPhase::Total => Failure::Timeout {
                phase: *phase,
                content_yielded,
            },
            _ => return None,
        })
    }

    /// Whether part of the response was already handed to the caller.
    pub fn content_yielded(&self) -> bool {
        match *self {
            Failure::StreamError {
                content_yielded, ..
            }
            | Failure::Transport { content_yielded }
            | Failure::Timeout {
                content_yielded, ..
            } => content_yielded,
            Failure::Status { .. } | Failure::Connect => false,
        }
    }

    /// The response headers, for [`Failure::Status`].
    fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Failure::Status { headers, .. } => Some(headers),
            _ => None,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the request again at this instant.
    RetryAt(Instant),
    /// Return the failure to the caller.
    GiveUp,
}

/// What the `on_retry` callback of a [`RetryPolicy`] is told before each retry.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// Why the attempt failed.
    pub failure: &'a Failure<'a>,
    /// Retries already made before this one (0 before the first retry).
    pub retries_done: u32,
    /// How long the driver waits before the retry.
    pub delay: Duration,
    /// The label the caller gave the call (the API backend's `RequestOptions::label`), to
    /// tell which call of many is being retried.
    pub label: Option<&'a str>,
    /// The `request-id` of the failed attempt's response, when it had one (quote it to
    /// support).
    pub request_id: Option<&'a str>,
}

impl<'a> RetryEvent<'a> {
    /// An event for the retry that follows `failure`. Public for the drivers that run a
    /// [`RetryPolicy`] (the API backend, or a backend of your own): the policy is pure, so the
    /// driver builds the event it then [`notify`](RetryPolicy::notify)s.
    pub fn new(failure: &'a Failure<'a>, retries_done: u32, delay: Duration) -> Self {
        Self {
            failure,
            retries_done,
            delay,
            label: None,
            request_id: None,
        }
    }

    /// The event with the call's label.
    pub fn with_label(mut self, label: Option<&'a str>) -> Self {
        self.label = label;
        self
    }

    /// The event with the failed attempt's `request-id`.
    pub fn with_request_id(mut self, request_id: Option<&'a str>) -> Self {
        self.request_id = request_id;
        self
    }
}

type Predicate = Arc<dyn Fn(&Failure<'_>) -> bool + Send + Sync>;
type Callback = Arc<dyn Fn(&RetryEvent<'_>) + Send + Sync>;

/// When and how long to wait before retrying a request. See the [module docs](self).
///
/// [`RetryPolicy::new`] (= `Default`) is the official SDKs' behaviour; the builder methods
/// adjust it. Cloning is cheap (the callbacks are shared).
#[derive(Clone)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    jitter: f64,
    max_server_delay: Duration,
    retry_stream_errors: bool,
    predicate: Option<Predicate>,
    on_retry: Option<Callback>,
}

impl fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("jitter", &self.jitter)
            .field("max_server_delay", &self.max_server_delay)
            .field("retry_stream_errors", &self.retry_stream_errors)
            .field("retry_if", &self.predicate.as_ref().map(|_| "<fn>"))
            .field("on_retry", &self.on_retry.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

impl Error {
    /// Whether the error is transient, so that the same request may succeed later: what the
    /// built-in retry rule retries — 408, 409, 429 and 5xx statuses (529 overloaded
    /// included), connections that failed or broke, connect / response / idle timeouts — and
    /// `error` events of those kinds inside a stream (overloaded, rate limit, internal,
    /// timeout). Judged as a first failure with nothing handed to the caller yet, without the
    /// response's `x-should-retry` header; the total deadline, decoding and configuration
    /// errors are not transient.
    ///
    /// ```
    /// use claude_kit_core::Error;
    /// use http::StatusCode;
    ///
    /// let overloaded = Error::api(StatusCode::from_u16(529).unwrap(), None, br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
    /// assert!(overloaded.is_retryable());
    /// assert!(overloaded.to_string().starts_with("529 Overloaded overloaded_error"), "{overloaded}");
    /// let invalid = Error::api(StatusCode::BAD_REQUEST, None, b"max_tokens: required");
    /// assert!(!invalid.is_retryable());
    /// assert!(!Error::decode("bad JSON").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        let headers = HeaderMap::new();
        Failure::classify(self, Some(&headers), false).is_some_and(|failure| {
            RetryPolicy::new()
                .retry_stream_errors(true)
                .is_retryable(&failure)
        })
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::new()
    }
}

impl RetryPolicy {
    /// The official SDKs' policy: 2 retries, backoff from 0.5 s to 8 s with 25 % jitter,
    /// server delays up to 60 s honoured, stream errors not retried.
    pub fn new() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            initial_backoff: DEFAULT_INITIAL_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            jitter: DEFAULT_JITTER,
            max_server_delay: DEFAULT_MAX_SERVER_DELAY,
            retry_stream_errors: false,
            predicate: None,
            on_retry: None,
        }
    }

    /// A policy that never retries (`max_retries` 0).
    pub fn never() -> Self {
        Self::new().max_retries(0)
    }

    /// At most `n` retries, so at most `n + 1` attempts.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Backoff delays `min(initial · 2ⁿ, max)` (before jitter) when the server names none.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }

    /// Shortens each backoff delay by up to this fraction at random, clamped to `0..=1`
    /// (NaN counts as 0). 0 turns jitter off.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        self
    }

    /// The longest delay asked by the server (`retry-after-ms`, `retry-after`) that is
    /// honoured; a longer one (or a zero or negative one) falls back to backoff.
    pub fn max_server_delay(mut self, max: Duration) -> Self {
        self.max_server_delay = max;
        self
    }

    /// Opt-in: retry an `error` event that arrives inside a 200 stream before any content was
    /// yielded, when its kind is a transient one (`overloaded_error`, `rate_limit_error`,
    /// `api_error`, `timeout_error`).
    ///
    /// Off by default, as in the official SDKs, which surface such errors to the caller.
    pub fn retry_stream_errors(mut self, on: bool) -> Self {
        self.retry_stream_errors = on;
        self
    }

    /// Replaces the built-in rule of which failures are retried with `predicate`.
    ///
    /// Two rules stay whatever the predicate says: `x-should-retry: true`/`false` on a
    /// [`Failure::Status`] still wins, and a failure after content was yielded
    /// ([`Failure::content_yielded`]) is never retried, since the retry would duplicate
    /// output. [`retry_stream_errors`](Self::retry_stream_errors) is part of the built-in rule:
    /// with a predicate, the predicate alone decides on stream errors.
    pub fn retry_if(
        mut self,
        predicate: impl Fn(&Failure<'_>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    /// A callback the driver calls (through [`notify`](Self::notify)) before each retry: for
    /// logs and metrics.
    pub fn on_retry(mut self, callback: impl Fn(&RetryEvent<'_>) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(callback));
        self
    }

    /// The number of retries allowed.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether `failure` is worth retrying, retries left aside.
    pub fn is_retryable(&self, failure: &Failure<'_>) -> bool {
        if failure.content_yielded() {
            return false;
        }
        if let Some(verdict) = failure.headers().and_then(should_retry_header) {
            return verdict;
        }
        match &self.predicate {
            Some(predicate) => predicate(failure),
            None => self.built_in_rule(failure),
        }
    }

    fn built_in_rule(&self, failure: &Failure<'_>) -> bool {
        match *failure {
            Failure::Status { status, .. } => {
                matches!(status.as_u16(), 408 | 409 | 429) || status.as_u16() >= 500
            }
            Failure::StreamError {
                kind,
                content_yielded,
            } => {
                self.retry_stream_errors
                    && !content_yielded
                    && matches!(
                        kind,
                        ApiErrorKind::Overloaded
                            | ApiErrorKind::RateLimit
                            | ApiErrorKind::Internal
                            | ApiErrorKind::Timeout
                    )
            }
            Failure::Connect => true,
            Failure::Transport { content_yielded } => !content_yielded,
            Failure::Timeout {
                phase,
                content_yielded,
            } => !content_yielded && phase != TimeoutPhase::Total,
        }
    }

    /// Retry at `now + delay`, or give up: when the retries are used up or the failure is not
    /// retryable.
    ///
    /// `retries_done`: retries already made for this request; `now`/`wall_now`: the clock
    /// (`wall_now` only matters for a `retry-after` HTTP date); `random`: in `[0, 1)`.
    pub fn decide(
        &self,
        failure: &Failure<'_>,
        retries_done: u32,
        now: Instant,
        wall_now: SystemTime,
        random: f64,
    ) -> Decision {
        if retries_done >= self.max_retries || !self.is_retryable(failure) {
            return Decision::GiveUp;
        }
        let delay = self.delay(failure, retries_done, wall_now, random);
        Decision::RetryAt(crate::policy::saturating_deadline(now, delay))
    }

    /// How long to wait before the next retry (what [`decide`](Self::decide) uses).
    ///
    /// The server's delay when a [`Failure::Status`] names one in `(0, max_server_delay]`:
    /// `retry-after-ms`, else `retry-after` in seconds, else `retry-after` as an HTTP date
    /// minus `wall_now`. Otherwise `min(initial · 2^retries_done, max) · (1 − jitter · random)`.
    /// `random` is clamped to `[0, 1]` (NaN counts as 0), so the delay is never negative and
    /// never longer than the backoff cap.
    pub fn delay(
        &self,
        failure: &Failure<'_>,
        retries_done: u32,
        wall_now: SystemTime,
        random: f64,
    ) -> Duration {
        if let Some(delay) = failure
            .headers()
            .and_then(|headers| server_delay(headers, wall_now))
            .and_then(|delay| delay.filter(|d| *d <= self.max_server_delay))
        {
            return delay;
        }
        self.backoff_delay(retries_done, random)
    }

    fn backoff_delay(&self, retries_done: u32, random: f64) -> Duration {
        // Python caps the exponent at 1000 too; 2^1000 is finite, so no 0 · ∞ = NaN.
        let exponent = retries_done.min(1000) as i32;
        let max = self.max_backoff.as_secs_f64();
        let base_secs = (self.initial_backoff.as_secs_f64() * 2f64.powi(exponent)).min(max);
        let base = if base_secs >= max {
            self.max_backoff
        } else {
            Duration::try_from_secs_f64(base_secs).unwrap_or(self.max_backoff)
        };
        let random = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        let factor = 1.0 - self.jitter * random;
        if factor >= 1.0 {
            base
        } else {
            // factor is in [0, 1): the product is finite, non-negative and at most `base`.
            base.mul_f64(factor).min(base)
        }
    }

    /// Calls the [`on_retry`](Self::on_retry) callback, if any.
    pub fn notify(&self, event: &RetryEvent<'_>) {
        if let Some(callback) = &self.on_retry {
            callback(event);
        }
    }
}

/// `x-should-retry`: `Some(true)` for `true`, `Some(false)` for `false`, else `None`.
fn should_retry_header(headers: &HeaderMap) -> Option<bool> {
    match headers.get("x-should-retry")?.as_bytes() {
        b"true" => Some(true),
        b"false" => Some(false),
        _ => None,
    }
}

/// The delay the server asks for, as the Python SDK reads it: the first of `retry-after-ms`,
/// `retry-after` (seconds), `retry-after` (HTTP date) that parses. `Some(None)` when it parsed
/// but is not a positive delay (zero, negative, a date in the past, not finite): then backoff
/// applies, without looking at the next header.
#[allow(clippy::option_option)]
fn server_delay(headers: &HeaderMap, wall_now: SystemTime) -> Option<Option<Duration>> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| parse_float(v.as_bytes()))
    {
        return Some(positive_secs(ms / 1000.0));
    }
    let value = headers.get("retry-after")?;
    if let Some(secs) = parse_float(value.as_bytes()) {
        return Some(positive_secs(secs));
    }
    let date = httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()?;
    Some(date.duration_since(wall_now).ok().filter(|d| !d.is_zero()))
}

fn parse_float(bytes: &[u8]) -> Option<f64> {
    std::str::from_utf8(bytes).ok()?.trim().parse().ok()
}

fn positive_secs(secs: f64) -> Option<Duration> {
    if secs > 0.0 {
        Duration::try_from_secs_f64(secs)
            .ok()
            .filter(|d| !d.is_zero())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_whether_they_are_transient() {
        use crate::redact::Secrets;
        let status = |code: u16| Error::api(StatusCode::from_u16(code).unwrap(), None, b"");
        for code in [408, 409, 429, 500, 502, 503, 504, 529] {
            assert!(status(code).is_retryable(), "{code}");
        }
        for code in [400, 401, 403, 404, 413, 422] {
            assert!(!status(code).is_retryable(), "{code}");
        }
        let event = |kind: &str| {
            let data = format!(r#"{{"type":"error","error":{{"type":"{kind}","message":"m"}}}}"#);
            Error::stream_event(data.as_bytes(), &Secrets::none())
        };
        assert!(event("overloaded_error").is_retryable());
        assert!(!event("invalid_request_error").is_retryable());
        let timeout = |phase| Error::Timeout {
            phase,
            after: Duration::from_secs(1),
        };
        assert!(timeout(TimeoutPhase::Idle).is_retryable());
        assert!(timeout(TimeoutPhase::Idle).is_timeout());
        assert!(!timeout(TimeoutPhase::Total).is_retryable());
        assert!(timeout(TimeoutPhase::Total).is_timeout());
        assert!(Error::connect("h:443", std::io::Error::other("refused")).is_retryable());
        assert!(Error::transport(std::io::Error::other("reset")).is_retryable());
        assert!(!Error::config("no key").is_retryable());
        assert!(!Error::closed("client closed").is_retryable());
    }

    #[test]
    fn status_529_reads_overloaded() {
        let error = Error::api(
            StatusCode::from_u16(529).unwrap(),
            Some("req_1".into()),
            b"",
        );
        let text = error.to_string();
        assert!(text.starts_with("529 Overloaded "), "{text}");
        assert!(!text.contains("unknown"), "{text}");
        let unknown = Error::api(StatusCode::from_u16(599).unwrap(), None, b"odd");
        assert!(unknown.to_string().starts_with("599 "), "{unknown}");
        assert!(!unknown.to_string().contains("unknown status"), "{unknown}");
    }

    #[test]
    fn debug_names_the_callbacks_without_printing_them() {
        let text = format!("{:?}", RetryPolicy::new().on_retry(|_| {}));
        assert!(text.contains("on_retry: Some(\"<fn>\")"), "{text}");
        assert!(text.contains("retry_if: None"), "{text}");
    }

    #[test]
    fn out_of_range_numbers_never_panic() {
        let policy = RetryPolicy::new()
            .backoff(Duration::MAX, Duration::MAX)
            .jitter(f64::NAN);
        assert_eq!(
            policy.delay(&Failure::Connect, u32::MAX, SystemTime::UNIX_EPOCH, 2.0),
            Duration::MAX
        );
        let policy = RetryPolicy::new().backoff(Duration::ZERO, Duration::from_secs(1));
        assert_eq!(
            policy.delay(&Failure::Connect, u32::MAX, SystemTime::UNIX_EPOCH, -1.0),
            Duration::ZERO
        );
    }
}
