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
//! For the same reason a timer already holding the waiting task's waker is not polled again
//! before its instant: a wait costs a clock read, not a timer poll.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

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
    timer: Option<Timer>,
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
                // The timer, armed for the idle bound, is moved to the drain's at the first
                // wait (`poll_timer`), if there is one: usually the end of the body came with
                // the last event, and a timer moved earlier costs tokio a wake-up of its
                // driver (a syscall).
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
    /// Waits for the earliest bound of the deadlines; `Pending` while none has passed. The
    /// timer is moved only when the bound is earlier than its instant (the drain's, after
    /// the idle bound's) or when it fired for an older bound. A timer that fires early on a runtime that has shut down (its timers complete at once
    /// there) is the end of the body, not a reason to re-arm for ever.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<Result<Expired>> {
        loop {
            let Some(wake) = self.deadlines.next_wake() else {
                return Poll::Pending;
            };
            let runtime = &self.runtime;
            let timer = self.timer.get_or_insert_with(|| Timer {
                sleep: runtime.sleep_until(wake),
                at: wake,
                waker: None,
            });
            if wake < timer.at {
                timer.reset(wake);
            } else if timer.holds(cx.waker())
                // It holds this task's waker and cannot have fired before its instant (unless
                // the runtime shut down): asking it again would only re-register the waker. A
                // stream waits once per chunk: this saves a timer poll per chunk for a clock read.
                && self.runtime.now() < timer.at
                && !self.runtime.is_shut_down()
            {
                return Poll::Pending;
            }
            if timer.sleep.as_mut().poll(cx).is_pending() {
                if !timer.holds(cx.waker()) {
                    timer.waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            timer.waker = None;
            if let Some(expired) = self.deadlines.expired(self.runtime.now()) {
                return Poll::Ready(Ok(expired));
            }
            if self.runtime.is_shut_down() {
                return Poll::Ready(Err(Error::closed(
                    "the runtime shut down while the response was being read",
                )));
            }
            // Fired for an older bound: chunks came since. Wait for the current one.
            timer.reset(wake);
        }
    }
}

/// A body's timer and the instant it is armed for (an earlier bound than the current one
/// when chunks came since: it is moved only when it fires, or for an earlier bound).
struct Timer {
    sleep: Pin<Box<dyn Sleep>>,
    at: Instant,
    /// The waker of its last poll, while it is pending.
    waker: Option<Waker>,
}

impl Timer {
    /// Whether the timer, pending, will wake the task `waker` belongs to.
    fn holds(&self, waker: &Waker) -> bool {
        self.waker
            .as_ref()
            .is_some_and(|held| held.will_wake(waker))
    }

    /// Arms the timer for `at`; it is polled again at the next wait.
    fn reset(&mut self, at: Instant) {
        self.sleep.as_mut().reset(at);
        self.at = at;
        self.waker = None;
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
    use claude_kit_core::policy::deadline::Timeouts;
    use claude_kit_rt::{BoxFuture, Runtime};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::engine::admission::Admission;
    use crate::engine::stats::Counters;

    /// Counts the timers made, moved and polled; they fire when the runtime's clock (real
    /// time unless `clock` is set) reaches their instant.
    #[derive(Debug, Default)]
    struct CountingTimers {
        made: AtomicUsize,
        counts: Arc<SleepCounts>,
        clock: Option<Arc<Mutex<Instant>>>,
    }

    #[derive(Debug, Default)]
    struct SleepCounts {
        resets: AtomicUsize,
        polls: AtomicUsize,
    }

    impl CountingTimers {
        fn resets(&self) -> usize {
            self.counts.resets.load(Ordering::SeqCst)
        }
        fn polls(&self) -> usize {
            self.counts.polls.load(Ordering::SeqCst)
        }
    }

    struct CountedSleep {
        at: Instant,
        counts: Arc<SleepCounts>,
        clock: Option<Arc<Mutex<Instant>>>,
    }

    impl std::future::Future for CountedSleep {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.counts.polls.fetch_add(1, Ordering::SeqCst);
            match &self.clock {
                Some(clock) if *clock.lock().unwrap() >= self.at => Poll::Ready(()),
                _ => Poll::Pending,
            }
        }
    }

    impl Sleep for CountedSleep {
        fn reset(mut self: Pin<&mut Self>, at: Instant) {
            self.counts.resets.fetch_add(1, Ordering::SeqCst);
            self.at = at;
        }
    }

    impl Runtime for CountingTimers {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn spawn(&self, _: BoxFuture<'static, ()>) {}
        fn sleep_until(&self, at: Instant) -> Pin<Box<dyn Sleep>> {
            self.made.fetch_add(1, Ordering::SeqCst);
            Box::pin(CountedSleep {
                at,
                counts: self.counts.clone(),
                clock: self.clock.clone(),
            })
        }
        fn now(&self) -> Instant {
            match &self.clock {
                Some(clock) => *clock.lock().unwrap(),
                None => Instant::now(),
            }
        }
    }

    /// A body of `chunks` chunks under fresh stream deadlines, on `timers`.
    fn body_on(timers: &Arc<CountingTimers>, chunks: usize) -> (ResponseBody, Arc<Counters>) {
        reading(timers, trickle(chunks), Timeouts::default())
    }

    /// `body` read under stream deadlines of `timeouts`, its headers in at the runtime's now.
    fn reading(
        timers: &Arc<CountingTimers>,
        body: Body,
        timeouts: Timeouts,
    ) -> (ResponseBody, Arc<Counters>) {
        let runtime: SharedRuntime = timers.clone();
        let counters = Arc::new(Counters::default());
        let permit = futures::executor::block_on(
            Admission::new(None, None, None).admit(&*runtime, &counters, 0),
        );
        let mut deadlines = CallDeadlines::new(timeouts, runtime.now()).streaming();
        deadlines.headers_received(runtime.now());
        let body = ResponseBody::new(body, deadlines, runtime, permit, counters.in_flight());
        (body, counters)
    }

