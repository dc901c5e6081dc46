//! The keep-alive connection pool, the per-origin connection limit and the counters behind
//! [`PoolStats`].
//!
//! A connection is either *idle* (in the pool, keyed by origin and proxy) or *in use* (owned
//! by a [`ConnLease`]). A lease is created the moment a connection is checked out or opened and
//! lives in the `send` future, then in the response body stream; its `Drop` is the only place
//! a connection leaves the "in use" state, so cancelling a request or dropping a body at any
//! point cannot leak a count or a half-read connection. Every other counter (connecting,
//! waiting, in flight) is likewise held by a guard whose `Drop` undoes it.
//!
//! # The per-origin limit
//!
//! With a limit, each key has a semaphore of that many permits. A permit is held by every
//! request that owns or is opening a connection (from before checkout until its lease is
//! released); idle connections hold none. A permit holder takes an idle connection when there
//! is one and opens a new one only when there is none, so idle plus in-use connections never
//! exceed the limit: a connection is only opened when no idle one exists, and a release turns
//! an in-use connection into an idle one *before* freeing its permit, so the woken waiter
//! finds it. Waiting is `async-lock`'s `acquire_arc`, which holds nothing once dropped.
//!
//! # HTTP/2
//!
//! With the `http2` feature, HTTP/2 connections live in [`Multiplexed`](crate::h2::Multiplexed)
//! (one per origin, shared by many requests; each holds one permit for its life) and a
//! [`Lease`] is then one stream on such a connection. The counters are the pool's: an HTTP/2
//! connection is in use while it carries a stream, idle otherwise.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use async_lock::{Semaphore, SemaphoreGuardArc};
use bytes::Bytes;
use claude_kit_core::Error;
use claude_kit_core::transport::PoolStats;
use claude_kit_rt::Runtime;
use futures_util::future::{Either, select};
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;

use crate::proxy::ProxyTarget;

/// The request side of a hyper HTTP/1.1 connection.
pub(crate) type Sender = SendRequest<Full<Bytes>>;

/// Which connections are interchangeable: same scheme, host, port and proxy ([`Endpoint`]).
/// Shared: the pool clones it for each permit, lease and return, and a clone costs a reference
/// count, not a `String`. Its hash is the endpoint's, computed once: a lookup hashes one
/// `u64`, not the host name and the proxy, and a key compares equal to its own clones by
/// pointer.
#[derive(Clone)]
pub(crate) struct Key {
    endpoint: Arc<Endpoint>,
    hash: u64,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.endpoint, &other.endpoint)
            || (self.hash == other.hash && self.endpoint == other.endpoint)
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// What a [`Key`] is made of.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Endpoint {
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The proxy the connection goes through (with its credentials), if any.
    pub(crate) proxy: Option<ProxyTarget>,
}

impl Key {
    pub(crate) fn new(endpoint: Endpoint) -> Self {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        // Fixed keys are fine: the maps hash this `u64` again with their own random state.
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(&endpoint);
        Self {
            endpoint: Arc::new(endpoint),
            hash,
        }
    }
}

impl std::ops::Deref for Key {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.endpoint.fmt(f)
    }
}

/// Past this many origins, an origin's idle list is dropped when it empties; below, it is
/// kept for the next return (a client nearly always talks to one origin, and re-creating the
/// list on every request costs an allocation and a hash).
const KEEP_EMPTY_IDLE_LISTS: usize = 8;

struct Idle {
    sender: Sender,
    since: Instant,
}

#[derive(Default)]
struct State {
    idle: HashMap<Key, VecDeque<Idle>>,
    /// Per-key semaphores, present while someone holds or waits for a permit.
    limits: HashMap<Key, Arc<Semaphore>>,
    in_use: usize,
    connecting: usize,
    waiting: usize,
    in_flight: usize,
    opened: u64,
    closed: bool,
}

pub(crate) struct Pool {
    runtime: Arc<dyn Runtime>,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    /// Most connections (idle + in use + connecting) per key; `usize::MAX` is no limit.
    max_per_host: usize,
    state: Mutex<State>,
    /// Closed (never sent on) by [`Pool::close`]: wakes every request waiting for a slot.
    closing: async_channel::Sender<()>,
    closed: async_channel::Receiver<()>,
    /// The HTTP/2 connections.
    #[cfg(feature = "http2")]
    multiplexed: Arc<crate::h2::Multiplexed>,
}

/// The error of a request made after [`Pool::close`].
pub(crate) fn closed_error() -> Error {
    Error::config("the transport is closed")
}

