//! Faults selected by request headers (`x-mock-fault`, `x-mock-fail-times`) and by a server's
//! fault plan, the new fault replies, and rate limits; checked over real sockets with a blocking
//! client that reads raw bytes (so cut bodies and closed connections are visible).

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use claude_kit_mock::{Fault, FaultPlan, MockServer, Reply};
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

fn hello(stream: bool) -> String {
    json!({
        "model": "claude-test",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hi there"}],
    })
    .to_string()
}

/// Sends `POST /v1/messages` (with `connection: close` and these extra headers) on a fresh
/// connection.
fn post(addr: SocketAddr, stream: bool, headers: &[(&str, &str)]) -> BufReader<TcpStream> {
    let body = hello(stream);
    let mut request = format!(
        "POST /v1/messages HTTP/1.1\r\nhost: {addr}\r\nanthropic-version: 2023-06-01\r\n\
         content-type: application/json\r\nconnection: close\r\n"
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    BufReader::new(socket)
}

/// Everything the server sent until it closed the connection (EOF or reset).
fn read_until_closed(mut reader: BufReader<TcpStream>) -> Vec<u8> {
    let mut raw = Vec::new();
    match reader.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("connection not closed: {e} after {raw:?}"),
    }
    raw
}

/// A response as received, possibly cut short.
#[derive(Debug)]
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The chunks of a chunked body.
    chunks: Vec<Vec<u8>>,
    /// Whether the body ended as announced (final chunk, or all `content-length` bytes).
    complete: bool,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts a complete API error and returns its message.
    fn api_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert!(self.complete);
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], error_type, "{body}");
        assert_eq!(body["request_id"].as_str(), self.header("request-id"));
        body["error"]["message"].as_str().unwrap().to_owned()
    }

    /// The SSE events of a text/event-stream body: (name, data line).
    fn events(&self) -> Vec<(String, String)> {
        assert_eq!(
            self.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        let body = std::str::from_utf8(&self.body).unwrap();
        body.split_terminator("\n\n")
            .map(|event| {
                let (name, data) = event.split_once('\n').unwrap();
                let name = name.strip_prefix("event: ").unwrap().to_owned();
                (name, data.strip_prefix("data: ").unwrap().to_owned())
            })
            .collect()
    }

    fn event_names(&self) -> Vec<String> {
        self.events().into_iter().map(|(name, _)| name).collect()
    }
}

/// Finds `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses the raw bytes of one response; panics when not even the head arrived.
fn parse(raw: &[u8]) -> Raw {
    let end = find(raw, b"\r\n\r\n").unwrap_or_else(|| panic!("no head in {raw:?}"));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut response = Raw {
        status: status.parse().unwrap(),
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
        complete: false,
    };
    let mut rest = &raw[end + 4..];
    if response.header("transfer-encoding") == Some("chunked") {
        while let Some(line_end) = find(rest, b"\r\n") {
            let size = std::str::from_utf8(&rest[..line_end]).unwrap();
            let size = usize::from_str_radix(size, 16).unwrap();
            rest = &rest[line_end + 2..];
            if size == 0 {
                response.complete = rest == b"\r\n";
                break;
            }
            if rest.len() < size + 2 {
                response
                    .body
                    .extend_from_slice(&rest[..size.min(rest.len())]);
                break;
            }
            assert_eq!(&rest[size..size + 2], b"\r\n", "chunk framing");
            response.body.extend_from_slice(&rest[..size]);
            response.chunks.push(rest[..size].to_vec());
            rest = &rest[size + 2..];
        }
    } else {
        let len: usize = response.header("content-length").unwrap().parse().unwrap();
        assert!(rest.len() <= len, "bytes after the body");
        response.complete = rest.len() == len;
        response.body = rest.to_vec();
    }
    response
}

/// One exchange that ends with the server closing the connection.
fn exchange(addr: SocketAddr, stream: bool, headers: &[(&str, &str)]) -> Raw {
    parse(&read_until_closed(post(addr, stream, headers)))
}

