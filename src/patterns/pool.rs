//! A pool of values each used by one caller at a time — the seeds' `ClientPool` is
//! `Pool<Client>` — with the value returned on every path.

use std::fmt;
use std::ops::{Deref, DerefMut};

use async_channel::{Receiver, Sender};

use crate::{Client, Result};

/// A fixed set of values (clients, conversations, connections), each used by one caller at a
/// time, going back to the pool when its guard is dropped, on every path (success, error,
/// panic, cancellation). [`ClientPool`] is the seeds' pool of [`Client`]s.
///
/// **You usually do not need one.** A single `Client` already runs many calls concurrently
/// over its own connection pool, and its clones are cheap handles to the same pool:
/// to run ten calls at once, clone one client ten times (or use
/// [`map_concurrent`](super::map_concurrent)). A pool of clients is for when the clients
/// differ (separate API keys, base URLs, or settings, e.g. to spread load across
/// workspaces), or when each client must serve one caller at a time.
///
/// Clones of the pool share it. Waiting in [`get`](Self::get) is cancellation safe, and
/// waiters are woken first come, first served.
///
/// ```
/// use claude_kit::{Client, patterns::ClientPool};
///
/// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
/// # claude_kit::rt::block_on(async {
/// let mut keys = ["sk-ant-1", "sk-ant-2"].into_iter();
/// let pool = ClientPool::build(2, || {
///     Client::builder().api_key(keys.next().unwrap())
/// #       .base_url(server.url())
///         .build()
/// })?;
/// let client = pool.get().await; // waits while both clients are checked out
/// let reply = client.query("Hello").await?;
/// assert!(reply.text().ends_with("You said: Hello"));
/// assert_eq!(pool.available(), 1);
/// drop(client); // back in the pool
/// assert_eq!(pool.available(), 2);
/// # Ok::<_, claude_kit::Error>(()) })?;
/// # Ok::<_, claude_kit::Error>(())
/// ```
pub struct Pool<T> {
    home: Sender<T>,
    idle: Receiver<T>,
    size: usize,
}

/// The seeds' `ClientPool`: a [`Pool`] of [`Client`]s.
pub type ClientPool = Pool<Client>;

/// A [`Client`] checked out of a [`ClientPool`].
pub type PooledClient = Pooled<Client>;

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        Self {
            home: self.home.clone(),
            idle: self.idle.clone(),
            size: self.size,
        }
    }
}

impl<T> Pool<T> {
    /// A pool of these values.
    ///
    /// # Panics
    /// If `items` is empty: `get` would wait for ever.
    ///
    /// ```
    /// use claude_kit::{Client, patterns::ClientPool};
    ///
    /// # claude_kit::rt::block_on(async {
    /// let pool = ClientPool::new(vec![
    ///     Client::builder().api_key("sk-ant-workspace-a").build()?,
    ///     Client::builder().api_key("sk-ant-workspace-b").build()?,
    /// ]);
    /// assert_eq!(pool.size(), 2);
    /// # Ok::<_, claude_kit::Error>(()) })?;
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    pub fn new(items: Vec<T>) -> Self {
        assert!(
            !items.is_empty(),
            "Pool::new: a pool needs at least one item"
        );
        let size = items.len();
        let (home, idle) = async_channel::bounded(size);
        for item in items {
            home.try_send(item)
                .expect("the channel has room for every item");
        }
        Self { home, idle, size }
    }

    /// A pool of `size` values made by `make`, or its first error.
    ///
    /// # Panics
    /// If `size` is 0.
    ///
    /// ```
    /// use claude_kit::{Client, patterns::ClientPool};
    ///
    /// # claude_kit::rt::block_on(async {
    /// let pool = ClientPool::build(3, || Client::builder().api_key("sk-ant-example").build())?;
    /// assert_eq!(pool.available(), 3);
    /// # Ok::<_, claude_kit::Error>(()) })?;
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    pub fn build(size: usize, mut make: impl FnMut() -> Result<T>) -> Result<Self> {
        assert!(size > 0, "Pool::build: a pool needs at least one item");
        let items = (0..size).map(|_| make()).collect::<Result<Vec<_>>>()?;
        Ok(Self::new(items))
    }

