//! The adversarial-server suite: a scripted hostile HTTP server (tests/common/hostile.rs)
//! sends broken framing, stalls, resets, redirects, malformed JSON and event streams, hostile
//! retry headers and echoes of the credentials, and every scenario asserts the client's
//! *typed* outcome and that it ends idle (nothing in flight, waiting or in use in the pool).
//!
//! Each scenario is an `async fn(Rt)` run on tokio, smol, async-std and a user thread pool.
//! Timeouts are short only where a stall is the point of the scenario; elsewhere they are
//! generous, so a starved machine still passes. No assertion is about elapsed time.

use crate::common;

use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use claude_kit::rt::with_runtime;
use claude_kit::types::ContentBlock;
use claude_kit::{
    ApiErrorKind, Client, ClientBuilder, ContentDelta, Error, ErrorOrigin, Message, MessageRequest,
    RetryPolicy, StreamEvent, TimeoutPhase,
};
use common::hostile::*;
use common::{Rt, on_all_runtimes};
use futures_util::StreamExt;

/// The API key every client of this suite sends; the servers echo it back.
const KEY: &str = "sk-ant-hostile-SECRET-0123456789abcdef";
/// The bearer token of the `auth_token` scenarios.
const TOKEN: &str = "hostile-bearer-SECRET-9876543210";
/// The short deadline of the scenarios about a stall.
const STALL: Duration = Duration::from_millis(300);
/// The backoff cap of the retry scenarios: every delay must be at most this.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

// ---------------------------------------------------------------------------------------------
// Clients and calls.

/// A client of `url` without retries and with generous deadlines.
fn builder(url: &str, rt: &Rt) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(url)
        .shared_runtime(rt.clone())
        .use_env_proxy(false)
        .max_retries(0)
        .connect_timeout(Duration::from_secs(30))
        .response_header_timeout(Duration::from_secs(60))
        .idle_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(120))
}

fn client(server: &HostileServer, rt: &Rt) -> Client {
    builder(&server.url(), rt).build().expect("client")
}

/// A client whose deadline for `phase` (response headers or idle) is [`STALL`]; the other
/// stays generous, so only the stall the scenario is about can end the call.
fn stall_client(server: &HostileServer, rt: &Rt, phase: TimeoutPhase) -> Client {
    let builder = builder(&server.url(), rt);
    match phase {
        TimeoutPhase::ResponseHeaders => builder.response_header_timeout(STALL),
        TimeoutPhase::Idle => builder.idle_timeout(STALL),
        other => panic!("no stall client for {other:?}"),
    }
    .build()
    .expect("client")
}

/// Each retry's delay and the `Debug` text of its `on_retry` event.
type Retries = Arc<Mutex<Vec<(Duration, String)>>>;

/// A client with 2 fast retries, recording each retry's delay and `Debug` text.
fn retry_client(
    server: &HostileServer,
    rt: &Rt,
    retry: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> (Client, Retries) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let policy = RetryPolicy::new()
        .max_retries(2)
        .backoff(Duration::from_millis(1), MAX_BACKOFF)
        .on_retry(move |event| {
            record
                .lock()
                .unwrap()
                .push((event.delay, format!("{event:?}")))
        });
    // A wrong delay (say a year) ends in the total deadline instead of hanging the suite.
    let builder = builder(&server.url(), rt)
        .retry_policy(policy)
        .timeout(Duration::from_secs(30));
    (retry(builder).build().expect("client"), seen)
}

fn request() -> MessageRequest {
    MessageRequest::new("hostile-model", 64).user("hello")
}

async fn create(client: &Client) -> claude_kit::Result<Message> {
    client
        .messages()
        .create(request())
        .await
        .map(|reply| reply.into_inner())
}

/// What a streaming call gave.
#[derive(Debug)]
struct Streamed {
    /// `messages().stream(..)` returned a stream (the failure, if any, came later).
    opened: bool,
    /// Every text delta, concatenated.
    text: String,
    /// The first error: opening, an item of the stream, or `final_message`.
    error: Option<Error>,
    /// The final message, when the stream ended without error.
    message: Option<Message>,
}

async fn stream_with(client: &Client, request: MessageRequest) -> Streamed {
    let mut out = Streamed {
        opened: false,
        text: String::new(),
        error: None,
        message: None,
    };
    let mut stream = match client.messages().stream(request).await {
        Ok(stream) => stream,
        Err(error) => {
            out.error = Some(error);
            return out;
        }
    };
    out.opened = true;
    while let Some(item) = stream.next().await {
        match item {
            Ok(StreamEvent::ContentBlockDelta {
                delta: ContentDelta::Text(text),
                ..
            }) => out.text.push_str(&text),
            Ok(_) => {}
            Err(error) => {
                out.error = Some(error);
                return out;
            }
        }
    }
    match stream.final_message().await {
        Ok(message) => out.message = Some(message),
        Err(error) => out.error = Some(error),
    }
    out
}

async fn stream(client: &Client) -> Streamed {
    stream_with(client, request()).await
}

/// Waits (a bounded number of polls) until the client holds nothing: background tasks may
/// need a moment to notice a closed connection.
async fn assert_idle(client: &Client, rt: &Rt) {
    for _ in 0..2000 {
        let stats = client.stats();
        if stats.in_flight == 0 && stats.waiting == 0 && stats.pool.is_some_and(|p| p.in_use == 0) {
            return;
        }
        with_runtime::sleep(&**rt, Duration::from_millis(5)).await;
    }
    panic!("the client never became idle: {:?}", client.stats());
}

// ---------------------------------------------------------------------------------------------
// Typed outcomes.

/// `text`, cut for an assertion message.
fn short(text: &str) -> String {
    if text.len() <= 600 {
        return text.to_owned();
    }
    let mut end = 600;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

#[track_caller]
fn expect_err<T: Debug>(outcome: claude_kit::Result<T>) -> Error {
    match outcome {
        Ok(value) => panic!("expected an error, got {}", short(&format!("{value:?}"))),
        Err(error) => error,
    }
}

#[track_caller]
fn expect_transport<T: Debug>(outcome: claude_kit::Result<T>) -> Error {
    let error = expect_err(outcome);
    assert!(
        matches!(error, Error::Transport { .. }),
        "expected Error::Transport, got {}",
        short(&format!("{error:?}"))
    );
    error
}

#[track_caller]
fn expect_decode<T: Debug>(outcome: claude_kit::Result<T>) -> Error {
    let error = expect_err(outcome);
    assert!(
        matches!(error, Error::Decode { .. }),
        "expected Error::Decode, got {}",
        short(&format!("{error:?}"))
    );
    error
}

#[track_caller]
fn expect_timeout<T: Debug>(outcome: claude_kit::Result<T>, phase: TimeoutPhase) {
    let error = expect_err(outcome);
    // Every stall scenario's deadline for that phase is `STALL`: the error says so.
    assert!(
        matches!(error, Error::Timeout { phase: p, after } if p == phase && after == STALL),
        "expected Error::Timeout {{ phase: {phase:?}, after: {STALL:?} }}, got {error:?}"
    );
}

#[track_caller]
fn expect_api<T: Debug>(outcome: claude_kit::Result<T>, status: u16) -> Error {
    let error = expect_err(outcome);
    assert!(
        matches!(&error, Error::Api { status: s, .. } if s.as_u16() == status),
        "expected Error::Api {{ status: {status} }}, got {}",
        short(&format!("{error:?}"))
    );
    error
}

#[track_caller]
fn expect_text(outcome: claude_kit::Result<Message>, text: &str) {
    match outcome {
        Ok(message) => assert_eq!(message.text(), text, "{message:?}"),
        Err(error) => panic!(
            "expected the reply {text:?}, got {}",
            short(&format!("{error:?}"))
        ),
    }
}

impl Streamed {
    /// The stream succeeded and its text (deltas and final message) is `text`.
    #[track_caller]
    fn expect_text(&self, text: &str) -> &Message {
        assert!(
            self.error.is_none(),
            "expected the streamed reply {text:?}, got {}",
            short(&format!("{self:?}"))
        );
        assert_eq!(self.text, text, "{self:?}");
        let message = self.message.as_ref().expect("final message");
        assert_eq!(message.text(), text, "{message:?}");
        message
    }

    #[track_caller]
    fn error(&self) -> &Error {
        self.error.as_ref().unwrap_or_else(|| {
            panic!(
                "expected the stream to fail, got {}",
                short(&format!("{self:?}"))
            )
        })
    }

    #[track_caller]
    fn expect_decode(&self) -> &Error {
        let error = self.error();
        assert!(
            matches!(error, Error::Decode { .. }),
            "expected Error::Decode, got {}",
            short(&format!("{self:?}"))
        );
        error
    }

    #[track_caller]
    fn expect_transport(&self) -> &Error {
        let error = self.error();
        assert!(
            matches!(error, Error::Transport { .. }),
            "expected Error::Transport, got {}",
            short(&format!("{self:?}"))
        );
        error
    }
}

/// The client sent `secret` to `server` (so the server echoed the real thing), and neither
/// the error's `Display` nor its `Debug` contains it.
#[track_caller]
fn assert_echoed_and_hidden(server: &HostileServer, error: &Error, secret: &str) {
    let request = server.requests().into_iter().next().expect("a request");
    if secret == KEY {
        assert_eq!(request.header("x-api-key").as_deref(), Some(KEY));
    } else {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {TOKEN}"))
        );
    }
    let display = format!("{error}");
    let debug = format!("{error:?}");
    assert!(
        !display.contains(secret),
        "the error's Display leaks the secret: {}",
        short(&display)
    );
    assert!(
        !debug.contains(secret),
        "the error's Debug leaks the secret: {}",
        short(&debug)
    );
}

