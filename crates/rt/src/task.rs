//! Tasks and time built on [`Runtime`] alone: [`spawn`], [`spawn_blocking`] and the
//! [`JoinHandle`] that cancels on drop; [`timeout`], [`timeout_at`], [`sleep`]; and
//! [`ShutdownWatch`], for adapters of executors that can go away.

use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_channel::oneshot;
use futures_util::future::{AbortHandle, Abortable, FutureExt};

use crate::context::ThreadContext;
use crate::{Runtime, Sleep, saturating_deadline};

/// Runs `future` on `runtime` and returns a handle to its output.
///
/// Dropping the [`JoinHandle`] cancels the task (its future is dropped at its next wake-up);
/// call [`JoinHandle::detach`] to let it run on. This is the structured default: a spawned
/// request never outlives the code that waits for it unless you say so.
pub fn spawn<F>(runtime: &dyn Runtime, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // The output goes back through a oneshot channel; cancellation is an abort flag the task
    // checks at each poll. (`remote_handle` does the same with the channel alone, but its task
    // clones and swaps its waker into the channel at every poll to hear of a drop; an abort
    // registration clones it only when the waker changes.)
    let (output, result) = oneshot::channel();
    let (abort, registration) = AbortHandle::new_pair();
    let task = Abortable::new(AssertUnwindSafe(future).catch_unwind(), registration);
    runtime.spawn(Box::pin(task.map(move |finished| {
        if let Ok(finished) = finished {
            // Nobody may be waiting any more (a detached task): the output is dropped.
            let _ = output.send(finished);
        }
    })));
    JoinHandle {
        result,
        cancel: Cancel::Abort(AbortOnDrop(Some(abort))),
    }
}

/// Runs the blocking closure `f` with [`Runtime::spawn_blocking`] and returns a handle to its
/// result.
///
/// A closure cannot be interrupted: dropping the [`JoinHandle`] before the closure started
/// means it never starts, but once it runs it runs to the end (its result is then discarded).
/// A panic in the closure resumes in the task that awaits the handle. While the closure runs,
/// [`ThreadContext::current`] is [`ThreadContext::Blocking`], which tells synchronous APIs built
/// on the SDK that they may block this thread.
///
/// ```
/// use claude_kit_rt::{self as rt, Runtime};
/// # use std::{pin::Pin, time::Instant};
/// # use claude_kit_rt::{BoxFuture, Sleep};
/// # #[derive(Debug)] struct Inert;
/// # impl Runtime for Inert {
/// #     fn name(&self) -> &'static str { "inert" }
/// #     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
/// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
/// # }
/// let handle = rt::spawn_blocking(&Inert, || std::iter::repeat_n(7u64, 6).product::<u64>());
/// assert_eq!(futures::executor::block_on(handle), 7u64.pow(6));
/// ```
pub fn spawn_blocking<F, T>(runtime: &dyn Runtime, f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    let cancelled = Arc::new(AtomicBool::new(false));
    let flag = cancelled.clone();
    runtime.spawn_blocking(Box::new(move || {
        if flag.load(Ordering::SeqCst) {
            return;
        }
        let _blocking = ThreadContext::Blocking.enter();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        // The receiver may be gone (the handle was dropped meanwhile): nobody wants the result.
        let _ = tx.send(result);
    }));
    JoinHandle {
        result: rx,
        cancel: Cancel::NotStarted(CancelOnDrop {
            flag: cancelled,
            armed: true,
        }),
    }
}

/// The output of a task started with [`spawn`] or [`spawn_blocking`]; cancels the task when
/// dropped.
///
/// Awaiting it returns the task's output; a panic in the task resumes in the awaiting task,
/// as with `std::thread::JoinHandle::join().unwrap()`.
///
/// ```
/// use claude_kit_rt as rt;
/// # use std::{pin::Pin, time::Instant};
/// # use claude_kit_rt::{BoxFuture, Runtime, Sleep};
/// # #[derive(Debug)] struct Inert;
/// # impl Runtime for Inert {
/// #     fn name(&self) -> &'static str { "inert" }
/// #     fn spawn(&self, _task: BoxFuture<'static, ()>) {}
/// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
/// # }
/// let (tx, rx) = std::sync::mpsc::channel();
/// // Detached: runs to the end although nobody awaits it.
/// rt::spawn_blocking(&Inert, move || tx.send("done").unwrap()).detach();
/// assert_eq!(rx.recv().unwrap(), "done");
/// ```
#[must_use = "dropping a JoinHandle cancels its task; call detach() to let it run"]
pub struct JoinHandle<T> {
    /// The task's output, or its panic.
    result: oneshot::Receiver<std::thread::Result<T>>,
    /// What dropping the handle does to the task.
    cancel: Cancel,
}

enum Cancel {
    /// A future spawned with [`spawn`]: dropping the handle aborts it.
    Abort(AbortOnDrop),
    /// A closure given to [`spawn_blocking`]: dropping the handle before it started means it
    /// never starts.
    NotStarted(CancelOnDrop),
}

/// Tells a blocking closure that has not started yet not to start, unless disarmed.
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
    armed: bool,
}

