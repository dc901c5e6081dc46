//! The seeds' `ClientPool`, with the client returned on every path.

use std::fmt;
use std::ops::Deref;

use async_channel::{Receiver, Sender};

use crate::{Client, Result};

/// A fixed set of [`Client`]s, each used by one caller at a time: the seeds' `ClientPool`,
/// where a checked-out client goes back to the pool when its guard is dropped, on every path
/// (success, error, panic, cancellation).
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
/// ```no_run
/// # fn run() -> claude_kit::Result<()> {
/// use claude_kit::{Client, patterns::ClientPool};
///
/// # let keys = ["sk-ant-1", "sk-ant-2"];
/// let mut keys = keys.into_iter();
/// let pool = ClientPool::build(2, || Client::builder().api_key(keys.next().unwrap()).build())?;
/// # let _ = pool;
/// # Ok(()) }
/// # async fn use_it(pool: claude_kit::patterns::ClientPool) -> claude_kit::Result<()> {
/// let client = pool.get().await; // waits while both clients are checked out
/// let reply = client.query("Hello").await?;
/// println!("{}", reply.text());
/// # Ok(()) }
/// // `client` dropped: back in the pool
/// ```
#[derive(Clone)]
pub struct ClientPool {
    home: Sender<Client>,
    idle: Receiver<Client>,
    size: usize,
}

impl ClientPool {
    /// A pool of these clients.
    ///
    /// # Panics
    /// If `clients` is empty: `get` would wait for ever.
    ///
    /// ```no_run
    /// # fn run() -> claude_kit::Result<()> {
    /// use claude_kit::{Client, patterns::ClientPool};
    ///
    /// let pool = ClientPool::new(vec![
    ///     Client::builder().api_key("sk-ant-workspace-a").build()?,
    ///     Client::builder().api_key("sk-ant-workspace-b").build()?,
    /// ]);
    /// assert_eq!(pool.size(), 2);
    /// # Ok(()) }
    /// ```
    pub fn new(clients: Vec<Client>) -> Self {
        assert!(
            !clients.is_empty(),
            "ClientPool::new: a pool needs at least one client"
        );
        let size = clients.len();
        let (home, idle) = async_channel::bounded(size);
        for client in clients {
            home.try_send(client)
                .expect("the channel has room for every client");
        }
        Self { home, idle, size }
    }

    /// A pool of `size` clients made by `make`, or its first error.
    ///
    /// # Panics
    /// If `size` is 0.
    ///
    /// ```no_run
    /// # fn run() -> claude_kit::Result<()> {
    /// use claude_kit::{Client, patterns::ClientPool};
    ///
    /// let pool = ClientPool::build(3, Client::from_env)?;
    /// assert_eq!(pool.available(), 3);
    /// # Ok(()) }
    /// ```
    pub fn build(size: usize, mut make: impl FnMut() -> Result<Client>) -> Result<Self> {
        assert!(
            size > 0,
            "ClientPool::build: a pool needs at least one client"
        );
        let clients = (0..size).map(|_| make()).collect::<Result<Vec<_>>>()?;
        Ok(Self::new(clients))
    }

    /// Checks a client out, waiting while all are in use. The [`PooledClient`] derefs to
    /// [`Client`] and returns it to the pool when dropped.
    ///
    /// Cancellation safe: a `get` dropped while waiting takes nothing and leaves the pool
    /// as it was. Waiters are woken in the order they started waiting (a caller that arrives
    /// just as a client comes back may still take it first).
    ///
    /// ```no_run
    /// # async fn run(pool: claude_kit::patterns::ClientPool) -> claude_kit::Result<()> {
    /// let text = {
    ///     let client = pool.get().await;
    ///     client.query("Hello").await?.text()
    /// }; // returned here, or on `?`, or if this future is dropped
    /// # let _ = text;
    /// # Ok(()) }
    /// ```
    pub async fn get(&self) -> PooledClient {
        let client = self
            .idle
            .recv()
            .await
            .expect("the pool holds a sender, so the channel is never closed");
        self.guard(client)
    }

    /// Checks a client out if one is free right now.
    ///
    /// ```no_run
    /// # fn run(pool: claude_kit::patterns::ClientPool) {
    /// match pool.try_get() {
    ///     Some(client) => println!("got {}", client.base_url()),
    ///     None => println!("all {} clients are busy", pool.size()),
    /// }
    /// # }
    /// ```
    pub fn try_get(&self) -> Option<PooledClient> {
        self.idle.try_recv().ok().map(|client| self.guard(client))
    }

    fn guard(&self, client: Client) -> PooledClient {
        PooledClient {
            client: Some(client),
            home: self.home.clone(),
        }
    }

    /// Number of clients in the pool, checked out or not.
    ///
    /// ```no_run
    /// # fn run(pool: claude_kit::patterns::ClientPool) {
    /// assert!(pool.available() <= pool.size());
    /// # }
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Number of clients not checked out right now.
    ///
    /// ```no_run
    /// # async fn run(pool: claude_kit::patterns::ClientPool) {
    /// let before = pool.available();
    /// let client = pool.get().await;
    /// assert_eq!(pool.available(), before - 1); // if nobody else uses the pool
    /// drop(client);
    /// # }
    /// ```
    pub fn available(&self) -> usize {
        self.idle.len()
    }
}

impl fmt::Debug for ClientPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientPool")
            .field("size", &self.size)
            .field("available", &self.available())
            .finish()
    }
}

/// A [`Client`] checked out of a [`ClientPool`]; derefs to the client and returns it to the
/// pool when dropped (also during a panic or when the future holding it is cancelled).
///
/// It owns its way back to the pool, so it is `'static` and can move into spawned tasks.
///
/// ```no_run
/// # async fn run(pool: claude_kit::patterns::ClientPool) -> claude_kit::Result<()> {
/// let client = pool.get().await;
/// let reply = client.query("Hello").await?; // `Client` methods through `Deref`
/// drop(client); // back in the pool
/// # let _ = reply;
/// # Ok(()) }
/// ```
pub struct PooledClient {
    client: Option<Client>,
    home: Sender<Client>,
}

impl Deref for PooledClient {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a PooledClient holds its client until dropped")
    }
}

impl Drop for PooledClient {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Never full: the channel has room for every client of the pool.
            let _ = self.home.try_send(client);
        }
    }
}

impl fmt::Debug for PooledClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledClient").field(&**self).finish()
    }
}