/// A server whose one connection reads the request and answers `bytes`.
fn answer(bytes: impl AsRef<[u8]>) -> HostileServer {
    HostileServer::start(vec![vec![Step::ReadRequest, Step::write(bytes)]])
}

/// A server whose one connection follows `script`.
fn scripted(script: Script) -> HostileServer {
    HostileServer::start(vec![script])
}

/// The head of a `content-length` response, for bodies written in pieces.
fn head_with_length(status: u16, content_type: &str, length: usize) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} OK\r\ncontent-type: {content_type}\r\ncontent-length: {length}\r\nconnection: close\r\nrequest-id: req_hostile\r\n\r\n"
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Framing.

async fn framing_huge_header_line_is_transport_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-huge: "),
        Step::repeat([b'a'; 64 * 1024], 16),
        Step::write("\r\ncontent-length: 2\r\n\r\n{}"),
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_endless_headers_is_transport_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write("HTTP/1.1 200 OK\r\n"),
        Step::repeat("x-endless: header\r\n".repeat(1000), 4096),
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_thousands_of_headers_is_transport_error(rt: Rt) {
    let body = message_json("too many headers");
    let mut head = String::from("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n");
    for i in 0..5000 {
        head.push_str(&format!("x-h-{i}: v\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    let server = answer(head);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

fn chunked_json_with_raw_body(raw: &str) -> Vec<u8> {
    let mut bytes = chunked_head(200, "application/json");
    bytes.extend_from_slice(raw.as_bytes());
    bytes
}

async fn framing_chunk_size_not_hex_is_transport_error(rt: Rt) {
    let server = answer(chunked_json_with_raw_body("zz\r\n{}\r\n0\r\n\r\n"));
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_chunk_size_overflowing_u64_is_transport_error(rt: Rt) {
    let server = answer(chunked_json_with_raw_body(
        "fffffffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
    ));
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_chunk_size_huge_then_close_is_transport_error(rt: Rt) {
    // A chunk size hyper can represent, announcing far more than ever comes.
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(chunked_json_with_raw_body(
            "7fffffffffffffff\r\n{\"id\":\"msg",
        )),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_chunk_size_negative_is_transport_error(rt: Rt) {
    let server = answer(chunked_json_with_raw_body("-2\r\n{}\r\n0\r\n\r\n"));
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_chunked_body_cut_mid_chunk_is_transport_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(chunked_json_with_raw_body("100\r\n{\"id\":\"msg_cut")),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_content_length_with_chunked_never_uses_the_length(rt: Rt) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a client may also refuse
    // the response. Reading 5 bytes by the length would be the smuggling bug: then the JSON
    // is cut (a Decode error) and the rest of the chunked body poisons the connection.
    let body = message_json("chunked wins");
    let mut bytes = String::from(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    )
    .into_bytes();
    bytes.extend(chunk(&body));
    bytes.extend(last_chunk());
    let server = answer(bytes);
    let client = client(&server, &rt);
    match create(&client).await {
        Ok(message) => assert_eq!(message.text(), "chunked wins"),
        Err(error) => assert!(matches!(error, Error::Transport { .. }), "{error:?}"),
    }
    assert_idle(&client, &rt).await;
}

async fn framing_two_different_content_lengths_is_transport_error(rt: Rt) {
    let body = message_json("which length");
    let server = answer(format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncontent-length: {}\r\n\r\n{body}",
        body.len(),
        body.len() - 10
    ));
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_content_length_not_a_number_is_transport_error(rt: Rt) {
    let server = answer(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: twelve\r\n\r\n{}",
    );
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_body_shorter_than_content_length_then_close_is_transport_error(rt: Rt) {
    let body = message_json("cut short");
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(200, "application/json", body.len() + 1000)),
        Step::write(&body),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_stream_shorter_than_content_length_then_close_is_transport_error(rt: Rt) {
    let prefix = message_start() + &text_block_start(0) + &text_delta(0, "Hi");
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(
            200,
            "text/event-stream",
            prefix.len() + 1000,
        )),
        Step::write(&prefix),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(out.opened, "{out:?}");
    assert_eq!(out.text, "Hi");
    out.expect_transport();
    assert_idle(&client, &rt).await;
}

async fn framing_100_continue_then_200_succeeds(rt: Rt) {
    let mut bytes = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    bytes.extend(json_response(200, &message_json("after continue")));
    let server = answer(bytes);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "after continue");
    assert_idle(&client, &rt).await;
}

async fn framing_unrequested_101_switching_protocols_is_an_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n\x81\x05hello",
        ),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    let error = expect_err(create(&client).await);
    assert!(
        matches!(&error, Error::Api { status, .. } if status.as_u16() == 101)
            || matches!(error, Error::Transport { .. }),
        "an upgrade nobody asked for is an error: {error:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn framing_close_delimited_http10_body_succeeds(rt: Rt) {
    let body = message_json("HTTP/1.0 style");
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(format!(
            "HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{body}"
        )),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "HTTP/1.0 style");
    assert_idle(&client, &rt).await;
}

async fn framing_close_delimited_http11_body_succeeds(rt: Rt) {
    let body = message_json("read until close");
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{body}"
        )),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "read until close");
    assert_idle(&client, &rt).await;
}

async fn framing_close_delimited_event_stream_succeeds(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{}",
            text_stream(&["until ", "close"])
        )),
        Step::Close,
    ]);
    let client = client(&server, &rt);
    stream(&client).await.expect_text("until close");
    assert_idle(&client, &rt).await;
}

/// `data` as a gzip member with one stored (uncompressed) deflate block.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    let len = u16::try_from(data.len()).expect("one stored block");
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.push(1); // BFINAL, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

