//! The baselines: the least a Rust client can do. hyper 1.x `client::conn::http1` over a tokio
//! `TcpStream`, one keep-alive connection per worker, no pool, no retries, no timeouts, and
//! either
//! - `raw-hyper`: a hand-written SSE split that parses only the text deltas (and, without
//!   streaming, only the reply's text), the floor; or
//! - `raw-hyper-full`: the project's own protocol work, none of its client machinery: every
//!   body goes through the core's `MessageStreamDecoder` (every event parsed, the final message
//!   accumulated) or is decoded as a whole `Message`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use claude_kit_core::stream::MessageStreamDecoder;
use claude_kit_core::types::{ContentDelta, Message, StreamEvent};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

use crate::{Args, ManyResult, RunResult, procfs};

/// Where to connect and what to send.
struct Target {
    /// `host:port`.
    authority: String,
    /// The JSON body.
    body: Bytes,
}

impl Target {
    fn new(args: &Args, stream: bool) -> Result<Self, String> {
        let authority = args
            .url
            .strip_prefix("http://")
            .ok_or_else(|| format!("raw-hyper speaks plain http only, not {:?}", args.url))?
            .trim_end_matches('/')
            .to_owned();
        Ok(Self {
            authority,
            body: Bytes::from(crate::request_json(args, stream)),
        })
    }

    fn request(&self) -> Request<Full<Bytes>> {
        Request::post("/v1/messages")
            .header("host", &self.authority)
            .header("x-api-key", crate::API_KEY)
            .header("anthropic-version", "2023-06-01")
            .header("content-type", "application/json")
            .body(Full::new(self.body.clone()))
            .expect("a valid request")
    }
}

type Sender = SendRequest<Full<Bytes>>;

/// A new connection; its driver runs as a task on the current tokio runtime.
async fn connect(target: &Target) -> Result<Sender, String> {
    let tcp = TcpStream::connect(&target.authority)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// The fields of a non-streaming reply the baseline reads.
#[derive(Deserialize)]
struct Reply {
    content: Vec<Block>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(default)]
    text: String,
}

/// The fields of a `content_block_delta` event the baseline reads.
#[derive(Deserialize)]
struct DeltaEvent {
    delta: Delta,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default)]
    text: String,
}

/// A minimal SSE reader: splits on blank lines, and of each event keeps only a text delta's
/// text (found by a substring scan, then parsed) and whether it was `message_stop`.
#[derive(Default)]
struct SseText {
    buffer: Vec<u8>,
    text: String,
    stopped: bool,
}

impl SseText {
    fn push(&mut self, chunk: &[u8]) {
        self.buffer.extend_from_slice(chunk);
        let mut start = 0;
        while let Some(end) = memchr::memmem::find(&self.buffer[start..], b"\n\n") {
            let event = &self.buffer[start..start + end];
            start += end + 2;
            if memchr::memmem::find(event, b"\"text_delta\"").is_some() {
                if let Some(data) = memchr::memmem::find(event, b"data: ") {
                    let line = &event[data + 6..];
                    let line = &line[..memchr::memchr(b'\n', line).unwrap_or(line.len())];
                    if let Ok(parsed) = serde_json::from_slice::<DeltaEvent>(line) {
                        self.text.push_str(&parsed.delta.text);
                    }
                }
            } else if memchr::memmem::find(event, b"event: message_stop").is_some() {
                self.stopped = true;
            }
        }
        self.buffer.drain(..start);
    }
}

/// How a baseline reads a streamed body.
enum Decoding {
    /// `raw-hyper`: text deltas only.
    Text(SseText),
    /// `raw-hyper-full`: the core's decoder, every event parsed and accumulated.
    Full(Box<MessageStreamDecoder>),
}

impl Decoding {
    fn new(full: bool) -> Self {
        if full {
            Self::Full(Box::new(MessageStreamDecoder::new()))
        } else {
            Self::Text(SseText::default())
        }
    }

    /// Feeds a chunk; `false` once the stream is known to be broken.
    fn push(&mut self, chunk: &[u8]) -> bool {
        match self {
            Self::Text(sse) => {
                sse.push(chunk);
                true
            }
            Self::Full(decoder) => {
                decoder.push(chunk);
                while let Some(event) = decoder.next_event() {
                    if event.is_err() {
                        return false;
                    }
                }
                true
            }
        }
    }

    /// The body ended: whether it was a whole reply with some text.
    fn finish(self) -> bool {
        match self {
            Self::Text(sse) => sse.stopped && !sse.text.is_empty(),
            Self::Full(mut decoder) => {
                decoder.finish();
                if decoder.next_event().is_some() || !decoder.is_complete() {
                    return false;
                }
                decoder.into_message().is_ok_and(|m| !m.text().is_empty())
            }
        }
    }
}

/// Reads a response to the end; `true` when it was a 200 with some text.
async fn read(response: Response<Incoming>, stream: bool, full: bool) -> bool {
    if response.status() != 200 {
        return false;
    }
    let mut body = response.into_body();
    if stream {
        let mut decoding = Decoding::new(full);
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref()
                        && !decoding.push(data)
                    {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
        decoding.finish()
    } else {
        let Ok(bytes) = body.collect().await.map(|b| b.to_bytes()) else {
            return false;
        };
        if full {
            return serde_json::from_slice::<Message>(&bytes).is_ok_and(|m| !m.text().is_empty());
        }
        match serde_json::from_slice::<Reply>(&bytes) {
            Ok(reply) => reply.content.iter().map(|b| b.text.len()).sum::<usize>() > 0,
            Err(_) => false,
        }
    }
}

/// One request on `sender` (reconnecting first if the connection is gone).
async fn one(sender: &mut Option<Sender>, target: &Target, stream: bool, full: bool) -> bool {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        *sender = connect(target).await.ok();
    }
    let Some(s) = sender.as_mut() else {
        return false;
    };
    if s.ready().await.is_err() {
        *sender = None;
        return false;
    }
    match s.send_request(target.request()).await {
        Ok(response) => read(response, stream, full).await,
        Err(_) => {
            *sender = None;
            false
        }
    }
}

