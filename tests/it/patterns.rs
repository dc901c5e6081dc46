//! `claude_kit::patterns` on every runtime, against the mock server: ordered gather,
//! bounded map, fail-fast task group, whole-batch deadline, work queue, client pool.
//!
//! No sleeps as synchronisation and no timing assertions: concurrency limits are counted,
//! cancellation is observed through drop guards, and a deadline is only checked by its outcome
//! (where calls must finish before it, the deadline is a [`Gate`] opened once they have, not a
//! duration a starved machine could overrun).

use crate::common;

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_kit::patterns::{
    ClientPool, Progress, TaskGroup, WorkQueue, deadline_batch, deadline_batch_with_progress,
    gather, gather_with_progress, map_concurrent, map_concurrent_with_progress,
};
use claude_kit::{ApiErrorKind, Client, Error, RequestOptions};
use claude_kit_mock::Reply;
use common::{Rt, client, mock, on_all_runtimes};
use futures::FutureExt;

const MOCK_GREETING: &str = "Hello! I am the claude-kit mock server. You said: ";

/// A client whose every call gets `fault` from the mock (`x-mock-fault`).
fn faulty(client: &Client, fault: &str) -> Client {
    client
        .with_options(RequestOptions::new().header("x-mock-fault", fault))
        .expect("fault header")
}

/// Sends `prompt` and returns the reply text.
async fn ask(client: &Client, prompt: String) -> Result<String, Error> {
    Ok(client.query(prompt).await?.text())
}

/// Sets its flag when dropped: observes that a future was cancelled.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Runs `future`, setting `dropped` when it is dropped (finished or not).
async fn guarded<F: Future>(dropped: Arc<AtomicBool>, future: F) -> F::Output {
    let _guard = DropFlag(dropped);
    future.await
}

/// Bounds a wait that would hang on a bug, so that the bug is a failure and not a hang.
async fn bounded<F: Future>(rt: &Rt, future: F) -> F::Output {
    claude_kit_rt::timeout(&**rt, Duration::from_secs(30), future)
        .await
        .expect("did not finish: deadlock")
}

/// A deadline that passes when the test says so: [`Gate::runtime`] is `rt` with timers that
/// fire only once the gate is opened (whatever their deadline). `deadline_batch` takes its timer
/// from the runtime it is given, so a batch on the gated runtime ends exactly when the calls
/// that must finish have finished, however slow the machine.
#[derive(Debug, Default)]
struct Gate {
    open: AtomicBool,
    wakers: Mutex<Vec<std::task::Waker>>,
}

impl Gate {
    fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
        for waker in self.wakers.lock().unwrap().drain(..) {
            waker.wake();
        }
    }

    fn runtime(self: &Arc<Self>, rt: &Rt) -> Rt {
        Arc::new(GatedRuntime {
            inner: rt.clone(),
            gate: self.clone(),
        })
    }
}

#[derive(Debug)]
struct GatedRuntime {
    inner: Rt,
    gate: Arc<Gate>,
}

struct GatedSleep(Arc<Gate>);

impl Future for GatedSleep {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0.open.load(Ordering::SeqCst) {
            return std::task::Poll::Ready(());
        }
        self.0.wakers.lock().unwrap().push(cx.waker().clone());
        // Opened meanwhile: its wake-up may have missed the waker just pushed.
        if self.0.open.load(Ordering::SeqCst) {
            return std::task::Poll::Ready(());
        }
        std::task::Poll::Pending
    }
}

impl claude_kit::rt::Sleep for GatedSleep {
    fn reset(self: std::pin::Pin<&mut Self>, _deadline: std::time::Instant) {}
}

impl claude_kit::rt::Runtime for GatedRuntime {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn spawn(&self, task: claude_kit::rt::BoxFuture<'static, ()>) {
        self.inner.spawn(task)
    }

    fn sleep_until(
        &self,
        _deadline: std::time::Instant,
    ) -> std::pin::Pin<Box<dyn claude_kit::rt::Sleep>> {
        Box::pin(GatedSleep(self.gate.clone()))
    }

    fn now(&self) -> std::time::Instant {
        self.inner.now()
    }

    fn tcp(&self) -> Option<&dyn claude_kit::rt::TcpConnect> {
        self.inner.tcp()
    }
}