async fn framing_unrequested_gzip_json_is_decode_error(rt: Rt) {
    let body = gzip_stored(message_json("compressed").as_bytes());
    let server = answer(response(
        200,
        "application/json",
        &[("content-encoding", "gzip")],
        &body,
    ));
    let client = client(&server, &rt);
    expect_decode(create(&client).await);
    // The client asked for no compression.
    let sent = server.requests()[0].header("accept-encoding");
    assert!(
        sent.as_deref().is_none_or(|v| !v.contains("gzip")),
        "{sent:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn framing_garbage_status_line_is_transport_error(rt: Rt) {
    let server = answer("SSH-2.0-OpenSSH_9.6\r\n\r\n");
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_http2_status_line_is_transport_error(rt: Rt) {
    let server =
        answer("HTTP/2 200\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}");
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_header_line_without_colon_is_transport_error(rt: Rt) {
    let server = answer(
        "HTTP/1.1 200 OK\r\nthis is not a header\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
    );
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_nul_in_header_value_is_transport_error(rt: Rt) {
    let server = answer(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-nul: a\0b\r\ncontent-length: 2\r\n\r\n{}",
    );
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn framing_204_no_content_is_decode_error(rt: Rt) {
    let server = answer("HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
    let client = client(&server, &rt);
    expect_decode(create(&client).await);
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Connection behaviour.

async fn conn_never_reading_the_request_is_response_header_timeout(rt: Rt) {
    let server = scripted(vec![Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::ResponseHeaders);
    expect_timeout(create(&client).await, TimeoutPhase::ResponseHeaders);
    assert!(server.requests().is_empty());
    assert_idle(&client, &rt).await;
}

async fn conn_never_reading_a_huge_request_is_response_header_timeout(rt: Rt) {
    // 16 MiB of request: more than the socket buffers hold, so the client's write blocks.
    let server = scripted(vec![Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::ResponseHeaders);
    let big = MessageRequest::new("hostile-model", 64).user("x".repeat(16 << 20));
    let outcome = client.messages().create(big).await;
    expect_timeout(outcome, TimeoutPhase::ResponseHeaders);
    assert_idle(&client, &rt).await;
}

async fn conn_answer_without_reading_the_request_succeeds(rt: Rt) {
    // The request arrived (and stays unread); the answer is complete.
    let server = scripted(vec![
        Step::AwaitRequest,
        Step::write(json_response(200, &message_json("did not even listen"))),
        Step::Stall,
    ]);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "did not even listen");
    assert!(server.requests().is_empty());
    assert_idle(&client, &rt).await;
}

async fn conn_unsolicited_response_before_the_request_is_never_misread(rt: Rt) {
    // A response written the moment the connection opens may beat the request: then it
    // answers nothing, and the client refuses it (Transport). If the request went out
    // first, it is a plain reply. Either way: a typed outcome, no hang, nothing left over.
    let server = scripted(vec![
        Step::write(json_response(200, &message_json("too early"))),
        Step::Stall,
    ]);
    let client = client(&server, &rt);
    match create(&client).await {
        Ok(message) => assert_eq!(message.text(), "too early"),
        Err(error) => assert!(matches!(error, Error::Transport { .. }), "{error:?}"),
    }
    assert_idle(&client, &rt).await;
}

async fn conn_stall_before_headers_is_response_header_timeout(rt: Rt) {
    let server = scripted(vec![Step::ReadRequest, Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::ResponseHeaders);
    expect_timeout(create(&client).await, TimeoutPhase::ResponseHeaders);
    assert_eq!(server.requests().len(), 1);
    assert_idle(&client, &rt).await;
}

async fn conn_stall_inside_headers_is_response_header_timeout(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write("HTTP/1.1 200 OK\r\ncontent-type: applic"),
        Step::Stall,
    ]);
    let client = stall_client(&server, &rt, TimeoutPhase::ResponseHeaders);
    expect_timeout(create(&client).await, TimeoutPhase::ResponseHeaders);
    assert_idle(&client, &rt).await;
}

async fn conn_stall_before_headers_of_a_stream_is_response_header_timeout(rt: Rt) {
    let server = scripted(vec![Step::ReadRequest, Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::ResponseHeaders);
    let out = stream(&client).await;
    assert!(!out.opened, "{out:?}");
    assert!(
        matches!(
            out.error(),
            Error::Timeout {
                phase: TimeoutPhase::ResponseHeaders,
                ..
            }
        ),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn conn_stall_mid_body_is_idle_timeout(rt: Rt) {
    let body = message_json("never finished");
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(200, "application/json", body.len())),
        Step::write(&body[..body.len() / 2]),
        Step::Stall,
    ]);
    let client = stall_client(&server, &rt, TimeoutPhase::Idle);
    expect_timeout(create(&client).await, TimeoutPhase::Idle);
    assert_idle(&client, &rt).await;
}

async fn conn_stall_mid_stream_is_idle_timeout(rt: Rt) {
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(
        message_start() + &text_block_start(0) + &text_delta(0, "Hi"),
    ));
    let server = scripted(vec![Step::ReadRequest, Step::write(head), Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::Idle);
    let out = stream(&client).await;
    assert!(out.opened, "{out:?}");
    assert_eq!(out.text, "Hi");
    assert!(
        matches!(
            out.error(),
            Error::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn conn_stall_before_first_content_is_idle_timeout(rt: Rt) {
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(message_start() + &ping()));
    let server = scripted(vec![Step::ReadRequest, Step::write(head), Step::Stall]);
    let client = stall_client(&server, &rt, TimeoutPhase::Idle);
    let out = stream(&client).await;
    assert!(
        !out.opened,
        "a stall before content fails the call itself: {out:?}"
    );
    assert!(
        matches!(
            out.error(),
            Error::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn conn_reset_before_headers_is_transport_error(rt: Rt) {
    let server = scripted(vec![Step::ReadHead, Step::Reset]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn conn_reset_after_headers_is_transport_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadHead,
        Step::write(head_with_length(200, "application/json", 500)),
        Step::Reset,
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn conn_reset_mid_body_is_transport_error(rt: Rt) {
    let body = message_json("reset midway");
    let server = scripted(vec![
        Step::ReadHead,
        Step::write(head_with_length(200, "application/json", body.len())),
        Step::write(&body[..body.len() / 2]),
        Step::Reset,
    ]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn conn_reset_mid_stream_is_transport_error(rt: Rt) {
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(
        message_start() + &text_block_start(0) + &text_delta(0, "Hi"),
    ));
    let server = scripted(vec![Step::ReadHead, Step::write(head), Step::Reset]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    // The RST may overtake the bytes before it: then the call itself fails.
    assert!(out.text.is_empty() || out.text == "Hi", "{out:?}");
    out.expect_transport();
    assert_idle(&client, &rt).await;
}

async fn conn_close_before_headers_is_transport_error(rt: Rt) {
    let server = scripted(vec![Step::ReadRequest, Step::Close]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn conn_close_right_after_accept_is_transport_error(rt: Rt) {
    let server = scripted(vec![Step::Close]);
    let client = client(&server, &rt);
    expect_transport(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn conn_refused_is_connect_error(rt: Rt) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = builder(&format!("http://127.0.0.1:{port}"), &rt)
        .build()
        .unwrap();
    let error = expect_err(create(&client).await);
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert_idle(&client, &rt).await;
}

/// A keep-alive response (no `connection: close`).
fn keep_alive_json(text: &str) -> Vec<u8> {
    let body = message_json(text);
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

async fn conn_keep_alive_connection_is_reused(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(keep_alive_json("one")),
        Step::ReadRequest,
        Step::write(keep_alive_json("two")),
    ]);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "one");
    expect_text(create(&client).await, "two");
    assert_eq!(server.connections(), 1);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests.iter().all(|r| r.connection == 0), "{requests:?}");
    assert_idle(&client, &rt).await;
}

async fn conn_forged_extra_response_on_keep_alive_is_never_delivered(rt: Rt) {
    // The first answer is followed, in the same write, by a second complete response nobody
    // asked for. The next call must get its own answer, never the forged one.
    let mut first = keep_alive_json("first");
    first.extend(keep_alive_json("FORGED"));
    let server = HostileServer::start(vec![
        vec![
            Step::ReadRequest,
            Step::write(first),
            Step::ReadRequest,
            Step::write(json_response(200, &message_json("second"))),
        ],
        vec![
            Step::ReadRequest,
            Step::write(json_response(200, &message_json("second"))),
        ],
    ]);
    let client = client(&server, &rt);
    expect_text(create(&client).await, "first");
    expect_text(create(&client).await, "second");
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Redirects: never followed, and the key never goes to the other origin.

async fn redirect_is_not_followed(rt: Rt, status: u16, streaming: bool) {
    let other = answer(json_response(200, &message_json("LEAKED")));
    let location = format!("{}/v1/messages", other.url());
    let server = answer(response(
        status,
        "text/html",
        &[("location", &location)],
        b"<a href=elsewhere>moved</a>",
    ));
    let client = client(&server, &rt);
    let error = if streaming {
        let out = stream(&client).await;
        assert!(!out.opened, "{out:?}");
        out.error.expect("error")
    } else {
        expect_err(create(&client).await)
    };
    assert!(
        matches!(&error, Error::Api { status: s, .. } if s.as_u16() == status),
        "a {status} is the answer, not a detour: {error:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        other.connections(),
        0,
        "the redirect target was contacted (with the API key): {:?}",
        other.requests()
    );
    assert_idle(&client, &rt).await;
}

async fn redirect_301_is_not_followed(rt: Rt) {
    redirect_is_not_followed(rt, 301, false).await;
}

async fn redirect_302_is_not_followed(rt: Rt) {
    redirect_is_not_followed(rt, 302, false).await;
}

async fn redirect_307_is_not_followed(rt: Rt) {
    redirect_is_not_followed(rt, 307, false).await;
}

async fn redirect_308_is_not_followed(rt: Rt) {
    redirect_is_not_followed(rt, 308, false).await;
}

async fn redirect_307_of_a_stream_is_not_followed(rt: Rt) {
    redirect_is_not_followed(rt, 307, true).await;
}

// ---------------------------------------------------------------------------------------------
// JSON bodies of the wrong shape.

async fn json_decode_error_for(rt: Rt, body: &str) {
    let server = answer(json_response(200, body));
    let client = client(&server, &rt);
    expect_decode(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn json_body_array_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, "[1, 2, 3]").await;
}

async fn json_body_string_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, r#""just a string""#).await;
}

async fn json_body_null_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, "null").await;
}

async fn json_body_empty_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, "").await;
}

async fn json_body_missing_fields_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, r#"{"id":"msg_x","type":"message"}"#).await;
}

async fn json_body_wrong_types_is_decode_error(rt: Rt) {
    json_decode_error_for(
        rt,
        r#"{"id":5,"type":"message","role":"assistant","model":["m"],"content":"text","usage":"lots"}"#,
    )
    .await;
}

async fn json_body_trailing_garbage_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, &(message_json("fine") + "}{garbage")).await;
}

async fn json_body_deeply_nested_is_decode_error(rt: Rt) {
    json_decode_error_for(rt, &"[".repeat(100_000)).await;
}

async fn json_body_deeply_nested_content_is_decode_error(rt: Rt) {
    let body = format!(
        r#"{{"id":"msg_x","type":"message","role":"assistant","model":"m","content":{}"#,
        "[".repeat(100_000)
    );
    json_decode_error_for(rt, &body).await;
}

async fn json_error_body_deeply_nested_is_typed_api_error(rt: Rt) {
    let server = answer(json_response(400, &"[".repeat(100_000)));
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 400);
    assert_eq!(error.kind(), Some(&ApiErrorKind::InvalidRequest));
    assert!(
        format!("{error}").len() <= 1024,
        "{}",
        short(&format!("{error}"))
    );
    assert_idle(&client, &rt).await;
}

async fn json_tool_input_deeply_nested_is_decode_error(rt: Rt) {
    let events = message_start()
        + &tool_block_start(0)
        + &json_delta(0, &"[".repeat(100_000))
        + &block_stop(0)
        + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn json_tool_input_deeply_nested_in_many_deltas_is_decode_error(rt: Rt) {
    let mut events = message_start() + &tool_block_start(0);
    for _ in 0..1000 {
        events.push_str(&json_delta(0, &"[".repeat(100)));
    }
    events = events + &block_stop(0) + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_event_data_deeply_nested_is_decode_error(rt: Rt) {
    let events = message_start() + &sse("content_block_delta", &"[".repeat(100_000));
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Huge bodies.

async fn huge_json_body_over_max_response_bytes_is_decode_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(200, "application/json", 1 << 20)),
        Step::repeat([b' '; 64 * 1024], 16),
    ]);
    let client = builder(&server.url(), &rt)
        .max_response_bytes(64 << 10)
        .build()
        .unwrap();
    expect_decode(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn huge_endless_chunked_body_is_decode_error(rt: Rt) {
    let mut head = chunked_head(200, "application/json");
    head.extend(chunk("{\"id\":\""));
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head),
        Step::repeat(chunk([b'a'; 16 * 1024]), 4096), // 64 MiB, if anyone kept reading
    ]);
    let client = builder(&server.url(), &rt)
        .max_response_bytes(64 << 10)
        .build()
        .unwrap();
    expect_decode(create(&client).await);
    assert_idle(&client, &rt).await;
    assert!(
        server.bytes_written() < 48 << 20,
        "the client kept reading: {} bytes",
        server.bytes_written()
    );
}

async fn huge_close_delimited_body_over_limit_is_decode_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write("HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n"),
        Step::repeat([b' '; 64 * 1024], 1024),
    ]);
    let client = builder(&server.url(), &rt)
        .max_response_bytes(64 << 10)
        .build()
        .unwrap();
    expect_decode(create(&client).await);
    assert_idle(&client, &rt).await;
}

async fn huge_error_body_over_a_mebibyte_is_typed_api_error(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(500, "text/plain", 2 << 20)),
        Step::repeat([b'x'; 64 * 1024], 32),
    ]);
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 500);
    assert_eq!(error.kind(), Some(&ApiErrorKind::Internal));
    assert!(
        format!("{error}").len() <= 1024,
        "{}",
        short(&format!("{error}"))
    );
    assert_idle(&client, &rt).await;
}

