//! `claude_kit::blocking`: the sync client from sync code on each runtime, typed errors, and
//! a clear error — never a hang or a panic — when it is called from async code.

use std::time::Duration;

use claude_kit::rt::{self, RuntimeKind};
use claude_kit::{
    ClientBuilder, ContentDelta, Error, MessageRequest, RequestOptions, StreamEvent, blocking,
};
use claude_kit_mock::{MockServer, Reply};

fn client_on(kind: RuntimeKind, server: &MockServer) -> blocking::Client {
    let builder = ClientBuilder::default()
        .api_key("sk-ant-test")
        .base_url(server.url())
        .max_retries(0);
    blocking::Client::with_runtime(kind, builder).expect("blocking client")
}

fn request(prompt: &str) -> MessageRequest {
    MessageRequest::new("claude-sonnet-4-5", 256).user(prompt)
}

fn assert_refused<T: std::fmt::Debug>(result: claude_kit::Result<T>) {
    match result {
        Err(Error::AsyncContext { message }) => assert!(
            message.contains("event loop is already running") && message.contains(".await"),
            "{message}"
        ),
        other => panic!("expected Error::AsyncContext, got {other:?}"),
    }
}

#[test]
fn create_query_and_stream_on_every_runtime() {
    let server = MockServer::start();
    for kind in RuntimeKind::ALL {
        let client = client_on(kind, &server);
        assert_eq!(client.runtime_kind(), kind);

        let reply = client.messages().create(request("create")).unwrap();
        assert!(reply.text().ends_with("You said: create"), "{kind}");
        assert!(reply.request_id().is_some());

        let reply = client.query("query").unwrap();
        assert!(reply.text().ends_with("You said: query"), "{kind}");

        // Events, as an iterator.
        let mut stream = client.messages().stream(request("events")).unwrap();
        assert!(stream.request_id().is_some());
        let mut text = String::new();
        let mut last = None;
        for event in &mut stream {
            let event = event.unwrap();
            if let StreamEvent::ContentBlockDelta {
                delta: ContentDelta::Text(delta),
                ..
            } = &event
            {
                text.push_str(delta);
            }
            last = Some(event);
        }
        assert!(matches!(last, Some(StreamEvent::MessageStop)), "{kind}");
        assert!(text.ends_with("You said: events"));
        let message = stream.final_message().unwrap();
        assert_eq!(message.text(), text);

        // Text deltas, then the final message.
        let mut deltas = client.messages().stream(request("text")).unwrap().text();
        let text: String = (&mut deltas).map(Result::unwrap).collect();
        assert!(text.ends_with("You said: text"));
        let message = deltas.final_message().unwrap();
        assert_eq!(message.text(), text);
        assert!(message.usage.output_tokens > 0);

        // Straight to the end.
        let text = client
            .messages()
            .stream(request("final"))
            .unwrap()
            .final_text()
            .unwrap();
        assert!(text.ends_with("You said: final"));

        let stats = client.stats();
        assert_eq!(
            (stats.in_flight, stats.waiting),
            (0, 0),
            "{kind}: {stats:?}"
        );
        client.close().unwrap();
        assert!(client.as_async().is_closed());
        assert!(matches!(
            client.query("after close"),
            Err(Error::Closed { .. })
        ));
    }
}

#[test]
fn errors_are_typed() {
    let server = MockServer::start();
    for kind in RuntimeKind::ALL {
        let client = client_on(kind, &server);
        server.enqueue(Reply::error(400, "invalid_request_error", "x"));
        match client.query("bad") {
            Err(Error::Api {
                status, message, ..
            }) => {
                assert_eq!(status.as_u16(), 400);
                assert_eq!(message, "x");
            }
            other => panic!("{kind}: expected Error::Api, got {other:?}"),
        }
        server.enqueue(Reply::error(400, "invalid_request_error", "y"));
        match client.messages().stream(request("bad")) {
            Err(Error::Api { status, .. }) => assert_eq!(status.as_u16(), 400),
            other => panic!("{kind}: expected Error::Api, got {other:?}"),
        }
        // A stream that fails midway ends with the error after the text before it.
        server.enqueue(Reply::error_event_after(2, "overloaded_error"));
        let items: Vec<_> = client
            .messages()
            .stream(request("midway"))
            .unwrap()
            .collect();
        assert!(
            matches!(items.last(), Some(Err(Error::Api { .. }))),
            "{kind}"
        );
        assert!(items.iter().filter(|item| item.is_ok()).count() >= 2);
    }
}

#[test]
fn options_derive_a_client_on_the_same_runtime() {
    let server = MockServer::start();
    let client = client_on(RuntimeKind::Smol, &server);
    let derived = client
        .with_options(RequestOptions::new().timeout(Duration::from_secs(7)))
        .unwrap();
    assert_eq!(derived.runtime_kind(), RuntimeKind::Smol);
    assert_eq!(derived.as_async().timeouts().total, Duration::from_secs(7));
    drop(client); // the derived client keeps the runtime
    assert!(
        derived
            .query("derived")
            .unwrap()
            .text()
            .ends_with("derived")
    );
}

