//! [`WarmPool`]: CLI processes started ahead of demand, so a query does not wait for the
//! CLI's start-up (about half a second per process).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use claude_kit_core::{Error, Result};
use claude_kit_rt::{self as rt, JoinHandle, SharedRuntime};

use crate::client::AgentClient;
use crate::options::CodeOptions;
use crate::session::StartOn;

/// What a [`WarmPool`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Processes started (connected, handshake done).
    pub started: u64,
    /// Connected clients handed out.
    pub handed_out: u64,
    /// Clients found dead at check-out and replaced.
    pub replaced_dead: u64,
    /// Starts that failed.
    pub failures: u64,
    /// Connected clients waiting now.
    pub ready: u64,
}

#[derive(Default)]
struct Counters {
    started: AtomicU64,
    handed_out: AtomicU64,
    replaced_dead: AtomicU64,
    failures: AtomicU64,
}

/// Up to `size` connected [`AgentClient`]s, kept ready: [`get`](Self::get) hands one out
/// (each client serves one caller; it is not returned) and a replacement starts at once in
/// the background. A client whose CLI died while it waited is replaced, not handed out.
///
/// Dropping the pool stops the refills and ends the waiting processes (bounded, as dropping
/// a client does).
pub struct WarmPool {
    ready: async_channel::Receiver<Result<AgentClient>>,
    demand: async_channel::Sender<()>,
    counters: Arc<Counters>,
    size: usize,
    _filler: JoinHandle<()>,
}

impl fmt::Debug for WarmPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WarmPool")
            .field("size", &self.size)
            .field("stats", &self.stats())
            .finish()
    }
}

impl WarmPool {
    /// A pool of `size` processes started with `options` (at least one), starting now.
    ///
    /// # Errors
    /// [`Error::Config`] without a runtime (see [`CodeOptions::runtime`]).
    pub fn new(options: CodeOptions, size: usize) -> Result<Self> {
        let size = size.max(1);
        let runtime = crate::runtime::choose(options.runtime.clone())?;
        let (ready_tx, ready) = async_channel::bounded(size);
        let (demand, demand_rx) = async_channel::bounded(size);
        for _ in 0..size {
            let _ = demand.try_send(());
        }
        let counters = Arc::new(Counters::default());
        let filler = rt::spawn(
            &*runtime,
            fill(
                options,
                runtime.clone(),
                demand_rx,
                ready_tx,
                counters.clone(),
            ),
        );
        Ok(Self {
            ready,
            demand,
            counters,
            size,
            _filler: filler,
        })
    }

    /// A connected client: a ready one at once, or the next one to finish starting.
    ///
    /// # Errors
    /// The error of a start that failed (the pool keeps trying, backing off).
    pub async fn get(&self) -> Result<AgentClient> {
        loop {
            let next = self
                .ready
                .recv()
                .await
                .map_err(|_| Error::closed("the warm pool's filler has stopped"))?;
            let _ = self.demand.try_send(());
            match next {
                Ok(client) if client.is_alive() => {
                    self.counters.handed_out.fetch_add(1, Ordering::Relaxed);
                    return Ok(client);
                }
                Ok(_dead) => {
                    self.counters.replaced_dead.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The pool's size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// What the pool has done so far.
    pub fn stats(&self) -> PoolStats {
        PoolStats {
            started: self.counters.started.load(Ordering::Relaxed),
            handed_out: self.counters.handed_out.load(Ordering::Relaxed),
            replaced_dead: self.counters.replaced_dead.load(Ordering::Relaxed),
            failures: self.counters.failures.load(Ordering::Relaxed),
            ready: self.ready.len() as u64,
        }
    }
}

/// Starts one client per unit of demand, one at a time, backing off after
/// failures (from 0.5 s to 30 s).
async fn fill(
    options: CodeOptions,
    runtime: SharedRuntime,
    demand: async_channel::Receiver<()>,
    ready: async_channel::Sender<Result<AgentClient>>,
    counters: Arc<Counters>,
) {
    let mut backoff = Duration::from_millis(500);
    while demand.recv().await.is_ok() {
        match AgentClient::connect_on(options.clone(), runtime.clone(), StartOn::BlockingPool).await
        {
            Ok(client) => {
                backoff = Duration::from_millis(500);
                counters.started.fetch_add(1, Ordering::Relaxed);
                if ready.send(Ok(client)).await.is_err() {
                    return;
                }
            }
            Err(error) => {
                counters.failures.fetch_add(1, Ordering::Relaxed);
                if ready.send(Err(error)).await.is_err() {
                    return;
                }
                rt::sleep(&*runtime, backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