async fn huge_event_over_max_event_size_is_decode_error(rt: Rt) {
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(
        message_start() + "event: content_block_delta\ndata: ",
    ));
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head),
        Step::repeat(chunk([b'd'; 64 * 1024]), 1024),
    ]);
    let client = builder(&server.url(), &rt)
        .max_event_size(1 << 20)
        .build()
        .unwrap();
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn huge_number_of_small_deltas_is_exact(rt: Rt) {
    let mut events = message_start() + &text_block_start(0);
    for i in 0..20_000 {
        events.push_str(&text_delta(0, &(i % 10).to_string()));
    }
    events = events + &block_stop(0) + &message_end();
    let expected: String = (0..20_000)
        .map(|i| char::from(b'0' + (i % 10) as u8))
        .collect();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text(&expected);
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Bytes inside events: invalid UTF-8, NUL, BOM, CR line ends.

async fn sse_invalid_utf8_in_text_delta_becomes_replacement_chars(rt: Rt) {
    let mut body = (message_start() + &text_block_start(0)).into_bytes();
    body.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\xFFb\xC3\"}}\n\n",
    );
    body.extend((block_stop(0) + &message_end()).into_bytes());
    let server = answer(response(200, "text/event-stream", &[], &body));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("a\u{FFFD}b\u{FFFD}");
    assert_idle(&client, &rt).await;
}

async fn sse_escaped_nul_in_text_delta_is_kept(rt: Rt) {
    let events = text_stream(&["before\0after"]);
    assert!(events.contains(r"\u0000"), "serde_json escapes NUL");
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("before\0after");
    assert_idle(&client, &rt).await;
}

async fn sse_multibyte_char_split_across_writes_is_intact(rt: Rt) {
    let delta = text_delta(0, "café");
    let split = delta.find('é').unwrap() + 1; // between the two bytes of é
    let (one, two) = delta.as_bytes().split_at(split);
    let mut first = chunked_head(200, "text/event-stream");
    let mut start = (message_start() + &text_block_start(0)).into_bytes();
    start.extend_from_slice(one);
    first.extend(chunk(start));
    let mut rest = two.to_vec();
    rest.extend((block_stop(0) + &message_end()).into_bytes());
    let mut second = chunk(rest);
    second.extend(last_chunk());
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(first),
        Step::write(second),
    ]);
    let client = client(&server, &rt);
    stream(&client).await.expect_text("café");
    assert_idle(&client, &rt).await;
}

async fn sse_id_with_nul_is_ignored_and_stream_completes(rt: Rt) {
    let events = format!("id: bad\0id\n{}", text_stream(&["nul id"]));
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("nul id");
    assert_idle(&client, &rt).await;
}

async fn sse_bom_and_crlf_line_ends_stream_fine(rt: Rt) {
    let events = format!(
        "\u{FEFF}{}",
        text_stream(&["cr", "lf"]).replace('\n', "\r\n")
    );
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("crlf");
    assert_idle(&client, &rt).await;
}