    /// Checks a value out, waiting while all are in use. The [`Pooled`] guard derefs to it
    /// and returns it to the pool when dropped.
    ///
    /// Cancellation safe: a `get` dropped while waiting takes nothing and leaves the pool
    /// as it was. Waiters are woken in the order they started waiting (a caller that arrives
    /// just as a client comes back may still take it first).
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start();
    /// # claude_kit::rt::block_on(async {
    /// # let pool = claude_kit::patterns::ClientPool::build(1, || {
    /// #     claude_kit::Client::builder().api_key("k").base_url(server.url()).build()
    /// # })?;
    /// let text = {
    ///     let client = pool.get().await;
    ///     client.query("Hello").await?.text()
    /// }; // returned here, or on `?`, or if this future is dropped
    /// assert!(text.ends_with("You said: Hello"));
    /// assert_eq!(pool.available(), pool.size());
    /// # Ok::<_, claude_kit::Error>(()) })?;
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    pub async fn get(&self) -> Pooled<T> {
        let item = self
            .idle
            .recv()
            .await
            .expect("the pool holds a sender, so the channel is never closed");
        self.guard(item)
    }

    /// Checks a value out if one is free right now.
    ///
    /// ```
    /// use claude_kit::patterns::Pool;
    ///
    /// let pool = Pool::new(vec!["only one"]);
    /// let first = pool.try_get().expect("free");
    /// assert!(pool.try_get().is_none(), "all {} are busy", pool.size());
    /// drop(first);
    /// assert_eq!(*pool.try_get().unwrap(), "only one");
    /// ```
    pub fn try_get(&self) -> Option<Pooled<T>> {
        self.idle.try_recv().ok().map(|item| self.guard(item))
    }

    fn guard(&self, item: T) -> Pooled<T> {
        Pooled {
            item: Some(item),
            home: self.home.clone(),
        }
    }

    /// Number of values in the pool, checked out or not.
    ///
    /// ```
    /// let pool = claude_kit::patterns::Pool::new(vec![1, 2, 3]);
    /// let _one = pool.try_get();
    /// assert_eq!((pool.size(), pool.available()), (3, 2));
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of values not checked out right now.
    ///
    /// ```
    /// # claude_kit::rt::block_on(async {
    /// let pool = claude_kit::patterns::Pool::new(vec!["a", "b"]);
    /// let before = pool.available();
    /// let item = pool.get().await;
    /// assert_eq!(pool.available(), before - 1); // nobody else uses the pool
    /// drop(item);
    /// assert_eq!(pool.available(), before);
    /// # });
    /// ```
    pub fn available(&self) -> usize {
        self.idle.len()
    }
}

impl<T> fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size)
            .field("available", &self.available())
            .finish()
    }
}

/// A value checked out of a [`Pool`]; derefs to it and returns it to the pool when dropped
/// (also during a panic or when the future holding it is cancelled).
///
/// It owns its way back to the pool, so it is `'static` and can move into spawned tasks.
///
/// ```
/// # let server = claude_kit_mock::MockServer::start();
/// # claude_kit::rt::block_on(async {
/// # let pool = claude_kit::patterns::ClientPool::build(1, || {
/// #     claude_kit::Client::builder().api_key("k").base_url(server.url()).build()
/// # })?;
/// let client = pool.get().await;
/// let reply = client.query("Hello").await?; // `Client` methods through `Deref`
/// drop(client); // back in the pool
/// assert!(reply.text().ends_with("You said: Hello"));
/// # Ok::<_, claude_kit::Error>(()) })?;
/// # Ok::<_, claude_kit::Error>(())
/// ```
#[must_use = "dropping the guard returns the value to the pool at once"]
pub struct Pooled<T> {
    item: Option<T>,
    home: Sender<T>,
}

impl<T> Deref for Pooled<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.item
            .as_ref()
            .expect("a Pooled guard holds its value until dropped")
    }
}

impl<T> DerefMut for Pooled<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item
            .as_mut()
            .expect("a Pooled guard holds its value until dropped")
    }
}

impl<T> Drop for Pooled<T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            // Never full: the channel has room for every value of the pool.
            let _ = self.home.try_send(item);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Pooled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&**self).finish()
    }
}