/// Aborts a spawned task when dropped (its future is dropped at its next wake-up, which the
/// abort causes), unless emptied by [`JoinHandle::detach`].
struct AbortOnDrop(Option<AbortHandle>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(abort) = self.0.take() {
            abort.abort();
        }
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            self.flag.store(true, Ordering::SeqCst);
        }
    }
}

impl<T: 'static> JoinHandle<T> {
    /// Lets the task run to completion without anyone waiting for it.
    pub fn detach(self) {
        match self.cancel {
            Cancel::Abort(mut abort) => abort.0 = None,
            Cancel::NotStarted(mut cancel) => cancel.armed = false,
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

impl<T: 'static> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // A panicking task resumes its panic here, in the task that awaits it, as with
        // `std::thread::JoinHandle::join().unwrap()`.
        match std::task::ready!(self.result.poll_unpin(cx)) {
            Ok(Ok(output)) => Poll::Ready(output),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(oneshot::Canceled) => match self.cancel {
                Cancel::Abort(_) => {
                    panic!("a task was dropped before it completed (its runtime shut down)")
                }
                Cancel::NotStarted(_) => {
                    panic!("a blocking task was dropped before it ran (its runtime shut down)")
                }
            },
        }
    }
}

/// The deadline of a [`timeout`] passed before its future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// Awaits `future` until `deadline`; past it, the future is dropped and [`Elapsed`] returned.
///
/// The timer is armed when the returned [`Timeout`] is first polled, and the future is polled
/// before the timer: a future that is ready at the deadline still completes.
pub fn timeout_at<F: Future>(
    runtime: &dyn Runtime,
    deadline: Instant,
    future: F,
) -> Timeout<'_, F> {
    Timeout {
        future,
        runtime,
        deadline,
        sleep: None,
    }
}

/// Awaits `future` for at most `duration`, measured from [`Runtime::now`].
pub fn timeout<F: Future>(runtime: &dyn Runtime, duration: Duration, future: F) -> Timeout<'_, F> {
    let deadline = saturating_deadline(runtime.now(), duration);
    timeout_at(runtime, deadline, future)
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`] and [`timeout_at`]: the wrapped future and, once polled, one
    /// timer. A plain struct, not an `async fn`, so that it is no bigger than the future it
    /// wraps plus the timer (an `async fn` would keep its argument and the awaited future
    /// side by side, and the SDK nests these).
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<'a, F> {
        #[pin]
        future: F,
        runtime: &'a dyn Runtime,
        deadline: Instant,
        sleep: Option<Pin<Box<dyn Sleep>>>,
    }
}

impl<F: Future> Future for Timeout<'_, F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let sleep = this
            .sleep
            .get_or_insert_with(|| this.runtime.sleep_until(*this.deadline));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> fmt::Debug for Timeout<'_, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("runtime", &self.runtime.name())
            .field("deadline", &self.deadline)
            .field("armed", &self.sleep.is_some())
            .finish_non_exhaustive()
    }
}

/// Waits until `duration` has passed on `runtime`'s clock.
pub async fn sleep(runtime: &dyn Runtime, duration: Duration) {
    runtime
        .sleep_until(saturating_deadline(runtime.now(), duration))
        .await;
}

/// Whether an executor has shut down, for the adapter of an executor that can go away but
/// cannot tell (tokio's): its [`Runtime::is_shut_down`], and timers that complete instead of
/// panicking once the executor is gone (tokio panics when a timer of a dead runtime is polled).
///
/// The first [`is_shut_down`](Self::is_shut_down) spawns a sentinel task that waits forever.
/// An executor drops every task when it shuts down (and a task spawned after that at once), and
/// the sentinel's drop raises the flag. Clones share the flag; the sentinel is cancelled when
/// the last clone is dropped. A runtime made only to spawn or sleep never asks, and costs no
/// task.
///
/// ```
/// use claude_kit_rt::ShutdownWatch;
/// # use std::{pin::Pin, time::Instant};
/// # use claude_kit_rt::{BoxFuture, Runtime, Sleep};
/// # #[derive(Debug)] struct Gone;
/// # impl Runtime for Gone {
/// #     fn name(&self) -> &'static str { "gone" }
/// #     fn spawn(&self, task: BoxFuture<'static, ()>) { drop(task) } // drops every task
/// #     fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> { unimplemented!() }
/// # }
///
/// let watch = ShutdownWatch::new();
/// assert!(!watch.known_shut_down()); // not asked yet
/// assert!(watch.is_shut_down(&Gone)); // an executor that drops what it is given is gone
/// assert!(watch.clone().known_shut_down());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ShutdownWatch(Arc<OnceLock<Sentinel>>);

#[derive(Debug)]
struct Sentinel {
    shut_down: Arc<AtomicBool>,
    _task: JoinHandle<()>,
}

/// Raises a flag when dropped.
struct RaiseOnDrop(Arc<AtomicBool>);

impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