async fn sse_bare_cr_line_ends_stream_fine(rt: Rt) {
    let events = text_stream(&["only ", "cr"]).replace('\n', "\r");
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("only cr");
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Event-stream edge cases.

async fn sse_only_pings_then_end_of_body_is_decode_error(rt: Rt) {
    let server = answer(sse_response(&ping().repeat(50)));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(out.text.is_empty());
    let error = out.expect_decode();
    assert!(format!("{error}").contains("message_start"), "{error}");
    assert_idle(&client, &rt).await;
}

async fn sse_empty_body_is_decode_error(rt: Rt) {
    let server = answer(sse_response(""));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_duplicate_message_start_is_decode_error(rt: Rt) {
    let events = message_start() + &message_start_with_id("msg_second") + &text_block_start(0);
    let server = answer(sse_response(
        &(events + &text_delta(0, "x") + &message_end()),
    ));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_delta_for_block_never_started_is_decode_error(rt: Rt) {
    let events = message_start() + &text_delta(0, "orphan") + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(out.text.is_empty(), "{out:?}");
    out.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_delta_index_far_beyond_is_decode_error(rt: Rt) {
    let events =
        message_start() + &text_block_start(0) + &text_delta(100_000_000, "far") + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_block_start_index_is_decode_error(rt: Rt, index: u64) {
    let events =
        message_start() + &text_block_start(index) + &text_delta(index, "x") + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(out.text.is_empty(), "{out:?}");
    out.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_block_index_far_beyond_1e8_is_decode_error(rt: Rt) {
    sse_block_start_index_is_decode_error(rt, 100_000_000).await;
}

async fn sse_block_index_2_pow_32_is_decode_error(rt: Rt) {
    sse_block_start_index_is_decode_error(rt, 1 << 32).await;
}

async fn sse_block_index_u64_max_minus_1_is_decode_error(rt: Rt) {
    sse_block_start_index_is_decode_error(rt, u64::MAX - 1).await;
}

async fn sse_block_index_skipping_ahead_is_decode_error(rt: Rt) {
    // Index 3 when the next block is 0: beyond the next index.
    sse_block_start_index_is_decode_error(rt, 3).await;
}

async fn sse_events_after_stop_are_ignored(rt: Rt, trailing: &str) {
    let clean = text_stream(&["Hello", " world"]);
    let server = HostileServer::start(vec![
        vec![Step::ReadRequest, Step::write(sse_response(&clean))],
        vec![
            Step::ReadRequest,
            Step::write(sse_response(&(clean.clone() + trailing))),
        ],
    ]);
    let client = client(&server, &rt);
    let reference = stream(&client).await;
    let expected = reference.expect_text("Hello world").clone();
    let out = stream(&client).await;
    assert!(
        out.error.is_none(),
        "events after message_stop failed a complete message: {out:?}"
    );
    assert_eq!(out.text, "Hello world", "{out:?}");
    assert_eq!(
        out.message.as_ref(),
        Some(&expected),
        "events after message_stop changed the message"
    );
    assert_idle(&client, &rt).await;
}

async fn sse_trailing_message_start_after_stop_is_ignored(rt: Rt) {
    sse_events_after_stop_are_ignored(rt, &message_start_with_id("msg_trailing")).await;
}

async fn sse_trailing_delta_after_stop_is_ignored(rt: Rt) {
    sse_events_after_stop_are_ignored(rt, &(text_delta(0, " EXTRA") + &text_delta(7, "?"))).await;
}

async fn sse_trailing_garbage_event_after_stop_is_ignored(rt: Rt) {
    sse_events_after_stop_are_ignored(rt, &sse("content_block_delta", "{not json")).await;
}

async fn sse_huge_id_line_stream_completes(rt: Rt) {
    let events = text_stream(&["big ", "id"]);
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(
            200,
            "text/event-stream",
            4 + (4 << 20) + 1 + events.len(),
        )),
        Step::write("id: "),
        Step::repeat([b'i'; 64 * 1024], 64),
        Step::write(format!("\n{events}")),
    ]);
    let client = client(&server, &rt);
    stream(&client).await.expect_text("big id");
    assert_idle(&client, &rt).await;
}

async fn sse_huge_event_name_stream_completes(rt: Rt) {
    let events = format!(
        "\ndata: {{\"type\":\"ping\"}}\n\n{}",
        text_stream(&["big ", "name"])
    );
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head_with_length(
            200,
            "text/event-stream",
            7 + (4 << 20) + events.len(),
        )),
        Step::write("event: "),
        Step::repeat([b'e'; 64 * 1024], 64),
        Step::write(&events),
    ]);
    let client = client(&server, &rt);
    stream(&client).await.expect_text("big name");
    assert_idle(&client, &rt).await;
}

async fn sse_content_type_is_case_insensitive(rt: Rt) {
    let server = answer(response(
        200,
        "Text/Event-Stream; Charset=UTF-8",
        &[],
        text_stream(&["media types ", "ignore case"]).as_bytes(),
    ));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("media types ignore case");
    assert_idle(&client, &rt).await;
}

async fn sse_wrong_content_type_is_decode_error(rt: Rt) {
    let server = answer(json_response(200, &message_json("not a stream")));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(!out.opened, "{out:?}");
    out.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_missing_content_type_is_decode_error(rt: Rt) {
    let events = text_stream(&["no type"]);
    let server = answer(format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{events}",
        events.len()
    ));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(!out.opened, "{out:?}");
    out.expect_decode();
    assert_idle(&client, &rt).await;
}

