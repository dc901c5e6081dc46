//! A response body that fails with [`Error::Timeout`] when the next chunk takes too long.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;

use claude_kit_core::transport::Body;
use claude_kit_rt::{Runtime, Sleep, saturating_deadline};

use crate::{Error, TimeoutPhase};

/// Wraps `body` so that a wait longer than `idle` for its next chunk ends it with
/// `Error::Timeout { phase: Idle, .. }`.
///
/// One timer per body, and it is not moved on every chunk: a chunk only records when it came.
/// When the timer fires early (chunks came meanwhile) it is re-armed for `last chunk + idle`.
/// Re-registering a timer per chunk cost several percent of a stream's CPU; reading the clock
/// costs next to nothing.
pub(crate) fn with_idle_timeout(body: Body, runtime: &Arc<dyn Runtime>, idle: Duration) -> Body {
    Body::from_stream(IdleTimeout {
        body,
        last_chunk: runtime.now(),
        runtime: runtime.clone(),
        idle,
        timer: None,
        done: false,
    })
}

struct IdleTimeout {
    body: Body,
    runtime: Arc<dyn Runtime>,
    idle: Duration,
    /// When the last chunk (or the body itself) arrived.
    last_chunk: Instant,
    timer: Option<Pin<Box<dyn Sleep>>>,
    done: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = this.body.poll_next_unpin(cx) {
            this.last_chunk = this.runtime.now();
            this.done = item.is_none();
            return Poll::Ready(item);
        }
        let deadline = saturating_deadline(this.last_chunk, this.idle);
        let runtime = &this.runtime;
        let timer = this
            .timer
            .get_or_insert_with(|| runtime.sleep_until(deadline));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if this.runtime.now() >= deadline {
                this.done = true;
                return Poll::Ready(Some(Err(Error::Timeout {
                    phase: TimeoutPhase::Idle,
                    after: this.idle,
                })));
            }
            // Fired for an older deadline: chunks came since. Wait for the current one.
            timer.as_mut().reset(deadline);
        }
    }
}