/// Every blocking call of `client`, made from async code, is refused.
fn all_refused(client: &blocking::Client, mut stream: blocking::MessageStream) {
    assert_refused(client.query("x"));
    assert_refused(client.messages().create(request("x")));
    assert_refused(client.messages().stream(request("x")));
    assert_refused(client.close());
    // A stream yields the refusal once, then ends.
    match stream.next() {
        Some(error) => assert_refused(error),
        None => panic!("expected the refusal"),
    }
    assert!(stream.next().is_none());
}

#[test]
fn refused_inside_every_runtime() {
    let server = MockServer::start();
    let client = client_on(RuntimeKind::Tokio, &server);
    let new_stream = || client.messages().stream(request("s")).unwrap();

    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let stream = new_stream();
    tokio_rt.block_on(async { all_refused(&client, stream) });
    let stream = new_stream();
    let in_task = client.clone();
    tokio_rt
        .block_on(tokio_rt.spawn(async move {
            all_refused(&in_task, stream);
        }))
        .unwrap();

    let stream = new_stream();
    async_std::task::block_on(async { all_refused(&client, stream) });

    let stream = new_stream();
    claude_kit_smol::block_on(async { all_refused(&client, stream) });

    for kind in RuntimeKind::ALL {
        let stream = new_stream();
        kind.block_on(async { all_refused(&client, stream) });
        // In a task of `rt::spawn`, too.
        let stream = new_stream();
        let in_task = client.clone();
        kind.block_on(rt::spawn(async move { all_refused(&in_task, stream) }));
    }
    let stream = new_stream();
    rt::block_on(async { all_refused(&client, stream) });

    // Refusing left nothing behind, and the client still works from sync code.
    assert_eq!(client.stats().in_flight, 0);
    assert!(
        client
            .query("still fine")
            .unwrap()
            .text()
            .ends_with("still fine")
    );
    assert_refused(
        client
            .messages()
            .stream(request("final"))
            .map(|stream| rt::block_on(async { stream.final_message() }))
            .and_then(|refused| refused),
    );
}

#[test]
fn works_from_a_thread_started_in_async_code() {
    let server = MockServer::start();
    for kind in RuntimeKind::ALL {
        let client = client_on(kind, &server);
        let text = kind.block_on(async {
            let client = client.clone();
            std::thread::spawn(move || client.query("from a thread").unwrap().text())
                .join()
                .unwrap()
        });
        assert!(text.ends_with("You said: from a thread"), "{kind}");
    }
}

#[test]
fn works_from_spawn_blocking_on_every_runtime() {
    // Even on tokio's blocking threads, where a tokio context is present.
    let server = MockServer::start();
    for outer in RuntimeKind::ALL {
        for inner in RuntimeKind::ALL {
            let client = client_on(inner, &server);
            let text = outer.block_on(async move {
                rt::spawn_blocking(move || client.query("off loop").unwrap().text()).await
            });
            assert!(text.ends_with("off loop"), "{outer} -> {inner}");
        }
    }
}

#[test]
fn built_and_dropped_inside_async_code() {
    // Building is allowed anywhere; dropping never blocks nor panics, even inside tokio,
    // where dropping a tokio runtime panics.
    let server = MockServer::start();
    for kind in RuntimeKind::ALL {
        let client = kind.block_on(async { client_on(kind, &server) });
        // Used from sync code…
        assert!(
            client
                .query("built inside")
                .unwrap()
                .text()
                .ends_with("inside")
        );
        let stream = client.messages().stream(request("held")).unwrap();
        // …and dropped, with a stream half read, in async code.
        let tokio_rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio_rt.block_on(async move {
            drop(client);
            drop(stream);
        });
    }
}

#[test]
fn the_async_client_inside_serves_async_code() {
    let server = MockServer::start();
    let client = client_on(RuntimeKind::Tokio, &server);
    let async_client = client.as_async().clone();
    let reply = rt::block_on(async move { async_client.query("async side").await });
    assert!(reply.unwrap().text().ends_with("async side"));
}

#[test]
fn new_uses_the_preferred_runtime() {
    // This binary never sets CLAUDE_KIT_RUNTIME: tokio comes first.
    let server = MockServer::start();
    let builder = ClientBuilder::default().api_key("k").base_url(server.url());
    let client = blocking::Client::new(builder).unwrap();
    assert_eq!(client.runtime_kind(), RuntimeKind::Tokio);
    assert!(format!("{client:?}").contains("Tokio"));
    assert!(!format!("{client:?}").contains("sk-ant"));
    assert!(matches!(
        blocking::Client::new(ClientBuilder::default()),
        Err(Error::Config { .. })
    ));
}
