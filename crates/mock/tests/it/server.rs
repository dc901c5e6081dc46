//! End-to-end tests of the mock server over real sockets, with a tiny blocking HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use bytes::Bytes;
use claude_kit_mock::{MockServer, Reply};
use serde_json::{Value, json};

const GREETING: &str = "Hello! I am the claude-kit mock server. You said: ";

/// A parsed HTTP/1.1 response; `chunks` holds the chunks of a chunked body. Shared with the
/// other modules of this binary (`claude_code`).
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) chunks: Vec<Vec<u8>>,
}

impl Response {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Asserts an API error response and returns its message.
    fn api_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert!(
            self.body
                .starts_with(br#"{"type":"error","error":{"type":"#)
        );
        let body = self.json();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], error_type);
        assert_eq!(body["request_id"].as_str(), self.header("request-id"));
        body["error"]["message"].as_str().unwrap().to_owned()
    }
}

fn read_line(reader: &mut impl BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.ends_with("\r\n"), "truncated line {line:?}");
    line.truncate(line.len() - 2);
    line
}

/// Reads exactly one response (content-length or chunked) from `reader`.
fn read_response(reader: &mut impl BufRead) -> Response {
    let status_line = read_line(reader);
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let line = read_line(reader);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
        chunks: Vec::new(),
    };
    if response.header("transfer-encoding") == Some("chunked") {
        loop {
            let size = usize::from_str_radix(&read_line(reader), 16).unwrap();
            if size == 0 {
                assert_eq!(read_line(reader), "");
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).unwrap();
            assert_eq!(read_line(reader), "");
            response.body.extend_from_slice(&chunk);
            response.chunks.push(chunk);
        }
    } else {
        let len = response
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        response.body.resize(len, 0);
        reader.read_exact(&mut response.body).unwrap();
    }
    response
}

/// Serialises a request; `close` adds `connection: close`.
fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
    close: bool,
) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: {addr}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        out.push_str("connection: close\r\n");
    }
    out.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    out.into_bytes()
}

/// One request on a fresh connection.
fn request(
    server: &MockServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    request_to(server.addr(), method, path, headers, body)
}

/// One request to `addr` on a fresh connection (`connection: close`), read to the end.
pub(crate) fn request_to(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(&request_bytes(addr, method, path, headers, body, true))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let response = read_response(&mut reader);
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "bytes after the response: {rest:?}");
    response
}

const API_HEADERS: &[(&str, &str)] = &[
    ("anthropic-version", "2023-06-01"),
    ("content-type", "application/json"),
];

fn post_messages(server: &MockServer, body: &Value) -> Response {
    request(
        server,
        "POST",
        "/v1/messages",
        API_HEADERS,
        &body.to_string(),
    )
}

fn hello(stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 64,
        "stream": stream,
        "messages": [{"role": "user", "content": "Hi there"}],
    })
}

/// Parses an SSE body into (event name, data JSON), checking the framing of each event.
fn sse_events(response: &Response) -> Vec<(String, Value)> {
    let body = std::str::from_utf8(&response.body).unwrap();
    assert!(body.ends_with("\n\n"));
    body.trim_end_matches('\n')
        .split("\n\n")
        .map(|event| {
            let (name_line, data_line) = event.split_once('\n').unwrap();
            let name = name_line.strip_prefix("event: ").unwrap();
            // Like the real API, "type" comes first.
            let prefix = format!(r#"data: {{"type":"{name}""#);
            assert!(data_line.starts_with(&prefix), "{data_line}");
            let data: Value = serde_json::from_str(data_line.strip_prefix("data: ").unwrap())
                .expect("each data line is JSON");
            assert_eq!(data["type"], name);
            (name.to_owned(), data)
        })
        .collect()
}

#[test]
fn public_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<MockServer>();
    assert_send_sync::<claude_kit_mock::MockServerBuilder>();
    assert_send_sync::<claude_kit_mock::RecordedRequest>();
    assert_send_sync::<Reply>();
    assert_send_sync::<claude_kit_mock::Chunking>();
}

#[test]
fn create_message_json() {
    let server = MockServer::start();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    assert_eq!(server.url(), format!("http://{}", server.addr()));
    assert!(server.ca_certificate_der().is_none());
    let response = post_messages(&server, &hello(false));
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.header("request-id"), Some("req_mock_1"));
    assert!(
        response
            .body
            .starts_with(br#"{"id":"msg_mock_1","type":"message","role":"assistant""#)
    );
    let text = format!("{GREETING}Hi there");
    assert_eq!(
        response.json(),
        json!({
            "id": "msg_mock_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 2, "output_tokens": 11},
        })
    );
    let second = post_messages(&server, &hello(false));
    assert_eq!(second.header("request-id"), Some("req_mock_2"));
    assert_eq!(second.json()["id"], "msg_mock_2");
}