/// `raw-hyper` / `raw-hyper-full` mode (`full`): `args.concurrency` workers on a tokio
/// multi-thread runtime with `args.threads` workers, each with its own keep-alive connection.
pub(crate) fn client(args: &Args, full: bool) -> Result<String, String> {
    let before = procfs::cpu();
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let target = Arc::new(Target::new(args, args.stream)?);
    let shared = Arc::new(args.clone());
    let result = tokio_rt.block_on(async move {
        let next = Arc::new(AtomicUsize::new(0));
        let errors = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let workers: Vec<_> = (0..shared.concurrency.min(shared.requests.max(1)))
            .map(|_| {
                let (target, args, next, errors) =
                    (target.clone(), shared.clone(), next.clone(), errors.clone());
                tokio::spawn(async move {
                    let mut sender = None;
                    while next.fetch_add(1, Ordering::Relaxed) < args.requests {
                        if !one(&mut sender, &target, args.stream, full).await {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            let _ = worker.await;
        }
        RunResult {
            errors: errors.load(Ordering::Relaxed),
            wall: start.elapsed(),
        }
    });
    Ok(crate::report(name(full), "tokio", args, before, result))
}

/// The client name in the JSON line.
fn name(full: bool) -> &'static str {
    if full { "raw-hyper-full" } else { "raw-hyper" }
}

/// An open stream: its connection, its body and what the first frame held.
struct Open {
    _sender: Sender,
    body: Incoming,
    decoding: Decoding,
}

/// Connects, sends a streaming request and reads until the first event arrived.
async fn open(target: &Target, full: bool) -> Option<Open> {
    let mut sender = connect(target).await.ok()?;
    let response = sender.send_request(target.request()).await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let mut body = response.into_body();
    let mut decoding = Decoding::new(full);
    loop {
        let frame = body.frame().await?.ok()?;
        if let Some(data) = frame.data_ref() {
            if !decoding.push(data) {
                return None;
            }
            if !data.is_empty() {
                break;
            }
        }
    }
    Some(Open {
        _sender: sender,
        body,
        decoding,
    })
}

/// Reads an open stream to the end.
async fn finish(mut open: Open) -> bool {
    while let Some(frame) = open.body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref()
                    && !open.decoding.push(data)
                {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    open.decoding.finish()
}

/// `many-streams --client raw-hyper|raw-hyper-full`: the baseline's memory per open stream,
/// on a current-thread tokio runtime.
pub(crate) fn many_streams(args: &Args, full: bool) -> Result<String, String> {
    let before = procfs::cpu();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let target = Target::new(args, true)?;
    let result = tokio_rt.block_on(async {
        let rss_before = procfs::status_kb("VmRSS");
        let start = Instant::now();
        let opens =
            futures_util::future::join_all((0..args.streams).map(|_| open(&target, full))).await;
        let open_wall = start.elapsed();
        let rss_all_open = procfs::status_kb("VmRSS");
        let ok = futures_util::future::join_all(opens.into_iter().map(|o| async move {
            if let Some(o) = o {
                finish(o).await
            } else {
                false
            }
        }))
        .await
        .into_iter()
        .filter(|ok| *ok)
        .count();
        ManyResult {
            rss_before,
            rss_all_open,
            errors: args.streams - ok,
            open_wall,
            wall: start.elapsed(),
            connections: Some(args.streams as u64),
        }
    });
    Ok(crate::report_many(
        name(full),
        "tokio",
        args,
        before,
        result,
    ))
}

/// `latency --client raw-hyper-full`: `args.requests` streams one after another on one
/// keep-alive connection, on a current-thread tokio runtime, each body through the core's
/// decoder; a text delta counts when the decoder hands it out.
pub(crate) fn latency(args: &Args) -> Result<String, String> {
    let before = procfs::cpu();
    let tokio_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start tokio: {e}"))?;
    let target = Target::new(args, true)?;
    let timings = tokio_rt.block_on(async {
        let mut timings = crate::latency::Timings::default();
        let mut sender: Option<Sender> = None;
        for _ in 0..args.requests {
            let mut clock = crate::latency::RequestClock::start();
            let ok = async {
                if sender.as_ref().is_none_or(|s| s.is_closed()) {
                    sender = connect(&target).await.ok();
                }
                let s = sender.as_mut()?;
                s.ready().await.ok()?;
                let response = s.send_request(target.request()).await.ok()?;
                if response.status() != 200 {
                    return None;
                }
                let mut body = response.into_body();
                let mut decoder = MessageStreamDecoder::new();
                while let Some(frame) = body.frame().await {
                    let frame = frame.ok()?;
                    let Some(data) = frame.data_ref() else {
                        continue;
                    };
                    decoder.push(data);
                    while let Some(event) = decoder.next_event() {
                        if let StreamEvent::ContentBlockDelta {
                            delta: ContentDelta::Text(_),
                            ..
                        } = event.ok()?
                        {
                            clock.delta(&mut timings);
                        }
                    }
                }
                decoder.finish();
                Some(decoder.is_complete())
            }
            .await
            .unwrap_or(false);
            clock.end(ok, &mut timings);
        }
        timings
    });
    Ok(crate::latency::report(
        "raw-hyper-full",
        "tokio",
        args,
        before,
        timings,
    ))
}
