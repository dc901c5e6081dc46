//! The deadlines of one call, as a pure state machine over `now`.
//!
//! A call has five bounds: the TCP connect and TLS handshake, the wait for response headers
//! after a request is sent, the wait for each next chunk of the body (idle), the whole call
//! with its retries (total), and the quiet drain of a stream's body after its last event. The
//! async code around a call keeps one [`CallDeadlines`], tells it what happened
//! ([`request_sent`](CallDeadlines::request_sent), [`progress`](CallDeadlines::progress), …),
//! arms one timer at [`next_wake`](CallDeadlines::next_wake) and, when the timer fires, asks
//! [`expired`](CallDeadlines::expired) which bound (if any) has passed. A timer that fires
//! early (chunks came meanwhile) is simply re-armed: the clock is only read, never trusted to
//! the timer.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use claude_kit_core::policy::deadline::{CallDeadlines, Expired, Timeouts};
//! use claude_kit_core::TimeoutPhase;
//!
//! let start = Instant::now();
//! let mut timeouts = Timeouts::default();
//! timeouts.idle = Duration::from_secs(5);
//! let mut deadlines = CallDeadlines::new(timeouts, start);
//! deadlines.request_sent(start);
//! deadlines.headers_received(start);
//! let one = start + Duration::from_secs(1);
//! deadlines.progress(one);
//! // The next chunk is due 5 s after the last one.
//! assert_eq!(deadlines.next_wake(), Some(one + Duration::from_secs(5)));
//! assert_eq!(deadlines.expired(one + Duration::from_secs(4)), None);
//! assert_eq!(
//!     deadlines.expired(one + Duration::from_secs(5)),
//!     Some(Expired::Timeout { phase: TimeoutPhase::Idle, after: Duration::from_secs(5) }),
//! );
//! ```

use std::time::{Duration, Instant};

use super::saturating_deadline;
use crate::TimeoutPhase;

/// The lengths of a call's deadlines. Every wait a client does is bounded by one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// TCP connect plus TLS handshake (enforced by the transport). Default 10 s.
    pub connect: Duration,
    /// From sending the request to receiving the response headers. Default 10 min: a
    /// non-streaming reply arrives only when the model is done.
    pub response_headers: Duration,
    /// Between two chunks of a response body. Default 5 min.
    pub idle: Duration,
    /// The whole call, reading a non-streaming body included. Default 10 min, as the official
    /// SDKs.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            response_headers: Duration::from_secs(600),
            idle: Duration::from_secs(300),
            total: Duration::from_secs(600),
        }
    }
}

/// How long a stream's body is read on after its `message_stop`, so the connection can be
/// reused; past it (or past [`MAX_DRAIN_BYTES`]) the connection is closed instead.
pub const DRAIN_AFTER_STOP: Duration = Duration::from_secs(2);

/// How many bytes a stream's body may still send after its `message_stop` before the
/// connection is closed instead of drained.
pub const MAX_DRAIN_BYTES: usize = 64 * 1024;

/// Which bound of a call has passed; see [`CallDeadlines::expired`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    /// A deadline that fails the call with `Error::Timeout { phase, after }`.
    Timeout {
        /// Which deadline.
        phase: TimeoutPhase,
        /// Its length.
        after: Duration,
    },
    /// The drain after the last event is over: close the body quietly, it is no failure.
    DrainOver,
}

/// Where a call stands, for its deadlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before a request is on its way (admission, a retry's back-off): only the total bound.
    Idle,
    /// A request was sent; its response headers are due.
    AwaitingHeaders { due: Instant },
    /// Reading a body; the next chunk is due `idle` after the last one.
    Body { last_progress: Instant },
    /// The last event came; the rest of the body is read until `until`.
    Draining { until: Instant },
}

/// The deadlines of one call: total from its start, and per attempt the header, idle and
/// drain bounds, each as an instant to wake up at. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct CallDeadlines {
    timeouts: Timeouts,
    total_at: Instant,
    /// Whether the total bound also covers the body (a non-streaming call), or ends once the
    /// headers are in (a stream, which may last as long as the model writes).
    total_covers_body: bool,
    stage: Stage,
}

impl CallDeadlines {
    /// The deadlines of a call starting at `now`; the total bound counts from here.
    pub fn new(timeouts: Timeouts, now: Instant) -> Self {
        Self {
            timeouts,
            total_at: saturating_deadline(now, timeouts.total),
            total_covers_body: true,
            stage: Stage::Idle,
        }
    }

    /// For a stream: the total bound ends when the response headers are in; the body is
    /// bounded by the idle deadline alone.
    #[must_use]
    pub fn streaming(mut self) -> Self {
        self.total_covers_body = false;
        self
    }