async fn sse_error_event_before_content_is_api_error(rt: Rt) {
    let events = message_start() + &error_event("overloaded_error", "Overloaded");
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(!out.opened, "{out:?}");
    assert!(
        matches!(out.error(), Error::Api { status, kind: ApiErrorKind::Overloaded, message, origin: ErrorOrigin::Stream, .. }
            if status.as_u16() == 200 && message == "Overloaded"),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn sse_error_event_after_content_is_api_error_after_text(rt: Rt) {
    let events = message_start()
        + &text_block_start(0)
        + &text_delta(0, "Partial ")
        + &text_delta(0, "answer")
        + &error_event("api_error", "Internal");
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert!(out.opened, "{out:?}");
    assert_eq!(out.text, "Partial answer");
    assert!(
        matches!(out.error(), Error::Api { kind: ApiErrorKind::Internal, message, .. } if message == "Internal"),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn sse_error_event_with_garbage_data_is_api_error(rt: Rt) {
    let events = message_start()
        + &text_block_start(0)
        + &text_delta(0, "x")
        + &sse("error", "<html>oops</html>");
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    assert_eq!(out.text, "x");
    assert!(
        matches!(out.error(), Error::Api { status, .. } if status.as_u16() == 200),
        "{out:?}"
    );
    assert_idle(&client, &rt).await;
}

async fn sse_unnamed_and_unknown_events_are_skipped(rt: Rt) {
    let events = message_start()
        + &text_block_start(0)
        + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"UNNAMED\"}}\n\n"
        + &sse("brand_new_event", r#"{"type":"brand_new_event","x":1}"#)
        + &text_delta(0, "kept")
        + &block_stop(0)
        + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("kept");
    assert_idle(&client, &rt).await;
}

async fn sse_comments_and_unknown_fields_are_ignored(rt: Rt) {
    let events = text_stream(&["a", "b"]).replace(
        "event: content_block_delta\n",
        ": comment\nretry: 10\nfoo: bar\nevent: content_block_delta\n",
    );
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    stream(&client).await.expect_text("ab");
    assert_idle(&client, &rt).await;
}

async fn sse_body_held_open_after_message_stop_still_completes(rt: Rt) {
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(text_stream(&["done ", "anyway"])));
    let server = scripted(vec![Step::ReadRequest, Step::write(head), Step::Stall]);
    let client = client(&server, &rt);
    stream(&client).await.expect_text("done anyway");
    assert_idle(&client, &rt).await;
}

async fn sse_endless_body_after_message_stop_is_cut_off(rt: Rt) {
    // After `message_stop` a server keeps sending events forever: the message is final, the
    // rest is discarded (never applied), and the client stops reading after a bounded drain.
    let mut head = chunked_head(200, "text/event-stream");
    head.extend(chunk(text_stream(&["final ", "answer"])));
    let trailing = chunk(text_delta(0, " NOT PART OF IT") + &message_start());
    let server = scripted(vec![
        Step::ReadRequest,
        Step::write(head),
        Step::repeat(trailing, 1_000_000),
    ]);
    let client = client(&server, &rt);
    let message = stream(&client).await.expect_text("final answer").clone();
    assert_eq!(message.text(), "final answer");
    assert_idle(&client, &rt).await;
}

async fn sse_many_unknown_events_before_content_are_all_delivered(rt: Rt) {
    // More metadata before the first content than the stream holds back: it is handed out
    // early (not buffered without end), and no event is lost.
    let mut events = message_start();
    for i in 0..300 {
        events += &sse(
            "future_event",
            &format!(r#"{{"type":"future_event","n":{i}}}"#),
        );
        events += &ping();
    }
    events += &text_block_start(0);
    events += &text_delta(0, "after the metadata");
    events += &block_stop(0);
    events += &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let mut stream = client.messages().stream(request()).await.expect("stream");
    let mut unknown = Vec::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::Unknown(raw) = event.expect("event") {
            unknown.push(raw["n"].as_u64().unwrap());
        }
    }
    assert_eq!(unknown, (0..300).collect::<Vec<_>>());
    assert_eq!(stream.final_text().await.unwrap(), "after the metadata");
    assert_idle(&client, &rt).await;
}

/// A models listing served by `pages` (one connection each, closed after the answer).
fn listing(pages: &[&str]) -> HostileServer {
    HostileServer::start(
        pages
            .iter()
            .map(|page| vec![Step::ReadRequest, Step::write(json_response(200, page))])
            .collect(),
    )
}

async fn pagination_with_a_repeated_cursor_ends_with_decode_error(rt: Rt) {
    let page =
        r#"{"data":[{"id":"m1","type":"model"}],"has_more":true,"first_id":"m1","last_id":"m1"}"#;
    let server = listing(&[page, page, page, page]);
    let client = client(&server, &rt);
    let items: Vec<_> = client.models().list().collect().await;
    let ids: Vec<&str> = items
        .iter()
        .filter_map(|item| item.as_ref().ok())
        .map(|model| model.id.as_str())
        .collect();
    // Both pages' items are delivered, then the error: nothing received is lost.
    assert_eq!(ids, ["m1", "m1"], "{items:?}");
    assert!(
        matches!(items.last(), Some(Err(Error::Decode { message, .. })) if message.contains("does not advance")),
        "{items:?}"
    );
    assert_eq!(server.requests().len(), 2);
    assert_idle(&client, &rt).await;
}

async fn pagination_with_endless_empty_pages_ends_with_decode_error(rt: Rt) {
    let pages: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"data":[],"has_more":true,"last_id":"cursor-{i}"}}"#))
        .collect();
    let pages: Vec<&str> = pages.iter().map(String::as_str).collect();
    let server = listing(&pages);
    let client = client(&server, &rt);
    let items: Vec<_> = client.models().list().collect().await;
    assert!(
        matches!(&items[..], [Err(Error::Decode { message, .. })] if message.contains("empty pages")),
        "{items:?}"
    );
    assert!(server.requests().len() < 20, "{}", server.requests().len());
    assert_idle(&client, &rt).await;
}

async fn pagination_cursor_is_sent_encoded(rt: Rt) {
    let first =
        r#"{"data":[{"id":"m1","type":"model"}],"has_more":true,"last_id":"a&limit=1 b/c?d"}"#;
    let last = r#"{"data":[{"id":"m2","type":"model"}],"has_more":false,"last_id":"m2"}"#;
    let server = listing(&[first, last]);
    let client = client(&server, &rt);
    let items: Vec<_> = client.models().list().collect().await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert!(items.iter().all(Result::is_ok), "{items:?}");
    let second = server.requests()[1].request_line();
    assert!(
        second.contains("/v1/models?after_id=a%26limit%3D1%20b%2Fc%3Fd "),
        "{second}"
    );
    assert_idle(&client, &rt).await;
}

async fn sse_tool_input_streams_into_the_final_message(rt: Rt) {
    // Control: a well-formed tool call through the hostile server is exact.
    let events = message_start()
        + &tool_block_start(0)
        + &json_delta(0, r#"{"path": "a"#)
        + &json_delta(0, r#".txt", "n": [1, 2]}"#)
        + &block_stop(0)
        + &message_end();
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let message = out.message.as_ref().unwrap_or_else(|| panic!("{out:?}"));
    match &message.content[..] {
        [ContentBlock::ToolUse(tool)] => {
            assert_eq!(
                tool.input,
                serde_json::json!({"path": "a.txt", "n": [1, 2]})
            )
        }
        other => panic!("{other:?}"),
    }
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Retry headers: hostile values fall back to the backoff; exactly max_retries + 1 attempts.

async fn retries_with_backoff(rt: Rt, status: u16, headers: &[(&str, &str)]) -> Error {
    let reply = response(
        status,
        "application/json",
        headers,
        error_body("overloaded_error", "try again").as_bytes(),
    );
    let server = HostileServer::repeat(vec![Step::ReadRequest, Step::write(reply)], 3);
    let (client, seen) = retry_client(&server, &rt, |b| b);
    let error = expect_api(create(&client).await, status);
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "max_retries + 1 attempts: {requests:?}");
    let counts: Vec<_> = requests
        .iter()
        .map(|r| r.header("x-stainless-retry-count"))
        .collect();
    assert_eq!(
        counts,
        [Some("0".into()), Some("1".into()), Some("2".into())]
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (delay, event) in &seen {
        assert!(
            *delay <= MAX_BACKOFF,
            "{headers:?} must fall back to the backoff (at most {MAX_BACKOFF:?}), got {delay:?}: {event}"
        );
        assert!(*delay <= Duration::from_secs(60));
    }
    assert_idle(&client, &rt).await;
    error
}

async fn retry_after_negative_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "-5")]).await;
}

async fn retry_after_garbage_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "soon-ish, maybe")]).await;
}

async fn retry_after_a_year_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "31536000")]).await;
}

async fn retry_after_nan_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "NaN")]).await;
}

async fn retry_after_http_date_in_the_past_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]).await;
}

async fn retry_after_http_date_far_in_the_future_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after", "Fri, 01 Jan 2100 00:00:00 GMT")]).await;
}

async fn retry_after_ms_negative_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after-ms", "-1")]).await;
}

async fn retry_after_ms_a_year_uses_backoff(rt: Rt) {
    retries_with_backoff(rt, 529, &[("retry-after-ms", "31536000000")]).await;
}

async fn retry_after_ms_infinite_uses_backoff(rt: Rt) {
    retries_with_backoff(
        rt,
        529,
        &[("retry-after-ms", "1e999"), ("retry-after", "inf")],
    )
    .await;
}

async fn x_should_retry_true_on_400_retries_exactly_max_times(rt: Rt) {
    let error = retries_with_backoff(rt, 400, &[("x-should-retry", "true")]).await;
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
}

async fn x_should_retry_false_on_529_is_not_retried(rt: Rt) {
    let reply = response(
        529,
        "application/json",
        &[("x-should-retry", "false")],
        error_body("overloaded_error", "do not").as_bytes(),
    );
    let server = HostileServer::repeat(vec![Step::ReadRequest, Step::write(reply)], 3);
    let (client, seen) = retry_client(&server, &rt, |b| b);
    let error = expect_api(create(&client).await, 529);
    assert_eq!(error.kind(), Some(&ApiErrorKind::Overloaded));
    assert_eq!(server.requests().len(), 1);
    assert!(seen.lock().unwrap().is_empty());
    assert_idle(&client, &rt).await;
}

// ---------------------------------------------------------------------------------------------
// Secrets: whatever the server echoes, the key and the token never appear in error text.

/// The `x-api-key` the server received, to echo back (`assert_hides` checks that it was the
/// real key).
fn echoed_key(request: &Received) -> String {
    request.header("x-api-key").unwrap_or_default()
}

/// The `authorization` header the server received, to echo back.
fn echoed_token(request: &Received) -> String {
    request.header("authorization").unwrap_or_default()
}

