//! Our client, `claude_kit::Client`, on tokio, smol or async-std.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use claude_kit::rt::Runtime;
use claude_kit::{Client, MessageRequest};
use claude_kit_async_std::AsyncStdRuntime;
use claude_kit_smol::SmolRuntime;
use claude_kit_tokio::TokioRuntime;

use crate::{Args, ManyResult, PROMPT, RunResult, RuntimeKind, latency, procfs};
use claude_kit::{ContentDelta, StreamEvent};

/// A fresh client for `runtime`, retries off, environment proxies ignored.
fn build_client(args: &Args, runtime: Arc<dyn Runtime>) -> Result<Client, String> {
    let mut builder = Client::builder();
    if args.http2 {
        let transport = claude_kit::HyperTransport::builder(runtime.clone())
            .http2_prior_knowledge()
            .build()
            .map_err(|e| format!("cannot build the HTTP/2 transport: {e}"))?;
        builder = builder.transport(transport);
    }
    builder
        .api_key(crate::API_KEY)
        .base_url(&args.url)
        .model(&args.model)
        .shared_runtime(runtime)
        .max_retries(0)
        .use_env_proxy(false)
        .build()
        .map_err(|e| format!("cannot build the client: {e}"))
}

fn request(args: &Args) -> MessageRequest {
    MessageRequest::new(args.model.clone(), args.max_tokens).user(PROMPT)
}

/// One request, streamed or not, read to the end; `true` when it succeeded with some text.
async fn one(client: &Client, args: &Args) -> bool {
    let text = if args.stream {
        match client.messages().stream(request(args)).await {
            Ok(stream) => stream.final_text().await,
            Err(e) => Err(e),
        }
    } else {
        client
            .messages()
            .create(request(args))
            .await
            .map(|reply| reply.into_inner().text())
    };
    matches!(text, Ok(text) if !text.is_empty())
}

