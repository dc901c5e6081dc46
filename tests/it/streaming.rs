//! Streaming, end to end on every runtime: the recorded transcripts of `tests/fixtures/sse`
//! must give the official SDK's final message and text under every chunking, and a
//! misbehaving server must end a stream in a typed error, never a hang or a panic.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use claude_kit::types::{ContentDelta, StreamEvent};
use claude_kit::{ApiErrorKind, Client, Error, MessageRequest, TimeoutPhase};
use claude_kit_mock::{Chunking, MockServer, Reply};
use common::{Rt, TEST_KEY, client, mock, on_all_runtimes};
use futures::StreamExt;
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sse");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sse"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "fixtures missing: {files:?}");
    files
}

/// `NAME.sse` → `NAME.<suffix>`.
fn sibling(sse: &Path, suffix: &str) -> PathBuf {
    let name = sse
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .strip_suffix(".sse")
        .unwrap();
    sse.with_file_name(format!("{name}.{suffix}"))
}

/// The fixtures' comparison rule: unset fields are `null` in the official SDK's dump, absent
/// in ours; drop every null-valued key on both sides.
fn drop_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// The start of a reply, up to and including its first text delta.
const PREFIX_WITH_TEXT: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Once\"}}\n\n",
);

/// Reads the events of `PREFIX_WITH_TEXT` from `stream`.
async fn read_prefix(stream: &mut claude_kit::MessageStream) {
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::MessageStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::ContentBlockStart { .. }))
    ));
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::ContentBlockDelta { .. }))
    ));
}

fn request() -> MessageRequest {
    MessageRequest::new("claude-test-model", 1024).user("replay")
}

/// Streams one reply and returns (text yielded by the text stream, final message or error).
async fn stream_text_and_message(
    client: &Client,
) -> (String, claude_kit::Result<claude_kit::Message>) {
    let stream = match client.messages().stream(request()).await {
        Ok(stream) => stream,
        Err(error) => return (String::new(), Err(error)),
    };
    let mut texts = stream.text_stream();
    let mut text = String::new();
    while let Some(piece) = texts.next().await {
        match piece {
            Ok(piece) => text.push_str(&piece),
            Err(error) => return (text, Err(error)),
        }
    }
    (text, texts.final_message().await)
}

async fn every_fixture_gives_the_official_sdks_message(rt: Rt) {
    let chunkings = [
        Chunking::PerEvent,
        Chunking::PerByte,
        Chunking::Random { seed: 7 },
        Chunking::Whole,
    ];
    for path in fixtures() {
        let transcript = std::fs::read(&path).unwrap();
        for chunking in chunkings {
            let server = mock();
            server.enqueue(Reply::sse(transcript.clone(), chunking));
            let client = client(&server, &rt);
            let (text, outcome) = stream_text_and_message(&client).await;
            let what = format!("{} with {chunking:?}", path.display());

            let expected_text =
                std::fs::read_to_string(sibling(&path, "text.txt")).unwrap_or_default();
            assert_eq!(text, expected_text, "text of {what}");
            match (outcome, std::fs::read_to_string(sibling(&path, "json"))) {
                (Ok(message), Ok(expected)) => {
                    let ours = drop_nulls(serde_json::to_value(&message).unwrap());
                    let theirs = drop_nulls(serde_json::from_str(&expected).unwrap());
                    assert_eq!(ours, theirs, "final message of {what}");
                }
                (Err(error), Err(_)) => {
                    let expected = std::fs::read_to_string(sibling(&path, "error.txt"))
                        .expect("NAME.error.txt");
                    if let Some(kind) = expected
                        .lines()
                        .find_map(|line| line.strip_prefix("type: "))
                    {
                        assert_eq!(
                            error.kind().map(|k| k.as_str()),
                            Some(kind.trim()),
                            "{what}: {error}"
                        );
                    }
                }
                (Ok(message), Err(_)) => panic!("{what}: expected an error, got {message:?}"),
                (Err(error), Ok(_)) => panic!("{what}: {error}"),
            }
        }
    }
}

async fn the_default_model_streams_text(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let mut stream = client
        .messages()
        .stream(MessageRequest::new("m", 100).user("stream me"))
        .await
        .unwrap();
    assert!(stream.request_id().is_some_and(|id| id.starts_with("req_")));
    let mut deltas = 0;
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::ContentBlockDelta {
            delta: ContentDelta::Text(piece),
            ..
        } = event.unwrap()
        {
            deltas += 1;
            text.push_str(&piece);
            let snapshot = stream.snapshot().expect("snapshot after message_start");
            assert_eq!(snapshot.text(), text, "the snapshot holds the text so far");
        }
    }
    assert!(deltas > 3, "the reply should arrive in many deltas");
    let message = stream.final_message().await.unwrap();
    assert_eq!(
        message.text(),
        "Hello! I am the claude-kit mock server. You said: stream me"
    );
    assert_eq!(text, message.text());
    assert_eq!(server.requests()[0].json().unwrap()["stream"], true);

    let text = client
        .messages()
        .stream(MessageRequest::new("m", 100).user("again"))
        .await
        .unwrap()
        .final_text();
    assert!(text.await.unwrap().ends_with("You said: again"));
    assert_eq!(
        server.connection_count(),
        1,
        "a finished stream gives its connection back"
    );
}

async fn an_error_event_mid_stream_is_a_typed_error_after_the_text(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let transcript = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Partial \"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"answer\"}}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );
    server.enqueue(Reply::sse(transcript, Chunking::PerEvent));
    let mut texts = client
        .messages()
        .stream(request())
        .await
        .unwrap()
        .text_stream();
    assert_eq!(texts.next().await.unwrap().unwrap(), "Partial ");
    assert_eq!(texts.next().await.unwrap().unwrap(), "answer");
    let error = texts.next().await.unwrap().expect_err("error event");
    assert!(
        matches!(&error, Error::Api { kind: ApiErrorKind::Overloaded, message, request_id: Some(_), .. } if message == "Overloaded"),
        "{error:?}"
    );
    assert!(
        texts.next().await.is_none(),
        "the stream ends after its error"
    );
}

