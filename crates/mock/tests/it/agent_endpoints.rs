//! End-to-end tests of tool calling, token counting, models and Message Batches over real
//! sockets, with a tiny blocking HTTP client.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use claude_kit_mock::MockServer;
use serde_json::{Value, json};

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    chunks: Vec<Vec<u8>>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn api_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body: Value = serde_json::from_slice(&self.body).unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], error_type);
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

/// One request on a fresh connection (`connection: close`), read to the end.
fn request(
    server: &MockServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\n", server.addr());
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!(
        "connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(out.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream);
    let status = read_line(&mut reader)
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let mut headers = Vec::new();
    loop {
        let line = read_line(&mut reader);
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
            let size = usize::from_str_radix(&read_line(&mut reader), 16).unwrap();
            if size == 0 {
                assert_eq!(read_line(&mut reader), "");
                break;
            }
            let mut chunk = vec![0; size];
            reader.read_exact(&mut chunk).unwrap();
            assert_eq!(read_line(&mut reader), "");
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

const API: &[(&str, &str)] = &[
    ("anthropic-version", "2023-06-01"),
    ("content-type", "application/json"),
];

fn get(server: &MockServer, path: &str) -> Response {
    request(server, "GET", path, API, "")
}

fn post(server: &MockServer, path: &str, body: &Value) -> Response {
    request(server, "POST", path, API, &body.to_string())
}

/// The SSE events of a response: (event name, data).
fn sse_events(response: &Response) -> Vec<(String, Value)> {
    let body = std::str::from_utf8(&response.body).unwrap();
    body.trim_end_matches('\n')
        .split("\n\n")
        .map(|event| {
            let (name, data) = event.split_once('\n').unwrap();
            let name = name.strip_prefix("event: ").unwrap().to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn weather_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "City name"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "options": {
                "type": "object",
                "properties": {"detailed": {"type": "boolean"}, "level": {"type": "number"}},
                "required": ["detailed"]
            }
        },
        "required": ["city", "unit", "days", "tags", "options"]
    })
}

fn tool_request(stream: bool) -> Value {
    json!({
        "model": "claude-test",
        "max_tokens": 256,
        "stream": stream,
        "tools": [
            {"name": "get_weather", "description": "Weather", "input_schema": weather_schema()},
            {"name": "get_time", "input_schema": {"type": "object", "properties": {"tz": {"type": "string"}}}}
        ],
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
    })
}

fn expected_weather_input() -> Value {
    json!({
        "city": "example",
        "unit": "celsius",
        "days": 1,
        "tags": ["example"],
        "options": {"detailed": true, "level": 1}
    })
}

#[test]
fn tool_call_with_schema_valid_input() {
    let server = MockServer::start();
    let message = post(&server, "/v1/messages", &tool_request(false)).json();
    assert_eq!(message["type"], "message");
    assert_eq!(message["stop_reason"], "tool_use");
    let content = message["content"].as_array().unwrap();
    assert_eq!(content.len(), 2);
    assert_eq!(
        content[0],
        json!({"type": "text", "text": "I'll use the get_weather tool."})
    );
    assert_eq!(content[1]["type"], "tool_use");
    assert_eq!(content[1]["id"], "toolu_mock_1");
    assert_eq!(content[1]["name"], "get_weather");
    assert_eq!(content[1]["input"], expected_weather_input());

    // `tool_choice` names the tool to call.
    let mut named = tool_request(false);
    named["tool_choice"] = json!({"type": "tool", "name": "get_time"});
    let message = post(&server, "/v1/messages", &named).json();
    assert_eq!(message["content"][0]["text"], "I'll use the get_time tool.");
    assert_eq!(message["content"][1]["name"], "get_time");
    assert_eq!(message["content"][1]["id"], "toolu_mock_2");
    assert_eq!(message["content"][1]["input"], json!({"tz": "example"}));

    // An unknown tool is a 400; `none` answers with text.
    named["tool_choice"] = json!({"type": "tool", "name": "nope"});
    post(&server, "/v1/messages", &named).api_error(400, "invalid_request_error");
    named["tool_choice"] = json!({"type": "none"});
    let message = post(&server, "/v1/messages", &named).json();
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(message["content"].as_array().unwrap().len(), 1);
}

#[test]
fn tool_result_gets_a_text_answer() {
    let server = MockServer::start();
    let mut body = tool_request(false);
    body["messages"] = json!([
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny, 21C"}
        ]}
    ]);
    let message = post(&server, "/v1/messages", &body).json();
    assert_eq!(message["stop_reason"], "end_turn");
    assert_eq!(
        message["content"],
        json!([{"type": "text", "text": "The tool said: sunny, 21C"}])
    );

    body["messages"][2]["content"] = json!([{
        "type": "tool_result", "tool_use_id": "toolu_1", "is_error": true,
        "content": [{"type": "text", "text": "city not found"}]
    }]);
    let message = post(&server, "/v1/messages", &body).json();
    assert_eq!(
        message["content"][0]["text"],
        "The tool failed: city not found"
    );
}

