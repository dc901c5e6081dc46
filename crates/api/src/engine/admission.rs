//! Admission: the client-side limits an attempt passes before it is sent — a cap on requests
//! in flight, and request and token rates per minute.
//!
//! The rate limiters are the pure state machines of `claude_kit_core::policy::limit`; this module
//! only asks them when the next request may go and sleeps until then on the client's runtime.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_lock::{Semaphore, SemaphoreGuardArc};
use http::HeaderMap;

use claude_kit_core::policy::limit::{RateLimitInfo, RateLimiter};
use claude_kit_rt::{Runtime, saturating_deadline};

use super::stats::Counters;

/// The longest a server's `anthropic-ratelimit-*-reset` may hold the local limiters back.
const MAX_RESET_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// The limits of a client and its clones.
pub(crate) struct Admission {
    permits: Option<Arc<Semaphore>>,
    requests: Option<Mutex<RateLimiter>>,
    tokens: Option<Mutex<RateLimiter>>,
}

/// What an admitted attempt holds until its response is finished: its concurrency permit.
pub(crate) struct Permit {
    _permit: Option<SemaphoreGuardArc>,
}

fn lock(limiter: &Mutex<RateLimiter>) -> MutexGuard<'_, RateLimiter> {
    limiter.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Admission {
    pub(crate) fn new(
        max_concurrent: Option<usize>,
        requests_per_minute: Option<u32>,
        tokens_per_minute: Option<u32>,
    ) -> Self {
        Self {
            permits: max_concurrent.map(|n| Arc::new(Semaphore::new(n))),
            requests: requests_per_minute.map(|n| Mutex::new(RateLimiter::per_minute(n))),
            tokens: tokens_per_minute.map(|n| Mutex::new(RateLimiter::per_minute(n))),
        }
    }

    /// Waits until an attempt costing `tokens` may start. Cancellation safe: a dropped wait
    /// holds no permit and has taken nothing from the limiters.
    pub(crate) async fn admit(
        &self,
        runtime: &dyn Runtime,
        counters: &Counters,
        tokens: u32,
    ) -> Permit {
        if self.permits.is_none() && self.requests.is_none() && self.tokens.is_none() {
            return Permit { _permit: None };
        }
        let _waiting = counters.waiting();
        let permit = match &self.permits {
            Some(permits) => Some(permits.acquire_arc().await),
            None => None,
        };
        loop {
            let now = runtime.now();
            let retry_at = match self.take(now, tokens) {
                Ok(()) => break,
                Err(at) => at,
            };
            runtime.sleep_until(retry_at).await;
        }
        Permit { _permit: permit }
    }

    /// Takes one request and `tokens` from the limiters, all or nothing.
    fn take(&self, now: std::time::Instant, tokens: u32) -> Result<(), std::time::Instant> {
        if let Some(requests) = &self.requests {
            lock(requests).try_acquire(1, now)?;
        }
        if let Some(limiter) = &self.tokens
            && let Err(at) = lock(limiter).try_acquire(tokens, now)
        {
            if let Some(requests) = &self.requests {
                lock(requests).refund(1, now);
            }
            return Err(at);
        }
        Ok(())
    }

    /// Gives back what a call reserved (`estimated`) but did not use (`used`).
    pub(crate) fn settle_tokens(&self, estimated: u32, used: u64, now: std::time::Instant) {
        if let Some(limiter) = &self.tokens {
            let used = u32::try_from(used).unwrap_or(u32::MAX);
            lock(limiter).refund(estimated.saturating_sub(used), now);
        }
    }

    /// Aligns the local limiters with what the server says is left.
    pub(crate) fn observe(&self, headers: &HeaderMap, now: std::time::Instant) {
        if self.requests.is_none() && self.tokens.is_none() {
            return;
        }
        let info = RateLimitInfo::from_headers(headers);
        let wall = SystemTime::now();
        // A reset instant is a server's word: the API's windows are a minute long, so a reset
        // further away than that (a year, 9999-12-31) is taken as a minute, never as a reason
        // to stop sending for good.
        let reset_at = |reset: Option<SystemTime>| {
            reset.map(|reset| {
                let wait = reset.duration_since(wall).unwrap_or_default();
                saturating_deadline(now, wait.min(MAX_RESET_WAIT))
            })
        };
        if let (Some(limiter), Some(limit)) = (&self.requests, &info.requests)
            && let Some(remaining) = limit.remaining
        {
            lock(limiter).observe(remaining, reset_at(limit.reset), now);
        }
        if let (Some(limiter), Some(limit)) = (&self.tokens, &info.tokens)
            && let Some(remaining) = limit.remaining
        {
            lock(limiter).observe(remaining, reset_at(limit.reset), now);
        }
    }
}

/// The tokens a request is counted for up front: its input, estimated at four bytes of JSON
/// per token, plus every output token it may produce.
pub(crate) fn estimate_tokens(body_len: usize, max_tokens: u32) -> u32 {
    u32::try_from(body_len / 4)
        .unwrap_or(u32::MAX)
        .saturating_add(max_tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_reset_far_in_the_future_holds_the_limiter_back_a_minute_at_most() {
        let throttle = Admission::new(None, Some(50), None);
        let mut headers = HeaderMap::new();
        headers.insert("anthropic-ratelimit-requests-limit", "50".parse().unwrap());
        headers.insert(
            "anthropic-ratelimit-requests-remaining",
            "0".parse().unwrap(),
        );
        headers.insert(
            "anthropic-ratelimit-requests-reset",
            "9999-12-31T23:59:59Z".parse().unwrap(),
        );
        let now = Instant::now();
        throttle.observe(&headers, now);
        let retry_at = throttle.take(now, 0).expect_err("nothing left");
        assert!(retry_at > now, "the server said none are left");
        assert!(
            retry_at <= now + MAX_RESET_WAIT + Duration::from_secs(2),
            "held back {:?}",
            retry_at - now
        );
    }
}