/// A fault chosen by header.
fn faulted(server: &MockServer, stream: bool, fault: &str) -> Raw {
    exchange(server.addr(), stream, &[("x-mock-fault", fault)])
}

/// A normal, complete `200` answer.
fn assert_normal(response: &Raw, stream: bool) {
    assert_eq!(response.status, 200, "{response:?}");
    assert!(response.complete);
    if stream {
        assert_eq!(response.event_names().last().unwrap(), "message_stop");
    } else {
        assert_eq!(response.json()["type"], "message");
    }
}

/// Reads the status line and headers only.
fn read_head(reader: &mut BufReader<TcpStream>) -> Raw {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut line = Vec::new();
        assert!(
            reader.read_until(b'\n', &mut line).unwrap() > 0,
            "EOF in head"
        );
        head.extend_from_slice(&line);
    }
    // A head alone: parse it as an empty, unfinished content-length body.
    let mut raw = parse(&head);
    raw.complete = false;
    raw
}

/// Asserts that nothing arrives on `reader` for a moment (a stalled answer stays silent).
fn assert_silent(reader: &mut BufReader<TcpStream>) {
    assert!(reader.buffer().is_empty(), "{:?}", reader.buffer());
    let socket = reader.get_mut();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut byte = [0; 1];
    match socket.read(&mut byte) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected silence, got {other:?} {byte:?}"),
    }
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Fault>();
    assert_send_sync::<FaultPlan>();
}

#[test]
fn status_faults_by_header() {
    let server = MockServer::start();
    server.enqueue(Reply::text("scripted"));
    for (code, error_type) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (408, "timeout_error"),
        (409, "invalid_request_error"),
        (413, "request_too_large"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "api_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
    ] {
        for stream in [false, true] {
            let response = faulted(&server, stream, &format!("status:{code}"));
            response.api_error(code, error_type);
            assert_eq!(response.header("retry-after"), None);
            assert_eq!(response.header("anthropic-ratelimit-requests-limit"), None);
        }
    }
    // Retry headers: from the fault itself, or copied from x-mock-* headers.
    let response = faulted(&server, false, "status:529:3");
    response.api_error(529, "overloaded_error");
    assert_eq!(response.header("retry-after"), Some("3"));
    let response = exchange(
        server.addr(),
        true,
        &[
            ("x-mock-fault", "status:429"),
            ("x-mock-retry-after", "0"),
            ("x-mock-retry-after-ms", "15"),
            ("x-mock-should-retry", "false"),
        ],
    );
    assert_eq!(
        response.api_error(429, "rate_limit_error"),
        "Number of requests has exceeded your per-minute rate limit"
    );
    assert_eq!(response.header("retry-after"), Some("0"));
    assert_eq!(response.header("retry-after-ms"), Some("15"));
    assert_eq!(response.header("x-should-retry"), Some("false"));
    assert_eq!(server.faults_injected(), 28);
    assert_eq!(
        server.injected_faults()[26],
        Fault::StatusRetryAfter(529, 3)
    );
    // The scripted reply was not consumed by the faults.
    let response = exchange(server.addr(), false, &[]);
    assert_eq!(response.json()["content"][0]["text"], "scripted");
    // Validation and auth come first.
    let server = MockServer::builder().api_key("k").start().unwrap();
    faulted(&server, false, "status:529").api_error(401, "authentication_error");
    assert_eq!(server.faults_injected(), 0);
}

#[test]
fn scripted_retry_headers_are_sent() {
    let server = MockServer::start();
    server.enqueue(
        Reply::error(529, "overloaded_error", "Overloaded")
            .header("retry-after", "0")
            .header("retry-after-ms", "0")
            .header("x-should-retry", "true"),
    );
    server.enqueue(
        Reply::error(400, "invalid_request_error", "no").header("x-should-retry", "false"),
    );
    let response = exchange(server.addr(), false, &[]);
    response.api_error(529, "overloaded_error");
    assert_eq!(response.header("retry-after"), Some("0"));
    assert_eq!(response.header("retry-after-ms"), Some("0"));
    assert_eq!(response.header("x-should-retry"), Some("true"));
    let response = exchange(server.addr(), true, &[]);
    response.api_error(400, "invalid_request_error");
    assert_eq!(response.header("x-should-retry"), Some("false"));
}