impl ShutdownWatch {
    /// A watch that has not started.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the executor of `runtime` (the runtime that owns this watch) has shut down; the
    /// first call starts the watch on it.
    pub fn is_shut_down(&self, runtime: &dyn Runtime) -> bool {
        let sentinel = self.0.get_or_init(|| {
            let shut_down = Arc::new(AtomicBool::new(false));
            let guard = RaiseOnDrop(shut_down.clone());
            let task = spawn(runtime, async move {
                let _guard = guard;
                std::future::pending::<()>().await
            });
            Sentinel {
                shut_down,
                _task: task,
            }
        });
        sentinel.shut_down.load(Ordering::Acquire)
    }

    /// Whether the executor is known to have shut down, without starting the watch.
    pub fn known_shut_down(&self) -> bool {
        self.0
            .get()
            .is_some_and(|sentinel| sentinel.shut_down.load(Ordering::Acquire))
    }

    /// The executor's `timer` (a future that completes at its deadline, moved by `reset`) as a
    /// [`Sleep`] that completes once the executor is known to be gone, and also when polling or
    /// resetting the timer panics (a timer of a dead executor, polled before the watch saw it
    /// die): every wait of the SDK is bounded by a timer, so a call on a dead runtime ends
    /// rather than panicking or hanging.
    pub fn sleep<T>(&self, timer: T, reset: fn(Pin<&mut T>, Instant)) -> Pin<Box<dyn Sleep>>
    where
        T: Future<Output = ()> + Send + Sync + 'static,
    {
        Box::pin(WatchedSleep {
            timer,
            reset,
            watch: self.clone(),
        })
    }
}

pin_project_lite::pin_project! {
    /// See [`ShutdownWatch::sleep`].
    struct WatchedSleep<T> {
        #[pin]
        timer: T,
        reset: fn(Pin<&mut T>, Instant),
        watch: ShutdownWatch,
    }
}

impl<T: Future<Output = ()>> Future for WatchedSleep<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.watch.known_shut_down() {
            return Poll::Ready(());
        }
        let timer = this.timer;
        catch_unwind(AssertUnwindSafe(|| timer.poll(cx))).unwrap_or(Poll::Ready(()))
    }
}

impl<T: Future<Output = ()> + Send + Sync> Sleep for WatchedSleep<T> {
    fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        if !this.watch.known_shut_down() {
            let reset = *this.reset;
            let timer = this.timer;
            let _ = catch_unwind(AssertUnwindSafe(|| reset(timer, deadline)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BoxFuture;
    use std::sync::Mutex;

    /// Counts timers; each one is already due (`due`) or never fires.
    #[derive(Debug, Default)]
    struct Timers {
        made: Mutex<usize>,
        due: bool,
    }

    struct Fixed(bool);

    impl Future for Fixed {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
    }

    impl Sleep for Fixed {
        fn reset(self: Pin<&mut Self>, _: Instant) {}
    }

    impl Runtime for Timers {
        fn name(&self) -> &'static str {
            "timers"
        }
        fn spawn(&self, task: BoxFuture<'static, ()>) {
            drop(task);
        }
        fn sleep_until(&self, _: Instant) -> Pin<Box<dyn Sleep>> {
            *self.made.lock().unwrap() += 1;
            Box::pin(Fixed(self.due))
        }
    }

    #[test]
    fn a_timeout_arms_its_timer_only_when_the_future_is_not_ready() {
        let runtime = Timers::default();
        let ready = timeout_at(&runtime, Instant::now(), std::future::ready(7));
        assert_eq!(
            *runtime.made.lock().unwrap(),
            0,
            "armed before it was polled"
        );
        assert_eq!(futures::executor::block_on(ready), Ok(7));
        assert_eq!(*runtime.made.lock().unwrap(), 0, "armed for a ready future");

        let mut pending = timeout(
            &runtime,
            Duration::from_secs(1),
            std::future::pending::<()>(),
        );
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut pending).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut pending).poll(&mut cx).is_pending());
        assert_eq!(*runtime.made.lock().unwrap(), 1, "one timer, armed once");
    }

    #[test]
    fn a_due_timer_ends_a_pending_future_but_not_a_ready_one() {
        let runtime = Timers {
            due: true,
            ..Timers::default()
        };
        let pending = timeout_at(&runtime, Instant::now(), std::future::pending::<()>());
        assert_eq!(futures::executor::block_on(pending), Err(Elapsed(())));
        // The future is polled first: ready at the deadline still counts.
        let ready = timeout_at(&runtime, Instant::now(), std::future::ready("done"));
        assert_eq!(futures::executor::block_on(ready), Ok("done"));
    }

    #[test]
    fn a_timeout_is_its_future_plus_a_timer() {
        let big = async {
            let buffer = [1u8; 4096];
            std::future::ready(()).await;
            buffer.len()
        };
        let inner = std::mem::size_of_val(&big);
        let runtime = Timers::default();
        let wrapped = timeout_at(&runtime, Instant::now(), big);
        // An `async fn` wrapper would hold the future twice (its argument and the awaited one).
        assert!(
            std::mem::size_of_val(&wrapped) <= inner + 64,
            "{} bytes around a {inner}-byte future",
            std::mem::size_of_val(&wrapped)
        );
        assert_eq!(futures::executor::block_on(wrapped), Ok(4096));
    }
}
