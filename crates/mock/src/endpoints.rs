//! The endpoints besides `POST /v1/messages`: token counting, models and Message Batches.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Method, Response};
use serde_json::{Value, json};

use crate::batches::{Item, Outcome};
use crate::body::{self, End};
use crate::model::Dialect;
use crate::server::{Answer, dialect};
use crate::{Reply, Shared, model, tools};

/// The models `GET /v1/models` lists, newest first: id, display name, creation time.
pub(crate) const MODELS: &[(&str, &str, &str)] = &[
    (
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        "2025-09-29T00:00:00Z",
    ),
    (
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1",
        "2025-08-05T00:00:00Z",
    ),
    (
        "claude-opus-4-20250514",
        "Claude Opus 4",
        "2025-05-22T00:00:00Z",
    ),
    (
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        "2025-05-22T00:00:00Z",
    ),
    (
        "claude-3-7-sonnet-20250219",
        "Claude Sonnet 3.7",
        "2025-02-24T00:00:00Z",
    ),
    (
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        "2024-10-22T00:00:00Z",
    ),
    (
        "claude-3-haiku-20240307",
        "Claude Haiku 3",
        "2024-03-07T00:00:00Z",
    ),
];

/// An endpoint this module answers, parsed from the method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    CountTokens,
    ListModels,
    GetModel(String),
    CreateBatch,
    ListBatches,
    GetBatch(String),
    CancelBatch(String),
    DeleteBatch(String),
    BatchResults(String),
}

impl Endpoint {
    /// The endpoint at `method` and `path`, if this module answers it.
    pub(crate) fn parse(method: &Method, path: &str) -> Option<Endpoint> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let id = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let endpoint = match (method.as_str(), segments.as_slice()) {
            ("POST", ["v1", "messages", "count_tokens"]) => Endpoint::CountTokens,
            ("GET", ["v1", "models"]) => Endpoint::ListModels,
            ("GET", ["v1", "models", model]) => Endpoint::GetModel(id(model)?),
            ("POST", ["v1", "messages", "batches"]) => Endpoint::CreateBatch,
            ("GET", ["v1", "messages", "batches"]) => Endpoint::ListBatches,
            ("GET", ["v1", "messages", "batches", batch]) => Endpoint::GetBatch(id(batch)?),
            ("DELETE", ["v1", "messages", "batches", batch]) => Endpoint::DeleteBatch(id(batch)?),
            ("POST", ["v1", "messages", "batches", batch, "cancel"]) => {
                Endpoint::CancelBatch(id(batch)?)
            }
            ("GET", ["v1", "messages", "batches", batch, "results"]) => {
                Endpoint::BatchResults(id(batch)?)
            }
            _ => return None,
        };
        Some(endpoint)
    }
}

/// A `400 invalid_request_error`.
fn invalid(message: impl Into<String>) -> Answer {
    Answer::Reply(Reply::error(400, "invalid_request_error", message))
}

/// A `200` JSON answer.
fn ok(body: Value) -> Answer {
    Answer::Reply(Reply::json(200, body))
}

/// Answers `endpoint` (after the API key and version checks).
pub(crate) fn answer(
    shared: &Shared,
    endpoint: Endpoint,
    parts: &http::request::Parts,
    body: &[u8],
) -> Answer {
    let query = parts.uri.query().unwrap_or("");
    let failed = |(status, error_type, message): (u16, &str, String)| {
        Answer::Reply(Reply::error(status, error_type, message))
    };
    match endpoint {
        Endpoint::CountTokens => match model::validate_count(body, dialect(&parts.headers)) {
            Ok(request) => ok(json!({"input_tokens": request.counted_tokens})),
            Err(message) => invalid(message),
        },
        Endpoint::ListModels => {
            let models: Vec<(String, Value)> = MODELS
                .iter()
                .map(|m| (m.0.to_owned(), model_object(m)))
                .collect();
            list(models, query)
        }
        Endpoint::GetModel(id) => match MODELS.iter().find(|m| m.0 == id) {
            Some(m) => ok(model_object(m)),
            None => Answer::Reply(Reply::error(404, "not_found_error", format!("model: {id}"))),
        },
        Endpoint::CreateBatch => match batch_items(shared, body) {
            Ok(items) => ok(shared.batches.create(items)),
            Err(message) => invalid(message),
        },
        Endpoint::ListBatches => list(shared.batches.all(), query),
        Endpoint::GetBatch(id) => shared.batches.get(&id).map_or_else(failed, ok),
        Endpoint::CancelBatch(id) => shared.batches.cancel(&id).map_or_else(failed, ok),
        Endpoint::DeleteBatch(id) => shared.batches.delete(&id).map_or_else(failed, ok),
        Endpoint::BatchResults(id) => match shared.batches.results(&id) {
            Ok(lines) => {
                let chunks = lines.into_iter().map(|l| (Duration::ZERO, l)).collect();
                let body = body::chunks(chunks, End::Finish, Arc::clone(&shared.streamed));
                let mut response = Response::new(body);
                response.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-jsonl"),
                );
                Answer::Response(response)
            }
            Err(failure) => failed(failure),
        },
    }
}