    /// Polls `body` until it yields a chunk (it wakes itself when pending).
    fn next_chunk(body: &mut ResponseBody) -> Bytes {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(item) = Pin::new(&mut *body).poll_next(&mut cx) {
                return item.expect("a chunk").expect("no error");
            }
        }
    }

    #[test]
    fn a_drain_moves_the_timer_only_if_it_has_to_wait() {
        let mut cx = Context::from_waker(std::task::Waker::noop());

        // The end of the body is already there: the drain ends at once, the timer stays.
        let timers = Arc::new(CountingTimers::default());
        let (mut body, counters) = body_on(&timers, 1);
        next_chunk(&mut body);
        assert_eq!(
            timers.made.load(Ordering::SeqCst),
            1,
            "armed at the first wait"
        );
        assert_eq!(body.poll_drain(&mut cx), Poll::Ready(()));
        assert_eq!(timers.resets(), 0);
        assert_eq!(counters.snapshot(None).in_flight, 0);

        // A chunk is still to come: the drain waits, under its own bound, moved once.
        let timers = Arc::new(CountingTimers::default());
        let (mut body, counters) = body_on(&timers, 3);
        next_chunk(&mut body);
        let mut polls = 0;
        while body.poll_drain(&mut cx).is_pending() {
            polls += 1;
        }
        assert_eq!(polls, 2, "pending once before each of the two chunks left");
        assert_eq!(timers.made.load(Ordering::SeqCst), 1);
        assert_eq!(timers.resets(), 1);
        assert_eq!(counters.snapshot(None).in_flight, 0);
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
        let (body, counters) = body_on(&timers, 1000);
        let bytes = futures::executor::block_on(body.collect(1 << 20)).unwrap();
        assert_eq!(bytes.len(), 4000);
        assert_eq!(timers.made.load(Ordering::SeqCst), 1);
        // Polled once: at each later wait the same task waited, before the timer's instant.
        assert_eq!(timers.polls(), 1);
        assert_eq!(counters.snapshot(None).in_flight, 0);
    }

    #[test]
    fn a_wait_from_another_task_asks_the_timer_again() {
        let timers = Arc::new(CountingTimers::default());
        let (mut body, _) = body_on(&timers, 4);
        let (first, second) = (Waker::from(Arc::new(Wake)), Waker::from(Arc::new(Wake)));
        let mut poll = |waker: &Waker| {
            Pin::new(&mut body)
                .poll_next(&mut Context::from_waker(waker))
                .is_pending()
        };
        // The body is pending once before each chunk.
        assert!(poll(&first) && !poll(&first));
        assert_eq!(timers.polls(), 1);
        assert!(poll(&first) && !poll(&first));
        assert_eq!(
            timers.polls(),
            1,
            "the same task waits again: the timer holds its waker"
        );
        assert!(poll(&second) && !poll(&second));
        assert_eq!(
            timers.polls(),
            2,
            "another task waits: the timer must learn its waker"
        );
        assert!(poll(&first) && !poll(&first));
        assert_eq!(timers.polls(), 3, "and the first one's, again");
    }

    /// A task waker that does nothing, one per `Arc` (`Waker::noop`'s clones need not
    /// `will_wake` it).
    struct Wake;

    impl std::task::Wake for Wake {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn the_idle_bound_is_kept_when_chunks_moved_it_past_the_timer() {
        let start = Instant::now();
        let clock = Arc::new(Mutex::new(start));
        let timers = Arc::new(CountingTimers {
            clock: Some(clock.clone()),
            ..CountingTimers::default()
        });
        let (chunks, source) = futures::channel::mpsc::unbounded::<Result<Bytes>>();
        let mut timeouts = Timeouts::default();
        timeouts.idle = Duration::from_secs(10);
        let (mut body, counters) = reading(&timers, Body::from_stream(source), timeouts);
        let waker = Waker::from(Arc::new(Wake));
        let mut cx = Context::from_waker(&waker);
        let mut poll = |body: &mut ResponseBody| Pin::new(body).poll_next(&mut cx);
        let at = |secs| start + Duration::from_secs(secs);

        assert!(poll(&mut body).is_pending(), "armed for 10 s");
        *clock.lock().unwrap() = at(5);
        chunks.unbounded_send(Ok(Bytes::from_static(b"a"))).unwrap();
        assert!(
            poll(&mut body).is_ready(),
            "a chunk at 5 s: the bound is now 15 s"
        );
        assert!(poll(&mut body).is_pending());
        assert_eq!(
            timers.polls(),
            1,
            "the timer, armed for 10 s, is not asked at 5 s"
        );

        *clock.lock().unwrap() = at(10);
        assert!(
            poll(&mut body).is_pending(),
            "at 10 s the timer fires for an old bound"
        );
        assert_eq!(timers.resets(), 1, "moved to 15 s");
        *clock.lock().unwrap() = at(14);
        assert!(poll(&mut body).is_pending());
        *clock.lock().unwrap() = at(15);
        match poll(&mut body) {
            Poll::Ready(Some(Err(Error::Timeout { phase, .. }))) => {
                assert_eq!(phase, claude_kit_core::TimeoutPhase::Idle);
            }
            other => panic!("expected the idle timeout at 15 s, got {other:?}"),
        }
        assert_eq!(counters.snapshot(None).in_flight, 0);
    }
}