/// Runs `future`, then counts it in `done`; the call that brings `done` to `all` opens `gate`.
async fn opens_gate_when_all_done<F: Future>(
    gate: &Gate,
    done: &AtomicUsize,
    all: usize,
    future: F,
) -> F::Output {
    let output = future.await;
    if done.fetch_add(1, Ordering::SeqCst) + 1 == all {
        gate.open();
    }
    output
}

fn is_internal(error: &Error) -> bool {
    matches!(
        error,
        Error::Api {
            kind: ApiErrorKind::Internal,
            ..
        }
    )
}

// ---------------------------------------------------------------------------------------------
// gather

async fn gather_keeps_order_and_partial_failures(rt: Rt) {
    let server = mock();
    let ok = client(&server, &rt);
    let failing = faulty(&ok, "status:500");
    let clients: Vec<&Client> = (0..6)
        .map(|i| if i == 2 { &failing } else { &ok })
        .collect();

    let replies = gather(
        clients
            .iter()
            .enumerate()
            .map(|(i, c)| ask(c, format!("prompt {i}"))),
    )
    .await;

    assert_eq!(replies.len(), 6);
    for (i, reply) in replies.iter().enumerate() {
        if i == 2 {
            assert!(is_internal(reply.as_ref().unwrap_err()), "{reply:?}");
        } else {
            assert_eq!(
                reply.as_ref().unwrap(),
                &format!("{MOCK_GREETING}prompt {i}")
            );
        }
    }
    assert_eq!(server.requests().len(), 6);
}

async fn gather_scripted_error_is_one_slot(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    server.enqueue(Reply::error(529, "overloaded_error", "x"));
    // Sequenced so that the scripted error is known to be the first call's.
    let first = gather([ask(&client, "a".into())]).await;
    let rest = gather((0..3).map(|i| ask(&client, format!("b{i}")))).await;
    assert!(matches!(
        &first[0],
        Err(Error::Api {
            kind: ApiErrorKind::Overloaded,
            ..
        })
    ));
    assert!(rest.iter().all(Result::is_ok));
    assert!(
        gather(Vec::<std::future::Ready<()>>::new())
            .await
            .is_empty()
    );
}

async fn gather_reports_progress(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let mut seen = Vec::new();
    let replies = gather_with_progress(
        (0..5).map(|i| ask(&client, format!("p{i}"))),
        |p: Progress| seen.push((p.done, p.total)),
    )
    .await;
    assert!(replies.iter().all(Result::is_ok));
    assert_eq!(seen, (1..=5).map(|done| (done, 5)).collect::<Vec<_>>());
}

// ---------------------------------------------------------------------------------------------
// map_concurrent

async fn map_concurrent_keeps_order_within_limit(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let in_flight = AtomicUsize::new(0);
    let max_seen = AtomicUsize::new(0);
    let prompts: Vec<String> = (0..20).map(|i| format!("q{i}")).collect();

    let replies = map_concurrent(prompts.clone(), 3, |prompt| {
        let (client, in_flight, max_seen) = (&client, &in_flight, &max_seen);
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_seen.fetch_max(now, Ordering::SeqCst);
            let reply = ask(client, prompt).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            reply
        }
    })
    .await;

    let max = max_seen.load(Ordering::SeqCst);
    assert!((1..=3).contains(&max), "max in flight {max}");
    assert_eq!(in_flight.load(Ordering::SeqCst), 0);
    let expected: Vec<String> = prompts
        .iter()
        .map(|p| format!("{MOCK_GREETING}{p}"))
        .collect();
    assert_eq!(
        replies.into_iter().collect::<Result<Vec<_>, _>>().unwrap(),
        expected
    );
}

async fn map_concurrent_reports_progress_and_failures(rt: Rt) {
    let server = mock();
    let ok = client(&server, &rt);
    let failing = faulty(&ok, "status:500");
    let mut seen = Vec::new();
    let replies = map_concurrent_with_progress(
        0..8,
        2,
        |i| ask(if i % 4 == 3 { &failing } else { &ok }, format!("m{i}")),
        |p| seen.push((p.done, p.total)),
    )
    .await;
    assert_eq!(seen, (1..=8).map(|done| (done, 8)).collect::<Vec<_>>());
    for (i, reply) in replies.iter().enumerate() {
        assert_eq!(reply.is_err(), i % 4 == 3, "{i}: {reply:?}");
    }
    // A limit of 0 still makes progress (treated as 1).
    let doubled = map_concurrent(1..=3, 0, |n| async move { n * 2 }).await;
    assert_eq!(doubled, [2, 4, 6]);
}

// ---------------------------------------------------------------------------------------------
// TaskGroup

