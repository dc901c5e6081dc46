//! The keep-alive connection pool.
//!
//! A connection is either *idle* (in the pool, keyed by origin) or *in use* (owned by a
//! [`Lease`]). A lease is created the moment a connection is checked out or opened and lives
//! in the `send` future, then in the response body stream; its `Drop` is the only place a
//! connection leaves the "in use" state, so cancelling a request or dropping a body at any
//! point cannot leak a count or a half-read connection.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use claude_agent_core::rt::Runtime;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;

/// The request side of a hyper HTTP/1.1 connection.
pub(crate) type Sender = SendRequest<Full<Bytes>>;

/// Which connections are interchangeable: same scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// A snapshot of the connection pool, from [`HyperTransport::stats`](crate::HyperTransport::stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PoolStats {
    /// TCP connections opened since the transport was built.
    pub connections_opened: u64,
    /// Keep-alive connections waiting in the pool for a request.
    pub idle: usize,
    /// Connections carrying a request or a response body now.
    pub in_use: usize,
}

struct Idle {
    sender: Sender,
    since: Instant,
}

#[derive(Default)]
struct State {
    idle: HashMap<Key, VecDeque<Idle>>,
    in_use: usize,
    opened: u64,
}

pub(crate) struct Pool {
    runtime: Arc<dyn Runtime>,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    state: Mutex<State>,
}

impl Pool {
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        idle_timeout: Duration,
        max_idle_per_host: usize,
    ) -> Self {
        Self {
            runtime,
            idle_timeout,
            max_idle_per_host,
            state: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; recover rather than propagate if it ever did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        now.saturating_duration_since(idle.since) >= self.idle_timeout || idle.sender.is_closed()
    }

    /// Takes the most recently used live idle connection for `key`, if any. Expired and closed
    /// ones met on the way are dropped (closed).
    pub(crate) fn checkout(self: &Arc<Self>, key: &Key) -> Option<Lease> {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        let mut found = None;
        {
            let mut state = self.lock();
            if let Some(list) = state.idle.get_mut(key) {
                while let Some(idle) = list.pop_back() {
                    if self.expired(&idle, now) {
                        dead.push(idle);
                    } else {
                        found = Some(idle.sender);
                        break;
                    }
                }
                // The oldest entries sit at the front: drop those past their idle timeout too.
                while list.front().is_some_and(|idle| self.expired(idle, now)) {
                    dead.extend(list.pop_front());
                }
                if list.is_empty() {
                    state.idle.remove(key);
                }
            }
            if found.is_some() {
                state.in_use += 1;
            }
        }
        drop(dead);
        found.map(|sender| Lease::new(self.clone(), key.clone(), sender))
    }

    /// Counts a newly opened TCP connection.
    pub(crate) fn note_opened(&self) {
        self.lock().opened += 1;
    }

    /// Wraps a freshly opened connection in a lease.
    pub(crate) fn lease_new(self: &Arc<Self>, key: Key, sender: Sender) -> Lease {
        self.lock().in_use += 1;
        Lease::new(self.clone(), key, sender)
    }

    /// Ends a lease: the connection goes back to the pool when it is `Some`, still open and
    /// the per-host cap allows; otherwise it is dropped, which closes it.
    fn release(&self, key: &Key, sender: Option<Sender>) {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        {
            let mut state = self.lock();
            state.in_use = state.in_use.saturating_sub(1);
            match sender {
                Some(sender) if !sender.is_closed() && self.max_idle_per_host > 0 => {
                    let list = state.idle.entry(key.clone()).or_default();
                    list.retain(|idle| !self.expired(idle, now));
                    list.push_back(Idle { sender, since: now });
                    while list.len() > self.max_idle_per_host {
                        dead.extend(list.pop_front());
                    }
                }
                other => dead.extend(other.map(|sender| Idle { sender, since: now })),
            }
        }
        drop(dead);
    }

    /// Drops (closes) every idle connection.
    pub(crate) fn close_idle(&self) {
        let idle = std::mem::take(&mut self.lock().idle);
        drop(idle);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        let stats = {
            let mut state = self.lock();
            state.idle.retain(|_, list| {
                let (live, expired): (VecDeque<_>, VecDeque<_>) =
                    list.drain(..).partition(|idle| !self.expired(idle, now));
                *list = live;
                dead.extend(expired);
                !list.is_empty()
            });
            PoolStats {
                connections_opened: state.opened,
                idle: state.idle.values().map(VecDeque::len).sum(),
                in_use: state.in_use,
            }
        };
        drop(dead);
        stats
    }
}

/// Exclusive use of one connection. Dropping it releases the connection: back to the pool if
/// [`Lease::set_reusable`] was called, closed otherwise.
pub(crate) struct Lease {
    pool: Arc<Pool>,
    key: Key,
    sender: Option<Sender>,
    reusable: bool,
}

impl Lease {
    fn new(pool: Arc<Pool>, key: Key, sender: Sender) -> Self {
        Self {
            pool,
            key,
            sender: Some(sender),
            reusable: false,
        }
    }

    pub(crate) fn sender(&mut self) -> &mut Sender {
        self.sender
            .as_mut()
            .expect("a lease holds its sender until dropped")
    }

    /// The exchange on this connection completed cleanly (the response was read to its end):
    /// the connection may serve another request.
    pub(crate) fn set_reusable(&mut self) {
        self.reusable = true;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let sender = self.sender.take().filter(|_| self.reusable);
        self.pool.release(&self.key, sender);
    }
}
