//! A scripted hostile HTTP server: each connection follows a [`Script`] of raw steps (read the
//! request head, write exact bytes, stall, reset, close), so tests can send broken framing,
//! stall at any phase or cut a connection anywhere, and see what the client does.
//!
//! ```text
//! let server = HostileServer::start(vec![vec![
//!     Step::ReadRequest,
//!     Step::write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"),
//! ]]);
//! // ... point a client at server.url() ...
//! assert_eq!(server.requests().len(), 1);
//! ```
//!
//! It runs on its own std threads (blocking `std::net`), so one server serves a client on any
//! runtime. Everything is bounded: at most [`MAX_CONNECTIONS`] connections are accepted, a
//! request head is read up to [`MAX_HEAD`] bytes and a request body up to [`MAX_BODY`], a
//! [`Step::WriteRepeat`] writes a fixed number of bytes, and every thread ends when the server
//! is dropped (stalls wait on a condition variable, blocked reads and writes are unblocked by
//! shutting their sockets down). It listens on 127.0.0.1 only.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The most connections one server accepts; later ones wait in the backlog, unserved.
pub const MAX_CONNECTIONS: usize = 64;
/// The longest request head read; a longer one ends the connection.
pub const MAX_HEAD: usize = 1 << 20;
/// The longest request body read (and recorded); a longer one ends the connection.
pub const MAX_BODY: usize = 64 << 20;

/// A function building the bytes to write from the last request read on the connection.
pub type Responder = Arc<dyn Fn(&Received) -> Vec<u8> + Send + Sync>;

/// One step of a connection's script.
#[derive(Clone)]
pub enum Step {
    /// Reads the request head and then its body (by `content-length`); records the request.
    ReadRequest,
    /// Reads only the request head, leaving the body unread (what [`Step::Reset`] needs to
    /// make the kernel send a RST); records the request with an empty body.
    ReadHead,
    /// Waits until request bytes have arrived, without reading them: the request was sent,
    /// and stays unread.
    AwaitRequest,
    /// Writes these exact bytes (one `write_all`, then a flush).
    Write(Arc<[u8]>),
    /// Writes `chunk` `times` times, from the one buffer: a large body without holding it in
    /// memory. Stops early when the client goes away or the server is dropped.
    WriteRepeat { chunk: Arc<[u8]>, times: u64 },
    /// Writes what the function builds from the last request read (an echo of its headers).
    Respond(Responder),
    /// Holds the connection open, doing nothing, until the server is dropped.
    Stall,
    /// Aborts the connection with a TCP RST: waits until unread request bytes are queued
    /// (use [`Step::ReadHead`] before it, so the body stays unread) and closes the socket;
    /// Linux answers a close with unread data by a RST. Ends the script.
    Reset,
    /// Closes the connection cleanly (FIN), then drains what the client still sends until it
    /// closes too, so the close never turns into a RST. Ends the script.
    Close,
}

impl Step {
    /// [`Step::Write`] of a copy of `bytes`.
    pub fn write(bytes: impl AsRef<[u8]>) -> Step {
        Step::Write(Arc::from(bytes.as_ref()))
    }

    /// [`Step::WriteRepeat`].
    pub fn repeat(chunk: impl AsRef<[u8]>, times: u64) -> Step {
        Step::WriteRepeat {
            chunk: Arc::from(chunk.as_ref()),
            times,
        }
    }

    /// [`Step::Respond`].
    pub fn respond(f: impl Fn(&Received) -> Vec<u8> + Send + Sync + 'static) -> Step {
        Step::Respond(Arc::new(f))
    }
}

impl fmt::Debug for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::ReadRequest => f.write_str("ReadRequest"),
            Step::ReadHead => f.write_str("ReadHead"),
            Step::AwaitRequest => f.write_str("AwaitRequest"),
            Step::Write(bytes) => write!(f, "Write({} bytes)", bytes.len()),
            Step::WriteRepeat { chunk, times } => {
                write!(f, "WriteRepeat({} bytes x {times})", chunk.len())
            }
            Step::Respond(_) => f.write_str("Respond(<fn>)"),
            Step::Stall => f.write_str("Stall"),
            Step::Reset => f.write_str("Reset"),
            Step::Close => f.write_str("Close"),
        }
    }
}

