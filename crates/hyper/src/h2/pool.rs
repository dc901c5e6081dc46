//! The multiplexed side of the pool: HTTP/2 connections, each shared by many requests.
//!
//! Per origin (the pool [`Key`]) there are the live connections, each with its count of open
//! streams, and at most one connection being opened. A request takes a stream on the first
//! connection with room (fewer streams than the server's `SETTINGS_MAX_CONCURRENT_STREAMS`);
//! with none, it waits for the connection being opened, or opens one itself ([`Opener`]) —
//! so a burst of a thousand requests to a new origin opens one connection, not a thousand.
//! An opener that fails hands its error to the requests that waited for it (one failed
//! attempt, not one per request); one that is cancelled lets the next waiter open instead.
//!
//! A [`Stream`] is the right to one stream on a connection; dropping it (with the response
//! body, or the send future) gives the stream back. A connection with no stream is *idle*:
//! it is closed after the idle timeout, and at once when the pool is closed or `pool_max_idle_
//! per_host` is 0. Connections the server closed (GOAWAY, failure) are dropped when next met.
//!
//! With a per-origin connection limit, a request that finds every allowed connection full
//! queues on the least busy one (hyper then opens its stream as soon as the server allows)
//! instead of opening one more.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use claude_kit_core::Error;
use claude_kit_rt::Runtime;
use futures_util::future::{Either, select};
use http::{Request, Response};
use http_body_util::Full;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::TrySendError;

use super::settings::ServerSettings;
use super::{Connection, Sender};
use crate::pool::{Key, Permit, closed_error};

/// The HTTP/2 connections of a pool.
pub(crate) struct Multiplexed {
    runtime: Arc<dyn Runtime>,
    idle_timeout: Duration,
    max_idle_per_host: usize,
    /// Most connections per key; `usize::MAX` is no limit.
    max_per_host: usize,
    /// Closed by the pool's `close`: wakes the requests waiting for an opener.
    closed: async_channel::Receiver<()>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    origins: HashMap<Key, Origin>,
    next_id: u64,
    waiting: usize,
    closed: bool,
}

#[derive(Default)]
struct Origin {
    conns: Vec<Entry>,
    opening: Option<Opening>,
    /// The last connection opened to this origin negotiated HTTP/1.1 (ALPN): its requests go
    /// to the HTTP/1.1 pool, without waiting for one another.
    http1: bool,
}

impl Origin {
    fn is_empty(&self) -> bool {
        self.conns.is_empty() && self.opening.is_none() && !self.http1
    }
}

/// One live connection.
struct Entry {
    id: u64,
    sender: Sender,
    settings: Arc<ServerSettings>,
    streams: usize,
    /// When its last stream ended (or it was opened).
    idle_since: Instant,
    /// The connection's place under the per-host limit.
    _permit: Permit,
}

/// Most streams this client opens on one HTTP/2 connection, whatever the server allows: past
/// it, another connection is opened. SSE replies come as many small DATA frames, and h2 bounds
/// the frames a connection buffers for streams the application has not read yet (a budget of
/// half the 5 MiB connection window): past it, the connection closes with `ENHANCE_YOUR_CALM`
/// and every stream on it fails. 10,000 streams on one connection, each opened and then read
/// later, reach that budget after two or three unread events apiece; 1,000 per connection
/// leave each stream ~25 unread events, and a failing connection takes 1,000 streams with it,
/// not 10,000.
pub(crate) const MAX_STREAMS_PER_CONNECTION: usize = 1000;

impl Entry {
    fn has_room(&self) -> bool {
        self.streams < self.settings.max_streams().min(MAX_STREAMS_PER_CONNECTION)
    }
}

/// A connection being opened, as the requests waiting for it see it.
struct Opening {
    id: u64,
    outcome: Arc<Mutex<Option<Error>>>,
    done: async_channel::Receiver<()>,
}

