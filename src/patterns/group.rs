//! `asyncio.TaskGroup`: structured, fail-fast.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use futures_util::future::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use super::gather::{empty_slots, unwrap_slots};

type Task<'a, T, E> = Pin<Box<dyn Future<Output = (usize, Result<T, E>)> + Send + 'a>>;

/// A fail-fast group of fallible futures: `async with asyncio.TaskGroup() as tg`.
///
/// [`spawn`](Self::spawn) adds a future; [`join`](Self::join) runs them all concurrently and
/// returns every output in spawn order, or the first error, after dropping (cancelling) every
/// sibling still running. Dropping the group, or the `join` future, drops every task.
///
/// # Structured, and how it differs from spawned tasks
///
/// The tasks are polled by the task that awaits `join` (they live in a
/// [`FuturesUnordered`]), not handed to an executor, so:
/// - no runtime is needed and nothing can outlive the group: tasks may even borrow local
///   variables (the group has a lifetime `'a`);
/// - tasks start running when `join` is first polled, not at `spawn` (unlike
///   `asyncio.create_task`);
/// - they run concurrently but not in parallel across threads. For API calls, which spend
///   their time waiting for the network, that is what you want; spawn CPU-heavy work on your
///   runtime instead;
/// - a task cannot add tasks to its own group while it runs.
///
/// Tasks must be `Send`, so that a group can be awaited inside a spawned task.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
/// use claude_kit::patterns::TaskGroup;
///
/// let mut group = TaskGroup::new();
/// for prompt in ["fetch a", "fetch b"] {
///     group.spawn(client.query(prompt)); // borrows `client`: the group cannot outlive it
/// }
/// // Both replies in spawn order, or the first error (the other call is then cancelled).
/// let replies = group.join().await?;
/// println!("{}", replies[0].text());
/// # Ok::<_, claude_kit::Error>(()) }).unwrap();
/// ```
#[must_use = "a task group does nothing until joined"]
pub struct TaskGroup<'a, T, E> {
    tasks: FuturesUnordered<Task<'a, T, E>>,
    spawned: usize,
}

impl<'a, T, E> TaskGroup<'a, T, E> {
    /// An empty group.
    ///
    /// ```
    /// let group = claude_kit::patterns::TaskGroup::<(), std::io::Error>::new();
    /// assert!(group.is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            tasks: FuturesUnordered::new(),
            spawned: 0,
        }
    }

    /// Adds a task; it starts running when [`join`](Self::join) is awaited. Returns its index
    /// in the `Vec` that `join` returns.
    ///
    /// ```
    /// use claude_kit::patterns::TaskGroup;
    ///
    /// let mut group = TaskGroup::<u32, String>::new();
    /// assert_eq!(group.spawn(async { Ok(1) }), 0);
    /// assert_eq!(group.spawn(async { Ok(2) }), 1);
    /// ```
    pub fn spawn<F>(&mut self, task: F) -> usize
    where
        F: Future<Output = Result<T, E>> + Send + 'a,
    {
        let index = self.spawned;
        self.spawned += 1;
        self.tasks
            .push(Box::pin(task.map(move |output| (index, output))));
        index
    }

    /// Number of tasks spawned so far.
    ///
    /// ```
    /// let mut group = claude_kit::patterns::TaskGroup::<(), ()>::new();
    /// group.spawn(async { Ok(()) });
    /// assert_eq!(group.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.spawned
    }

    /// Whether no task was spawned.
    ///
    /// ```
    /// assert!(claude_kit::patterns::TaskGroup::<(), ()>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.spawned == 0
    }

    /// Runs every task concurrently until all succeed (their outputs, in spawn order) or one
    /// fails: that error is returned and every other task is dropped first.
    ///
    /// An empty group returns `Ok(vec![])` at once.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use claude_kit::patterns::TaskGroup;
    ///
    /// let mut group = TaskGroup::new();
    /// group.spawn(async { Ok(1) });
    /// group.spawn(async { Err("boom") });
    /// group.spawn(std::future::pending()); // never finishes: cancelled by the error
    /// assert_eq!(group.join().await, Err("boom"));
    /// # });
    /// ```
    pub async fn join(mut self) -> Result<Vec<T>, E> {
        let mut slots = empty_slots(self.spawned);
        while let Some((index, output)) = self.tasks.next().await {
            match output {
                Ok(value) => slots[index] = Some(value),
                Err(error) => {
                    // Cancel the siblings before handing the error back.
                    drop(self);
                    return Err(error);
                }
            }
        }
        Ok(unwrap_slots(slots))
    }
}

impl<T, E> Default for TaskGroup<'_, T, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, E> fmt::Debug for TaskGroup<'_, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("spawned", &self.spawned)
            .field("running", &self.tasks.len())
            .finish()
    }
}