#[test]
fn unknown_fault_is_400() {
    let server = MockServer::start();
    for bad in [
        "nope",
        "status:200",
        "status:abc",
        "trickle",
        "error-event:x",
    ] {
        for stream in [false, true] {
            let message = faulted(&server, stream, bad).api_error(400, "invalid_request_error");
            assert!(message.starts_with("unknown x-mock-fault"), "{message}");
            assert!(message.contains(bad), "{message}");
        }
    }
    for headers in [
        &[("x-mock-fail-times", "1")][..],
        &[("x-mock-fault", "status:500"), ("x-mock-fail-times", "1")],
        &[
            ("x-mock-fault", "status:500"),
            ("x-mock-fail-times", "x"),
            ("x-mock-key", "k"),
        ],
    ] {
        let message =
            exchange(server.addr(), false, headers).api_error(400, "invalid_request_error");
        assert!(message.starts_with("x-mock-fail-times"), "{message}");
    }
    assert_eq!(server.faults_injected(), 0);
    // Still validated like any request first.
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    let request = "POST /v1/messages HTTP/1.1\r\nhost: x\r\nanthropic-version: 2023-06-01\r\n\
                   x-mock-fault: status:529\r\nconnection: close\r\ncontent-length: 2\r\n\r\n{}";
    socket.write_all(request.as_bytes()).unwrap();
    let message =
        parse(&read_until_closed(BufReader::new(socket))).api_error(400, "invalid_request_error");
    assert_eq!(message, "model: Field required");
}

#[test]
fn reset_before_headers_sends_nothing() {
    let server = MockServer::start();
    server.enqueue(Reply::reset_before_headers().header("retry-after", "1"));
    server.enqueue(Reply::text("after the reset"));
    // Scripted, then by header for both kinds of request.
    let raw = read_until_closed(post(server.addr(), true, &[]));
    assert!(raw.is_empty(), "{raw:?}");
    for stream in [false, true] {
        let raw = read_until_closed(post(
            server.addr(),
            stream,
            &[("x-mock-fault", "reset-before-headers")],
        ));
        assert!(raw.is_empty(), "{raw:?}");
    }
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.faults_injected(), 2);
    wait_until("the connections to be dropped", || {
        server.open_connections() == 0
    });
    // The server keeps serving.
    let response = exchange(server.addr(), false, &[]);
    assert_eq!(response.json()["content"][0]["text"], "after the reset");
}

#[test]
fn reset_mid_stream_cuts_the_body() {
    let server = MockServer::start();
    let streamed = faulted(&server, true, "reset-mid-stream");
    assert_eq!(streamed.status, 200);
    assert!(!streamed.complete, "{streamed:?}");
    assert_eq!(
        streamed.event_names(),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta"
        ]
    );
    assert_eq!(streamed.chunks.len(), 4, "one chunk per event");
    let (_, delta) = &streamed.events()[3];
    let delta: Value = serde_json::from_str(delta).unwrap();
    assert_eq!(delta["delta"]["text"], "Hello!");
    // Not streaming: the JSON analogue.
    let json = faulted(&server, false, "reset-mid-stream");
    assert_json_cut(&json);
    wait_until("the connections to be dropped", || {
        server.open_connections() == 0
    });
    assert_eq!(
        server.injected_faults(),
        [Fault::ResetMidStream, Fault::ResetMidStream]
    );
}

