//! Transcript replay and stream faults, checked over real sockets with a blocking client that
//! parses the chunked transfer encoding by hand (so chunk boundaries are visible).

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use claude_kit_mock::{Chunking, MockServer, Reply};
use serde_json::{Value, json};

/// Upper bound for conditions awaited in a polling loop; reaching it is a failure.
const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `condition` until it holds; panics after [`PATIENCE`].
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn fixtures() -> Vec<(String, Bytes)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/sse");
    let mut out: Vec<(String, Bytes)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "sse"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, Bytes::from(std::fs::read(&path).unwrap()))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "fixtures missing in {}", dir.display());
    out
}

fn hello(stream: bool) -> String {
    json!({
        "model": "claude-test",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hi there"}],
    })
    .to_string()
}

/// Sends `POST /v1/messages` with `body` (and `connection: close`) on a fresh connection.
fn post(addr: SocketAddr, body: &str) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(addr).unwrap();
    let request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nanthropic-version: 2023-06-01\r\n\
         content-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    BufReader::new(stream)
}

/// Status line and headers of a response.
#[derive(Debug)]
struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn assert_sse(&self) {
        assert_eq!(self.status, 200, "{self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        assert_eq!(self.header("transfer-encoding"), Some("chunked"));
        assert_eq!(self.header("content-length"), None);
    }
}

/// Reads a CRLF-terminated line; `None` at EOF (or on a reset connection).
fn line(reader: &mut impl BufRead) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            assert!(line.ends_with("\r\n"), "truncated line {line:?}");
            line.truncate(line.len() - 2);
            Some(line)
        }
    }
}

fn read_head(reader: &mut impl BufRead) -> Head {
    let status_line = line(reader).expect("a status line");
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let line = line(reader).expect("a header line");
        if line.is_empty() {
            return Head { status, headers };
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
}

/// A chunked body as received.
#[derive(Debug)]
struct Chunked {
    chunks: Vec<Vec<u8>>,
    /// Whether the final `0` chunk (and its empty trailer line) arrived.
    complete: bool,
}

impl Chunked {
    fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    fn sizes(&self) -> Vec<usize> {
        self.chunks.iter().map(Vec::len).collect()
    }
}

/// Reads up to `max_chunks` chunks of a chunked body (all of them with `usize::MAX`); stops
/// early, incomplete, at EOF or when the connection is reset.
fn read_chunked(reader: &mut impl BufRead, max_chunks: usize) -> Chunked {
    let mut chunks = Vec::new();
    while chunks.len() < max_chunks {
        let Some(size) = line(reader) else {
            return Chunked {
                chunks,
                complete: false,
            };
        };
        let size = usize::from_str_radix(&size, 16).unwrap();
        if size == 0 {
            assert_eq!(line(reader).as_deref(), Some(""));
            return Chunked {
                chunks,
                complete: true,
            };
        }
        let mut chunk = vec![0; size];
        if reader.read_exact(&mut chunk).is_err() {
            return Chunked {
                chunks,
                complete: false,
            };
        }
        assert_eq!(line(reader).as_deref(), Some(""), "chunk framing");
        chunks.push(chunk);
    }
    Chunked {
        chunks,
        complete: false,
    }
}

/// One full SSE response to a request on a fresh connection; the connection then closes.
fn sse_exchange(addr: SocketAddr, body: &str) -> Chunked {
    let mut reader = post(addr, body);
    read_head(&mut reader).assert_sse();
    let chunked = read_chunked(&mut reader, usize::MAX);
    assert!(chunked.complete);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "bytes after the response: {rest:?}");
    chunked
}

/// Offsets right after each blank line (an SSE event terminator) of `body`, computed
/// independently of the server: after `\n\n`, `\r\r`, `\r\n\r\n`, `\n\r\n`, `\r\n\n`, ...
fn event_ends(body: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    // Normalise line endings to one marker per line while remembering offsets.
    let mut line_ends = Vec::new(); // (start of the line ending, end of it)
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(b"\r\n") {
            line_ends.push((i, i + 2));
            i += 2;
        } else if body[i] == b'\r' || body[i] == b'\n' {
            line_ends.push((i, i + 1));
            i += 1;
        } else {
            i += 1;
        }
    }
    for pair in line_ends.windows(2) {
        // An empty line: a line ending right after another one.
        if pair[1].0 == pair[0].1 {
            ends.push(pair[1].1);
        }
    }
    if body.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
        ends.insert(0, line_ends[0].1);
    }
    ends
}