impl Pool {
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        idle_timeout: Duration,
        max_idle_per_host: usize,
        max_per_host: usize,
    ) -> Self {
        let (closing, closed) = async_channel::bounded(1);
        let max_per_host = max_per_host.max(1);
        Self {
            #[cfg(feature = "http2")]
            multiplexed: Arc::new(crate::h2::Multiplexed::new(
                runtime.clone(),
                idle_timeout,
                max_idle_per_host,
                max_per_host,
                closed.clone(),
            )),
            runtime,
            idle_timeout,
            max_idle_per_host,
            max_per_host,
            state: Mutex::default(),
            closing,
            closed,
        }
    }

    /// The HTTP/2 connections.
    #[cfg(feature = "http2")]
    pub(crate) fn multiplexed(&self) -> &Arc<crate::h2::Multiplexed> {
        &self.multiplexed
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; recover rather than propagate if it ever did.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expired(&self, idle: &Idle, now: Instant) -> bool {
        now.saturating_duration_since(idle.since) >= self.idle_timeout || idle.sender.is_closed()
    }

    /// Counts a send future (then its response body) until the guard is dropped.
    pub(crate) fn in_flight(self: &Arc<Self>) -> InFlight {
        self.lock().in_flight += 1;
        InFlight { pool: self.clone() }
    }

    /// Fails once the pool is closed.
    pub(crate) fn check_open(&self) -> Result<(), Error> {
        if self.lock().closed {
            Err(closed_error())
        } else {
            Ok(())
        }
    }

    /// Waits for the right to hold one connection to `key`: at once without a limit or
    /// under it, else until a connection to `key` is released. Cancellation safe: dropped
    /// while waiting, it holds nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when the pool is (or gets) closed.
    pub(crate) async fn acquire(self: &Arc<Self>, key: &Key) -> Result<Permit, Error> {
        let semaphore = {
            let mut state = self.lock();
            if state.closed {
                return Err(closed_error());
            }
            if self.max_per_host == usize::MAX {
                return Ok(Permit { _slot: None });
            }
            state
                .limits
                .entry(key.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(self.max_per_host)))
                .clone()
        };
        let guard = match semaphore.try_acquire_arc() {
            Some(guard) => guard,
            None => {
                let _waiting = Waiting::new(self);
                let acquire = std::pin::pin!(semaphore.acquire_arc());
                let closed = std::pin::pin!(self.closed.recv());
                match select(acquire, closed).await {
                    Either::Left((guard, _)) => guard,
                    Either::Right(_) => {
                        drop(semaphore);
                        self.forget_limit(key);
                        return Err(closed_error());
                    }
                }
            }
        };
        drop(semaphore);
        Ok(Permit {
            _slot: Some(Box::new(Slot {
                pool: Arc::downgrade(self),
                key: key.clone(),
                guard: Some(guard),
            })),
        })
    }

    /// Drops `key`'s semaphore when nobody holds or waits for one of its permits.
    fn forget_limit(&self, key: &Key) {
        let mut state = self.lock();
        // Clones are only made under the lock, so a count of 1 (the map's) cannot grow now.
        if state
            .limits
            .get(key)
            .is_some_and(|semaphore| Arc::strong_count(semaphore) == 1)
        {
            state.limits.remove(key);
        }
    }

    /// Takes the most recently used live idle connection for `key`, if any, for the holder
    /// of `permit`; gives the permit back when there is none. Expired and closed connections
    /// met on the way are dropped (closed).
    pub(crate) fn checkout(
        self: &Arc<Self>,
        key: &Key,
        permit: Permit,
    ) -> Result<ConnLease, Permit> {
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
                if list.is_empty() && state.idle.len() > KEEP_EMPTY_IDLE_LISTS {
                    state.idle.remove(key);
                }
            }
            if found.is_some() {
                state.in_use += 1;
            }
        }
        drop(dead);
        match found {
            Some(sender) => Ok(ConnLease::new(self.clone(), key.clone(), sender, permit)),
            None => Err(permit),
        }
    }

    /// Counts a connection being opened until the guard is dropped.
    pub(crate) fn connecting(self: &Arc<Self>) -> Connecting {
        self.lock().connecting += 1;
        Connecting { pool: self.clone() }
    }

    /// Counts a newly opened TCP connection.
    pub(crate) fn note_opened(&self) {
        self.lock().opened += 1;
    }

    /// Wraps a freshly opened connection in a lease.
    pub(crate) fn lease_new(
        self: &Arc<Self>,
        key: Key,
        sender: Sender,
        permit: Permit,
    ) -> ConnLease {
        self.lock().in_use += 1;
        ConnLease::new(self.clone(), key, sender, permit)
    }

    /// Ends a lease: the connection goes back to the pool when it is `Some`, still open, the
    /// pool is not closed and the per-host cap allows; otherwise it is dropped, which closes
    /// it.
    fn release(&self, key: &Key, sender: Option<Sender>) {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        {
            let mut state = self.lock();
            state.in_use = state.in_use.saturating_sub(1);
            match sender {
                Some(sender)
                    if !state.closed && !sender.is_closed() && self.max_idle_per_host > 0 =>
                {
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

    /// Refuses new requests, wakes those waiting for a slot (they fail), drops (closes)
    /// every idle connection, and keeps connections in use from returning to the pool.
    pub(crate) fn close(&self) {
        let idle = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        self.closing.close();
        drop(idle);
        #[cfg(feature = "http2")]
        self.multiplexed.close();
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
            let mut stats = PoolStats::default();
            stats.connections_opened = state.opened;
            stats.idle = state.idle.values().map(VecDeque::len).sum();
            stats.in_use = state.in_use;
            stats.connecting = state.connecting;
            stats.waiting = state.waiting;
            stats.in_flight = state.in_flight;
            stats
        };
        drop(dead);
        #[cfg(feature = "http2")]
        let stats = {
            let mut stats = stats;
            let (idle, in_use, waiting) = self.multiplexed.stats();
            stats.idle += idle;
            stats.in_use += in_use;
            stats.waiting += waiting;
            stats
        };
        stats
    }
}

/// The right to hold one connection to a key; empty when there is no limit.
pub(crate) struct Permit {
    /// Held for its `Drop`, which frees the permit. Boxed: a permit is passed around by value.
    _slot: Option<Box<Slot>>,
}

struct Slot {
    /// Weak: an idle HTTP/2 connection in the pool holds a permit.
    pool: Weak<Pool>,
    key: Key,
    guard: Option<SemaphoreGuardArc>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.guard.take());
        if let Some(pool) = self.pool.upgrade() {
            pool.forget_limit(&self.key);
        }
    }
}