/// What a request gets from [`Multiplexed::checkout`].
pub(crate) enum Checkout {
    /// A stream on a live connection.
    Stream(Stream),
    /// A connection to the origin is being opened: wait for it, then check out again.
    Wait(Wait),
    /// Open a connection: the requests that come meanwhile wait for this one.
    Open(Opener),
    /// The origin answered ALPN with HTTP/1.1: use the HTTP/1.1 pool.
    Http1,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held; recover rather than propagate if it ever did.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Multiplexed {
    pub(crate) fn new(
        runtime: Arc<dyn Runtime>,
        idle_timeout: Duration,
        max_idle_per_host: usize,
        max_per_host: usize,
        closed: async_channel::Receiver<()>,
    ) -> Self {
        Self {
            runtime,
            idle_timeout,
            max_idle_per_host,
            max_per_host,
            closed,
            state: Mutex::default(),
        }
    }

    fn dead(&self, entry: &Entry, now: Instant) -> bool {
        entry.sender.is_closed()
            || (entry.streams == 0
                && now.saturating_duration_since(entry.idle_since) >= self.idle_timeout)
    }

    /// Takes the connections of `origin` that are closed or idle too long out of it.
    fn prune(&self, origin: &mut Origin, now: Instant, dead: &mut Vec<Entry>) {
        let mut i = 0;
        while i < origin.conns.len() {
            if self.dead(&origin.conns[i], now) {
                dead.push(origin.conns.swap_remove(i));
            } else {
                i += 1;
            }
        }
    }

    /// Finds a stream for a request to `key`, or says what to do instead. `alpn`: the
    /// connection's protocol is negotiated (TLS), so the origin may turn out to speak only
    /// HTTP/1.1.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] once the pool is closed.
    pub(crate) fn checkout(self: &Arc<Self>, key: &Key, alpn: bool) -> Result<Checkout, Error> {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        let checkout = {
            let mut state = lock(&self.state);
            if state.closed {
                return Err(closed_error());
            }
            let next_id = state.next_id;
            let origin = state.origins.entry(key.clone()).or_default();
            self.prune(origin, now, &mut dead);
            let room = origin.conns.iter_mut().find(|entry| entry.has_room());
            let checkout = if let Some(entry) = room {
                entry.streams += 1;
                Checkout::Stream(self.stream(key, entry))
            } else if let Some(opening) = &origin.opening {
                Checkout::Wait(Wait {
                    mux: self.clone(),
                    done: opening.done.clone(),
                    outcome: opening.outcome.clone(),
                })
            } else if !origin.conns.is_empty() && origin.conns.len() >= self.max_per_host {
                // The least busy connection; `conns` is not empty.
                let entry = origin
                    .conns
                    .iter_mut()
                    .min_by_key(|entry| entry.streams)
                    .expect("a connection");
                entry.streams += 1;
                Checkout::Stream(self.stream(key, entry))
            } else if origin.http1 && alpn {
                Checkout::Http1
            } else {
                let outcome = Arc::new(Mutex::new(None));
                let (tx, rx) = async_channel::bounded(1);
                origin.opening = Some(Opening {
                    id: next_id,
                    outcome: outcome.clone(),
                    done: rx,
                });
                Checkout::Open(Opener {
                    mux: self.clone(),
                    key: key.clone(),
                    id: next_id,
                    outcome,
                    _done: tx,
                })
            };
            if matches!(checkout, Checkout::Open(_)) {
                state.next_id += 1;
            }
            checkout
        };
        drop(dead);
        Ok(checkout)
    }

    fn stream(self: &Arc<Self>, key: &Key, entry: &Entry) -> Stream {
        Stream {
            mux: self.clone(),
            key: key.clone(),
            conn: entry.id,
            sender: entry.sender.clone(),
        }
    }

    /// Adds a connection opened for `key` and takes its first stream.
    pub(crate) fn register(
        self: &Arc<Self>,
        key: &Key,
        connection: Connection,
        permit: Permit,
    ) -> Stream {
        let now = self.runtime.now();
        let mut state = lock(&self.state);
        let id = state.next_id;
        state.next_id += 1;
        let entry = Entry {
            id,
            sender: connection.sender,
            settings: connection.settings,
            streams: 1,
            idle_since: now,
            _permit: permit,
        };
        let stream = self.stream(key, &entry);
        let origin = state.origins.entry(key.clone()).or_default();
        origin.http1 = false;
        origin.conns.push(entry);
        stream
    }

    /// Gives back a stream of connection `conn`. An idle connection is closed when the pool is
    /// closed, keeps no idle connections, or already keeps enough for this origin.
    fn release(&self, key: &Key, conn: u64) {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        {
            let mut state = lock(&self.state);
            let closed = state.closed;
            let Some(origin) = state.origins.get_mut(key) else {
                return;
            };
            if let Some(i) = origin.conns.iter().position(|entry| entry.id == conn) {
                let entry = &mut origin.conns[i];
                entry.streams = entry.streams.saturating_sub(1);
                if entry.streams == 0 {
                    entry.idle_since = now;
                    let idle = origin.conns.iter().filter(|e| e.streams == 0).count();
                    if closed || idle > self.max_idle_per_host || origin.conns[i].sender.is_closed()
                    {
                        dead.push(origin.conns.swap_remove(i));
                    }
                }
            }
            if origin.is_empty() {
                state.origins.remove(key);
            }
        }
        drop(dead);
    }

    /// Forgets `opener`'s connection attempt: the waiting requests wake up.
    fn end_opening(&self, key: &Key, id: u64, http1: Option<bool>) {
        let mut state = lock(&self.state);
        if let Some(origin) = state.origins.get_mut(key) {
            if origin.opening.as_ref().is_some_and(|o| o.id == id) {
                origin.opening = None;
            }
            if let Some(http1) = http1 {
                origin.http1 = http1;
            }
            if origin.is_empty() {
                state.origins.remove(key);
            }
        }
    }

    /// Refuses new requests; closes idle connections at once and busy ones after their last
    /// stream.
    pub(crate) fn close(&self) {
        let mut dead = Vec::new();
        {
            let mut state = lock(&self.state);
            state.closed = true;
            for origin in state.origins.values_mut() {
                let mut i = 0;
                while i < origin.conns.len() {
                    if origin.conns[i].streams == 0 {
                        dead.push(origin.conns.swap_remove(i));
                    } else {
                        i += 1;
                    }
                }
            }
            state.origins.retain(|_, origin| !origin.is_empty());
        }
        drop(dead);
    }

    /// Idle connections, connections in use, requests waiting for an opener.
    pub(crate) fn stats(&self) -> (usize, usize, usize) {
        let now = self.runtime.now();
        let mut dead = Vec::new();
        let stats = {
            let mut state = lock(&self.state);
            let (mut idle, mut in_use) = (0, 0);
            for origin in state.origins.values_mut() {
                self.prune(origin, now, &mut dead);
                for entry in &origin.conns {
                    if entry.streams == 0 {
                        idle += 1;
                    } else {
                        in_use += 1;
                    }
                }
            }
            state.origins.retain(|_, origin| !origin.is_empty());
            (idle, in_use, state.waiting)
        };
        drop(dead);
        stats
    }
}

/// One stream on a shared connection, from checkout until dropped (with the response body).
pub(crate) struct Stream {
    mux: Arc<Multiplexed>,
    key: Key,
    conn: u64,
    /// A handle of the connection: it stays open while a stream uses it.
    sender: Sender,
}

impl Stream {
    /// Sends `request` on the stream's connection. When the connection closed before the
    /// request went out, the error gives it back.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> Result<Response<Incoming>, TrySendError<Request<Full<Bytes>>>> {
        self.sender.try_send_request(request).await
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.mux.release(&self.key, self.conn);
    }
}

