//! `asyncio.Queue` with `task_done` and `join`, on async-channel and event-listener.

use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_channel::{Receiver, Sender};
use event_listener::Event;

/// A producer/consumer queue that knows when all its work is done: `asyncio.Queue` with
/// `put`, `get`, `task_done` and `join`.
///
/// - [`push`](Self::push) waits while the queue is full (back-pressure on producers);
/// - workers take items with [`pop`](Self::pop) (one at a time) or
///   [`run_workers`](Self::run_workers) (a pool of concurrent workers);
/// - an item is *done* when its [`WorkItem`] guard is dropped, which replaces `task_done()`
///   and cannot be forgotten: a worker that is cancelled (dropped) in the middle of an item
///   drops the item with it, and the item counts as done, so [`join`](Self::join) never waits
///   for work nobody is doing;
/// - [`join`](Self::join) waits until every item pushed so far is done (woken by an event,
///   no polling);
/// - [`close`](Self::close) ends the workers once the queue is drained (the seeds' `None`
///   sentinel, without the sentinel).
///
/// Clones share the queue. Every operation is cancellation safe: a `push` dropped while
/// waiting for room pushes nothing, a `pop` dropped while waiting takes nothing.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use claude_kit::patterns::WorkQueue;
///
/// let queue = WorkQueue::bounded(10);
/// let producer = async {
///     for i in 0..100 {
///         queue.push(format!("Question {i}")).await.expect("queue open");
///     }
///     queue.close(); // workers stop when the queue is drained
/// };
/// let workers = queue.run_workers(3, |prompt| {
///     let client = client.clone();
///     async move {
///         if let Ok(reply) = client.query(prompt).await {
///             println!("{}", reply.text());
///         }
///     }
/// });
/// futures_util::future::join(producer, workers).await;
/// queue.join().await; // already true here: every item was processed
/// # });
/// ```
pub struct WorkQueue<T> {
    tx: Sender<T>,
    rx: Receiver<T>,
    state: Arc<State>,
}

struct State {
    /// Items pushed (or being pushed) and not yet done.
    unfinished: AtomicUsize,
    /// Notified when `unfinished` drops to zero.
    idle: Event,
}

impl State {
    fn start(&self) {
        self.unfinished.fetch_add(1, Ordering::SeqCst);
    }

    fn finish(&self) {
        if self.unfinished.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify(usize::MAX);
        }
    }
}

impl<T> WorkQueue<T> {
    /// A queue that holds at most `capacity` waiting items; [`push`](Self::push) waits for
    /// room beyond that.
    ///
    /// # Panics
    /// If `capacity` is 0 (use [`unbounded`](Self::unbounded) for no limit).
    ///
    /// ```
    /// let queue = claude_kit::patterns::WorkQueue::<String>::bounded(10);
    /// assert_eq!(queue.capacity(), Some(10));
    /// ```
    pub fn bounded(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "WorkQueue::bounded: capacity must be at least 1"
        );
        Self::from_channel(async_channel::bounded(capacity))
    }

    /// A queue without a size limit: [`push`](Self::push) never waits.
    ///
    /// ```
    /// let queue = claude_kit::patterns::WorkQueue::<String>::unbounded();
    /// assert_eq!(queue.capacity(), None);
    /// ```
    pub fn unbounded() -> Self {
        Self::from_channel(async_channel::unbounded())
    }

    fn from_channel((tx, rx): (Sender<T>, Receiver<T>)) -> Self {
        Self {
            tx,
            rx,
            state: Arc::new(State {
                unfinished: AtomicUsize::new(0),
                idle: Event::new(),
            }),
        }
    }

    /// Adds an item, waiting while the queue is full; fails, handing the item back, if the
    /// queue is closed.
    ///
    /// Cancellation safe: dropped while waiting, it pushes nothing (the item is dropped with
    /// it).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::bounded(1);
    /// queue.push("a").await.unwrap();
    /// queue.close();
    /// assert_eq!(queue.push("b").await.unwrap_err().into_inner(), "b");
    /// # });
    /// ```
    pub async fn push(&self, item: T) -> Result<(), PushError<T>> {
        // Counted before it is sent, so a worker that finishes it at once cannot bring the
        // count below zero; uncounted again if the push fails or is cancelled.
        self.state.start();
        let pending = Unfinished(&self.state);
        match self.tx.send(item).await {
            Ok(()) => {
                std::mem::forget(pending);
                Ok(())
            }
            Err(error) => Err(PushError(error.into_inner())),
        }
    }

    /// Takes the next item, waiting while the queue is empty; `None` once the queue is closed
    /// and drained. The item counts as done when the returned [`WorkItem`] is dropped.
    ///
    /// Cancellation safe: dropped while waiting, it takes nothing.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::unbounded();
    /// queue.push(1).await.unwrap();
    /// queue.close();
    /// while let Some(item) = queue.pop().await {
    ///     assert_eq!(*item, 1);
    /// } // `item` dropped: done
    /// queue.join().await;
    /// # });
    /// ```
    pub async fn pop(&self) -> Option<WorkItem<T>> {
        let item = self.rx.recv().await.ok()?;
        Some(WorkItem {
            item,
            done: WorkItemDone {
                state: self.state.clone(),
            },
        })
    }

    /// Runs `workers` concurrent workers (at least one) in the calling task, each taking an
    /// item and awaiting `process(item)` until the queue is closed and drained.
    ///
    /// An item is done when its `process` future completes or is dropped. Dropping this
    /// future cancels every worker; the items they held count as done, the items still queued
    /// stay queued for other workers.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use claude_kit::patterns::WorkQueue;
    ///
    /// let queue = WorkQueue::unbounded();
    /// for i in 1..=10 {
    ///     queue.push(i).await.unwrap();
    /// }
    /// queue.close();
    /// let sum = AtomicUsize::new(0);
    /// queue
    ///     .run_workers(3, |i| {
    ///         let sum = &sum;
    ///         async move {
    ///             sum.fetch_add(i, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .await;
    /// assert_eq!(sum.into_inner(), 55);
    /// # });
    /// ```
    pub async fn run_workers<F, Fut>(&self, workers: usize, process: F)
    where
        F: Fn(T) -> Fut,
        Fut: Future<Output = ()>,
    {
        let process = &process;
        let workers = (0..workers.max(1)).map(|_| async move {
            while let Some(item) = self.pop().await {
                let (item, done) = item.into_parts();
                process(item).await;
                drop(done);
            }
        });
        futures_util::future::join_all(workers).await;
    }

    /// Waits until every item pushed so far is done (items pushed meanwhile are waited for
    /// too): `await queue.join()`.
    ///
    /// Returns at once when nothing is unfinished. Like asyncio's, it waits for ever if items
    /// stay queued and no worker takes them. Cancellation safe.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::unbounded();
    /// queue.push("item").await.unwrap();
    /// let item = queue.pop().await.unwrap();
    /// assert_eq!(queue.unfinished(), 1);
    /// drop(item);
    /// queue.join().await;
    /// # });
    /// ```
    pub async fn join(&self) {
        loop {
            if self.state.unfinished.load(Ordering::SeqCst) == 0 {
                return;
            }
            let listener = self.state.idle.listen();
            // Checked again after registering, so a notification in between is not missed.
            if self.state.unfinished.load(Ordering::SeqCst) == 0 {
                return;
            }
            listener.await;
        }
    }

    /// Closes the queue: pushes fail from now on; workers finish the items already queued,
    /// then [`pop`](Self::pop) returns `None` and [`run_workers`](Self::run_workers) returns.
    /// Returns `false` if it was already closed.
    ///
    /// ```
    /// let queue = claude_kit::patterns::WorkQueue::<u8>::unbounded();
    /// assert!(queue.close());
    /// assert!(queue.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.tx.close()
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// ```
    /// assert!(!claude_kit::patterns::WorkQueue::<u8>::unbounded().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Items waiting to be taken.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::unbounded();
    /// queue.push(()).await.unwrap();
    /// assert_eq!(queue.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no item is waiting to be taken (some may still be in progress).
    ///
    /// ```
    /// assert!(claude_kit::patterns::WorkQueue::<u8>::unbounded().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The most items the queue holds, `None` if unbounded.
    ///
    /// ```
    /// assert_eq!(claude_kit::patterns::WorkQueue::<u8>::bounded(4).capacity(), Some(4));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.tx.capacity()
    }

    /// Items pushed and not yet done: waiting or in progress. [`join`](Self::join) waits for
    /// this to be 0.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::unbounded();
    /// queue.push(()).await.unwrap();
    /// assert_eq!(queue.unfinished(), 1);
    /// drop(queue.pop().await);
    /// assert_eq!(queue.unfinished(), 0);
    /// # });
    /// ```
    pub fn unfinished(&self) -> usize {
        self.state.unfinished.load(Ordering::SeqCst)
    }
}

