//! The two measurements, the same for every peer: `client` (N requests, C worker tasks on a
//! tokio multi-thread runtime) and `many-streams` (S streams open at once on a current-thread
//! runtime).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Notify, watch};

use crate::peers::Peer;
use crate::{Args, ManyResult, RunResult, procfs};

/// `client` mode: `args.concurrency` worker tasks on a tokio multi-thread runtime with
/// `args.threads` workers, each taking the next request number until none is left.
pub(crate) fn client(args: &Args) -> Result<String, String> {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let shared = Arc::new(args.clone());
    let (before, result) = tokio_rt.block_on(async move {
        let peer = Arc::new(Peer::new(&shared).await?);
        let before = procfs::cpu();
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let workers: Vec<_> = (0..shared.concurrency.min(shared.requests.max(1)))
            .map(|_| {
                let (peer, args, next, errors) =
                    (peer.clone(), shared.clone(), next.clone(), errors.clone());
                tokio::spawn(async move {
                    while next.fetch_add(1, Ordering::Relaxed) < args.requests {
                        let ok = if args.stream {
                            peer.stream(None).await
                        } else {
                            peer.create().await
                        };
                        if !ok {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            if worker.await.is_err() {
                // A panicking worker: count what it had left as failed, like an error.
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        let result = RunResult {
            errors: errors.load(Ordering::Relaxed).min(shared.requests),
            wall: start.elapsed(),
        };
        Ok::<_, String>((before, result))
    })?;
    Ok(crate::report(
        &args.implementation,
        "tokio",
        args,
        before,
        result,
    ))
}

/// What the streams of a `many-streams` run share: how many have received their first event
/// (or failed before it), the signal that all have, and the gate they then wait at.
struct Shared {
    total: usize,
    arrived: AtomicUsize,
    all_open: Notify,
    go: watch::Receiver<bool>,
}

impl Shared {
    fn arrive(&self) {
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.total {
            // `notify_one` keeps a permit when nobody waits yet: no lost wake-up.
            self.all_open.notify_one();
        }
    }
}

/// One stream's place in a `many-streams` run. A peer calls [`Gate::first_event`] when its
/// stream has delivered its first event; that returns once every stream has (and `VmRSS` was
/// sampled).
pub(crate) struct Gate {
    shared: Arc<Shared>,
    arrived: AtomicBool,
}

impl Gate {
    /// The stream has received its first event: counts it, then waits until all have.
    pub(crate) async fn first_event(&self) {
        if !self.arrived.swap(true, Ordering::AcqRel) {
            self.shared.arrive();
            let mut go = self.shared.go.clone();
            let _ = go.wait_for(|go| *go).await;
        }
    }

    /// The stream is over (or failed before its first event): counts it if it was not yet.
    fn done(&self) {
        if !self.arrived.swap(true, Ordering::AcqRel) {
            self.shared.arrive();
        }
    }
}

/// `many-streams` mode: opens `args.streams` streams at once on a current-thread runtime,
/// samples `VmRSS` when every one has received its first event, then reads them all.
pub(crate) fn many_streams(args: &Args) -> Result<String, String> {
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let (before, result) = tokio_rt.block_on(async {
        let peer = Peer::new(args).await?;
        let before = procfs::cpu();
        let rss_before = procfs::status_kb("VmRSS");
        let (go_tx, go_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            total: args.streams,
            arrived: AtomicUsize::new(0),
            all_open: Notify::new(),
            go: go_rx,
        });
        let start = Instant::now();
        let streams = (0..args.streams).map(|_| {
            let gate = Gate {
                shared: shared.clone(),
                arrived: AtomicBool::new(false),
            };
            let peer = &peer;
            async move {
                let ok = peer.stream(Some(&gate)).await;
                gate.done();
                ok
            }
        });
        let sample = async {
            if args.streams > 0 {
                shared.all_open.notified().await;
            }
            let open_wall = start.elapsed();
            let rss_all_open = procfs::status_kb("VmRSS");
            let _ = go_tx.send(true);
            (open_wall, rss_all_open)
        };
        let (oks, (open_wall, rss_all_open)) =
            futures_util::future::join(futures_util::future::join_all(streams), sample).await;
        let ok = oks.into_iter().filter(|ok| *ok).count();
        let result = ManyResult {
            rss_before,
            rss_all_open,
            errors: args.streams - ok,
            open_wall,
            wall: start.elapsed(),
        };
        Ok::<_, String>((before, result))
    })?;
    Ok(crate::report_many(
        &args.implementation,
        "tokio",
        args,
        before,
        result,
    ))
}