async fn secret_key_echoed_in_error_message_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            error_response(
                401,
                "authentication_error",
                &format!("invalid x-api-key: {}", echoed_key(r)),
            )
        }),
    ]);
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 401);
    assert_eq!(error.kind(), Some(&ApiErrorKind::Authentication));
    assert_echoed_and_hidden(&server, &error, KEY);
    assert!(format!("{error}").contains("<redacted>"), "{error}");
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_non_json_error_body_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let body = format!("<html><h1>401</h1>bad key {}</html>", echoed_key(r));
            response(401, "text/html", &[], body.as_bytes())
        }),
    ]);
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 401);
    assert_echoed_and_hidden(&server, &error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_as_error_type_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| error_response(403, &echoed_key(r), "forbidden")),
    ]);
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 403);
    assert_echoed_and_hidden(&server, &error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_sse_error_event_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let events = message_start()
                + &text_block_start(0)
                + &text_delta(0, "x")
                + &error_event(
                    "authentication_error",
                    &format!("key {} revoked", echoed_key(r)),
                );
            sse_response(&events)
        }),
    ]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let error = out.error();
    assert!(
        matches!(
            error,
            Error::Api {
                kind: ApiErrorKind::Authentication,
                ..
            }
        ),
        "{error:?}"
    );
    assert_echoed_and_hidden(&server, error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_invalid_tool_input_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let events = message_start()
                + &tool_block_start(0)
                + &json_delta(0, &format!("{{\"key\": {}", echoed_key(r)))
                + &block_stop(0)
                + &message_end();
            sse_response(&events)
        }),
    ]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let error = out.expect_decode();
    assert_echoed_and_hidden(&server, error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_as_sse_event_name_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let events = message_start() + &sse(&echoed_key(r), "{not json");
            sse_response(&events)
        }),
    ]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let error = out.expect_decode();
    assert_echoed_and_hidden(&server, error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_content_type_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            response(
                200,
                &format!("text/html; key={}", echoed_key(r)),
                &[],
                text_stream(&["x"]).as_bytes(),
            )
        }),
    ]);
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let error = out.expect_decode();
    assert_echoed_and_hidden(&server, error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_an_unknown_enum_value_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let body =
                message_json("x").replace("\"assistant\"", &format!("\"{}\"", echoed_key(r)));
            json_response(200, &body)
        }),
    ]);
    let client = client(&server, &rt);
    let error = expect_decode(create(&client).await);
    assert_echoed_and_hidden(&server, &error, KEY);
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_in_response_headers_is_redacted(rt: Rt) {
    let script = vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let key = echoed_key(r);
            response(
                529,
                "application/json",
                &[
                    ("x-echo-api-key", &key),
                    ("www-authenticate", &format!("Key {key}")),
                ],
                error_body("overloaded_error", "busy").as_bytes(),
            )
        }),
    ];
    let server = HostileServer::repeat(script, 3);
    let (client, seen) = retry_client(&server, &rt, |b| b);
    let error = expect_api(create(&client).await, 529);
    assert_echoed_and_hidden(&server, &error, KEY);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for (_, event) in &seen {
        assert!(
            !event.contains(KEY),
            "the on_retry event leaks the key: {event}"
        );
    }
    assert_idle(&client, &rt).await;
}

async fn secret_key_echoed_as_request_id_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let body = error_body("invalid_request_error", "nope");
            let head = format!(
                "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nrequest-id: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                echoed_key(r),
                body.len()
            );
            (head + &body).into_bytes()
        }),
    ]);
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 400);
    assert_echoed_and_hidden(&server, &error, KEY);
    assert_idle(&client, &rt).await;
}

fn token_client(server: &HostileServer, rt: &Rt) -> Client {
    Client::builder()
        .auth_token(TOKEN)
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .use_env_proxy(false)
        .max_retries(0)
        .response_header_timeout(Duration::from_secs(60))
        .idle_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

async fn secret_token_echoed_in_error_message_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            error_response(
                401,
                "authentication_error",
                &format!("bad authorization: {}", echoed_token(r)),
            )
        }),
    ]);
    let client = token_client(&server, &rt);
    let error = expect_api(create(&client).await, 401);
    assert_echoed_and_hidden(&server, &error, TOKEN);
    assert!(format!("{error}").contains("<redacted>"), "{error}");
    assert_idle(&client, &rt).await;
}

async fn secret_token_echoed_in_sse_error_event_is_redacted(rt: Rt) {
    let server = scripted(vec![
        Step::ReadRequest,
        Step::respond(|r| {
            let events = message_start()
                + &error_event("permission_error", &format!("{} may not", echoed_token(r)));
            sse_response(&events)
        }),
    ]);
    let client = token_client(&server, &rt);
    let out = stream(&client).await;
    assert_echoed_and_hidden(&server, out.error(), TOKEN);
    assert_idle(&client, &rt).await;
}

/// A successful reply keeps its headers (`Response::headers`, `MessageStream::headers`): a
/// value that echoes the key is there for code that reads it, and hidden from every `Debug`.
async fn secret_key_echoed_in_kept_headers_is_hidden(rt: Rt) {
    /// One connection (`response` closes it): a request, then a 200 with `body` and a header
    /// that echoes the key.
    fn echoing(content_type: &'static str, body: String) -> Script {
        vec![
            Step::ReadRequest,
            Step::respond(move |r| {
                let key = echoed_key(r);
                response(
                    200,
                    content_type,
                    &[("x-echo-api-key", &key)],
                    body.as_bytes(),
                )
            }),
        ]
    }
    let script = echoing("application/json", message_json("kept"));
    let streamed = echoing("text/event-stream", text_stream(&["streamed"]));
    let server = HostileServer::start(vec![script, streamed]);
    let client = client(&server, &rt);

    let reply = client.messages().create(request()).await.expect("a reply");
    assert_eq!(reply.request_id(), Some("req_hostile"));
    assert_eq!(reply.headers()["x-echo-api-key"], KEY, "the value is kept");
    assert!(reply.headers()["x-echo-api-key"].is_sensitive());
    assert!(!reply.headers()["request-id"].is_sensitive());
    for shown in [format!("{reply:?}"), format!("{:?}", reply.headers())] {
        assert!(
            !shown.contains(KEY),
            "a reply's Debug leaks the key: {}",
            short(&shown)
        );
        assert!(shown.contains("req_hostile"), "{}", short(&shown));
    }

    let stream = client.messages().stream(request()).await.expect("a stream");
    assert_eq!(stream.request_id(), Some("req_hostile"));
    assert_eq!(stream.headers()["x-echo-api-key"], KEY);
    let shown = format!("{stream:?} {:?}", stream.meta());
    assert!(
        !shown.contains(KEY),
        "a stream's Debug leaks the key: {}",
        short(&shown)
    );
    assert_eq!(stream.final_text().await.expect("the text"), "streamed");
    assert_idle(&client, &rt).await;
}

async fn secret_token_echoed_in_response_headers_is_redacted(rt: Rt) {
    let script: Script = vec![
        Step::ReadRequest,
        Step::respond(|r| {
            response(
                503,
                "text/plain",
                &[("x-echo-authorization", &echoed_token(r))],
                format!("upstream rejected {}", echoed_token(r)).as_bytes(),
            )
        }),
    ];
    let server = HostileServer::repeat(script, 3);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let client = Client::builder()
        .auth_token(TOKEN)
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .use_env_proxy(false)
        .retry_policy(
            RetryPolicy::new()
                .max_retries(2)
                .backoff(Duration::from_millis(1), MAX_BACKOFF)
                .on_retry(move |event| record.lock().unwrap().push(format!("{event:?}"))),
        )
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let error = expect_api(create(&client).await, 503);
    assert_echoed_and_hidden(&server, &error, TOKEN);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    for event in &seen {
        assert!(
            !event.contains(TOKEN),
            "the on_retry event leaks the token: {event}"
        );
    }
    assert_idle(&client, &rt).await;
}

async fn secret_huge_error_message_is_bounded(rt: Rt) {
    let message = "m".repeat(900 << 10);
    let server = answer(error_response(500, "api_error", &message));
    let client = client(&server, &rt);
    let error = expect_api(create(&client).await, 500);
    let display = format!("{error}");
    assert!(
        display.len() <= 1024,
        "Display of {} bytes: {}",
        display.len(),
        short(&display)
    );
    let debug = format!("{error:?}");
    assert!(
        debug.len() <= 2048,
        "Debug of {} bytes: {}",
        debug.len(),
        short(&debug)
    );
    if let Error::Api { message, .. } = &error {
        assert!(
            message.chars().count() <= 513,
            "message of {} chars",
            message.chars().count()
        );
    }
    assert_idle(&client, &rt).await;
}