async fn task_group_returns_all_in_spawn_order(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let mut group = TaskGroup::new();
    for i in 0..5 {
        assert_eq!(group.spawn(ask(&client, format!("t{i}"))), i);
    }
    assert_eq!(group.len(), 5);
    let replies = group.join().await.expect("all succeed");
    let expected: Vec<String> = (0..5).map(|i| format!("{MOCK_GREETING}t{i}")).collect();
    assert_eq!(replies, expected);

    let empty = TaskGroup::<(), Error>::new();
    assert_eq!(empty.join().await.unwrap(), Vec::<()>::new());
}

async fn task_group_first_error_cancels_siblings(rt: Rt) {
    let server = mock();
    let ok = client(&server, &rt);
    let stalled = faulty(&ok, "stall-before-headers");
    let failing = faulty(&ok, "status:500");
    let stalled_dropped = Arc::new(AtomicBool::new(false));
    let stalled_finished = Arc::new(AtomicBool::new(false));

    let mut group = TaskGroup::new();
    group.spawn(ask(&ok, "fine".into()));
    group.spawn(guarded(stalled_dropped.clone(), {
        let finished = stalled_finished.clone();
        let stalled = &stalled;
        async move {
            let reply = ask(stalled, "stall".into()).await;
            finished.store(true, Ordering::SeqCst);
            reply
        }
    }));
    group.spawn(ask(&failing, "boom".into()));

    let error = bounded(&rt, group.join()).await.unwrap_err();
    assert!(is_internal(&error), "{error:?}");
    assert!(
        stalled_dropped.load(Ordering::SeqCst),
        "sibling not cancelled"
    );
    assert!(!stalled_finished.load(Ordering::SeqCst));
}

async fn task_group_dropped_drops_its_tasks(rt: Rt) {
    let _ = rt;
    let dropped = Arc::new(AtomicBool::new(false));
    let mut group = TaskGroup::<(), Error>::new();
    group.spawn(guarded(dropped.clone(), std::future::pending()));
    // Polled once (the task starts), then the join is abandoned.
    assert!(group.join().now_or_never().is_none());
    assert!(dropped.load(Ordering::SeqCst));
}

// ---------------------------------------------------------------------------------------------
// deadline_batch

async fn deadline_batch_keeps_finished_and_cancels_stalled(rt: Rt) {
    let server = mock();
    let ok = client(&server, &rt);
    let stalled = faulty(&ok, "stall-before-headers");
    let dropped: Vec<Arc<AtomicBool>> = (0..5).map(|_| Arc::new(AtomicBool::new(false))).collect();
    // The deadline passes once the three calls that can finish have finished.
    let gate = Arc::new(Gate::default());
    let done = AtomicUsize::new(0);
    let calls = (0..5).map(|i| {
        let stalls = i == 1 || i == 3;
        let c = if stalls { &stalled } else { &ok };
        let (gate, done) = (&gate, &done);
        guarded(dropped[i].clone(), async move {
            if stalls {
                ask(c, format!("d{i}")).await
            } else {
                opens_gate_when_all_done(gate, done, 3, ask(c, format!("d{i}"))).await
            }
        })
    });

    let gated = gate.runtime(&rt);
    let batch = bounded(
        &rt,
        deadline_batch(&gated, Duration::from_millis(1500), calls),
    )
    .await;

    let finished: Vec<usize> = batch.finished.iter().map(|(i, _)| *i).collect();
    assert_eq!(finished, [0, 2, 4]);
    for (i, reply) in &batch.finished {
        assert_eq!(reply.as_ref().unwrap(), &format!("{MOCK_GREETING}d{i}"));
    }
    assert_eq!(batch.cancelled, [1, 3]);
    assert!(!batch.is_complete());
    assert!(dropped.iter().all(|d| d.load(Ordering::SeqCst)));
    assert_eq!(ok.stats().in_flight, 0, "cancelled calls still in flight");

    let slots = batch.into_slots();
    assert_eq!(slots.len(), 5);
    assert!(slots[1].is_none() && slots[3].is_none() && slots[4].is_some());
}

