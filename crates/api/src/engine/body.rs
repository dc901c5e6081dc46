//! [`ResponseBody`]: a response body as a call reads it — the transport's [`Body`], the call's
//! idle and drain deadlines, and what the call holds until its body is done (its concurrency
//! permit, its in-flight count), in one layer.
//!
//! One timer per body, armed lazily (at the first wait) at
//! [`CallDeadlines::next_wake`] and never moved on a chunk: a chunk only tells the deadlines
//! when it came ([`CallDeadlines::progress`], one clock read). When the timer fires,
//! [`CallDeadlines::expired`] says whether a bound really passed; a timer that fired for an
//! older bound (chunks came meanwhile) is re-armed for the current one. Re-registering a timer
//! per chunk cost several percent of a stream's CPU; reading the clock costs next to nothing.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;

use claude_kit_core::policy::deadline::{CallDeadlines, Expired, MAX_DRAIN_BYTES};
use claude_kit_core::transport::Body;
use claude_kit_core::{Error, Result};
use claude_kit_rt::{SharedRuntime, Sleep};

use super::admission::Permit;
use super::stats::InFlight;

/// A response body under its call's deadlines, holding the call's permit and in-flight count
/// until it ends, fails, is closed or dropped.
pub(crate) struct ResponseBody {
    /// `None` once the body is over: the connection, the timer and the guards are let go.
    open: Option<Open>,
}

struct Open {
    body: Body,
    deadlines: CallDeadlines,
    runtime: SharedRuntime,
    timer: Option<Pin<Box<dyn Sleep>>>,
    /// Bytes read and discarded since the drain began; `None` before it.
    drained: Option<usize>,
    _permit: Permit,
    _in_flight: InFlight,
}

impl ResponseBody {
    /// `body`, whose headers came under `deadlines` (so its idle bound counts from now).
    pub(crate) fn new(
        body: Body,
        deadlines: CallDeadlines,
        runtime: SharedRuntime,
        permit: Permit,
        in_flight: InFlight,
    ) -> Self {
        Self {
            open: Some(Open {
                body,
                deadlines,
                runtime,
                timer: None,
                drained: None,
                _permit: permit,
                _in_flight: in_flight,
            }),
        }
    }

    /// Reads the whole body, failing with [`Error::Decode`] past `limit` bytes.
    pub(crate) async fn collect(self, limit: usize) -> Result<Bytes> {
        Body::from_stream(self).collect(limit).await
    }

    /// After the last event: reads and discards what is left of the body, so its connection
    /// can be reused, for at most [`DRAIN_AFTER_STOP`](claude_kit_core::policy::deadline::DRAIN_AFTER_STOP)
    /// and [`MAX_DRAIN_BYTES`]; past either (or on an error) the connection is closed instead.
    /// Ready once the body is over, either way.
    pub(crate) fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(open) = self.open.as_mut() else {
            return Poll::Ready(());
        };
        if open.drained.is_none() {
            open.drained = Some(0);
            open.deadlines.drain(open.runtime.now());
            // The timer waits for the idle bound, later than the drain's: move it once.
            if let (Some(timer), Some(wake)) = (open.timer.as_mut(), open.deadlines.next_wake()) {
                timer.as_mut().reset(wake);
            }
        }
        loop {
            match open.body.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let drained = open.drained.get_or_insert(0);
                    *drained = drained.saturating_add(chunk.len());
                    if *drained > MAX_DRAIN_BYTES {
                        break;
                    }
                }
                Poll::Ready(Some(Err(_)) | None) => break,
                Poll::Pending => match open.poll_timer(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(_) => break,
                },
            }
        }
        self.close();
        Poll::Ready(())
    }

    /// Lets go of the body at once: a body read to its end has already released its
    /// connection; one cut off is closed now.
    pub(crate) fn close(&mut self) {
        self.open = None;
    }
}

impl Open {
    /// Waits for the earliest bound of the deadlines; `Pending` while none has passed. A
    /// timer that fires early on a runtime that has shut down (its timers complete at once
    /// there) is the end of the body, not a reason to re-arm for ever.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<Expired>> {
        loop {
            let Some(wake) = self.deadlines.next_wake() else {
                return Poll::Pending;
            };
            let runtime = &self.runtime;
            let timer = self.timer.get_or_insert_with(|| runtime.sleep_until(wake));
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if let Some(expired) = self.deadlines.expired(self.runtime.now()) {
                return Poll::Ready(Ok(expired));
            }
            if self.runtime.is_shut_down() {
                return Poll::Ready(Err(Error::closed(
                    "the runtime shut down while the response was being read",
                )));
            }
            // Fired for an older bound: chunks came since. Wait for the current one.
            timer.as_mut().reset(wake);
        }
    }
}

impl Stream for ResponseBody {
    type Item = Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(open) = this.open.as_mut() else {
            return Poll::Ready(None);
        };
        match open.body.poll_next_unpin(cx) {
            Poll::Ready(Some(item)) => {
                open.deadlines.progress(open.runtime.now());
                return Poll::Ready(Some(item));
            }
            Poll::Ready(None) => {
                this.close();
                return Poll::Ready(None);
            }
            Poll::Pending => {}
        }
        let woke = std::task::ready!(open.poll_timer(cx));
        this.close();
        Poll::Ready(match woke {
            Ok(Expired::Timeout { phase, after }) => Some(Err(Error::Timeout { phase, after })),
            Ok(Expired::DrainOver) => None,
            Err(error) => Some(Err(error)),
        })
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseBody")
            .field("open", &self.open.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    use claude_kit_core::policy::deadline::Timeouts;
    use claude_kit_rt::{BoxFuture, Runtime};

    use super::*;
    use crate::engine::admission::Admission;
    use crate::engine::stats::Counters;

    /// Counts the timers made; they never fire.
    #[derive(Debug, Default)]
    struct CountingTimers(AtomicUsize);

    struct Never;

    impl std::future::Future for Never {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    impl Sleep for Never {
        fn reset(self: Pin<&mut Self>, _: Instant) {}
    }

    impl Runtime for CountingTimers {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn spawn(&self, _: BoxFuture<'static, ()>) {}
        fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(Never)
        }
    }

    /// A body that is pending once before each of its `n` chunks.
    fn trickle(n: usize) -> Body {
        let mut pending = true;
        let mut left = n;
        Body::from_stream(futures_util::stream::poll_fn(move |cx| {
            if left == 0 {
                return Poll::Ready(None);
            }
            if std::mem::take(&mut pending) {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            pending = true;
            left -= 1;
            Poll::Ready(Some(Ok(Bytes::from_static(b"data"))))
        }))
    }

    #[test]
    fn one_timer_per_body_whatever_the_chunks() {
        let timers = Arc::new(CountingTimers::default());
        let runtime: SharedRuntime = timers.clone();
        let counters = Arc::new(Counters::default());
        let permit = futures::executor::block_on(
            Admission::new(None, None, None).admit(&*runtime, &counters, 0),
        );
        let mut deadlines = CallDeadlines::new(Timeouts::default(), Instant::now()).streaming();
        deadlines.headers_received(Instant::now());
        let body = ResponseBody::new(
            trickle(1000),
            deadlines,
            runtime,
            permit,
            counters.in_flight(),
        );
        let bytes = futures::executor::block_on(body.collect(1 << 20)).unwrap();
        assert_eq!(bytes.len(), 4000);
        assert_eq!(timers.0.load(Ordering::SeqCst), 1);
        assert_eq!(counters.snapshot(None).in_flight, 0);
    }
}