/// `args.requests` requests, `args.concurrency` at a time: that many worker tasks spawned on
/// the client's runtime, each taking the next request number until none is left. Spawned with
/// the runtime's own spawn, as the baselines and the peers spawn theirs (`tokio::spawn`), not
/// `claude_kit_rt::spawn` (an abort handle, a panic guard and an output channel, polled at
/// every wake-up): the harness's tasks are not the client's work.
async fn workload(client: Client, args: Arc<Args>) -> RunResult {
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let runtime = client.runtime().clone();
    let workers: Vec<_> = (0..args.concurrency.min(args.requests.max(1)))
        .map(|_| {
            let (client, args, next, errors) =
                (client.clone(), args.clone(), next.clone(), errors.clone());
            let (done, finished) = futures_channel::oneshot::channel::<()>();
            runtime.spawn(Box::pin(async move {
                while next.fetch_add(1, Ordering::Relaxed) < args.requests {
                    if !one(&client, &args).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let _ = done.send(());
            }));
            finished
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let wall = start.elapsed();
    client.close_within(Duration::from_secs(5)).await;
    RunResult {
        errors: errors.load(Ordering::Relaxed),
        wall,
    }
}

/// `client` mode: see the crate docs for the threads of each runtime.
pub(crate) fn client(args: &Args) -> Result<String, String> {
    let before = procfs::cpu();
    let args = Arc::new(args.clone());
    let result = match args.runtime {
        RuntimeKind::Tokio => {
            let tokio_rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads)
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start tokio: {e}"))?;
            let runtime = Arc::new(TokioRuntime::from_handle(tokio_rt.handle().clone()));
            let client = build_client(&args, runtime)?;
            tokio_rt.block_on(workload(client, args.clone()))
        }
        RuntimeKind::Smol => {
            let client = build_client(&args, Arc::new(SmolRuntime::new()))?;
            smol::block_on(workload(client, args.clone()))
        }
        RuntimeKind::AsyncStd => {
            let client = build_client(&args, Arc::new(AsyncStdRuntime::new()))?;
            async_std::task::block_on(workload(client, args.clone()))
        }
    };
    Ok(crate::report(
        "claude-kit",
        args.runtime.name(),
        &args,
        before,
        result,
    ))
}

/// Opens `args.streams` streams at once, samples `VmRSS` when every one has received its first
/// event, then reads them all to the end.
async fn many(client: Client, args: &Args) -> ManyResult {
    let rss_before = procfs::status_kb("VmRSS");
    let start = Instant::now();
    let opens = (0..args.streams).map(|_| {
        let client = client.clone();
        async move { client.messages().stream(request(args)).await }
    });
    let streams = futures_util::future::join_all(opens).await;
    let open_wall = start.elapsed();
    let rss_all_open = procfs::status_kb("VmRSS");
    // The first error is worth a line on stderr: "errors: 10000" alone says nothing.
    let reported = std::sync::atomic::AtomicBool::new(false);
    let report = |error: &claude_kit::Error| {
        if !reported.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let mut line = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                line.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("many-streams: first error: {line}");
        }
    };
    let reads = streams.into_iter().map(|stream| async {
        let text = match stream {
            Ok(stream) => stream.final_text().await,
            Err(error) => Err(error),
        };
        match text {
            Ok(text) => !text.is_empty(),
            Err(error) => {
                report(&error);
                false
            }
        }
    });
    let ok = futures_util::future::join_all(reads)
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
    let wall = start.elapsed();
    client.close_within(Duration::from_secs(5)).await;
    ManyResult {
        rss_before,
        rss_all_open,
        errors: args.streams - ok,
        open_wall,
        wall,
        connections: client.stats().pool.map(|pool| pool.connections_opened),
    }
}

/// Runs `work` with a client of `args.runtime` on this one thread: a current-thread tokio
/// runtime, a private smol `Executor` run by `block_on`, or (async-std has no single-thread
/// mode) `block_on` plus its pool.
fn on_one_thread<T, F: Future<Output = T>>(
    args: &Args,
    work: impl FnOnce(Client) -> F,
) -> Result<T, String> {
    Ok(match args.runtime {
        RuntimeKind::Tokio => {
            let tokio_rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start tokio: {e}"))?;
            let runtime = Arc::new(TokioRuntime::from_handle(tokio_rt.handle().clone()));
            let client = build_client(args, runtime)?;
            tokio_rt.block_on(work(client))
        }
        RuntimeKind::Smol => {
            let executor = Arc::new(async_executor::Executor::new());
            let client =
                build_client(args, Arc::new(SmolRuntime::with_executor(executor.clone())))?;
            smol::block_on(executor.run(work(client)))
        }
        RuntimeKind::AsyncStd => {
            let client = build_client(args, Arc::new(AsyncStdRuntime::new()))?;
            async_std::task::block_on(work(client))
        }
    })
}

/// `many-streams` mode for our client, on one thread (see the crate docs).
pub(crate) fn many_streams(args: &Args) -> Result<String, String> {
    let before = procfs::cpu();
    let result = on_one_thread(args, |client| many(client, args))?;
    Ok(crate::report_many(
        "claude-kit",
        args.runtime.name(),
        args,
        before,
        result,
    ))
}

/// `latency` mode for our client: `args.requests` streams one after another on one thread.
pub(crate) fn latency(args: &Args) -> Result<String, String> {
    async fn run(client: Client, args: &Args) -> latency::Timings {
        use futures_util::StreamExt;
        let mut timings = latency::Timings::default();
        for _ in 0..args.requests {
            let mut clock = latency::RequestClock::start();
            let mut ok = false;
            if let Ok(mut stream) = client.messages().stream(request(args)).await {
                ok = true;
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(StreamEvent::ContentBlockDelta {
                            delta: ContentDelta::Text(_),
                            ..
                        }) => clock.delta(&mut timings),
                        Ok(_) => {}
                        Err(_) => ok = false,
                    }
                }
            }
            clock.end(ok, &mut timings);
        }
        client.close_within(Duration::from_secs(5)).await;
        timings
    }
    let before = procfs::cpu();
    let timings = on_one_thread(args, |client| run(client, args))?;
    Ok(latency::report(
        "claude-kit",
        args.runtime.name(),
        args,
        before,
        timings,
    ))
}