#[test]
fn content_blocks_and_last_user_message() {
    let server = MockServer::start();
    let body = json!({
        "model": "m",
        "max_tokens": 5,
        "messages": [
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": [{"type": "text", "text": "an answer"}]},
            {"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "question"}]},
        ],
    });
    let message = post_messages(&server, &body).json();
    assert_eq!(
        message["content"][0]["text"],
        format!("{GREETING}second question")
    );
    assert_eq!(message["usage"]["input_tokens"], 6);
}

#[test]
fn stream_message_sse() {
    let server = MockServer::start();
    let response = post_messages(&server, &hello(true));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    assert_eq!(response.header("transfer-encoding"), Some("chunked"));
    assert_eq!(response.header("request-id"), Some("req_mock_1"));
    let events = sse_events(&response);
    // Each event is its own chunk.
    assert_eq!(response.chunks.len(), events.len());
    for chunk in &response.chunks {
        let chunk = std::str::from_utf8(chunk).unwrap();
        assert!(chunk.starts_with("event: ") && chunk.ends_with("\n\n"));
        assert_eq!(chunk.matches("\n\n").count(), 1);
    }
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    let deltas = names.len() - 6;
    let mut expected = vec!["message_start", "content_block_start", "ping"];
    expected.extend(std::iter::repeat_n("content_block_delta", deltas));
    expected.extend(["content_block_stop", "message_delta", "message_stop"]);
    assert_eq!(names, expected);

    let start = &events[0].1["message"];
    assert_eq!(start["id"], "msg_mock_1");
    assert_eq!(start["model"], "claude-test");
    assert_eq!(start["content"], json!([]));
    assert_eq!(start["stop_reason"], Value::Null);
    assert_eq!(
        start["usage"],
        json!({"input_tokens": 2, "output_tokens": 1})
    );
    assert_eq!(
        events[1].1,
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    );
    let tokens: Vec<&str> = events[3..3 + deltas]
        .iter()
        .map(|(_, d)| {
            assert_eq!(d["index"], 0);
            assert_eq!(d["delta"]["type"], "text_delta");
            d["delta"]["text"].as_str().unwrap()
        })
        .collect();
    assert_eq!(&tokens[..3], ["Hello!", " I", " am"]);
    assert_eq!(tokens.concat(), format!("{GREETING}Hi there"));
    assert_eq!(
        events[3 + deltas].1,
        json!({"type": "content_block_stop", "index": 0})
    );
    assert_eq!(
        events[4 + deltas].1,
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": deltas},
        })
    );
    assert_eq!(events[5 + deltas].1, json!({"type": "message_stop"}));
}

#[test]
fn stream_with_token_delay() {
    let server = MockServer::builder()
        .token_delay(std::time::Duration::from_millis(1))
        .threads(1)
        .start()
        .unwrap();
    let response = post_messages(&server, &hello(true));
    let events = sse_events(&response);
    assert_eq!(events.last().unwrap().0, "message_stop");
}

#[test]
fn validation_errors() {
    let server = MockServer::start();
    let cases: &[(&str, &str)] = &[
        (
            "not json",
            "There was an error parsing the body of your request",
        ),
        (
            r#"{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#,
            "model: Field required",
        ),
        (
            r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#,
            "max_tokens: Field required",
        ),
        (
            r#"{"model":"m","max_tokens":-3,"messages":[{"role":"user","content":"x"}]}"#,
            "max_tokens: Input should be greater than or equal to 1",
        ),
        (
            r#"{"model":"m","max_tokens":2.5,"messages":[{"role":"user","content":"x"}]}"#,
            "max_tokens: Input should be a valid integer",
        ),
        (
            r#"{"model":"m","max_tokens":5}"#,
            "messages: Field required",
        ),
        (
            r#"{"model":"m","max_tokens":5,"messages":[]}"#,
            "messages: at least one message is required",
        ),
    ];
    for (body, message) in cases {
        let response = request(&server, "POST", "/v1/messages", API_HEADERS, body);
        let got = response.api_error(400, "invalid_request_error");
        assert!(got.starts_with(message), "{body}: {got}");
    }
    let no_version = request(
        &server,
        "POST",
        "/v1/messages",
        &[("content-type", "application/json")],
        &hello(false).to_string(),
    );
    assert_eq!(
        no_version.api_error(400, "invalid_request_error"),
        "anthropic-version: header is required"
    );
    // Rejected requests are recorded too.
    assert_eq!(server.requests().len(), cases.len() + 1);
}

