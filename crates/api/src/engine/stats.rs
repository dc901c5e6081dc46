//! [`ClientStats`]: what a client holds right now, so applications and tests can check that
//! cancelled and finished calls leave nothing behind; the counters behind it, and the
//! [`CountingRuntime`] that counts the tasks a client spawns.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use claude_kit_core::transport::PoolStats;
use claude_kit_rt::{BoxFuture, Runtime, SharedRuntime, Sleep, TcpConnect};

/// A snapshot of a client's activity; see [`Client::stats`](crate::Client::stats).
///
/// After every call has finished or been dropped, `in_flight`, `waiting` and `pool.in_use`
/// are 0; `tasks` counts the background tasks the SDK keeps (one per open connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientStats {
    /// Calls in progress, including response bodies and streams not yet finished or dropped.
    pub in_flight: usize,
    /// Calls waiting for a concurrency permit or for the rate limiter.
    pub waiting: usize,
    /// Background tasks the SDK spawned that are still alive (connection drivers, stream
    /// drains).
    pub tasks: usize,
    /// The connection pool, when the transport has one.
    pub pool: Option<PoolStats>,
}

/// The counters shared by a client and its clones. Guards count: each is one unit until it
/// is dropped, so a call dropped at any await point gives back what it took.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    in_flight: AtomicUsize,
    waiting: AtomicUsize,
    tasks: Arc<AtomicUsize>,
    /// Notified whenever `in_flight` drops to zero (what `Client::close` waits for).
    drained: event_listener::Event,
}

impl Counters {
    /// Counts one call waiting for admission until the guard is dropped.
    pub(crate) fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(&self.waiting)
    }

    /// Counts one call in flight until the guard is dropped (it may live in a response body).
    pub(crate) fn in_flight(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// `runtime`, counting the tasks spawned through it in these counters.
    pub(crate) fn counting(&self, runtime: SharedRuntime) -> CountingRuntime {
        CountingRuntime {
            inner: runtime,
            live: self.tasks.clone(),
        }
    }

    /// The snapshot of [`ClientStats`], with the transport's `pool`.
    pub(crate) fn snapshot(&self, pool: Option<PoolStats>) -> ClientStats {
        ClientStats {
            in_flight: self.in_flight.load(Ordering::SeqCst),
            waiting: self.waiting.load(Ordering::SeqCst),
            tasks: self.tasks.load(Ordering::SeqCst),
            pool,
        }
    }

    /// Waits until no call is in flight.
    pub(crate) async fn drained(&self) {
        loop {
            // Listen before checking, so a call finishing in between is not missed.
            let listener = self.drained.listen();
            if self.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }
}

/// One call waiting for admission; see [`Counters::waiting`].
pub(crate) struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One call in flight; see [`Counters::in_flight`].
pub(crate) struct InFlight(Arc<Counters>);

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify(usize::MAX);
        }
    }
}

/// The client's runtime, counting the tasks spawned through it, so that [`ClientStats`] can
/// show that nothing is left running.
pub(crate) struct CountingRuntime {
    inner: SharedRuntime,
    live: Arc<AtomicUsize>,
}

struct LiveTask(Arc<AtomicUsize>);

impl Drop for LiveTask {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runtime for CountingRuntime {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn spawn(&self, task: BoxFuture<'static, ()>) {
        self.live.fetch_add(1, Ordering::SeqCst);
        // The guard is owned by the future from the start: dropped with it, whether the task
        // ran to completion or the executor discarded it.
        let live = LiveTask(self.live.clone());
        self.inner.spawn(Box::pin(async move {
            let _live = live;
            task.await;
        }));
    }

    fn spawn_blocking(&self, task: Box<dyn FnOnce() + Send + 'static>) {
        self.inner.spawn_blocking(task);
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
        self.inner.sleep_until(deadline)
    }

    fn is_shut_down(&self) -> bool {
        self.inner.is_shut_down()
    }

    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn tcp(&self) -> Option<&dyn TcpConnect> {
        self.inner.tcp()
    }
}

impl fmt::Debug for CountingRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingRuntime")
            .field("runtime", &self.inner.name())
            .field("live_tasks", &self.live.load(Ordering::SeqCst))
            .finish()
    }
}