/// Counts a request waiting for a slot.
struct Waiting<'a>(&'a Pool);

impl<'a> Waiting<'a> {
    fn new(pool: &'a Pool) -> Self {
        pool.lock().waiting += 1;
        Self(pool)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.waiting = state.waiting.saturating_sub(1);
    }
}

/// Counts a connection being opened.
pub(crate) struct Connecting {
    pool: Arc<Pool>,
}

impl Drop for Connecting {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.connecting = state.connecting.saturating_sub(1);
    }
}

/// Counts a send future, then the response body it became.
pub(crate) struct InFlight {
    pool: Arc<Pool>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
    }
}

/// What a response body holds until it ends: an HTTP/1.1 connection ([`ConnLease`]) or a
/// stream on a shared HTTP/2 connection.
pub(crate) struct Lease {
    held: Held,
}

enum Held {
    Http1(ConnLease),
    /// Held for its `Drop`, which gives the stream back.
    #[cfg(feature = "http2")]
    Http2 {
        _stream: crate::h2::Stream,
    },
}

impl Lease {
    /// The exchange completed cleanly (the response was read to its end): an HTTP/1.1
    /// connection may serve another request. An HTTP/2 connection serves others in any case
    /// (a stream dropped early is reset, not the connection).
    pub(crate) fn set_reusable(&mut self) {
        match &mut self.held {
            Held::Http1(lease) => lease.set_reusable(),
            #[cfg(feature = "http2")]
            Held::Http2 { .. } => {}
        }
    }
}

impl From<ConnLease> for Lease {
    fn from(lease: ConnLease) -> Self {
        Self {
            held: Held::Http1(lease),
        }
    }
}

#[cfg(feature = "http2")]
impl From<crate::h2::Stream> for Lease {
    fn from(stream: crate::h2::Stream) -> Self {
        Self {
            held: Held::Http2 { _stream: stream },
        }
    }
}

/// Exclusive use of one HTTP/1.1 connection. Dropping it releases the connection: back to the
/// pool if [`ConnLease::set_reusable`] was called, closed otherwise; then frees its permit.
pub(crate) struct ConnLease {
    pool: Arc<Pool>,
    key: Key,
    sender: Option<Sender>,
    permit: Option<Permit>,
    reusable: bool,
}

impl ConnLease {
    fn new(pool: Arc<Pool>, key: Key, sender: Sender, permit: Permit) -> Self {
        Self {
            pool,
            key,
            sender: Some(sender),
            permit: Some(permit),
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

    /// Closes the connection but keeps the permit, to try another one.
    pub(crate) fn into_permit(mut self) -> Permit {
        let permit = self
            .permit
            .take()
            .expect("a lease holds its permit until dropped");
        drop(self);
        permit
    }
}

impl Drop for ConnLease {
    fn drop(&mut self) {
        let sender = self.sender.take().filter(|_| self.reusable);
        self.pool.release(&self.key, sender);
        // Only now, with the connection idle (or closed), may a waiter have the slot.
        drop(self.permit.take());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{Endpoint, Key};

    fn key(host: &str, port: u16) -> Key {
        Key::new(Endpoint {
            https: false,
            host: host.to_owned(),
            port,
            proxy: None,
        })
    }

    #[test]
    fn keys_of_one_endpoint_find_each_other_and_others_do_not() {
        let mut map = HashMap::new();
        map.insert(key("api.example.com", 443), "first");
        // Made separately, not cloned: equal by value, with the same precomputed hash.
        assert_eq!(map.get(&key("api.example.com", 443)), Some(&"first"));
        assert_eq!(map.get(&key("api.example.com", 8443)), None);
        assert_eq!(map.get(&key("api.example.org", 443)), None);
        let clone = map.keys().next().unwrap().clone();
        assert!(clone == key("api.example.com", 443));
        assert!(clone != key("api.example.com", 444));
    }
}
