//! The rest of the API surface on every runtime: models and cursor pagination, token counting,
//! Message Batches (results decoded line by line), bearer-token authentication.

use crate::common;

use std::time::Duration;

use claude_kit::batches::{BatchOutcome, BatchRequest, ProcessingStatus};
use claude_kit::{ApiErrorKind, Client, Error, MessageRequest};
use claude_kit_mock::MockServer;
use common::{Rt, TEST_KEY, client, mock, on_all_runtimes};
use futures::{StreamExt, TryStreamExt};

async fn models_are_listed_page_by_page_and_fetched_by_id(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let all: Vec<_> = client.models().list().try_collect().await.unwrap();
    assert!(all.len() >= 3, "{all:?}");
    let paged: Vec<_> = client
        .models()
        .list_with_page_size(2)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(paged, all, "pages of two give the same models");
    let pages = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/v1/models?limit=2"))
        .count();
    assert_eq!(
        pages,
        all.len().div_ceil(2),
        "one request per page, fetched as needed"
    );

    let one = client.models().get(&all[0].id).await.unwrap();
    assert_eq!(one.id, all[0].id);
    let error = client.models().get("no-such-model").await.expect_err("404");
    assert!(
        matches!(
            error,
            Error::Api {
                kind: ApiErrorKind::NotFound,
                ..
            }
        ),
        "{error:?}"
    );
}

async fn tokens_are_counted_without_max_tokens(rt: Rt) {
    let server = mock();
    let client = client(&server, &rt);
    let request = MessageRequest::new("m", 1024)
        .system("Be brief.")
        .user("one two three four")
        .temperature(0.5);
    let count = client.messages().count_tokens(request).await.unwrap();
    assert!(count.input_tokens > 0);
    let sent = server.requests().last().unwrap().json().unwrap();
    assert_eq!(sent["messages"][0]["content"], "one two three four");
    assert!(
        sent.get("max_tokens").is_none() && sent.get("temperature").is_none(),
        "{sent}"
    );
}

async fn a_batch_runs_to_the_end_and_its_results_stream(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .batch_request_delay(Duration::from_millis(1))
        .start()
        .unwrap();
    let client = client(&server, &rt);
    let batches = client.messages().batches();
    let mut requests: Vec<_> = (0..5)
        .map(|i| {
            BatchRequest::new(
                format!("req-{i}"),
                MessageRequest::new("m", 64).user(format!("item {i}")),
            )
        })
        .collect();
    requests.push(BatchRequest::new(
        "bad",
        MessageRequest::new("m", 0).user("x"),
    ));
    let batch = batches.create(requests).await.unwrap();
    assert!(batch.id.starts_with("msgbatch_"));
    assert_eq!(batch.request_counts.total(), 6);

    let mut seen = 0;
    let ended = batches
        .wait(&batch.id, Duration::from_millis(5), |_| seen += 1)
        .await
        .unwrap();
    assert_eq!(ended.processing_status, ProcessingStatus::Ended);
    assert!(seen >= 1);
    assert_eq!(
        (ended.request_counts.succeeded, ended.request_counts.errored),
        (5, 1)
    );

    let results: Vec<_> = batches
        .results(&batch.id)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(results.len(), 6);
    for (i, result) in results.iter().take(5).enumerate() {
        assert_eq!(result.custom_id, format!("req-{i}"));
        let message = result.result.message().expect("succeeded");
        assert!(
            message.text().ends_with(&format!("item {i}")),
            "{}",
            message.text()
        );
    }
    assert!(
        matches!(results[5].result, BatchOutcome::Errored { .. }),
        "{:?}",
        results[5]
    );

    let listed: Vec<_> = batches.list().try_collect().await.unwrap();
    assert!(listed.iter().any(|b| b.id == batch.id));
    let deleted = batches.delete(&batch.id).await.unwrap();
    assert_eq!(deleted.id, batch.id);
    let error = batches.get(&batch.id).await.expect_err("deleted");
    assert!(
        matches!(
            error,
            Error::Api {
                kind: ApiErrorKind::NotFound,
                ..
            }
        ),
        "{error:?}"
    );
}

async fn a_batch_can_be_canceled(rt: Rt) {
    let server = MockServer::builder()
        .api_key(TEST_KEY)
        .batch_request_delay(Duration::from_secs(3600))
        .start()
        .unwrap();
    let client = client(&server, &rt);
    let batches = client.messages().batches();
    let requests = (0..3)
        .map(|i| BatchRequest::new(format!("r{i}"), MessageRequest::new("m", 64).user("x")))
        .collect();
    let batch = batches.create(requests).await.unwrap();
    let error = batches.results(&batch.id).await.expect_err("not ended yet");
    assert!(matches!(error, Error::Api { .. }), "{error:?}");
    batches.cancel(&batch.id).await.unwrap();
    let ended = batches
        .wait(&batch.id, Duration::from_millis(5), |_| {})
        .await
        .unwrap();
    assert_eq!(ended.request_counts.canceled, 3);
    let mut results = batches.results(&batch.id).await.unwrap();
    while let Some(result) = results.next().await {
        assert_eq!(result.unwrap().result, BatchOutcome::Canceled);
    }
}

async fn a_bearer_token_authenticates(rt: Rt) {
    let server = mock();
    let client = Client::builder()
        .auth_token(TEST_KEY)
        .base_url(server.url())
        .shared_runtime(rt)
        .build()
        .unwrap();
    client.query("with a token").await.unwrap();
    let request = &server.requests()[0];
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TEST_KEY}").as_str())
    );
    assert_eq!(request.header("x-api-key"), None);
    assert!(!format!("{client:?}").contains(TEST_KEY));
}

on_all_runtimes!(
    models_are_listed_page_by_page_and_fetched_by_id,
    tokens_are_counted_without_max_tokens,
    a_batch_runs_to_the_end_and_its_results_stream,
    a_batch_can_be_canceled,
    a_bearer_token_authenticates,
);