    /// The lengths these deadlines were made from.
    pub fn timeouts(&self) -> &Timeouts {
        &self.timeouts
    }

    /// When the total bound passes.
    pub fn total_at(&self) -> Instant {
        self.total_at
    }

    /// The connect bound to hand the transport for an attempt starting at `now`: the connect
    /// timeout, or what is left of the total bound when that is shorter.
    pub fn connect_timeout(&self, now: Instant) -> Duration {
        self.timeouts
            .connect
            .min(self.total_at.saturating_duration_since(now))
    }

    /// A request went out at `now`: its response headers are due.
    pub fn request_sent(&mut self, now: Instant) {
        self.stage = Stage::AwaitingHeaders {
            due: saturating_deadline(now, self.timeouts.response_headers),
        };
    }

    /// The response headers came at `now`: the body is read from here, under the idle bound.
    pub fn headers_received(&mut self, now: Instant) {
        self.stage = Stage::Body { last_progress: now };
    }

    /// A chunk of the body came at `now`: the idle bound counts from here again.
    pub fn progress(&mut self, now: Instant) {
        if let Stage::Body { last_progress } = &mut self.stage {
            *last_progress = now;
        }
    }

    /// The last event came at `now`: what is left of the body is drained for at most
    /// [`DRAIN_AFTER_STOP`] (and never past the total bound, when it covers the body).
    pub fn drain(&mut self, now: Instant) {
        let mut until = saturating_deadline(now, DRAIN_AFTER_STOP);
        if self.total_covers_body {
            until = until.min(self.total_at);
        }
        self.stage = Stage::Draining { until };
    }

    /// An attempt ended (a retry waits next): only the total bound applies until the next
    /// [`request_sent`](Self::request_sent).
    pub fn attempt_ended(&mut self) {
        self.stage = Stage::Idle;
    }