/// The duty of opening a connection that other requests wait for. Dropped without
/// [`connected`](Self::connected) or [`http1`](Self::http1) (cancelled, or failed), it wakes
/// them: they fail with the error given to [`failed`](Self::failed), or, without one, check
/// out again (and one of them opens instead).
pub(crate) struct Opener {
    mux: Arc<Multiplexed>,
    key: Key,
    id: u64,
    outcome: Arc<Mutex<Option<Error>>>,
    /// Dropped with the opener: closing the channel wakes the waiters.
    _done: async_channel::Sender<()>,
}

impl Opener {
    /// The connection is open and speaks HTTP/2: it joins the pool with this request's
    /// stream, and the waiters find room on it.
    pub(crate) fn connected(self, connection: Connection, permit: Permit) -> Stream {
        let stream = self.mux.register(&self.key, connection, permit);
        drop(self);
        stream
    }

    /// The server chose HTTP/1.1: the waiters, and later requests, use the HTTP/1.1 pool.
    pub(crate) fn http1(self) {
        self.mux.end_opening(&self.key, self.id, Some(true));
    }

    /// Opening failed: the waiters fail with `error` too.
    pub(crate) fn failed(self, error: &Error) {
        *lock(&self.outcome) = Some(error.clone());
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        self.mux.end_opening(&self.key, self.id, None);
    }
}

/// Waiting for another request's [`Opener`].
pub(crate) struct Wait {
    mux: Arc<Multiplexed>,
    done: async_channel::Receiver<()>,
    outcome: Arc<Mutex<Option<Error>>>,
}

impl Wait {
    /// Waits until the opener is done (`Ok`: check out again) or failed (its error), or the
    /// pool is closed ([`Error::Config`]). Cancellation safe: dropped, it holds nothing.
    pub(crate) async fn wait(self) -> Result<(), Error> {
        let _waiting = Waiting::new(&self.mux);
        let done = std::pin::pin!(self.done.recv());
        let closed = std::pin::pin!(self.mux.closed.recv());
        if let Either::Right(_) = select(done, closed).await {
            return Err(closed_error());
        }
        match lock(&self.outcome).as_ref() {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

/// Counts a request waiting for an opener.
struct Waiting<'a>(&'a Multiplexed);

impl<'a> Waiting<'a> {
    fn new(mux: &'a Multiplexed) -> Self {
        lock(&mux.state).waiting += 1;
        Self(mux)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.0.state);
        state.waiting = state.waiting.saturating_sub(1);
    }
}