async fn deadline_batch_complete_and_progress(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let mut seen = Vec::new();
    // Takes the timer from the client.
    let batch = deadline_batch_with_progress(
        client.runtime(),
        Duration::from_secs(60),
        (0..4).map(|i| ask(&client, format!("c{i}"))),
        |p| seen.push((p.done, p.total)),
    )
    .await;
    assert!(batch.is_complete());
    assert_eq!(batch.finished.len(), 4);
    assert!(batch.finished.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(seen, (1..=4).map(|done| (done, 4)).collect::<Vec<_>>());

    // Progress stops at the deadline.
    let mut seen = Vec::new();
    let stalled = faulty(&client, "stall-before-headers");
    // The deadline passes once the fast call has finished.
    let gate = Arc::new(Gate::default());
    let done = AtomicUsize::new(0);
    let calls: Vec<futures::future::BoxFuture<'_, Result<String, Error>>> = vec![
        opens_gate_when_all_done(&gate, &done, 1, ask(&client, "fast".into())).boxed(),
        ask(&stalled, "slow".into()).boxed(),
    ];
    let gated = gate.runtime(&rt);
    let batch = bounded(
        &rt,
        deadline_batch_with_progress(&gated, Duration::from_millis(1500), calls, |p| seen.push(p)),
    )
    .await;
    assert_eq!(batch.cancelled, [1]);
    assert_eq!(seen.len(), 1);
    assert_eq!((seen[0].done, seen[0].total), (1, 2));
}

// ---------------------------------------------------------------------------------------------
// WorkQueue

async fn work_queue_processes_everything_before_join(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let queue = WorkQueue::bounded(4);
    let results = Mutex::new(Vec::new());
    let max_len = AtomicUsize::new(0);
    let mut processed_at_join = None;

    let producer = async {
        for i in 0..20 {
            queue.push(format!("w{i}")).await.expect("open");
            max_len.fetch_max(queue.len(), Ordering::SeqCst);
        }
        queue.join().await;
        processed_at_join = Some(results.lock().unwrap().len());
        queue.close();
    };
    let workers = queue.run_workers(3, |prompt| {
        let (client, results) = (&client, &results);
        async move {
            let reply = ask(client, prompt).await.expect("reply");
            results.lock().unwrap().push(reply);
        }
    });
    bounded(&rt, futures::future::join(producer, workers)).await;

    assert_eq!(processed_at_join, Some(20));
    assert!(max_len.load(Ordering::SeqCst) <= 4);
    let mut results = results.into_inner().unwrap();
    results.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("{MOCK_GREETING}w{i}")).collect();
    expected.sort();
    assert_eq!(results, expected);
    assert_eq!(queue.unfinished(), 0);
    assert!(queue.push("late".into()).await.is_err());
}

async fn work_queue_back_pressure(rt: Rt) {
    let _ = rt;
    let queue = WorkQueue::bounded(1);
    queue.push(1).await.unwrap();
    // Full: the push waits; abandoning it pushes nothing.
    assert!(queue.push(2).now_or_never().is_none());
    assert_eq!((queue.len(), queue.unfinished()), (1, 1));

    // A waiting push completes once a worker makes room.
    let mut push = pin!(queue.push(2));
    assert!(futures::poll!(push.as_mut()).is_pending());
    let first = queue.pop().await.unwrap();
    assert_eq!(*first, 1);
    push.await.unwrap();
    assert_eq!(queue.unfinished(), 2);

    let second = queue.pop().await.unwrap();
    assert_eq!(*second, 2);
    let mut join = pin!(queue.join());
    assert!(futures::poll!(join.as_mut()).is_pending());
    drop(first);
    assert!(futures::poll!(join.as_mut()).is_pending());
    drop(second);
    join.await;
}

async fn work_queue_worker_dropped_mid_item(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let stalled = faulty(&client, "stall-before-headers");
    let queue = WorkQueue::unbounded();
    for i in 0..4 {
        queue.push(i).await.unwrap();
    }
    let (started_tx, started_rx) = async_channel::bounded::<()>(1);
    let processed = AtomicUsize::new(0);

    // One worker: item 0 succeeds, item 1 stalls; the worker is dropped mid-item 1.
    let worker = queue.run_workers(1, |i| {
        let (client, stalled, started_tx, processed) = (&client, &stalled, &started_tx, &processed);
        async move {
            if i == 1 {
                started_tx.send(()).await.unwrap();
                let _ = ask(stalled, "stall".into()).await;
            } else {
                ask(client, format!("item {i}")).await.unwrap();
            }
            processed.fetch_add(1, Ordering::SeqCst);
        }
    });
    let mut worker = Box::pin(worker);
    let started = Box::pin(started_rx.recv());
    match futures::future::select(worker.as_mut(), started).await {
        futures::future::Either::Right((started, _)) => started.unwrap(),
        futures::future::Either::Left(_) => panic!("the worker finished without stalling"),
    }
    drop(worker);
    // The worker is dropped: item 1 counts as done, items 2 and 3 stay queued.
    assert_eq!(queue.unfinished(), 2);
    assert_eq!(queue.len(), 2);

    queue.close();
    let rest = queue.run_workers(2, |i| {
        let (client, processed) = (&client, &processed);
        async move {
            ask(client, format!("item {i}")).await.unwrap();
            processed.fetch_add(1, Ordering::SeqCst);
        }
    });
    bounded(&rt, futures::future::join(rest, queue.join())).await;
    assert_eq!(processed.load(Ordering::SeqCst), 3);
    assert_eq!(queue.unfinished(), 0);

    // An item taken with `pop` and dropped unprocessed is done too.
    let queue = WorkQueue::unbounded();
    queue.push("x").await.unwrap();
    drop(queue.pop().await);
    bounded(&rt, queue.join()).await;
}

