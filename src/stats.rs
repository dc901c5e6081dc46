//! [`ClientStats`]: what a client holds right now, so applications and tests can check that
//! cancelled and finished calls leave nothing behind.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use claude_kit_core::transport::PoolStats;
use claude_kit_rt::{BoxFuture, Runtime, Sleep, TcpConnect};

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

/// Counters shared by a client and its clones.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) in_flight: AtomicUsize,
    pub(crate) waiting: AtomicUsize,
    pub(crate) tasks: Arc<AtomicUsize>,
    /// Notified whenever `in_flight` drops to zero (what `Client::close` waits for).
    pub(crate) drained: event_listener::Event,
}

impl Counters {
    /// Counts one unit in `counter` until the returned guard is dropped.
    pub(crate) fn enter(counter: &AtomicUsize) -> CounterGuard<'_> {
        counter.fetch_add(1, Ordering::SeqCst);
        CounterGuard(counter)
    }
}

/// Decrements its counter when dropped.
pub(crate) struct CounterGuard<'a>(&'a AtomicUsize);

impl Drop for CounterGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An owned [`CounterGuard`], for guards that live in a response body.
pub(crate) struct OwnedCounterGuard {
    shared: Arc<crate::client::Shared>,
}

impl OwnedCounterGuard {
    pub(crate) fn in_flight(shared: &Arc<crate::client::Shared>) -> Self {
        shared.counters.in_flight.fetch_add(1, Ordering::SeqCst);
        Self {
            shared: shared.clone(),
        }
    }
}

impl Drop for OwnedCounterGuard {
    fn drop(&mut self) {
        let counters = &self.shared.counters;
        if counters.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            counters.drained.notify(usize::MAX);
        }
    }
}

/// The client's runtime, counting the tasks spawned through it, so that [`ClientStats`] can
/// show that nothing is left running.
pub(crate) struct CountingRuntime {
    inner: Arc<dyn Runtime>,
    live: Arc<AtomicUsize>,
}

impl CountingRuntime {
    pub(crate) fn new(inner: Arc<dyn Runtime>, live: Arc<AtomicUsize>) -> Self {
        Self { inner, live }
    }
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
