//! Pure policies: what the async code around a call asks before it waits, retries or sends.
//!
//! - [`retry`]: whether and when to retry a failed attempt ([`RetryPolicy`](retry::RetryPolicy),
//!   [`Failure::classify`](retry::Failure::classify)).
//! - [`limit`]: client-side rate limits ([`RateLimiter`](limit::RateLimiter)) and the server's
//!   rate-limit headers.
//! - [`deadline`]: the deadlines of one call ([`CallDeadlines`](deadline::CallDeadlines)).
//!
//! None of them reads a clock: each takes `now` and answers with an instant to wake up at.

pub mod deadline;
pub mod limit;
pub mod retry;

use std::time::{Duration, Instant};

/// `now + duration`, clamped to a far but representable instant instead of overflowing
/// (`Duration::MAX` means "no deadline" to callers).
pub(crate) fn saturating_deadline(now: Instant, duration: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(duration.min(FAR))
        .unwrap_or_else(|| now + Duration::from_secs(3600))
}