/// The steps of one connection. A script that ends without [`Step::Reset`] or [`Step::Close`]
/// closes the connection as [`Step::Close`] does.
pub type Script = Vec<Step>;

/// A request the server read: the raw head, as received, and the body.
#[derive(Clone, Default)]
pub struct Received {
    /// Which accepted connection it came on (0-based).
    pub connection: usize,
    /// The request line and headers, up to and including the blank line.
    pub head: Vec<u8>,
    /// The body (empty for [`Step::ReadHead`]).
    pub body: Vec<u8>,
}

impl Received {
    /// The head as text (lossy).
    pub fn head_str(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    /// The request line: `POST /v1/messages HTTP/1.1`.
    pub fn request_line(&self) -> String {
        self.head_str()
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The value of the first header called `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head_str().lines().skip(1).find_map(|line| {
            let (field, value) = line.split_once(':')?;
            field
                .trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("connection", &self.connection)
            .field("request_line", &self.request_line())
            .field("head_len", &self.head.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// State shared by the server handle, the accept thread and the connection threads.
struct Shared {
    stop: AtomicBool,
    /// Paired with `stopped`: stalls wait on it.
    stopped: Mutex<bool>,
    wake: Condvar,
    /// A clone of every open connection, to unblock its thread on drop.
    open: Mutex<HashMap<usize, TcpStream>>,
    requests: Mutex<Vec<Received>>,
    connections: AtomicUsize,
    bytes_written: AtomicU64,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits until the server is dropped.
    fn wait_for_stop(&self) {
        let mut stopped = self.stopped.lock().unwrap();
        while !*stopped {
            stopped = self.wake.wait(stopped).unwrap();
        }
    }

    /// Forgets the registered clone of connection `id`, so that dropping the thread's own
    /// handle really closes the socket.
    fn forget(&self, id: usize) {
        self.open.lock().unwrap().remove(&id);
    }
}

/// A hostile HTTP/1 server on 127.0.0.1; see the [module docs](self).
pub struct HostileServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl HostileServer {
    /// Starts a server whose connection `i` follows `scripts[i]`. Connections past the list are
    /// accepted (and counted) and closed at once.
    pub fn start(scripts: Vec<Script>) -> HostileServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
            open: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            bytes_written: AtomicU64::new(0),
            threads: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let accept = std::thread::Builder::new()
            .name("hostile-accept".into())
            .spawn(move || accept_loop(listener, scripts, accept_shared))
            .expect("spawn accept thread");
        HostileServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Starts a server whose first `times` connections all follow `script`.
    pub fn repeat(script: Script, times: usize) -> HostileServer {
        Self::start(vec![script; times])
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests read so far, in order.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Bytes written to clients so far.
    pub fn bytes_written(&self) -> u64 {
        self.shared.bytes_written.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.stop.store(true, Ordering::SeqCst);
        *shared.stopped.lock().unwrap() = true;
        shared.wake.notify_all();
        // Wake the accept loop; it sees `stop` and ends. Joined first, so that no connection
        // is registered after the sockets below are shut down.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5));
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for stream in shared.open.lock().unwrap().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *shared.threads.lock().unwrap());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn accept_loop(listener: TcpListener, scripts: Vec<Script>, shared: Arc<Shared>) {
    for id in 0..MAX_CONNECTIONS {
        let Ok((stream, _)) = listener.accept() else {
            if shared.stopping() {
                return;
            }
            continue;
        };
        if shared.stopping() {
            return;
        }
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let script = scripts
            .get(id)
            .cloned()
            .unwrap_or_else(|| vec![Step::Close]);
        if let Ok(clone) = stream.try_clone() {
            shared.open.lock().unwrap().insert(id, clone);
        }
        let conn_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("hostile-conn-{id}"))
            .spawn(move || {
                run_script(id, stream, &script, &conn_shared);
                conn_shared.forget(id);
            })
            .expect("spawn connection thread");
        shared.threads.lock().unwrap().push(thread);
    }
}

fn run_script(id: usize, mut stream: TcpStream, script: &[Step], shared: &Shared) {
    let mut last = Received {
        connection: id,
        ..Received::default()
    };
    for step in script {
        if shared.stopping() {
            return;
        }
        let ok = match step {
            Step::ReadRequest | Step::ReadHead => {
                match read_request(&mut stream, id, matches!(step, Step::ReadRequest)) {
                    Ok(received) => {
                        shared.requests.lock().unwrap().push(received.clone());
                        last = received;
                        true
                    }
                    Err(_) => false,
                }
            }
            Step::AwaitRequest => matches!(stream.peek(&mut [0u8; 1]), Ok(n) if n > 0),
            Step::Write(bytes) => write(&mut stream, bytes, shared),
            Step::Respond(f) => write(&mut stream, &f(&last), shared),
            Step::WriteRepeat { chunk, times } => {
                let mut ok = true;
                for _ in 0..*times {
                    if shared.stopping() || !write(&mut stream, chunk, shared) {
                        ok = false;
                        break;
                    }
                }
                ok
            }
            Step::Stall => {
                shared.wait_for_stop();
                return;
            }
            Step::Reset => {
                reset(id, stream, shared);
                return;
            }
            Step::Close => break,
        };
        if !ok {
            // The client went away (or the server is stopping): nothing more to do.
            return;
        }
    }
    close(stream);
}

fn write(stream: &mut TcpStream, bytes: &[u8], shared: &Shared) -> bool {
    if stream
        .write_all(bytes)
        .and_then(|()| stream.flush())
        .is_err()
    {
        return false;
    }
    shared
        .bytes_written
        .fetch_add(bytes.len() as u64, Ordering::SeqCst);
    true
}

/// FIN, then drain until the client closes (or the server is dropped), so that unread bytes
/// never turn the close into a RST.
fn close(mut stream: TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let mut sink = [0u8; 8192];
    let mut drained = 0usize;
    while drained < MAX_BODY {
        match stream.read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => drained += n,
        }
    }
}

/// Closes with unread data queued, which makes the kernel abort the connection with a RST.
fn reset(id: usize, stream: TcpStream, shared: &Shared) {
    // Bounded: a script without unread request bytes must not hang its thread for long.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut probe = [0u8; 1];
    let _ = stream.peek(&mut probe);
    shared.forget(id);
    drop(stream);
}

/// Reads one request head without reading past it (peek, then read exactly what belongs to
/// the head), and with `with_body` its `content-length` body.
fn read_request(stream: &mut TcpStream, id: usize, with_body: bool) -> io::Result<Received> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.peek(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        // The terminator may straddle what was read before and what is peeked now.
        let keep = head.len().min(3);
        let mut window = head[head.len() - keep..].to_vec();
        window.extend_from_slice(&buf[..n]);
        let take = match window.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(at) => at + 4 - keep,
            None => n,
        };
        let start = head.len();
        head.resize(start + take, 0);
        stream.read_exact(&mut head[start..])?;
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_HEAD {
            return Err(io::ErrorKind::InvalidData.into());
        }
    }
    let mut received = Received {
        connection: id,
        head,
        body: Vec::new(),
    };
    if with_body {
        let length = received
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        if length > MAX_BODY {
            return Err(io::ErrorKind::InvalidData.into());
        }
        received.body = vec![0; length];
        stream.read_exact(&mut received.body)?;
    }
    Ok(received)
}

// ---------------------------------------------------------------------------------------------
// Building responses.

/// A complete HTTP/1.1 response with `content-length` and `connection: close` (so that every
/// attempt of a retried call comes on a connection of its own), plus `extra` headers.
pub fn response(status: u16, content_type: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\nrequest-id: req_hostile\r\n",
        reason(status),
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// [`response`] with a JSON content type.
pub fn json_response(status: u16, body: &str) -> Vec<u8> {
    response(status, "application/json", &[], body.as_bytes())
}

/// The API's error document.
pub fn error_body(kind: &str, message: &str) -> String {
    serde_json::json!({"type": "error", "error": {"type": kind, "message": message}}).to_string()
}

/// A complete error response in the API's format.
pub fn error_response(status: u16, kind: &str, message: &str) -> Vec<u8> {
    json_response(status, &error_body(kind, message))
}

/// A complete `text/event-stream` response holding `events`.
pub fn sse_response(events: &str) -> Vec<u8> {
    response(200, "text/event-stream", &[], events.as_bytes())
}

/// The head of a chunked response (the body follows as [`chunk`]s and [`last_chunk`]).
pub fn chunked_head(status: u16, content_type: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\nrequest-id: req_hostile\r\n\r\n",
        reason(status)
    )
    .into_bytes()
}

/// One chunk of a chunked body.
pub fn chunk(data: impl AsRef<[u8]>) -> Vec<u8> {
    let data = data.as_ref();
    let mut bytes = format!("{:x}\r\n", data.len()).into_bytes();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// The end of a chunked body.
pub fn last_chunk() -> Vec<u8> {
    b"0\r\n\r\n".to_vec()
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        529 => "Overloaded",
        _ => "Whatever",
    }
}

// ---------------------------------------------------------------------------------------------
// Building messages and event streams.

/// The id of every message the helpers build.
pub const MESSAGE_ID: &str = "msg_hostile";

/// A complete non-streaming message whose one text block is `text`.
pub fn message_json(text: &str) -> String {
    serde_json::json!({
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": "hostile-model",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {"input_tokens": 3, "output_tokens": 5}
    })
    .to_string()
}

/// One server-sent event.
pub fn sse(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

/// `message_start` with empty content, for message `id`.
pub fn message_start_with_id(id: &str) -> String {
    sse(
        "message_start",
        &serde_json::json!({"type": "message_start", "message": {
            "id": id, "type": "message", "role": "assistant", "model": "hostile-model",
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": 3, "output_tokens": 1}
        }})
        .to_string(),
    )
}

/// `message_start` for [`MESSAGE_ID`].
pub fn message_start() -> String {
    message_start_with_id(MESSAGE_ID)
}

/// `content_block_start` of an empty text block at `index`.
pub fn text_block_start(index: u64) -> String {
    sse(
        "content_block_start",
        &format!(
            r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"text","text":""}}}}"#
        ),
    )
}

/// `content_block_start` of a tool-use block at `index`.
pub fn tool_block_start(index: u64) -> String {
    sse(
        "content_block_start",
        &format!(
            r#"{{"type":"content_block_start","index":{index},"content_block":{{"type":"tool_use","id":"toolu_hostile","name":"probe","input":{{}}}}}}"#
        ),
    )
}

/// A `text_delta` of `text` for the block at `index`.
pub fn text_delta(index: u64, text: &str) -> String {
    sse(
        "content_block_delta",
        &serde_json::json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "text_delta", "text": text}})
        .to_string(),
    )
}

/// An `input_json_delta` of `partial_json` for the block at `index`.
pub fn json_delta(index: u64, partial_json: &str) -> String {
    sse(
        "content_block_delta",
        &serde_json::json!({"type": "content_block_delta", "index": index,
            "delta": {"type": "input_json_delta", "partial_json": partial_json}})
        .to_string(),
    )
}

/// `content_block_stop` for the block at `index`.
pub fn block_stop(index: u64) -> String {
    sse(
        "content_block_stop",
        &format!(r#"{{"type":"content_block_stop","index":{index}}}"#),
    )
}

/// `message_delta` (end_turn, 5 output tokens) and `message_stop`.
pub fn message_end() -> String {
    sse(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}"#,
    ) + &sse("message_stop", r#"{"type":"message_stop"}"#)
}

/// A `ping` event.
pub fn ping() -> String {
    sse("ping", r#"{"type":"ping"}"#)
}

/// An `error` event of `kind` with `message`.
pub fn error_event(kind: &str, message: &str) -> String {
    sse("error", &error_body(kind, message))
}

/// A whole well-formed stream whose one text block says `text` (in one delta per piece).
pub fn text_stream(pieces: &[&str]) -> String {
    let mut events = message_start() + &text_block_start(0);
    for piece in pieces {
        events.push_str(&text_delta(0, piece));
    }
    events + &block_stop(0) + &message_end()
}