#[test]
fn api_key_is_checked_before_validation() {
    let server = MockServer::builder().api_key("sk-test").start().unwrap();
    let body = hello(false).to_string();
    let post = |headers: &[(&str, &str)], body: &str| {
        let mut all = API_HEADERS.to_vec();
        all.extend_from_slice(headers);
        request(&server, "POST", "/v1/messages", &all, body)
    };
    for headers in [
        &[][..],
        &[("x-api-key", "wrong")][..],
        &[("authorization", "Bearer wrong")][..],
    ] {
        let message = post(headers, &body).api_error(401, "authentication_error");
        assert_eq!(message, "invalid x-api-key");
    }
    post(&[("x-api-key", "wrong")], "not json").api_error(401, "authentication_error");
    assert_eq!(post(&[("x-api-key", "sk-test")], &body).status, 200);
    assert_eq!(
        post(&[("authorization", "Bearer sk-test")], &body).status,
        200
    );
    post(&[("x-api-key", "sk-test")], "{}").api_error(400, "invalid_request_error");
}

#[test]
fn unknown_path_or_method_is_404() {
    let server = MockServer::start();
    for (method, path) in [
        ("POST", "/v1/models"),
        ("GET", "/v1/nothing"),
        ("GET", "/v1/messages"),
        ("POST", "/v1/complete"),
    ] {
        request(&server, method, path, API_HEADERS, "").api_error(404, "not_found_error");
    }
}

#[test]
fn scripted_replies_in_order() {
    let server = MockServer::start();
    server.enqueue(Reply::error(529, "overloaded_error", "Overloaded").header("retry-after", "3"));
    server.enqueue(Reply::json(200, json!({"custom": true})).header("x-extra", "1"));
    server.enqueue(Reply::raw(
        503,
        "text/plain",
        Bytes::from_static(b"upstream gone"),
    ));
    server.enqueue(Reply::text("Scripted  answer"));
    server.enqueue(Reply::text("Streamed answer"));

    let overloaded = post_messages(&server, &hello(false));
    assert_eq!(overloaded.api_error(529, "overloaded_error"), "Overloaded");
    assert_eq!(overloaded.header("retry-after"), Some("3"));
    assert_eq!(overloaded.header("request-id"), Some("req_mock_1"));
    assert_eq!(overloaded.json()["request_id"], "req_mock_1");

    let custom = post_messages(&server, &hello(true));
    assert_eq!(custom.status, 200);
    assert_eq!(custom.json(), json!({"custom": true}));
    assert_eq!(custom.header("x-extra"), Some("1"));

    let raw = post_messages(&server, &hello(false));
    assert_eq!(raw.status, 503);
    assert_eq!(raw.header("content-type"), Some("text/plain"));
    assert_eq!(raw.body, b"upstream gone");
    assert_eq!(raw.header("request-id"), Some("req_mock_3"));

    let text = post_messages(&server, &hello(false)).json();
    assert_eq!(text["content"][0]["text"], "Scripted  answer");
    assert_eq!(text["model"], "claude-test");
    assert_eq!(text["usage"]["output_tokens"], 2);

    let streamed = post_messages(&server, &hello(true));
    let tokens: Vec<String> = sse_events(&streamed)
        .into_iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tokens, ["Streamed", " answer"]);

    // Queue drained: the default model answers again.
    let default = post_messages(&server, &hello(false)).json();
    assert_eq!(default["content"][0]["text"], format!("{GREETING}Hi there"));
}

#[test]
fn scripted_reply_is_not_consumed_by_invalid_request() {
    let server = MockServer::start();
    server.enqueue(Reply::error(500, "api_error", "boom"));
    request(&server, "POST", "/v1/messages", API_HEADERS, "{}")
        .api_error(400, "invalid_request_error");
    post_messages(&server, &hello(false)).api_error(500, "api_error");
}

