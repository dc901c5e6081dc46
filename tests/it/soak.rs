//! The soak test: two thousand requests per runtime against a server that injects a random fault
//! into 30 % of them, with a fifth of the calls cancelled at a random point. No request may be
//! lost — each ends in a response, a typed error, or the cancellation the test chose — and the
//! client must be idle afterwards.

use crate::common;

use std::time::Duration;

use claude_kit::{Client, Error, MessageRequest, RetryPolicy};
use claude_kit_mock::{FaultPlan, MockServer};
use common::{Rt, TEST_KEY, cancel_after, on_all_runtimes};
use futures::StreamExt;

const REQUESTS: usize = 2000;
const CONCURRENCY: usize = 48;

#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    api: usize,
    transport: usize,
    timeout: usize,
    decode: usize,
    connect: usize,
    cancelled: usize,
}

async fn one_call(client: Client, i: usize) -> claude_kit::Result<String> {
    let request = MessageRequest::new("m", 64).user(format!("soak request {i}"));
    if i.is_multiple_of(2) {
        client.messages().stream(request).await?.final_text().await
    } else {
        Ok(client.messages().create(request).await?.text())
    }
}

async fn a_storm_of_faults_and_cancellations_loses_nothing(rt: Rt) {
    let seed = fastrand::u64(..);
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .threads(2)
        .fault_plan(FaultPlan::random(seed, 0.3))
        .start()
        .unwrap();
    let client = Client::builder()
        .api_key(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .retry_policy(
            RetryPolicy::new()
                .max_retries(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(10)),
        )
        .response_header_timeout(Duration::from_millis(250))
        .idle_timeout(Duration::from_millis(250))
        .max_response_bytes(1 << 20)
        .max_event_size(1 << 20)
        .max_concurrent_requests(CONCURRENCY)
        .build()
        .unwrap();

    let outcomes: Vec<Option<claude_kit::Result<String>>> = futures::stream::iter(0..REQUESTS)
        .map(|i| {
            let client = client.clone();
            // One call in five is abandoned after a random number of polls.
            let polls = if fastrand::u8(..5) == 0 {
                fastrand::usize(0..30)
            } else {
                usize::MAX
            };
            cancel_after(polls, one_call(client, i))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    assert_eq!(outcomes.len(), REQUESTS, "every request is accounted for");
    let mut tally = Tally::default();
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            None => tally.cancelled += 1,
            Some(Ok(text)) => {
                assert!(text.contains("soak request"), "request {i}: {text}");
                tally.ok += 1;
            }
            Some(Err(Error::Api { request_id, .. })) => {
                assert!(request_id.is_some(), "API errors carry a request id");
                tally.api += 1;
            }
            Some(Err(Error::Transport { .. })) => tally.transport += 1,
            Some(Err(Error::Timeout { .. })) => tally.timeout += 1,
            Some(Err(Error::Decode { .. })) => tally.decode += 1,
            Some(Err(Error::Connect { .. })) => tally.connect += 1,
            Some(Err(other)) => panic!("unexpected error: {other:?}"),
        }
    }
    eprintln!(
        "soak on {} (seed {seed}): {tally:?}, {} faults injected, {} connections",
        client.runtime().name(),
        server.faults_injected(),
        server.connection_count()
    );
    assert!(
        tally.ok > REQUESTS / 2,
        "most calls succeed, retries included: {tally:?}"
    );
    assert!(
        server.faults_injected() > REQUESTS / 10,
        "the plan injected faults"
    );

    let stats = client.stats();
    assert_eq!((stats.in_flight, stats.waiting), (0, 0), "{stats:?}");
    let pool = stats.pool.unwrap();
    assert_eq!((pool.in_use, pool.waiting), (0, 0), "{stats:?}");
    assert!(
        // Nothing is in flight: this returns at once; the bound is generous for a starved machine.
        client.close_within(Duration::from_secs(60)).await,
        "nothing left in flight"
    );
}

on_all_runtimes!(a_storm_of_faults_and_cancellations_loses_nothing);