async fn a_stalled_stream_ends_in_an_idle_timeout(rt: Rt) {
    let server = mock();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .idle_timeout(Duration::from_millis(200))
        .max_retries(0)
        .shared_runtime(rt)
        .build()
        .unwrap();
    server.enqueue(Reply::sse_then_stall(PREFIX_WITH_TEXT));
    let mut stream = client.messages().stream(request()).await.unwrap();
    read_prefix(&mut stream).await;
    let error = stream.next().await.unwrap().expect_err("stall");
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(stream.next().await.is_none());

    // A stall before any content ends the call itself (where it could be retried).
    let prefix = &PREFIX_WITH_TEXT[..PREFIX_WITH_TEXT.find("event: content_block_start").unwrap()];
    server.enqueue(Reply::sse_then_stall(prefix));
    let error = client
        .messages()
        .stream(request())
        .await
        .expect_err("stall before content");
    assert!(
        matches!(
            error,
            Error::Timeout {
                phase: TimeoutPhase::Idle,
                ..
            }
        ),
        "{error:?}"
    );

    // A slow but steady stream is not idle: the timer restarts with every chunk, so chunks
    // 10 ms apart never trip a 10 s idle timeout however long the whole stream takes.
    let patient = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .idle_timeout(Duration::from_secs(10))
        .shared_runtime(client.runtime().clone())
        .build()
        .unwrap();
    server.enqueue(Reply::trickle(
        "one two three four",
        Duration::from_millis(10),
    ));
    let text = patient
        .messages()
        .stream(request())
        .await
        .unwrap()
        .final_text()
        .await
        .unwrap();
    assert_eq!(text, "one two three four");
}

async fn a_huge_event_is_refused_with_bounded_memory(rt: Rt) {
    let server = mock();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .max_event_size(1 << 20)
        .max_retries(0)
        .shared_runtime(rt)
        .build()
        .unwrap();
    server.enqueue(Reply::oversized_event(1 << 30));
    let error = client
        .messages()
        .stream(request())
        .await
        .expect_err("oversized");
    assert!(
        matches!(&error, Error::Decode { message, .. } if message.contains("limit")),
        "{error:?}"
    );
    // The client stopped reading at the limit; the server never got to send the gigabyte.
    assert!(
        server.bytes_streamed() < 256 << 20,
        "streamed {} bytes",
        server.bytes_streamed()
    );
}

async fn a_connection_reset_mid_stream_is_a_transport_error(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    server.enqueue(Reply::sse_then_reset(PREFIX_WITH_TEXT));
    let mut stream = client.messages().stream(request()).await.unwrap();
    read_prefix(&mut stream).await;
    let error = stream.next().await.unwrap().expect_err("reset");
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert!(stream.next().await.is_none());

    // The client recovers on a new connection.
    assert!(client.query("after the reset").await.is_ok());
}

async fn malformed_events_are_decode_errors(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    server.enqueue(Reply::sse(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":\n\n",
        Chunking::PerEvent,
    ));
    let error = client
        .messages()
        .stream(request())
        .await
        .expect_err("bad JSON");
    assert!(
        matches!(
            error,
            Error::Decode {
                request_id: Some(_),
                ..
            }
        ),
        "{error:?}"
    );

    server.enqueue(Reply::sse(
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        Chunking::PerEvent,
    ));
    let error = client
        .messages()
        .stream(request())
        .await
        .unwrap()
        .final_message()
        .await
        .expect_err("no message");
    assert!(
        matches!(&error, Error::Decode { message, .. } if message.contains("message_start")),
        "{error:?}"
    );

    server.enqueue(Reply::json(200, serde_json::json!({"not": "a stream"})));
    let error = client
        .messages()
        .stream(request())
        .await
        .expect_err("JSON instead of SSE");
    assert!(
        matches!(&error, Error::Decode { message, .. } if message.contains("content-type")),
        "{error:?}"
    );
}

async fn an_error_status_fails_before_any_event(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    server.enqueue(Reply::error(529, "overloaded_error", "Overloaded"));
    let error = client.messages().stream(request()).await.expect_err("529");
    assert!(
        matches!(
            error,
            Error::Api {
                kind: ApiErrorKind::Overloaded,
                request_id: Some(_),
                ..
            }
        ),
        "{error:?}"
    );
}

async fn dropping_a_stream_midway_closes_its_connection(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .token_delay(Duration::from_millis(5))
        .start()
        .unwrap();
    let client = client(&server, &rt);
    let mut stream = client
        .messages()
        .stream(MessageRequest::new("m", 100).user("a b c d e f g h"))
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    // The half-read connection is not reused: the next call opens a new one, and works.
    let reply = client.query("next").await.unwrap();
    assert!(reply.text().ends_with("You said: next"));
    assert_eq!(server.connection_count(), 2);
}

on_all_runtimes!(
    every_fixture_gives_the_official_sdks_message,
    the_default_model_streams_text,
    an_error_event_mid_stream_is_a_typed_error_after_the_text,
    a_stalled_stream_ends_in_an_idle_timeout,
    a_huge_event_is_refused_with_bounded_memory,
    a_connection_reset_mid_stream_is_a_transport_error,
    malformed_events_are_decode_errors,
    an_error_status_fails_before_any_event,
    dropping_a_stream_midway_closes_its_connection,
);