/// A `200` JSON message announced whole by `content-length` but cut in the middle.
fn assert_json_cut(response: &Raw) {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("transfer-encoding"), None);
    let len: usize = response.header("content-length").unwrap().parse().unwrap();
    assert!(!response.complete);
    assert_eq!(response.body.len(), len / 2);
    assert!(response.body.starts_with(br#"{"id":"msg_mock_"#));
    assert!(serde_json::from_slice::<Value>(&response.body).is_err());
}

#[test]
fn json_then_reset_cuts_the_json() {
    let server = MockServer::start();
    server.enqueue(Reply::json_then_reset());
    assert_json_cut(&exchange(server.addr(), false, &[]));
    for stream in [false, true] {
        assert_json_cut(&faulted(&server, stream, "json-then-reset"));
    }
    assert_normal(&exchange(server.addr(), true, &[]), true);
}

#[test]
fn error_events() {
    let server = MockServer::start();
    let response = faulted(&server, true, "error-event:2");
    assert_eq!(response.status, 200);
    assert!(
        response.complete,
        "the stream ends normally after the error"
    );
    assert_eq!(
        response.event_names(),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "error"
        ]
    );
    let (_, error) = response.events().pop().unwrap();
    let error: Value = serde_json::from_str(&error).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert_eq!(error["error"]["message"], "Overloaded");
    // No content before the error.
    let response = faulted(&server, true, "error-event:0");
    assert_eq!(
        response.event_names(),
        ["message_start", "content_block_start", "error"]
    );
    assert_eq!(faulted(&server, true, "error-event").event_names().len(), 3);
    // More deltas than words: the words repeat.
    let response = faulted(&server, true, "error-event:30");
    assert_eq!(response.event_names().len(), 33);
    // Not streaming: the error as JSON.
    faulted(&server, false, "error-event:2").api_error(529, "overloaded_error");
    // Scripted, with any error type.
    server.enqueue(Reply::error_event_after(1, "api_error"));
    server.enqueue(Reply::error_event_after(1, "api_error"));
    let response = exchange(server.addr(), true, &[]);
    let (name, error) = response.events().pop().unwrap();
    assert_eq!(name, "error");
    assert!(error.contains(r#""type":"api_error""#), "{error}");
    assert_eq!(response.events().len(), 4);
    assert_eq!(
        exchange(server.addr(), false, &[]).api_error(500, "api_error"),
        "Internal server error"
    );
}

#[test]
fn malformed_sse() {
    let server = MockServer::start();
    let response = faulted(&server, true, "malformed-sse");
    assert_eq!(response.status, 200);
    assert!(response.complete);
    assert_eq!(response.body, b"event: message_start\ndata: {not json\n\n");
    let (_, data) = &response.events()[0];
    assert!(serde_json::from_str::<Value>(data).is_err());
    // Not streaming: garbage JSON.
    let response = faulted(&server, false, "malformed-sse");
    assert_eq!(response.status, 200);
    assert!(response.complete);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert!(serde_json::from_slice::<Value>(&response.body).is_err());
    // Scripted: SSE whatever the request.
    server.enqueue(Reply::malformed_sse());
    let response = exchange(server.addr(), false, &[]);
    assert_eq!(response.event_names(), ["message_start"]);
}

#[test]
fn wrong_content_type() {
    let server = MockServer::start();
    server.enqueue(Reply::wrong_content_type());
    let responses = [
        exchange(server.addr(), true, &[]),
        faulted(&server, false, "wrong-content-type"),
        faulted(&server, true, "wrong-content-type"),
    ];
    for response in responses {
        assert_eq!(response.status, 200);
        assert!(response.complete);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(response.body.starts_with(b"<!DOCTYPE html>"));
    }
}

#[test]
fn stall_faults() {
    let server = MockServer::start();
    // Before the headers, whatever the request.
    for stream in [false, true] {
        // Read the count before sending: the server may inject the fault before `post` returns.
        let expected = server.faults_injected() + 1;
        let mut reader = post(
            server.addr(),
            stream,
            &[("x-mock-fault", "stall-before-headers")],
        );
        wait_until("the fault", || server.faults_injected() == expected);
        assert_silent(&mut reader);
    }
    // Mid-stream: the first events, then nothing.
    let mut reader = post(server.addr(), true, &[("x-mock-fault", "stall-mid-stream")]);
    let head = read_head(&mut reader);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("transfer-encoding"), Some("chunked"));
    let mut received = String::new();
    while !received.contains("content_block_delta") {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0);
        received.push_str(&line);
    }
    // The rest of the delta event's chunk: its data line, blank line and chunk end.
    while !received.ends_with("\n\n\r\n") {
        let mut line = String::new();
        assert!(reader.read_line(&mut line).unwrap() > 0);
        received.push_str(&line);
    }
    assert!(received.contains("event: message_start\n"));
    assert_silent(&mut reader);
    // Not streaming: half a JSON body, then nothing.
    let mut json = post(
        server.addr(),
        false,
        &[("x-mock-fault", "stall-mid-stream")],
    );
    let head = read_head(&mut json);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    let len: usize = head.header("content-length").unwrap().parse().unwrap();
    let mut half = vec![0; len / 2];
    json.read_exact(&mut half).unwrap();
    assert!(half.starts_with(br#"{"id":"msg_mock_"#));
    assert_silent(&mut json);
    // Scripted too.
    server.enqueue(Reply::json_then_stall());
    let mut scripted = post(server.addr(), true, &[]);
    let head = read_head(&mut scripted);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(server.faults_injected(), 4);
    drop((reader, json, scripted));
    wait_until("the stalled connections to be dropped", || {
        server.open_connections() == 0
    });
}

#[test]
fn trickle_and_oversized_faults() {
    let server = MockServer::start();
    assert_normal(&faulted(&server, true, "trickle:1"), true);
    assert_normal(&faulted(&server, false, "trickle:1"), false);
    for stream in [true, false] {
        let mut reader = post(server.addr(), stream, &[("x-mock-fault", "oversized")]);
        let head = read_head(&mut reader);
        assert_eq!(head.status, 200);
        assert_eq!(head.header("transfer-encoding"), Some("chunked"));
        let expected = if stream {
            "text/event-stream; charset=utf-8"
        } else {
            "application/json"
        };
        assert_eq!(head.header("content-type"), Some(expected));
        let mut start = vec![0; 200];
        reader.read_exact(&mut start).unwrap();
        let start = String::from_utf8_lossy(&start);
        let prefix = if stream {
            "event: content_block_delta\ndata: "
        } else {
            r#"{"id":"msg_mock_oversized","type":"message""#
        };
        assert!(
            start.split_once("\r\n").unwrap().1.starts_with(prefix),
            "{start}"
        );
        drop(reader);
        wait_until("the connection to be dropped", || {
            server.open_connections() == 0
        });
    }
    let produced = server.bytes_streamed();
    assert!(
        produced < claude_kit_mock::OVERSIZED_FAULT_BYTES,
        "{produced}"
    );
}

#[test]
fn fail_times_then_success() {
    let server = MockServer::start();
    server.enqueue(Reply::text("scripted"));
    let headers = |key| {
        [
            ("x-mock-fault", "status:529"),
            ("x-mock-fail-times", "2"),
            ("x-mock-key", key),
            ("x-mock-retry-after", "0"),
        ]
    };
    let first = exchange(server.addr(), false, &headers("a"));
    first.api_error(529, "overloaded_error");
    assert_eq!(first.header("retry-after"), Some("0"));
    // Another key counts separately.
    exchange(server.addr(), true, &headers("b")).api_error(529, "overloaded_error");
    exchange(server.addr(), true, &headers("a")).api_error(529, "overloaded_error");
    // The third attempt succeeds, with the scripted reply, then the model.
    let third = exchange(server.addr(), false, &headers("a"));
    assert_eq!(third.json()["content"][0]["text"], "scripted");
    assert_eq!(third.header("retry-after"), None);
    assert_normal(&exchange(server.addr(), true, &headers("a")), true);
    exchange(server.addr(), false, &headers("b")).api_error(529, "overloaded_error");
    assert_normal(&exchange(server.addr(), false, &headers("b")), false);
    assert_eq!(server.faults_injected(), 4);
    // Connection faults too; zero times means never.
    let reset = [
        ("x-mock-fault", "reset-before-headers"),
        ("x-mock-fail-times", "1"),
        ("x-mock-key", "c"),
    ];
    assert!(read_until_closed(post(server.addr(), true, &reset)).is_empty());
    assert_normal(&exchange(server.addr(), true, &reset), true);
    let never = [
        ("x-mock-fault", "status:500"),
        ("x-mock-fail-times", "0"),
        ("x-mock-key", "d"),
    ];
    assert_normal(&exchange(server.addr(), false, &never), false);
    assert_eq!(server.faults_injected(), 5);
}

/// What a client observed, in short.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// An API error with this status and type (and `retry-after`).
    Error(u16, String, Option<String>),
    /// The connection closed without a byte.
    Closed,
    /// A `200` whose body was cut: (content type, body received).
    Cut(String, Vec<u8>),
    /// A `200` whose body ended normally: (content type, event names or the body).
    Whole(String, Vec<String>),
}

fn outcome(addr: SocketAddr, stream: bool, headers: &[(&str, &str)]) -> Outcome {
    let raw = read_until_closed(post(addr, stream, headers));
    if raw.is_empty() {
        return Outcome::Closed;
    }
    let response = parse(&raw);
    let content_type = response.header("content-type").unwrap().to_owned();
    if response.status != 200 {
        let body = response.json();
        let error_type = body["error"]["type"].as_str().unwrap().to_owned();
        let retry_after = response.header("retry-after").map(str::to_owned);
        return Outcome::Error(response.status, error_type, retry_after);
    }
    if !response.complete {
        // Message ids differ between servers; compare bodies without them.
        let body = String::from_utf8(response.body.clone()).unwrap();
        let body = body.replace(|c: char| c.is_ascii_digit(), "");
        return Outcome::Cut(content_type, body.into_bytes());
    }
    let parts = if content_type.starts_with("text/event-stream") {
        response.event_names()
    } else {
        vec![
            String::from_utf8(response.body.clone())
                .unwrap()
                .replace(|c: char| c.is_ascii_digit(), ""),
        ]
    };
    Outcome::Whole(content_type, parts)
}

/// Faults that answer (or close) without stalling.
fn finite_faults() -> Vec<Fault> {
    vec![
        Fault::Status(429),
        Fault::StatusRetryAfter(529, 0),
        Fault::Status(503),
        Fault::ResetBeforeHeaders,
        Fault::ResetMidStream,
        Fault::JsonThenReset,
        Fault::ErrorEvent { after_deltas: 0 },
        Fault::ErrorEvent { after_deltas: 2 },
        Fault::MalformedSse,
        Fault::WrongContentType,
        Fault::Trickle { per_chunk_ms: 0 },
    ]
}

#[test]
fn plan_faults_match_header_faults() {
    let by_header = MockServer::start();
    for fault in finite_faults() {
        let plan = FaultPlan::random(1, 1.0).with_faults(vec![fault.clone()]);
        let planned = MockServer::builder().fault_plan(plan).start().unwrap();
        for stream in [false, true] {
            let name = fault.to_string();
            let expected = outcome(by_header.addr(), stream, &[("x-mock-fault", &name)]);
            assert_eq!(
                outcome(planned.addr(), stream, &[]),
                expected,
                "{fault} stream={stream}"
            );
            // x-mock-fault: none bypasses the plan; a header fault replaces it.
            match outcome(planned.addr(), stream, &[("x-mock-fault", "none")]) {
                Outcome::Whole(_, parts) => assert!(!parts.is_empty()),
                other => panic!("{other:?}"),
            }
            let other = outcome(planned.addr(), stream, &[("x-mock-fault", "status:418")]);
            assert_eq!(
                other,
                Outcome::Error(418, "invalid_request_error".into(), None)
            );
        }
        assert_eq!(planned.faults_injected(), 4);
        assert_eq!(
            planned.injected_faults(),
            [fault.clone(), Fault::Status(418), fault, Fault::Status(418)]
        );
    }
    // Stalling faults from the plan.
    for fault in [Fault::StallBeforeHeaders, Fault::StallMidStream] {
        let plan = FaultPlan::random(1, 1.0).with_faults(vec![fault.clone()]);
        let planned = MockServer::builder().fault_plan(plan).start().unwrap();
        let mut reader = post(planned.addr(), true, &[]);
        if fault == Fault::StallMidStream {
            assert_eq!(read_head(&mut reader).status, 200);
        } else {
            wait_until("the fault", || planned.faults_injected() == 1);
            assert_silent(&mut reader);
        }
        assert_eq!(planned.injected_faults(), [fault]);
    }
}

#[test]
fn random_plan_is_deterministic_for_a_seed() {
    const REQUESTS: usize = 60;
    let run = |seed: u64| {
        let plan = FaultPlan::random(seed, 0.5);
        let expected = plan.preview(REQUESTS);
        let server = MockServer::builder().fault_plan(plan).start().unwrap();
        let mut outcomes = Vec::new();
        let mut stalled = Vec::new();
        for (i, fault) in expected.iter().enumerate() {
            let stream = i % 2 == 0;
            let injected = server.faults_injected();
            match fault {
                Some(Fault::StallBeforeHeaders | Fault::StallMidStream) => {
                    // The answer never ends: check the decision, keep the connection.
                    stalled.push(post(server.addr(), stream, &[]));
                    wait_until("the stall", || server.faults_injected() == injected + 1);
                    outcomes.push(None);
                }
                _ => outcomes.push(Some(outcome(server.addr(), stream, &[]))),
            }
        }
        let injected: Vec<Fault> = expected.iter().flatten().cloned().collect();
        assert_eq!(server.injected_faults(), injected);
        assert_eq!(server.requests().len(), REQUESTS);
        drop(stalled);
        (expected, outcomes)
    };
    let (plan_a, a) = run(11);
    let (plan_b, b) = run(11);
    assert_eq!(plan_a, plan_b);
    assert_eq!(a, b);
    let faulted = plan_a.iter().flatten().count();
    assert!((10..=50).contains(&faulted), "{faulted}");
    // Unfaulted requests are answered normally.
    for (fault, outcome) in plan_a.iter().zip(&a) {
        if fault.is_none() {
            assert!(matches!(outcome, Some(Outcome::Whole(..))), "{outcome:?}");
        }
    }
    let (plan_c, _) = run(12);
    assert_ne!(plan_a, plan_c);
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` into seconds since the epoch.
fn parse_rfc3339(value: &str) -> u64 {
    assert_eq!(value.len(), 20, "{value}");
    assert!(value.ends_with('Z') && &value[10..11] == "T", "{value}");
    let n = |range: std::ops::Range<usize>| -> i64 { value[range].parse().unwrap() };
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19)) as u64
}

const RATE_HEADERS: [&str; 12] = [
    "anthropic-ratelimit-requests-limit",
    "anthropic-ratelimit-requests-remaining",
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-limit",
    "anthropic-ratelimit-tokens-remaining",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-limit",
    "anthropic-ratelimit-input-tokens-remaining",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-limit",
    "anthropic-ratelimit-output-tokens-remaining",
    "anthropic-ratelimit-output-tokens-reset",
];

#[test]
fn rate_limit_headers_count_down_then_429() {
    let server = MockServer::builder().rate_limits(3, 1000).start().unwrap();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let responses: Vec<Raw> = (0..3)
        .map(|i| exchange(server.addr(), i == 1, &[]))
        .collect();
    let value = |r: &Raw, name: &str| -> u64 { r.header(name).unwrap().parse().unwrap() };
    for (i, response) in responses.iter().enumerate() {
        assert_normal(response, i == 1);
        for name in RATE_HEADERS {
            assert!(response.header(name).is_some(), "{name}");
        }
        assert_eq!(value(response, "anthropic-ratelimit-requests-limit"), 3);
        assert_eq!(
            value(response, "anthropic-ratelimit-requests-remaining"),
            2 - i as u64
        );
        assert_eq!(value(response, "anthropic-ratelimit-tokens-limit"), 1000);
        // Each request: 2 input words and 64 max_tokens.
        let used = 66 * (i as u64 + 1);
        assert_eq!(
            value(response, "anthropic-ratelimit-tokens-remaining"),
            1000 - used
        );
        assert_eq!(
            value(response, "anthropic-ratelimit-input-tokens-remaining"),
            1000 - 2 * (i as u64 + 1)
        );
        assert_eq!(
            value(response, "anthropic-ratelimit-output-tokens-remaining"),
            1000 - 64 * (i as u64 + 1)
        );
        let reset = response
            .header("anthropic-ratelimit-requests-reset")
            .unwrap();
        assert_eq!(
            Some(reset),
            response.header("anthropic-ratelimit-output-tokens-reset")
        );
        // A minute after the window's first request (loose upper bound: no timing).
        let reset = parse_rfc3339(reset);
        assert!(
            reset >= before + 60 && reset <= before + 120,
            "{reset} {before}"
        );
    }
    let limited = exchange(server.addr(), true, &[]);
    let message = limited.api_error(429, "rate_limit_error");
    assert!(message.contains("3 requests per minute"), "{message}");
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(value(&limited, "anthropic-ratelimit-requests-remaining"), 0);
    // Scripted replies are limited too.
    server.enqueue(Reply::text("later"));
    exchange(server.addr(), false, &[]).api_error(429, "rate_limit_error");
    assert_eq!(server.faults_injected(), 0);
}

#[test]
fn rate_limit_headers_by_default_and_not_on_faults() {
    let server = MockServer::start();
    server.enqueue(
        Reply::error(500, "api_error", "boom").header("anthropic-ratelimit-requests-limit", "7"),
    );
    let scripted = exchange(server.addr(), false, &[]);
    scripted.api_error(500, "api_error");
    // A reply's own header replaces the server's.
    assert_eq!(
        scripted.header("anthropic-ratelimit-requests-limit"),
        Some("7")
    );
    assert_eq!(
        scripted.header("anthropic-ratelimit-requests-remaining"),
        Some("999999")
    );
    let faulted = faulted(&server, false, "status:529");
    for name in RATE_HEADERS {
        assert_eq!(faulted.header(name), None);
    }
    // Faulted requests count against the budget.
    let normal = exchange(server.addr(), true, &[]);
    assert_eq!(
        normal.header("anthropic-ratelimit-requests-remaining"),
        Some("999997")
    );
    assert_eq!(
        normal.header("anthropic-ratelimit-requests-limit"),
        Some("1000000")
    );
}

#[test]
fn binary_fault_and_rate_flags() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
        .args([
            "--threads",
            "1",
            "--fault-rate",
            "1",
            "--fault-seed",
            "3",
            "--faults",
            "status:503,status:503:0",
            "--rpm",
            "2",
            "--tpm",
            "500",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("http://")
        .unwrap()
        .parse()
        .unwrap();
    let fault = exchange(addr, false, &[]);
    fault.api_error(503, "api_error");
    let normal = exchange(addr, false, &[("x-mock-fault", "none")]);
    assert_normal(&normal, false);
    assert_eq!(
        normal.header("anthropic-ratelimit-requests-remaining"),
        Some("0")
    );
    assert_eq!(
        normal.header("anthropic-ratelimit-tokens-limit"),
        Some("500")
    );
    exchange(addr, false, &[("x-mock-fault", "none")]).api_error(429, "rate_limit_error");
    child.kill().unwrap();
    child.wait().unwrap();
    for args in [
        &["--fault-rate", "2"][..],
        &["--fault-rate", "x"],
        &["--fault-rate", "0.5", "--faults", "status:200"],
        &["--faults", "oversized"],
        &["--rpm", "-1"],
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty());
    }
}