    /// When the earliest bound that applies now passes: the instant to arm a timer at. Every
    /// stage has a bound today (an unbounded length saturates to a far instant), so this is
    /// `Some`; drivers treat `None` as "no timer" so a stage without one can be added.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.stage {
            Stage::Idle => Some(self.total_at),
            Stage::AwaitingHeaders { due } => Some(due.min(self.total_at)),
            Stage::Body { last_progress } => {
                let idle = saturating_deadline(last_progress, self.timeouts.idle);
                Some(if self.total_covers_body {
                    idle.min(self.total_at)
                } else {
                    idle
                })
            }
            Stage::Draining { until } => Some(until),
        }
    }

    /// Which bound has passed at `now`, if any. When two have, the total bound wins: it is
    /// the one the caller set for the whole call.
    pub fn expired(&self, now: Instant) -> Option<Expired> {
        let total = Expired::Timeout {
            phase: TimeoutPhase::Total,
            after: self.timeouts.total,
        };
        let total_applies = match self.stage {
            Stage::Idle | Stage::AwaitingHeaders { .. } => true,
            Stage::Body { .. } => self.total_covers_body,
            // A drain is no failure: it ends quietly, at the total bound at the latest.
            Stage::Draining { .. } => false,
        };
        if total_applies && now >= self.total_at {
            return Some(total);
        }
        match self.stage {
            Stage::Idle => None,
            Stage::AwaitingHeaders { due } => (now >= due).then_some(Expired::Timeout {
                phase: TimeoutPhase::ResponseHeaders,
                after: self.timeouts.response_headers,
            }),
            Stage::Body { last_progress } => (now
                >= saturating_deadline(last_progress, self.timeouts.idle))
            .then_some(Expired::Timeout {
                phase: TimeoutPhase::Idle,
                after: self.timeouts.idle,
            }),
            Stage::Draining { until } => (now >= until).then_some(Expired::DrainOver),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn timeouts() -> Timeouts {
        Timeouts {
            connect: 2 * S,
            response_headers: 10 * S,
            idle: 5 * S,
            total: 60 * S,
        }
    }

    fn timeout(phase: TimeoutPhase, after: Duration) -> Option<Expired> {
        Some(Expired::Timeout { phase, after })
    }

    #[test]
    fn total_bounds_the_call_before_any_attempt() {
        let t0 = Instant::now();
        let deadlines = CallDeadlines::new(timeouts(), t0);
        assert_eq!(deadlines.next_wake(), Some(t0 + 60 * S));
        assert_eq!(deadlines.expired(t0 + 59 * S), None);
        assert_eq!(
            deadlines.expired(t0 + 60 * S),
            timeout(TimeoutPhase::Total, 60 * S)
        );
    }

    #[test]
    fn headers_are_due_after_the_request_and_capped_by_total() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0);
        deadlines.request_sent(t0 + S);
        assert_eq!(deadlines.next_wake(), Some(t0 + 11 * S));
        assert_eq!(
            deadlines.expired(t0 + 11 * S),
            timeout(TimeoutPhase::ResponseHeaders, 10 * S)
        );
        // A late attempt: the total bound comes first and wins.
        deadlines.request_sent(t0 + 55 * S);
        assert_eq!(deadlines.next_wake(), Some(t0 + 60 * S));
        assert_eq!(
            deadlines.expired(t0 + 61 * S),
            timeout(TimeoutPhase::Total, 60 * S)
        );
    }

    #[test]
    fn idle_counts_from_the_last_chunk() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0).streaming();
        deadlines.request_sent(t0);
        deadlines.headers_received(t0 + S);
        deadlines.progress(t0 + 3 * S);
        assert_eq!(deadlines.next_wake(), Some(t0 + 8 * S));
        assert_eq!(deadlines.expired(t0 + 7 * S), None);
        assert_eq!(
            deadlines.expired(t0 + 8 * S),
            timeout(TimeoutPhase::Idle, 5 * S)
        );
    }

    #[test]
    fn a_stream_body_outlives_the_total_bound_a_plain_body_does_not() {
        let t0 = Instant::now();
        let mut stream = CallDeadlines::new(timeouts(), t0).streaming();
        stream.request_sent(t0);
        stream.headers_received(t0);
        stream.progress(t0 + 58 * S);
        assert_eq!(stream.expired(t0 + 62 * S), None);
        assert_eq!(stream.next_wake(), Some(t0 + 63 * S));

        let mut plain = CallDeadlines::new(timeouts(), t0);
        plain.request_sent(t0);
        plain.headers_received(t0);
        plain.progress(t0 + 58 * S);
        assert_eq!(plain.next_wake(), Some(t0 + 60 * S));
        assert_eq!(
            plain.expired(t0 + 60 * S),
            timeout(TimeoutPhase::Total, 60 * S)
        );
    }

    #[test]
    fn progress_before_headers_changes_nothing() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0);
        deadlines.request_sent(t0);
        deadlines.progress(t0 + 9 * S);
        assert_eq!(
            deadlines.expired(t0 + 10 * S),
            timeout(TimeoutPhase::ResponseHeaders, 10 * S)
        );
    }

    #[test]
    fn drain_ends_quietly() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0).streaming();
        deadlines.request_sent(t0);
        deadlines.headers_received(t0);
        deadlines.drain(t0 + 100 * S);
        assert_eq!(deadlines.next_wake(), Some(t0 + 102 * S));
        assert_eq!(deadlines.expired(t0 + 101 * S), None);
        assert_eq!(deadlines.expired(t0 + 102 * S), Some(Expired::DrainOver));
    }

    #[test]
    fn a_plain_body_drains_within_the_total_bound() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0);
        deadlines.request_sent(t0);
        deadlines.headers_received(t0);
        deadlines.drain(t0 + 59 * S);
        assert_eq!(deadlines.next_wake(), Some(t0 + 60 * S));
        assert_eq!(deadlines.expired(t0 + 60 * S), Some(Expired::DrainOver));
    }

    #[test]
    fn attempt_ended_leaves_only_the_total_bound() {
        let t0 = Instant::now();
        let mut deadlines = CallDeadlines::new(timeouts(), t0);
        deadlines.request_sent(t0);
        deadlines.attempt_ended();
        assert_eq!(deadlines.expired(t0 + 30 * S), None);
        assert_eq!(deadlines.next_wake(), Some(t0 + 60 * S));
    }

    #[test]
    fn connect_is_capped_by_what_is_left_of_total() {
        let t0 = Instant::now();
        let deadlines = CallDeadlines::new(timeouts(), t0);
        assert_eq!(deadlines.connect_timeout(t0), 2 * S);
        assert_eq!(deadlines.connect_timeout(t0 + 59 * S), S);
        assert_eq!(deadlines.connect_timeout(t0 + 70 * S), Duration::ZERO);
    }

    #[test]
    fn huge_lengths_do_not_overflow() {
        let t0 = Instant::now();
        let huge = Timeouts {
            connect: Duration::MAX,
            response_headers: Duration::MAX,
            idle: Duration::MAX,
            total: Duration::MAX,
        };
        let mut deadlines = CallDeadlines::new(huge, t0);
        deadlines.request_sent(t0);
        deadlines.headers_received(t0);
        deadlines.progress(t0);
        assert!(deadlines.next_wake().is_some());
        assert_eq!(deadlines.expired(t0 + 1000 * S), None);
    }
}
