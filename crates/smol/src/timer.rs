//! Timers on the `async-io` reactor, shared by every executor built on it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use claude_kit_rt::Sleep;

/// A [`Sleep`] backed by an [`async_io::Timer`].
///
/// Polled after it has completed, it stays pending until [`reset`](Sleep::reset) gives it a
/// new deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// use claude_kit_smol::timer::AsyncIoSleep;
///
/// smol::block_on(AsyncIoSleep::at(Instant::now() + Duration::from_millis(1)));
/// ```
#[derive(Debug)]
pub struct AsyncIoSleep(Timer);

impl AsyncIoSleep {
    /// A timer that completes at `deadline`.
    pub fn at(deadline: Instant) -> Self {
        Self(Timer::at(deadline))
    }
}

impl Future for AsyncIoSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().0).poll(cx).map(drop)
    }
}

impl Sleep for AsyncIoSleep {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().0.set_at(deadline);
    }
}

/// A boxed [`AsyncIoSleep`]: the body of [`Runtime::sleep_until`] for async-io executors.
///
/// [`Runtime::sleep_until`]: claude_kit_rt::Runtime::sleep_until
pub fn sleep_until(deadline: Instant) -> Pin<Box<dyn Sleep>> {
    Box::pin(AsyncIoSleep::at(deadline))
}