/// A model object.
fn model_object((id, display_name, created_at): &(&str, &str, &str)) -> Value {
    json!({"type": "model", "id": id, "display_name": display_name, "created_at": created_at})
}

/// One page of `items` (id and object, in listing order) as the query asks:
/// `limit` (1 to 1000, default 20), then `after_id` (the items after that one) or `before_id`
/// (the items just before that one).
fn list(items: Vec<(String, Value)>, query: &str) -> Answer {
    let mut limit = 20;
    let (mut after, mut before) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => limit = n,
                _ => return invalid("limit: Input should be an integer from 1 to 1000"),
            },
            "after_id" => after = Some(value),
            "before_id" => before = Some(value),
            _ => {}
        }
    }
    let position = |id: &str| items.iter().position(|(i, _)| i == id);
    let (start, end, has_more) = match (after, before) {
        (Some(_), Some(_)) => return invalid("after_id and before_id cannot both be set"),
        (Some(id), None) => {
            let Some(index) = position(id) else {
                return invalid(format!("after_id: no item with id {id:?}"));
            };
            let end = (index + 1 + limit).min(items.len());
            (index + 1, end, end < items.len())
        }
        (None, Some(id)) => {
            let Some(index) = position(id) else {
                return invalid(format!("before_id: no item with id {id:?}"));
            };
            let start = index.saturating_sub(limit);
            (start, index, start > 0)
        }
        (None, None) => {
            let end = limit.min(items.len());
            (0, end, end < items.len())
        }
    };
    let page = &items[start..end];
    ok(json!({
        "data": page.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        "has_more": has_more,
        "first_id": page.first().map(|(id, _)| id.clone()),
        "last_id": page.last().map(|(id, _)| id.clone()),
    }))
}

/// The requests of a batch creation body, each answered by the default model now (errored
/// when its params are invalid).
fn batch_items(shared: &Shared, body: &[u8]) -> Result<Vec<Item>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("There was an error parsing the body of your request: {e}"))?;
    let requests = match value.get("requests") {
        Some(Value::Array(requests)) if !requests.is_empty() => requests,
        Some(Value::Array(_)) => return Err("requests: at least one request is required".into()),
        Some(_) => return Err("requests: Input should be a valid list".into()),
        None => return Err("requests: Field required".into()),
    };
    let mut seen = HashSet::new();
    let mut items = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let custom_id = match request.get("custom_id") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(_) => {
                return Err(format!(
                    "requests.{i}.custom_id: Input should be a non-empty string"
                ));
            }
            None => return Err(format!("requests.{i}.custom_id: Field required")),
        };
        if !seen.insert(custom_id.clone()) {
            return Err(format!(
                "requests.{i}.custom_id: {custom_id:?} is not unique in this batch"
            ));
        }
        let params = match request.get("params") {
            Some(params @ Value::Object(_)) => params,
            Some(_) => return Err(format!("requests.{i}.params: Input should be an object")),
            None => return Err(format!("requests.{i}.params: Field required")),
        };
        let outcome = match model::validate(params.to_string().as_bytes(), Dialect::Api) {
            Ok(request) if request.stream => {
                Outcome::Errored("stream: batch requests cannot be streamed".into())
            }
            Ok(request) => {
                let text = model::answer(&request);
                let calls = tools::calls(&request, || shared.next_tool_id());
                let id = shared.next_message_id();
                let message = if calls.is_empty() {
                    model::message(&id, &request.model, &text, request.input_tokens)
                } else {
                    tools::message(&id, &request.model, &text, &calls, request.input_tokens)
                };
                Outcome::Succeeded(message)
            }
            Err(message) => Outcome::Errored(message),
        };
        items.push(Item { custom_id, outcome });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths() {
        let parse = |m: &str, p: &str| Endpoint::parse(&m.parse().unwrap(), p);
        assert_eq!(parse("GET", "/v1/models"), Some(Endpoint::ListModels));
        assert_eq!(
            parse("GET", "/v1/models/x"),
            Some(Endpoint::GetModel("x".into()))
        );
        assert_eq!(
            parse("POST", "/v1/messages/batches/b/cancel"),
            Some(Endpoint::CancelBatch("b".into()))
        );
        assert_eq!(parse("POST", "/v1/messages"), None);
        assert_eq!(parse("GET", "/v1/models/"), None);
        assert_eq!(parse("PUT", "/v1/models"), None);
    }
}