async fn secret_huge_error_event_message_is_bounded(rt: Rt) {
    let events = message_start() + &error_event("overloaded_error", &"m".repeat(900 << 10));
    let server = answer(sse_response(&events));
    let client = client(&server, &rt);
    let out = stream(&client).await;
    let display = format!("{}", out.error());
    assert!(
        display.len() <= 1024,
        "Display of {} bytes: {}",
        display.len(),
        short(&display)
    );
    assert_idle(&client, &rt).await;
}

on_all_runtimes!(
    // framing
    framing_huge_header_line_is_transport_error,
    framing_endless_headers_is_transport_error,
    framing_thousands_of_headers_is_transport_error,
    framing_chunk_size_not_hex_is_transport_error,
    framing_chunk_size_overflowing_u64_is_transport_error,
    framing_chunk_size_huge_then_close_is_transport_error,
    framing_chunk_size_negative_is_transport_error,
    framing_chunked_body_cut_mid_chunk_is_transport_error,
    framing_content_length_with_chunked_never_uses_the_length,
    framing_two_different_content_lengths_is_transport_error,
    framing_content_length_not_a_number_is_transport_error,
    framing_body_shorter_than_content_length_then_close_is_transport_error,
    framing_stream_shorter_than_content_length_then_close_is_transport_error,
    framing_100_continue_then_200_succeeds,
    framing_unrequested_101_switching_protocols_is_an_error,
    framing_close_delimited_http10_body_succeeds,
    framing_close_delimited_http11_body_succeeds,
    framing_close_delimited_event_stream_succeeds,
    framing_unrequested_gzip_json_is_decode_error,
    framing_garbage_status_line_is_transport_error,
    framing_http2_status_line_is_transport_error,
    framing_header_line_without_colon_is_transport_error,
    framing_nul_in_header_value_is_transport_error,
    framing_204_no_content_is_decode_error,
    // connection behaviour
    conn_never_reading_the_request_is_response_header_timeout,
    conn_never_reading_a_huge_request_is_response_header_timeout,
    conn_answer_without_reading_the_request_succeeds,
    conn_unsolicited_response_before_the_request_is_never_misread,
    conn_stall_before_headers_is_response_header_timeout,
    conn_stall_inside_headers_is_response_header_timeout,
    conn_stall_before_headers_of_a_stream_is_response_header_timeout,
    conn_stall_mid_body_is_idle_timeout,
    conn_stall_mid_stream_is_idle_timeout,
    conn_stall_before_first_content_is_idle_timeout,
    conn_reset_before_headers_is_transport_error,
    conn_reset_after_headers_is_transport_error,
    conn_reset_mid_body_is_transport_error,
    conn_reset_mid_stream_is_transport_error,
    conn_close_before_headers_is_transport_error,
    conn_close_right_after_accept_is_transport_error,
    conn_refused_is_connect_error,
    conn_keep_alive_connection_is_reused,
    conn_forged_extra_response_on_keep_alive_is_never_delivered,
    // redirects
    redirect_301_is_not_followed,
    redirect_302_is_not_followed,
    redirect_307_is_not_followed,
    redirect_308_is_not_followed,
    redirect_307_of_a_stream_is_not_followed,
    // JSON shapes and nesting
    json_body_array_is_decode_error,
    json_body_string_is_decode_error,
    json_body_null_is_decode_error,
    json_body_empty_is_decode_error,
    json_body_missing_fields_is_decode_error,
    json_body_wrong_types_is_decode_error,
    json_body_trailing_garbage_is_decode_error,
    json_body_deeply_nested_is_decode_error,
    json_body_deeply_nested_content_is_decode_error,
    json_error_body_deeply_nested_is_typed_api_error,
    json_tool_input_deeply_nested_is_decode_error,
    json_tool_input_deeply_nested_in_many_deltas_is_decode_error,
    sse_event_data_deeply_nested_is_decode_error,
    // huge bodies
    huge_json_body_over_max_response_bytes_is_decode_error,
    huge_endless_chunked_body_is_decode_error,
    huge_close_delimited_body_over_limit_is_decode_error,
    huge_error_body_over_a_mebibyte_is_typed_api_error,
    huge_event_over_max_event_size_is_decode_error,
    huge_number_of_small_deltas_is_exact,
    // bytes inside events
    sse_invalid_utf8_in_text_delta_becomes_replacement_chars,
    sse_escaped_nul_in_text_delta_is_kept,
    sse_multibyte_char_split_across_writes_is_intact,
    sse_id_with_nul_is_ignored_and_stream_completes,
    sse_bom_and_crlf_line_ends_stream_fine,
    sse_bare_cr_line_ends_stream_fine,
    // event-stream edge cases
    sse_only_pings_then_end_of_body_is_decode_error,
    sse_empty_body_is_decode_error,
    sse_duplicate_message_start_is_decode_error,
    sse_delta_for_block_never_started_is_decode_error,
    sse_delta_index_far_beyond_is_decode_error,
    sse_block_index_far_beyond_1e8_is_decode_error,
    sse_block_index_2_pow_32_is_decode_error,
    sse_block_index_u64_max_minus_1_is_decode_error,
    sse_block_index_skipping_ahead_is_decode_error,
    sse_trailing_message_start_after_stop_is_ignored,
    sse_trailing_delta_after_stop_is_ignored,
    sse_trailing_garbage_event_after_stop_is_ignored,
    sse_huge_id_line_stream_completes,
    sse_huge_event_name_stream_completes,
    sse_content_type_is_case_insensitive,
    sse_wrong_content_type_is_decode_error,
    sse_missing_content_type_is_decode_error,
    sse_error_event_before_content_is_api_error,
    sse_error_event_after_content_is_api_error_after_text,
    sse_error_event_with_garbage_data_is_api_error,
    sse_unnamed_and_unknown_events_are_skipped,
    sse_comments_and_unknown_fields_are_ignored,
    sse_body_held_open_after_message_stop_still_completes,
    sse_endless_body_after_message_stop_is_cut_off,
    sse_many_unknown_events_before_content_are_all_delivered,
    pagination_with_a_repeated_cursor_ends_with_decode_error,
    pagination_with_endless_empty_pages_ends_with_decode_error,
    pagination_cursor_is_sent_encoded,
    sse_tool_input_streams_into_the_final_message,
    // retry headers
    retry_after_negative_uses_backoff,
    retry_after_garbage_uses_backoff,
    retry_after_a_year_uses_backoff,
    retry_after_nan_uses_backoff,
    retry_after_http_date_in_the_past_uses_backoff,
    retry_after_http_date_far_in_the_future_uses_backoff,
    retry_after_ms_negative_uses_backoff,
    retry_after_ms_a_year_uses_backoff,
    retry_after_ms_infinite_uses_backoff,
    x_should_retry_true_on_400_retries_exactly_max_times,
    x_should_retry_false_on_529_is_not_retried,
    // secrets
    secret_key_echoed_in_error_message_is_redacted,
    secret_key_echoed_in_non_json_error_body_is_redacted,
    secret_key_echoed_as_error_type_is_redacted,
    secret_key_echoed_in_sse_error_event_is_redacted,
    secret_key_echoed_in_invalid_tool_input_is_redacted,
    secret_key_echoed_as_sse_event_name_is_redacted,
    secret_key_echoed_in_content_type_is_redacted,
    secret_key_echoed_in_an_unknown_enum_value_is_redacted,
    secret_key_echoed_in_response_headers_is_redacted,
    secret_key_echoed_as_request_id_is_redacted,
    secret_token_echoed_in_error_message_is_redacted,
    secret_token_echoed_in_sse_error_event_is_redacted,
    secret_token_echoed_in_response_headers_is_redacted,
    secret_key_echoed_in_kept_headers_is_hidden,
    secret_huge_error_message_is_bounded,
    secret_huge_error_event_message_is_bounded,
);