/// Checks the chunks the client saw against what `chunking` promises.
fn check_chunks(name: &str, transcript: &[u8], chunking: Chunking, got: &Chunked) {
    assert_eq!(got.body(), transcript, "{name} {chunking:?}: body differs");
    let sizes = got.sizes();
    match chunking {
        Chunking::PerByte => {
            assert_eq!(sizes.len(), transcript.len(), "{name}");
            assert!(sizes.iter().all(|&s| s == 1), "{name}: {sizes:?}");
        }
        Chunking::Whole => assert_eq!(sizes, [transcript.len()], "{name}"),
        Chunking::Random { .. } => {
            assert!(sizes.iter().all(|s| (1..=64).contains(s)), "{name}");
            assert!(sizes.len() > transcript.len() / 64, "{name}");
        }
        Chunking::PerEvent => {
            let mut boundaries: Vec<usize> = sizes
                .iter()
                .scan(0, |offset, size| {
                    *offset += size;
                    Some(*offset)
                })
                .collect();
            let mut expected = event_ends(transcript);
            // The remainder after the last terminator is a chunk of its own.
            if expected.last() != Some(&transcript.len()) {
                expected.push(transcript.len());
            }
            assert_eq!(boundaries, expected, "{name}: chunk boundaries");
            boundaries.pop();
            for end in boundaries {
                let before = &transcript[..end];
                assert!(
                    [&b"\n\n"[..], b"\r\r", b"\r\n\r\n"]
                        .iter()
                        .any(|end| before.ends_with(end)),
                    "{name}: a chunk ends at {end} without a blank line"
                );
            }
            assert!(
                sizes.len() > 1,
                "{name}: per-event chunking must split: {sizes:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

const CHUNKINGS: [Chunking; 5] = [
    Chunking::PerEvent,
    Chunking::PerByte,
    Chunking::Random { seed: 1 },
    Chunking::Random { seed: 0xDEAD_BEEF },
    Chunking::Whole,
];

#[test]
fn replays_every_fixture_with_every_chunking() {
    for (name, transcript) in fixtures() {
        // The builder's transcript answers when nothing is queued; scripted `Reply::sse` first.
        let server = MockServer::builder()
            .threads(1)
            .replay(transcript.clone(), Chunking::PerEvent)
            .start()
            .unwrap();
        for chunking in CHUNKINGS {
            server.enqueue(Reply::sse(transcript.clone(), chunking));
            let got = sse_exchange(server.addr(), &hello(true));
            check_chunks(&name, &transcript, chunking, &got);
            if let Chunking::Random { .. } = chunking {
                // The same seed splits the same way.
                server.enqueue(Reply::sse(transcript.clone(), chunking));
                let again = sse_exchange(server.addr(), &hello(true));
                assert_eq!(again.sizes(), got.sizes(), "{name}");
            }
        }
        let replayed = sse_exchange(server.addr(), &hello(true));
        check_chunks(&name, &transcript, Chunking::PerEvent, &replayed);
        assert_eq!(server.requests().len(), CHUNKINGS.len() + 3);
    }
}

#[test]
fn fixtures_end_with_and_without_terminators() {
    // The PerEvent checks above cover both shapes and both line endings.
    let all = fixtures();
    assert!(all.iter().any(|(_, t)| t.ends_with(b"\n\n")));
    assert!(all.iter().any(|(_, t)| !t.ends_with(b"\n\n")));
    assert!(
        all.iter()
            .any(|(_, t)| t.windows(4).any(|w| w == b"\r\n\r\n"))
    );
}

#[test]
fn replay_answers_every_valid_request() {
    let transcript =
        Bytes::from_static(b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: x\ndata: 1");
    let server = MockServer::builder()
        .api_key("sk-test")
        .replay(transcript.clone(), Chunking::PerByte)
        .start()
        .unwrap();
    let request = |key: &str, body: &str| {
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let request = format!(
            "POST /v1/messages HTTP/1.1\r\nhost: x\r\nanthropic-version: 2023-06-01\r\n\
             x-api-key: {key}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut reader = BufReader::new(stream);
        let head = read_head(&mut reader);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        (head, rest)
    };
    // Authentication and validation come first.
    assert_eq!(request("wrong", &hello(true)).0.status, 401);
    assert_eq!(request("sk-test", "{}").0.status, 400);
    // Streaming or not, the transcript answers.
    for stream in [true, false] {
        let (head, _) = request("sk-test", &hello(stream));
        head.assert_sse();
    }
    // A queued reply wins over the transcript, once.
    server.enqueue(Reply::text("scripted"));
    let (head, body) = request("sk-test", &hello(false));
    assert_eq!(head.header("content-type"), Some("application/json"));
    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(message["content"][0]["text"], "scripted");
    let mut reader = BufReader::new(io::Cursor::new(request("sk-test", &hello(true)).1));
    let got = read_chunked(&mut reader, usize::MAX);
    assert!(got.complete);
    check_chunks("inline", &transcript, Chunking::PerByte, &got);
}

#[test]
fn per_event_replay_honours_token_delay() {
    let (name, transcript) = fixtures().swap_remove(0);
    let server = MockServer::builder()
        .token_delay(Duration::from_millis(1))
        .replay(transcript.clone(), Chunking::PerEvent)
        .start()
        .unwrap();
    let got = sse_exchange(server.addr(), &hello(true));
    check_chunks(&name, &transcript, Chunking::PerEvent, &got);
    // Headers set on a replayed reply are sent.
    server.enqueue(Reply::sse(transcript.clone(), Chunking::Whole).header("x-replayed", "1"));
    let mut reader = post(server.addr(), &hello(true));
    let head = read_head(&mut reader);
    head.assert_sse();
    assert_eq!(head.header("x-replayed"), Some("1"));
    assert_eq!(head.header("request-id"), Some("req_mock_2"));
}

#[test]
fn binary_replays_a_file_byte_by_byte() {
    let (name, transcript) = fixtures()
        .into_iter()
        .find(|(name, _)| name.ends_with(".chunk1.sse"))
        .expect("a .chunk1.sse fixture");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/sse")
        .join(&name);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
        .arg("--replay")
        .arg(&path)
        .args(["--chunking", "byte", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = String::new();
    stdout.read_line(&mut url).unwrap();
    let addr: SocketAddr = url
        .trim_end()
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("bad first line {url:?}"))
        .parse()
        .unwrap();
    for _ in 0..2 {
        let got = sse_exchange(addr, &hello(true));
        check_chunks(&name, &transcript, Chunking::PerByte, &got);
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Bad arguments: usage error, exit code 2.
    for args in [
        &["--chunking", "bytes"][..],
        &["--chunking", "random:x"],
        &["--replay", "/nonexistent/transcript.sse"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
    }
}

/// Two SSE events (the start of a normal stream).
const PREFIX: &[u8] = b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n\
                        event: ping\ndata: {\"type\":\"ping\"}\n\n";

/// Asserts that nothing arrives on `reader` for a moment (a stalled stream stays silent).
fn assert_silent(reader: &mut BufReader<TcpStream>) {
    assert!(reader.buffer().is_empty(), "{:?}", reader.buffer());
    let stream = reader.get_mut();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut byte = [0; 1];
    match stream.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected silence, got {other:?} {byte:?}"),
    }
    stream.set_read_timeout(None).unwrap();
}

/// Drops `server` on another thread and returns once that finished.
fn shutdown(server: MockServer) {
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = done_tx.send(());
    });
    done_rx.recv_timeout(PATIENCE).expect("shutdown hangs");
}

/// Asserts the server closed the connection: EOF or a reset, within [`PATIENCE`].
fn assert_closed(reader: &mut BufReader<TcpStream>) {
    reader.get_mut().set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    match reader.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("connection not closed: {e}"),
    }
    assert!(rest.is_empty(), "{rest:?}");
}

#[test]
fn sse_then_stall_sends_prefix_then_nothing() {
    let server = MockServer::start();
    server.enqueue(Reply::sse_then_stall(PREFIX));
    server.enqueue(Reply::sse_then_stall(PREFIX).header("x-stall", "1"));
    // First stalled stream: the client gives up; the server drops the connection.
    let mut reader = post(server.addr(), &hello(true));
    read_head(&mut reader).assert_sse();
    let got = read_chunked(&mut reader, 2);
    assert_eq!(got.body(), PREFIX);
    assert_eq!(got.sizes().len(), 2, "one chunk per event");
    assert_silent(&mut reader);
    assert_eq!(server.open_connections(), 1);
    drop(reader);
    wait_until("the stalled connection to be dropped", || {
        server.open_connections() == 0
    });
    // Second one: still open when the server shuts down.
    let mut reader = post(server.addr(), &hello(true));
    let head = read_head(&mut reader);
    head.assert_sse();
    assert_eq!(head.header("x-stall"), Some("1"));
    assert_eq!(read_chunked(&mut reader, 2).body(), PREFIX);
    assert_silent(&mut reader);
    assert_eq!(server.bytes_streamed(), 2 * PREFIX.len() as u64);
    shutdown(server);
    assert_closed(&mut reader);
}

#[test]
fn stall_before_headers_never_answers() {
    let server = MockServer::start();
    server.enqueue(Reply::stall_before_headers());
    server.enqueue(Reply::stall_before_headers());
    let mut reader = post(server.addr(), &hello(true));
    wait_until("the request", || server.requests().len() == 1);
    assert_silent(&mut reader);
    drop(reader);
    wait_until("the stalled connection to be dropped", || {
        server.open_connections() == 0
    });
    // The next request stalls as well, until shutdown.
    let mut reader = post(server.addr(), &hello(false));
    wait_until("the request", || server.requests().len() == 2);
    assert_silent(&mut reader);
    shutdown(server);
    assert_closed(&mut reader);
}

#[test]
fn sse_then_reset_ends_without_final_chunk() {
    let server = MockServer::start();
    server.enqueue(Reply::sse_then_reset(PREFIX));
    let mut reader = post(server.addr(), &hello(true));
    read_head(&mut reader).assert_sse();
    let got = read_chunked(&mut reader, usize::MAX);
    assert!(!got.complete, "the body must not end cleanly");
    assert_eq!(got.body(), PREFIX);
    assert_eq!(got.sizes().len(), 2);
    wait_until("the connection to be dropped", || {
        server.open_connections() == 0
    });
    // The server keeps serving.
    assert!(sse_exchange(server.addr(), &hello(true)).complete);
}

#[test]
fn sse_then_reset_raw_bytes_lack_terminator() {
    let server = MockServer::start();
    server.enqueue(Reply::sse_then_reset(Bytes::from_static(b"data: 1\n\n")));
    let mut reader = post(server.addr(), &hello(true));
    let mut raw = Vec::new();
    // EOF or a reset: keep what arrived.
    let _ = reader.read_to_end(&mut raw);
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200 OK\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\n9\r\ndata: 1\n\n\r\n"), "{raw:?}");
    assert!(!raw.contains("\r\n0\r\n\r\n"), "{raw:?}");
}

#[test]
fn oversized_event_small_is_one_complete_event() {
    let server = MockServer::start();
    let total = 200_000;
    server.enqueue(Reply::oversized_event(total));
    let got = sse_exchange(server.addr(), &hello(true));
    let body = got.body();
    assert_eq!(body.len() as u64, total);
    assert_eq!(server.bytes_streamed(), total);
    let sizes = got.sizes();
    assert_eq!(sizes[1..4], [64 * 1024; 3]);
    assert_eq!(sizes.len(), 6);
    let text = std::str::from_utf8(&body).unwrap();
    let data = text
        .strip_prefix("event: content_block_delta\ndata: ")
        .unwrap()
        .strip_suffix("\n\n")
        .unwrap();
    assert!(!data.contains('\n'), "one data line");
    assert!(data.starts_with(
        r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"aaaa"#
    ));
    let event: Value = serde_json::from_str(data).unwrap();
    assert!(event["delta"]["text"].as_str().unwrap().len() > 190_000);
}

#[test]
fn oversized_event_stops_when_client_disconnects() {
    const GIB: u64 = 1 << 30;
    const MIB: usize = 1 << 20;
    let server = MockServer::start();
    server.enqueue(Reply::oversized_event(GIB));
    let mut reader = post(server.addr(), &hello(true));
    read_head(&mut reader).assert_sse();
    let mut received = 0;
    while received < MIB {
        let chunk = read_chunked(&mut reader, 1);
        assert_eq!(chunk.chunks.len(), 1);
        received += chunk.chunks[0].len();
    }
    drop(reader);
    wait_until("the connection to be dropped", || {
        server.open_connections() == 0
    });
    let produced = server.bytes_streamed();
    // What the client read, plus at most what socket buffers and hyper's buffer held.
    assert!(produced >= received as u64);
    assert!(
        produced < 64 * MIB as u64,
        "kept producing: {produced} bytes"
    );
    // The connection's task (and with it the body) is gone: nothing more is produced.
    assert_eq!(server.bytes_streamed(), produced);
}

#[test]
fn trickle_streams_every_event() {
    let server = MockServer::start();
    server.enqueue(Reply::trickle("slow but steady", Duration::from_millis(2)));
    server.enqueue(Reply::trickle("not streamed", Duration::from_secs(3600)));
    let got = sse_exchange(server.addr(), &hello(true));
    let body = String::from_utf8(got.body()).unwrap();
    // message_start, content_block_start, ping, 3 deltas, content_block_stop, message_delta,
    // message_stop: one chunk each.
    assert_eq!(got.sizes().len(), 9);
    let text: String = body
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("event: content_block_delta\ndata: "))
        .map(|data| {
            let data: Value = serde_json::from_str(data).unwrap();
            data["delta"]["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, "slow but steady");
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    // Not streaming: the JSON message, without waiting.
    let mut reader = post(server.addr(), &hello(false));
    let head = read_head(&mut reader);
    assert_eq!(head.header("content-type"), Some("application/json"));
    let mut body = Vec::new();
    reader.read_to_end(&mut body).unwrap();
    let message: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(message["content"][0]["text"], "not streamed");
}

#[test]
fn chunking_default_is_per_event() {
    assert_eq!(Chunking::default(), Chunking::PerEvent);
}