#[test]
fn streamed_tool_use() {
    let server = MockServer::start();
    let response = post(&server, "/v1/messages", &tool_request(true));
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("text/event-stream")
    );
    let events = sse_events(&response);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    let text: String = events
        .iter()
        .filter(|(_, d)| d["index"] == 0 && d["delta"]["type"] == "text_delta")
        .map(|(_, d)| d["delta"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(text, "I'll use the get_weather tool.");
    let start = events
        .iter()
        .find(|(n, d)| n == "content_block_start" && d["index"] == 1)
        .unwrap();
    assert_eq!(
        start.1["content_block"],
        json!({"type": "tool_use", "id": "toolu_mock_1", "name": "get_weather", "input": {}})
    );
    let pieces: Vec<&str> = events
        .iter()
        .filter(|(_, d)| d["index"] == 1 && d["delta"]["type"] == "input_json_delta")
        .map(|(_, d)| d["delta"]["partial_json"].as_str().unwrap())
        .collect();
    assert!((2..=3).contains(&pieces.len()), "{pieces:?}");
    let input: Value = serde_json::from_str(&pieces.concat()).unwrap();
    assert_eq!(input, expected_weather_input());
    assert!(
        events
            .iter()
            .any(|(n, d)| n == "content_block_stop" && d["index"] == 1)
    );
    let delta = events.iter().find(|(n, _)| n == "message_delta").unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");
}

#[test]
fn parallel_tools_header() {
    let server = MockServer::start();
    let mut headers = API.to_vec();
    headers.push(("x-mock-parallel-tools", "3"));
    let body = tool_request(false).to_string();
    let response = request(&server, "POST", "/v1/messages", &headers, &body);
    let message = response.json();
    let calls: Vec<(&str, &str)> = message["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| (b["id"].as_str().unwrap(), b["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        calls,
        [
            ("toolu_mock_1", "get_weather"),
            ("toolu_mock_2", "get_time"),
            ("toolu_mock_3", "get_weather")
        ]
    );

    // Streamed: one tool block per call, at indexes 1 to 3.
    let body = tool_request(true).to_string();
    let response = request(&server, "POST", "/v1/messages", &headers, &body);
    let starts: Vec<Value> = sse_events(&response)
        .into_iter()
        .filter(|(n, _)| n == "content_block_start")
        .map(|(_, d)| d["index"].clone())
        .collect();
    assert_eq!(starts, [json!(0), json!(1), json!(2), json!(3)]);

    headers.pop();
    headers.push(("x-mock-parallel-tools", "zero"));
    request(&server, "POST", "/v1/messages", &headers, &body)
        .api_error(400, "invalid_request_error");
}

#[test]
fn count_tokens() {
    let server = MockServer::builder().api_key("sk-test").start().unwrap();
    let body = json!({
        "model": "claude-test",
        "system": "You are terse.",
        "messages": [
            {"role": "user", "content": "one two three"},
            {"role": "assistant", "content": [{"type": "text", "text": "four"}]},
            {"role": "user", "content": "five"}
        ]
    });
    let path = "/v1/messages/count_tokens";
    let mut headers = API.to_vec();
    request(&server, "POST", path, &headers, &body.to_string())
        .api_error(401, "authentication_error");
    headers.push(("authorization", "Bearer sk-test"));
    let count = request(&server, "POST", path, &headers, &body.to_string()).json();
    assert_eq!(count, json!({"input_tokens": 8}));
    let message = request(&server, "POST", path, &headers, r#"{"model":"m"}"#)
        .api_error(400, "invalid_request_error");
    assert_eq!(message, "messages: Field required");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.path == path));
}

