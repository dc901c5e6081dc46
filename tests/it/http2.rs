//! The client over HTTP/2 (feature `http2`) on every runtime: the hyper transport with prior
//! knowledge against the mock's plain port, and the built-in transport negotiating `h2` over
//! TLS. One connection carries every call; dropped calls and streams give everything back.

use crate::common;

use std::time::{Duration, Instant};

use claude_kit::{Client, ClientStats, MessageRequest, StreamEvent};
use claude_kit_hyper::HyperTransport;
use claude_kit_mock::{MockServer, Reply};
use common::{Rt, TEST_KEY, cancel_after, on_all_runtimes};
use futures::StreamExt;

on_all_runtimes!(
    calls_and_streams_over_http2_prior_knowledge,
    many_streams_share_one_connection,
    a_stream_dropped_midway_resets_only_its_stream,
    calls_dropped_at_every_poll_leak_nothing,
    the_built_in_transport_negotiates_http2_on_tls,
);

/// A client of `server` over HTTP/2 with prior knowledge, without retries.
fn http2_client(server: &MockServer, rt: &Rt) -> Client {
    let transport = HyperTransport::builder(rt.clone())
        .http2_prior_knowledge()
        .build()
        .expect("transport");
    Client::builder()
        .api_key(TEST_KEY)
        .max_retries(0)
        .base_url(server.url())
        .shared_runtime(rt.clone())
        .transport(transport)
        .build()
        .expect("client")
}

fn assert_idle(stats: ClientStats, what: &str) {
    assert_eq!(
        (stats.in_flight, stats.waiting),
        (0, 0),
        "{what}: {stats:?}"
    );
    let pool = stats.pool.expect("the hyper transport has a pool");
    assert_eq!(
        (pool.in_use, pool.waiting, pool.connecting, pool.in_flight),
        (0, 0, 0, 0),
        "{what}: {stats:?}"
    );
}

/// Polls `condition` (every millisecond, on the runtime's timer) until it holds.
async fn until(rt: &Rt, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        claude_kit::rt::with_runtime::sleep(&**rt, Duration::from_millis(1)).await;
    }
}

/// The start of a reply, up to and including its first text delta.
const PREFIX_WITH_TEXT: &str = concat!(
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Once\"}}\n\n",
);

fn request(text: &str) -> MessageRequest {
    MessageRequest::new("claude-test-model", 64).user(text)
}

async fn calls_and_streams_over_http2_prior_knowledge(rt: Rt) {
    let server = common::mock();
    let client = http2_client(&server, &rt);
    let reply = client.query("over HTTP/2").await.unwrap();
    assert!(reply.text().ends_with("over HTTP/2"), "{}", reply.text());
    assert!(reply.request_id().is_some());
    let text = client
        .messages()
        .stream(request("streamed too"))
        .await
        .unwrap()
        .final_text()
        .await
        .unwrap();
    assert!(text.ends_with("streamed too"), "{text}");
    let tokens = client.messages().count_tokens(request("one two")).await;
    assert!(tokens.is_ok(), "{tokens:?}");
    // An API error is the same typed error over HTTP/2.
    server.enqueue(Reply::error(529, "overloaded_error", "Overloaded"));
    let error = client.query("busy").await.unwrap_err();
    assert!(
        matches!(&error, claude_kit::Error::Api { status, .. } if status.as_u16() == 529),
        "{error:?}"
    );
    assert_eq!(
        (server.connection_count(), server.http2_connection_count()),
        (1, 1)
    );
    assert_idle(client.stats(), "after the calls");
    client.close().await;
}

async fn many_streams_share_one_connection(rt: Rt) {
    const STREAMS: usize = 200;
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .token_delay(Duration::from_millis(1))
        .start()
        .unwrap();
    let client = http2_client(&server, &rt);
    let calls = (0..STREAMS).map(|i| {
        let client = client.clone();
        async move {
            let stream = client.messages().stream(request(&format!("s{i}"))).await?;
            stream.final_text().await
        }
    });
    let texts = futures::future::join_all(calls).await;
    for (i, text) in texts.into_iter().enumerate() {
        let text = text.unwrap();
        assert!(text.ends_with(&format!("s{i}")), "{text}");
    }
    assert_eq!(
        server.connection_count(),
        1,
        "one HTTP/2 connection for all"
    );
    let pool = client.stats().pool.unwrap();
    assert_eq!((pool.connections_opened, pool.idle), (1, 1), "{pool:?}");
    assert_idle(client.stats(), "after the streams");
}

async fn a_stream_dropped_midway_resets_only_its_stream(rt: Rt) {
    let server = common::mock();
    let client = http2_client(&server, &rt);
    // Its first text, then nothing until the client goes away.
    server.enqueue(Reply::sse_then_stall(PREFIX_WITH_TEXT));
    let mut stream = client.messages().stream(request("endless")).await.unwrap();
    assert!(matches!(
        stream.next().await,
        Some(Ok(StreamEvent::MessageStart { .. }))
    ));
    drop(stream);
    assert_idle(client.stats(), "after the drop");
    until(&rt, "the server to drop the reset stream", || {
        server.open_requests() == 0
    })
    .await;
    // The connection was not closed, and serves the next call.
    assert_eq!(server.open_connections(), 1);
    assert!(client.query("next").await.unwrap().text().ends_with("next"));
    assert_eq!(server.connection_count(), 1);
}

async fn calls_dropped_at_every_poll_leak_nothing(rt: Rt) {
    let server = common::mock();
    let client = http2_client(&server, &rt);
    let call = |client: Client| async move {
        let mut stream = client.messages().stream(request("one two three")).await?;
        let mut events = 0;
        while let Some(event) = stream.next().await {
            event?;
            events += 1;
        }
        Ok::<_, claude_kit::Error>(events)
    };
    let mut completed = 0;
    for polls in 0..40 {
        if let Some(result) = cancel_after(polls, call(client.clone())).await {
            assert!(result.unwrap() > 0);
            completed += 1;
        }
        assert_idle(client.stats(), &format!("dropped after {polls} polls"));
    }
    assert!(completed > 0, "some calls should complete within 40 polls");
    assert!(completed < 40, "some calls should be cancelled midway");
    until(&rt, "the server to drop the reset streams", || {
        server.open_requests() == 0
    })
    .await;
    assert!(
        client
            .query("after")
            .await
            .unwrap()
            .text()
            .ends_with("after")
    );
}

async fn the_built_in_transport_negotiates_http2_on_tls(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .tls(true)
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .add_root_certificate_der(server.ca_certificate_der().unwrap())
        .use_env_proxy(false)
        .shared_runtime(rt.clone())
        .build()
        .unwrap();
    for _ in 0..3 {
        assert!(
            client
                .query("over h2")
                .await
                .unwrap()
                .text()
                .ends_with("over h2")
        );
    }
    assert_eq!(
        (server.connection_count(), server.http2_connection_count()),
        (1, 1)
    );
    // The same client against a TLS server without HTTP/2 speaks HTTP/1.1.
    let http1 = MockServer::builder()
        .api_key(TEST_KEY)
        .tls(true)
        .http2(false)
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(http1.url())
        .add_root_certificate_der(http1.ca_certificate_der().unwrap())
        .use_env_proxy(false)
        .shared_runtime(rt)
        .build()
        .unwrap();
    assert!(
        client
            .query("over h1")
            .await
            .unwrap()
            .text()
            .ends_with("over h1")
    );
    assert_eq!(http1.http2_connection_count(), 0);
}