// ---------------------------------------------------------------------------------------------
// ClientPool

async fn client_pool_get_and_return(rt: Rt) {
    let server = mock();
    let base = client(&server, &rt);
    let pool = ClientPool::new(vec![base.clone(), base.clone()]);
    assert_eq!((pool.size(), pool.available()), (2, 2));

    let a = pool.get().await;
    let b = pool.get().await;
    assert_eq!(pool.available(), 0);
    assert!(pool.try_get().is_none());
    assert_eq!(
        ask(&a, "via pool".into()).await.unwrap(),
        format!("{MOCK_GREETING}via pool")
    );

    // Waiting while both are out, woken when one comes back.
    let mut waiting = pin!(pool.get());
    assert!(futures::poll!(waiting.as_mut()).is_pending());
    drop(a);
    let c = waiting.await;
    assert_eq!(pool.available(), 0);
    drop((b, c));
    assert_eq!(pool.available(), 2);

    // Returned even when its holder panics.
    let holder = pool.clone();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _client = holder.try_get().unwrap();
        panic!("holder panics");
    }));
    assert!(panicked.is_err());
    assert_eq!(pool.available(), 2);

    // Many callers share two clients.
    let out = AtomicUsize::new(0);
    let max_out = AtomicUsize::new(0);
    let replies = gather((0..8).map(|i| {
        let (pool, out, max_out) = (&pool, &out, &max_out);
        async move {
            let client = pool.get().await;
            max_out.fetch_max(out.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let reply = ask(&client, format!("pooled {i}")).await;
            out.fetch_sub(1, Ordering::SeqCst);
            reply
        }
    }))
    .await;
    assert!(replies.iter().all(Result::is_ok));
    assert!(max_out.load(Ordering::SeqCst) <= 2);
    assert_eq!(pool.available(), 2);
}

async fn client_pool_cancelled_get_and_guard(rt: Rt) {
    let server = mock();
    let base = client(&server, &rt);
    let stalled = faulty(&base, "stall-before-headers");
    let pool = ClientPool::build(1, || Ok(stalled.clone())).unwrap();

    // A `get` that waits, then is cancelled, takes nothing.
    let held = pool.get().await;
    assert!(pool.get().now_or_never().is_none());
    drop(held);
    assert_eq!(pool.available(), 1);

    // A guard held by a cancelled call goes back to the pool.
    let call = async {
        let client = pool.get().await;
        ask(&client, "stall".into()).await
    };
    let batch = deadline_batch(&rt, Duration::from_millis(300), [call]).await;
    assert_eq!(batch.cancelled, [0]);
    assert_eq!(pool.available(), 1);
    let client = pool.try_get().expect("returned");
    assert_eq!(client.base_url(), base.base_url());
}

on_all_runtimes!(
    gather_keeps_order_and_partial_failures,
    gather_scripted_error_is_one_slot,
    gather_reports_progress,
    map_concurrent_keeps_order_within_limit,
    map_concurrent_reports_progress_and_failures,
    task_group_returns_all_in_spawn_order,
    task_group_first_error_cancels_siblings,
    task_group_dropped_drops_its_tasks,
    deadline_batch_keeps_finished_and_cancels_stalled,
    deadline_batch_complete_and_progress,
    work_queue_processes_everything_before_join,
    work_queue_back_pressure,
    work_queue_worker_dropped_mid_item,
    client_pool_get_and_return,
    client_pool_cancelled_get_and_guard,
);
