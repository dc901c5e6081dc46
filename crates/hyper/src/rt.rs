//! hyper's runtime traits over the seam: [`RtExecutor`] spawns hyper's background futures
//! with [`Runtime::spawn`], [`RtTimer`] arms hyper's timers with [`Runtime::sleep_until`].
//!
//! The HTTP/1.1 client needs neither (its one driver future is spawned by the transport); the
//! HTTP/2 client spawns a task per connection and per request body, and keeps its keep-alive
//! pings on a timer, so it takes both.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use claude_kit_rt::Runtime;

/// A [`hyper::rt::Executor`] that spawns on a [`Runtime`].
#[derive(Clone)]
pub(crate) struct RtExecutor {
    runtime: Arc<dyn Runtime>,
}

impl RtExecutor {
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self { runtime }
    }
}

impl fmt::Debug for RtExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RtExecutor")
            .field(&self.runtime.name())
            .finish()
    }
}

impl<F> hyper::rt::Executor<F> for RtExecutor
where
    F: Future + Send + 'static,
{
    fn execute(&self, future: F) {
        // hyper's futures all end in `()`; the output is dropped in any case.
        self.runtime.spawn(Box::pin(async move {
            let _ = future.await;
        }));
    }
}

/// A [`hyper::rt::Timer`] on a [`Runtime`]'s resettable timers and clock.
#[derive(Clone)]
pub(crate) struct RtTimer {
    runtime: Arc<dyn Runtime>,
}

impl RtTimer {
    pub(crate) fn new(runtime: Arc<dyn Runtime>) -> Self {
        Self { runtime }
    }
}

impl fmt::Debug for RtTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RtTimer")
            .field(&self.runtime.name())
            .finish()
    }
}

/// One of the runtime's timers, as hyper's [`hyper::rt::Sleep`].
struct RtSleep(Pin<Box<dyn claude_kit_rt::Sleep>>);

impl Future for RtSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl hyper::rt::Sleep for RtSleep {}

impl hyper::rt::Timer for RtTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = claude_kit_rt::saturating_deadline(self.runtime.now(), duration);
        self.sleep_until(deadline)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(RtSleep(self.runtime.sleep_until(deadline)))
    }

    fn now(&self) -> Instant {
        self.runtime.now()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        // Ours: move the runtime's timer instead of making a new one.
        match sleep.as_mut().downcast_mut_pin::<RtSleep>() {
            Some(mut ours) => ours.0.as_mut().reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_kit_rt::{BoxFuture, Sleep};
    use hyper::rt::{Executor as _, Timer as _};
    use std::sync::Mutex;

    /// Records spawns and the deadlines of timers (never fire).
    #[derive(Debug, Default)]
    struct Recording {
        spawned: Mutex<usize>,
        deadlines: Arc<Mutex<Vec<Instant>>>,
    }

    struct Pending(Arc<Mutex<Vec<Instant>>>);

    impl Future for Pending {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    impl Sleep for Pending {
        fn reset(self: Pin<&mut Self>, deadline: Instant) {
            self.0.lock().unwrap().push(deadline);
        }
    }

    impl Runtime for Recording {
        fn name(&self) -> &'static str {
            "recording"
        }
        fn spawn(&self, task: BoxFuture<'static, ()>) {
            drop(task);
            *self.spawned.lock().unwrap() += 1;
        }
        fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Sleep>> {
            self.deadlines.lock().unwrap().push(deadline);
            Box::pin(Pending(self.deadlines.clone()))
        }
    }

    #[test]
    fn spawns_and_resets_through_the_runtime() {
        let runtime = Arc::new(Recording::default());
        let shared: Arc<dyn Runtime> = runtime.clone();
        RtExecutor::new(shared.clone()).execute(async { 7 });
        assert_eq!(*runtime.spawned.lock().unwrap(), 1);

        let timer = RtTimer::new(shared);
        let start = Instant::now();
        let mut sleep = timer.sleep_until(start);
        // A reset moves the same timer: no second `sleep_until`.
        timer.reset(&mut sleep, start + Duration::from_secs(1));
        let deadlines = runtime.deadlines.lock().unwrap().clone();
        assert_eq!(deadlines, [start, start + Duration::from_secs(1)]);
        // Far durations saturate instead of overflowing.
        drop(timer.sleep(Duration::MAX));
    }
}