#[test]
fn requests_are_recorded() {
    let server = MockServer::start();
    let body = hello(false);
    post_messages(&server, &body);
    request(
        &server,
        "GET",
        "/v1/models?limit=2",
        &[("x-api-key", "k")],
        "",
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/v1/messages");
    assert_eq!(requests[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(requests[0].header("Content-Type"), Some("application/json"));
    assert_eq!(requests[0].json(), Some(body));
    assert_eq!(requests[1].method, "GET");
    assert_eq!(requests[1].path, "/v1/models?limit=2");
    assert_eq!(requests[1].header("x-api-key"), Some("k"));
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[1].json(), None);
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = MockServer::start();
    let stream = TcpStream::connect(server.addr()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let body = hello(false).to_string();
    for (i, stream) in [false, true, false].into_iter().enumerate() {
        let body = if stream {
            hello(true).to_string()
        } else {
            body.clone()
        };
        writer
            .write_all(&request_bytes(
                server.addr(),
                "POST",
                "/v1/messages",
                API_HEADERS,
                &body,
                false,
            ))
            .unwrap();
        let response = read_response(&mut reader);
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("request-id"),
            Some(format!("req_mock_{}", i + 1).as_str())
        );
    }
    assert_eq!(server.connection_count(), 1);
    post_messages(&server, &hello(false));
    assert_eq!(server.connection_count(), 2);
}

#[test]
fn shutdown_with_open_connections_does_not_hang() {
    let server = MockServer::start();
    let mut idle = TcpStream::connect(server.addr()).unwrap();
    // One full exchange proves the connection task is running (and kept alive)...
    idle.write_all(&request_bytes(
        server.addr(),
        "POST",
        "/v1/messages",
        API_HEADERS,
        &hello(false).to_string(),
        false,
    ))
    .unwrap();
    let mut reader = BufReader::new(idle.try_clone().unwrap());
    assert_eq!(read_response(&mut reader).status, 200);
    // ...then a request half sent: the task is waiting for the rest.
    idle.write_all(b"POST /v1/messages HTTP/1.1\r\ncontent-length: 10\r\n\r\n{")
        .unwrap();
    server.shutdown();
    let mut rest = Vec::new();
    // The server dropped the connection: EOF (or a reset), not a hang.
    let _ = reader.read_to_end(&mut rest);
}

#[test]
fn tls_round_trip() {
    use futures_lite::{AsyncReadExt, AsyncWriteExt};
    use futures_rustls::TlsConnector;
    use rustls::pki_types::{CertificateDer, ServerName};

    let server = MockServer::builder().tls(true).start().unwrap();
    assert_eq!(
        server.url(),
        format!("https://localhost:{}", server.addr().port())
    );
    let pem = server.ca_certificate_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let der = server.ca_certificate_der().unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let connector = |roots: rustls::RootCertStore| {
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        TlsConnector::from(Arc::new(config))
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(der)).unwrap();
    let trusting = connector(roots);
    let untrusting = connector(rustls::RootCertStore::empty());

    async_io::block_on(async {
        for name in ["localhost", "127.0.0.1"] {
            let tcp = async_net::TcpStream::connect(server.addr()).await.unwrap();
            let server_name = ServerName::try_from(name).unwrap().to_owned();
            let mut tls = trusting.connect(server_name, tcp).await.unwrap();
            let body = hello(false).to_string();
            tls.write_all(&request_bytes(
                server.addr(),
                "POST",
                "/v1/messages",
                API_HEADERS,
                &body,
                true,
            ))
            .await
            .unwrap();
            tls.flush().await.unwrap();
            let mut raw = Vec::new();
            // Tolerate a missing close_notify: the bytes read so far stay in `raw`.
            let _ = tls.read_to_end(&mut raw).await;
            let response = read_response(&mut raw.as_slice());
            assert_eq!(response.status, 200);
            assert_eq!(
                response.json()["content"][0]["text"],
                format!("{GREETING}Hi there")
            );
        }
        let tcp = async_net::TcpStream::connect(server.addr()).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        assert!(untrusting.connect(name, tcp).await.is_err());
    });
    assert_eq!(server.requests().len(), 2);
    assert_eq!(server.connection_count(), 3);
}

#[test]
fn binary_prints_url_first() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
        .args(["--addr", "127.0.0.1:0", "--threads", "1"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line.trim_end();
    let addr: SocketAddr = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("bad first line {line:?}"))
        .parse()
        .unwrap();
    // The server answers.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(&request_bytes(
            addr,
            "POST",
            "/v1/messages",
            API_HEADERS,
            &hello(false).to_string(),
            true,
        ))
        .unwrap();
    let response = read_response(&mut BufReader::new(stream));
    assert_eq!(response.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
}