#[test]
fn models_pagination_and_get() {
    let server = MockServer::start();
    let all = get(&server, "/v1/models").json();
    let ids: Vec<String> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.len() >= 5);
    assert_eq!(all["has_more"], false);
    assert_eq!(all["first_id"], ids[0].as_str());
    for model in all["data"].as_array().unwrap() {
        assert_eq!(model["type"], "model");
        assert!(
            model["display_name"]
                .as_str()
                .unwrap()
                .starts_with("Claude")
        );
        let created = model["created_at"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    }

    // Walk with limit=2 and after_id until has_more is false.
    let mut walked = Vec::new();
    let mut path = "/v1/models?limit=2".to_owned();
    for _ in 0..ids.len() {
        let page = get(&server, &path).json();
        let data = page["data"].as_array().unwrap();
        assert!(!data.is_empty() && data.len() <= 2);
        assert_eq!(page["first_id"], data[0]["id"]);
        assert_eq!(page["last_id"], data[data.len() - 1]["id"]);
        walked.extend(data.iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        if page["has_more"] == false {
            break;
        }
        path = format!(
            "/v1/models?limit=2&after_id={}",
            page["last_id"].as_str().unwrap()
        );
    }
    assert_eq!(walked, ids);

    // before_id goes back.
    let back = get(&server, &format!("/v1/models?limit=2&before_id={}", ids[3])).json();
    assert_eq!(back["first_id"], ids[1].as_str());
    assert_eq!(back["last_id"], ids[2].as_str());
    assert_eq!(back["has_more"], true);

    get(&server, "/v1/models?limit=0").api_error(400, "invalid_request_error");
    let model = get(&server, &format!("/v1/models/{}", ids[0])).json();
    assert_eq!(model, all["data"][0]);
    get(&server, "/v1/models/claude-nope").api_error(404, "not_found_error");
}

fn batch_body() -> Value {
    json!({"requests": [
        {"custom_id": "first", "params": {
            "model": "claude-test", "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hello batch"}]}},
        {"custom_id": "broken", "params": {
            "model": "claude-test",
            "messages": [{"role": "user", "content": "no max_tokens"}]}},
        {"custom_id": "tools", "params": {
            "model": "claude-test", "max_tokens": 16,
            "tools": [{"name": "get_time", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "What time is it?"}]}}
    ]})
}

/// Polls the batch until it has ended (processing is time-based), within a bounded (and
/// generous: a starved machine may be slow) time.
fn wait_ended(server: &MockServer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let batch = get(server, &format!("/v1/messages/batches/{id}")).json();
        if batch["processing_status"] == "ended" {
            return batch;
        }
        assert!(Instant::now() < deadline, "batch never ended: {batch}");
        std::thread::yield_now();
    }
}