impl<T> Clone for WorkQueue<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            rx: self.rx.clone(),
            state: self.state.clone(),
        }
    }
}

impl<T> fmt::Debug for WorkQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkQueue")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("unfinished", &self.unfinished())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Uncounts an item whose push failed or was cancelled.
struct Unfinished<'a>(&'a State);

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// An item taken from a [`WorkQueue`]: derefs to the item, and marks it done when dropped
/// (`task_done()`).
///
/// ```
/// # futures::executor::block_on(async {
/// let queue = claude_kit::patterns::WorkQueue::unbounded();
/// queue.push(String::from("prompt")).await.unwrap();
/// let item = queue.pop().await.unwrap();
/// let (prompt, done) = item.into_parts(); // own the item; still not done
/// assert_eq!(prompt, "prompt");
/// assert_eq!(queue.unfinished(), 1);
/// drop(done);
/// assert_eq!(queue.unfinished(), 0);
/// # });
/// ```
pub struct WorkItem<T> {
    item: T,
    done: WorkItemDone,
}

impl<T> WorkItem<T> {
    /// The item and the guard that marks it done when dropped, to own the item while it is
    /// processed.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let queue = claude_kit::patterns::WorkQueue::unbounded();
    /// queue.push(7).await.unwrap();
    /// let (n, done) = queue.pop().await.unwrap().into_parts();
    /// assert_eq!(n, 7);
    /// drop(done); // task_done()
    /// # });
    /// ```
    pub fn into_parts(self) -> (T, WorkItemDone) {
        (self.item, self.done)
    }
}

impl<T> Deref for WorkItem<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.item
    }
}

impl<T> DerefMut for WorkItem<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.item
    }
}

impl<T: fmt::Debug> fmt::Debug for WorkItem<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkItem").field(&self.item).finish()
    }
}

/// Marks a [`WorkQueue`] item done when dropped; see [`WorkItem::into_parts`].
pub struct WorkItemDone {
    state: Arc<State>,
}

impl Drop for WorkItemDone {
    fn drop(&mut self) {
        self.state.finish();
    }
}

impl fmt::Debug for WorkItemDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkItemDone").finish_non_exhaustive()
    }
}

/// [`WorkQueue::push`] on a closed queue; holds the item that was not pushed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PushError<T>(pub T);

impl<T> PushError<T> {
    /// The item that was not pushed.
    ///
    /// ```
    /// let error = claude_kit::patterns::PushError("item");
    /// assert_eq!(error.into_inner(), "item");
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PushError(..)")
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the work queue is closed")
    }
}

impl<T> std::error::Error for PushError<T> {}