#[test]
fn batch_lifecycle_and_results() {
    let server = MockServer::builder()
        .batch_request_delay(Duration::from_millis(5))
        .start()
        .unwrap();
    let created = post(&server, "/v1/messages/batches", &batch_body()).json();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(id, "msgbatch_mock_1");
    assert_eq!(created["type"], "message_batch");
    assert_eq!(created["processing_status"], "in_progress");
    assert_eq!(
        created["request_counts"],
        json!({"processing": 3, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0})
    );
    for key in [
        "ended_at",
        "cancel_initiated_at",
        "archived_at",
        "results_url",
    ] {
        assert!(created[key].is_null(), "{key}");
    }
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(created["expires_at"].as_str().unwrap() > created["created_at"].as_str().unwrap());

    // Results are not available before the end; nor can the batch be deleted.
    let early = get(&server, &format!("/v1/messages/batches/{id}/results"));
    if early.status != 200 {
        early.api_error(400, "invalid_request_error");
    }

    let ended = wait_ended(&server, &id);
    assert_eq!(
        ended["request_counts"],
        json!({"processing": 0, "succeeded": 2, "errored": 1, "canceled": 0, "expired": 0})
    );
    assert!(ended["ended_at"].is_string());
    let url = format!("{}/v1/messages/batches/{id}/results", server.url());
    assert_eq!(ended["results_url"], url.as_str());

    let results = get(&server, &format!("/v1/messages/batches/{id}/results"));
    assert_eq!(results.status, 200);
    assert_eq!(results.header("content-type"), Some("application/x-jsonl"));
    assert_eq!(results.chunks.len(), 3, "one line per chunk");
    let lines: Vec<Value> = std::str::from_utf8(&results.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let custom_ids: Vec<&str> = lines
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(custom_ids, ["first", "broken", "tools"]);
    assert_eq!(lines[0]["result"]["type"], "succeeded");
    let message = &lines[0]["result"]["message"];
    assert_eq!(message["type"], "message");
    assert_eq!(
        message["content"][0]["text"],
        "Hello! I am the claude-kit mock server. You said: Hello batch"
    );
    assert_eq!(lines[1]["result"]["type"], "errored");
    assert_eq!(lines[1]["result"]["error"]["type"], "error");
    assert_eq!(
        lines[1]["result"]["error"]["error"],
        json!({"type": "invalid_request_error", "message": "max_tokens: Field required"})
    );
    let tool_message = &lines[2]["result"]["message"];
    assert_eq!(tool_message["stop_reason"], "tool_use");
    assert_eq!(tool_message["content"][1]["name"], "get_time");
    assert_eq!(tool_message["content"][1]["input"], json!({}));

    // Delete, then it is gone.
    let deleted = request(
        &server,
        "DELETE",
        &format!("/v1/messages/batches/{id}"),
        API,
        "",
    )
    .json();
    assert_eq!(deleted, json!({"id": id, "type": "message_batch_deleted"}));
    get(&server, &format!("/v1/messages/batches/{id}")).api_error(404, "not_found_error");
    get(&server, &format!("/v1/messages/batches/{id}/results")).api_error(404, "not_found_error");
}

#[test]
fn batch_delay_zero_ends_at_once() {
    let server = MockServer::builder()
        .batch_request_delay(Duration::ZERO)
        .start()
        .unwrap();
    let created = post(&server, "/v1/messages/batches", &batch_body()).json();
    assert_eq!(created["processing_status"], "in_progress");
    let id = created["id"].as_str().unwrap();
    let batch = get(&server, &format!("/v1/messages/batches/{id}")).json();
    assert_eq!(batch["processing_status"], "ended");
    assert_eq!(batch["request_counts"]["succeeded"], 2);
}

#[test]
fn batch_cancel() {
    // Long enough that nothing completes during the test.
    let server = MockServer::builder()
        .batch_request_delay(Duration::from_secs(3600))
        .start()
        .unwrap();
    let created = post(&server, "/v1/messages/batches", &batch_body()).json();
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/messages/batches/{id}");
    request(&server, "DELETE", &path, API, "").api_error(400, "invalid_request_error");
    get(&server, &format!("{path}/results")).api_error(400, "invalid_request_error");

    let canceling = post(&server, &format!("{path}/cancel"), &json!({})).json();
    assert_eq!(canceling["processing_status"], "canceling");
    assert!(canceling["cancel_initiated_at"].is_string());
    assert_eq!(canceling["request_counts"]["processing"], 3);

    let ended = get(&server, &path).json();
    assert_eq!(ended["processing_status"], "ended");
    assert_eq!(
        ended["request_counts"],
        json!({"processing": 0, "succeeded": 0, "errored": 0, "canceled": 3, "expired": 0})
    );
    let results = get(&server, &format!("{path}/results"));
    let body = String::from_utf8(results.body.clone()).unwrap();
    let lines: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l["result"] == json!({"type": "canceled"}))
    );
    request(&server, "DELETE", &path, API, "").json();
}

#[test]
fn batch_list_and_validation() {
    let server = MockServer::builder().api_key("sk-test").start().unwrap();
    let mut headers = API.to_vec();
    request(&server, "GET", "/v1/messages/batches", &headers, "")
        .api_error(401, "authentication_error");
    headers.push(("x-api-key", "sk-test"));
    let body = batch_body().to_string();
    for _ in 0..3 {
        request(&server, "POST", "/v1/messages/batches", &headers, &body).json();
    }
    let list = |query: &str| {
        request(
            &server,
            "GET",
            &format!("/v1/messages/batches{query}"),
            &headers,
            "",
        )
        .json()
    };
    let all = list("");
    let ids: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["msgbatch_mock_3", "msgbatch_mock_2", "msgbatch_mock_1"]
    );
    assert_eq!(all["has_more"], false);
    let first = list("?limit=2");
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["has_more"], true);
    assert_eq!(first["last_id"], "msgbatch_mock_2");
    let second = list("?limit=2&after_id=msgbatch_mock_2");
    assert_eq!(second["first_id"], "msgbatch_mock_1");
    assert_eq!(second["has_more"], false);

    for bad in [
        json!({}),
        json!({"requests": []}),
        json!({"requests": [{"params": {}}]}),
        json!({"requests": [{"custom_id": "a", "params": {}}, {"custom_id": "a", "params": {}}]}),
    ] {
        request(
            &server,
            "POST",
            "/v1/messages/batches",
            &headers,
            &bad.to_string(),
        )
        .api_error(400, "invalid_request_error");
    }
}
