//! The mock serving the Claude Code CLI: requests shaped like the real CLI's (a trimmed
//! capture in `tests/fixtures/claude_code_requests.json`), the prompt directives
//! (`[[tool:..]]`, `[[error:..]]`, `[[slow:..]]`, `[[text:..]]`), and ordinary clients left
//! alone.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;

use claude_kit_mock::MockServer;
use serde_json::{Value, json};

use crate::server::{Response, request_to};

const FIXTURE: &str = include_str!("../fixtures/claude_code_requests.json");
const GREETING: &str = "Hello! I am the claude-kit mock server. You said: ";
const MESSAGES: &str = "/v1/messages?beta=true";
const SESSION: &str = "00000000-0000-4000-8000-000000000000";

fn fixture() -> Value {
    serde_json::from_str(FIXTURE).unwrap()
}

/// The headers of the captured request (Claude Code's), plus an API key.
fn cc_headers() -> Vec<(String, String)> {
    let fixture = fixture();
    let mut headers: Vec<(String, String)> = fixture["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| *name != "connection")
        .map(|(name, value)| (name.clone(), value.as_str().unwrap().to_owned()))
        .collect();
    headers.push(("x-api-key".into(), "sk-ant-test-key".into()));
    headers
}

/// The headers of an ordinary client.
fn api_headers() -> Vec<(String, String)> {
    vec![
        ("anthropic-version".into(), "2023-06-01".into()),
        ("content-type".into(), "application/json".into()),
    ]
}

/// The captured first request, its prompt (the last text block of the first user message)
/// replaced by `prompt`.
fn first_request(prompt: &str, stream: bool) -> Value {
    let mut body = fixture()["body"].clone();
    let blocks = body["messages"][0]["content"].as_array_mut().unwrap();
    assert!(
        blocks[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("<system-reminder>")
    );
    blocks.last_mut().unwrap()["text"] = json!(prompt);
    assert_eq!(body["messages"][1]["role"], "system");
    body["stream"] = json!(stream);
    body
}

/// `body` continued by one model turn: the assistant's `content` and the user's answer.
fn continued(mut body: Value, assistant: Value, user: Value) -> Value {
    let messages = body["messages"].as_array_mut().unwrap();
    messages.push(json!({"role": "assistant", "content": assistant}));
    messages.push(json!({"role": "user", "content": user}));
    body
}

/// What these tests read from a response, beyond `server.rs`'s accessors.
impl Response {
    /// The SSE events (name, data).
    fn events(&self) -> Vec<(String, Value)> {
        assert_eq!(
            self.header("content-type"),
            Some("text/event-stream; charset=utf-8")
        );
        let body = std::str::from_utf8(&self.body).unwrap();
        body.trim_end_matches('\n')
            .split("\n\n")
            .map(|event| {
                let (name, data) = event.split_once('\n').unwrap();
                let name = name.strip_prefix("event: ").unwrap().to_owned();
                let data: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap())
                    .expect("each data line is JSON");
                assert_eq!(data["type"], name.as_str());
                (name, data)
            })
            .collect()
    }

    /// The assistant message: the JSON body, or the message an SSE body builds.
    fn message(&self) -> Value {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        if self.header("content-type") == Some("application/json") {
            return self.json();
        }
        let mut message = Value::Null;
        let mut partial_json: Vec<String> = Vec::new();
        for (name, data) in self.events() {
            match name.as_str() {
                "message_start" => message = data["message"].clone(),
                "content_block_start" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    let content = message["content"].as_array_mut().unwrap();
                    assert_eq!(content.len(), index, "blocks start in order");
                    content.push(data["content_block"].clone());
                    partial_json.push(String::new());
                }
                "content_block_delta" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    let block = &mut message["content"][index];
                    match data["delta"]["type"].as_str().unwrap() {
                        "text_delta" => {
                            let text = block["text"].as_str().unwrap().to_owned();
                            block["text"] = json!(text + data["delta"]["text"].as_str().unwrap());
                        }
                        "input_json_delta" => partial_json[index]
                            .push_str(data["delta"]["partial_json"].as_str().unwrap()),
                        other => panic!("unexpected delta {other}"),
                    }
                }
                "content_block_stop" => {
                    let index = data["index"].as_u64().unwrap() as usize;
                    if message["content"][index]["type"] == "tool_use" {
                        message["content"][index]["input"] =
                            serde_json::from_str(&partial_json[index]).unwrap();
                    }
                }
                "message_delta" => message["stop_reason"] = data["delta"]["stop_reason"].clone(),
                "message_stop" | "ping" => {}
                other => panic!("unexpected event {other}"),
            }
        }
        message
    }
}

/// One `POST` on a fresh connection (`connection: close`), read to the end.
fn send(addr: SocketAddr, path: &str, headers: &[(String, String)], body: &Value) -> Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    request_to(addr, "POST", path, &headers, &body.to_string())
}

/// A Claude Code request to `POST /v1/messages?beta=true`.
fn cc(server: &MockServer, body: &Value) -> Response {
    send(server.addr(), MESSAGES, &cc_headers(), body)
}

/// The text of a message's only content block, which must be text.
fn only_text(message: &Value) -> &str {
    let content = message["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "{message}");
    assert_eq!(content[0]["type"], "text", "{message}");
    assert_eq!(message["stop_reason"], "end_turn");
    content[0]["text"].as_str().unwrap()
}

/// The only content block of a message, which must be a `tool_use`: its id, name and input.
fn only_tool_use(message: &Value) -> (String, String, Value) {
    let content = message["content"].as_array().unwrap();
    assert_eq!(content.len(), 1, "a tool_use and nothing else: {message}");
    let block = &content[0];
    assert_eq!(block["type"], "tool_use", "{message}");
    assert_eq!(message["stop_reason"], "tool_use");
    let id = block["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("toolu_mock_"), "{id}");
    (
        id,
        block["name"].as_str().unwrap().to_owned(),
        block["input"].clone(),
    )
}

/// The assistant content of a `tool_use` answer, as Claude Code sends it back.
fn tool_use_block(id: &str, name: &str, input: &Value) -> Value {
    json!([{"type": "tool_use", "id": id, "name": name, "input": input}])
}

#[test]
fn plain_prompt_gets_text_streamed_or_not() {
    let server = MockServer::start();
    for stream in [true, false] {
        let response = cc(&server, &first_request("Hello", stream));
        assert!(
            response
                .header("request-id")
                .is_some_and(|id| id.starts_with("req_mock_"))
        );
        let message = response.message();
        // The captured request offers 12 tools: Claude Code gets no schema-example call.
        assert_eq!(only_text(&message), format!("{GREETING}Hello"));
        assert_eq!(message["model"], "claude-opus-5-5");
        if stream {
            assert!(response.chunks.len() > 3, "one chunk per event");
        }
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].path, MESSAGES);
}

#[test]
fn ordinary_clients_are_served_as_before() {
    let server = MockServer::start();
    // A `role: "system"` entry is still invalid for them.
    let body = first_request("Hello", false);
    let response = send(server.addr(), "/v1/messages", &api_headers(), &body);
    assert_eq!(response.status, 400);
    assert_eq!(
        response.json()["error"]["message"],
        "messages.1.role: Input should be 'user' or 'assistant'"
    );
    // Without it, the offered tools get the schema-example call, directives or not.
    let mut body = first_request("[[tool:Read {\"file_path\":\"/x\"}]]", false);
    body["messages"].as_array_mut().unwrap().truncate(1);
    let message = send(server.addr(), MESSAGES, &api_headers(), &body).message();
    assert_eq!(message["content"][0]["text"], "I'll use the Agent tool.");
    assert_eq!(message["content"][1]["name"], "Agent");
    // `x-app: cli` alone (no claude-code beta) is not Claude Code.
    let mut headers = api_headers();
    headers.push(("x-app".into(), "cli".into()));
    let message = send(server.addr(), MESSAGES, &headers, &body).message();
    assert_eq!(message["content"][1]["name"], "Agent");
}

#[test]
fn tool_directive_then_quoted_result() {
    let server = MockServer::start();
    for stream in [true, false] {
        let first = first_request(
            r#"Read it: [[tool:Read {"file_path":"/tmp/somefile.txt","limit":2}]]"#,
            stream,
        );
        let (id, name, input) = only_tool_use(&cc(&server, &first).message());
        assert_eq!(name, "Read");
        assert_eq!(input, json!({"file_path": "/tmp/somefile.txt", "limit": 2}));
        let content = "1\tline one\n2\tthe secret is 42";
        let second = continued(
            first,
            tool_use_block(&id, &name, &input),
            json!([{"tool_use_id": id, "type": "tool_result", "content": content,
                    "cache_control": {"type": "ephemeral"}}]),
        );
        let message = cc(&server, &second).message();
        assert_eq!(only_text(&message), format!("Read returned: {content}"));
    }
}

#[test]
fn directives_are_answered_one_per_call_in_order() {
    let server = MockServer::start();
    let prompt = r#"[[tool:Bash {"command":"echo hi","description":"say hi"}]]
        then [[tool:Write {"file_path":"/tmp/x","content":"x"}]] and [[tool:Read]]"#;
    let mut body = first_request(prompt, true);
    let results = [
        json!("hi\n"),
        json!([{"type": "text", "text": "Write is not allowed"}]),
        json!([{"type": "text", "text": "part one"}, {"type": "image", "source": {}},
               {"type": "text", "text": "part two"}]),
    ];
    let expected = ["Bash", "Write", "Read"];
    for (result, want) in results.iter().zip(expected) {
        let (id, name, input) = only_tool_use(&cc(&server, &body).message());
        assert_eq!(name, want);
        if name == "Read" {
            // No JSON: an input made from the tool's schema.
            assert_eq!(input["file_path"], "example");
        }
        let mut answer = json!({"type": "tool_result", "tool_use_id": id, "content": result});
        if name == "Write" {
            answer["is_error"] = json!(true);
        }
        body = continued(body, tool_use_block(&id, &name, &input), json!([answer]));
    }
    let message = cc(&server, &body).message();
    assert_eq!(
        only_text(&message),
        "Bash returned: hi\n\nWrite returned: Write is not allowed\n\
         Read returned: part one\npart two"
    );
    // A new prompt in the same conversation starts over.
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": [{"type": "text", "text": "done"}]}));
    body["messages"].as_array_mut().unwrap().push(
        json!({"role": "user", "content": [{"type": "text", "text": "<system-reminder>r</system-reminder>"},
                                           {"type": "text", "text": "and now? [[text:all done]]"}]}),
    );
    assert_eq!(only_text(&cc(&server, &body).message()), "all done");
}

#[test]
fn deferred_tool_is_loaded_with_tool_search_first() {
    let server = MockServer::start();
    let fixture = fixture();
    // The captured conversation: the prompt asks for an MCP tool the first request does not
    // offer (it is deferred), so the model searches for it first.
    let first = fixture["body"].clone();
    let (_, name, input) = only_tool_use(&cc(&server, &first).message());
    assert_eq!(name, "ToolSearch");
    assert_eq!(input, json!({"query": "select:mcp__calc__add"}));
    // The CLI loaded it: its result (a tool_reference plus a "Tool loaded." text block next
    // to the tool_result, which is not a new prompt) and the next request offers it.
    let mut second = first.clone();
    second["messages"] = fixture["later_messages"][0].clone();
    second["tools"]
        .as_array_mut()
        .unwrap()
        .push(fixture["loaded_tool"].clone());
    let (_, name, input) = only_tool_use(&cc(&server, &second).message());
    assert_eq!(name, "mcp__calc__add");
    assert_eq!(input, json!({"a": 2, "b": 3}));
    let mut third = second.clone();
    third["messages"] = fixture["later_messages"][1].clone();
    for stream in [true, false] {
        third["stream"] = json!(stream);
        let message = cc(&server, &third).message();
        assert_eq!(only_text(&message), "mcp__calc__add returned: sum=5");
    }
    // A tool neither offered nor loadable gets an explanation instead of a call.
    let mut body = first_request("[[tool:mcp__calc__add {\"a\":1,\"b\":1}]]", false);
    body["tools"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["name"] != "ToolSearch");
    let text = only_text(&cc(&server, &body).message()).to_owned();
    assert!(
        text.starts_with("claude-kit-mock: [[tool:mcp__calc__add]]: mcp__calc__add is not offered (tools: Agent, Bash,"),
        "{text}"
    );
    // ToolSearch did not load it: no endless searching.
    let search = tool_use_block(
        "toolu_x",
        "ToolSearch",
        &json!({"query": "select:mcp__calc__add"}),
    );
    let result = json!([{"type": "tool_result", "tool_use_id": "toolu_x",
                         "content": "No matching deferred tools found"}]);
    let body = continued(
        first_request("[[tool:mcp__calc__add {\"a\":1,\"b\":1}]]", false),
        search,
        result,
    );
    let text = only_text(&cc(&server, &body).message()).to_owned();
    assert_eq!(
        text,
        "ToolSearch returned: No matching deferred tools found\n\
         claude-kit-mock: [[tool:mcp__calc__add]]: mcp__calc__add is still not offered after ToolSearch"
    );
}

#[test]
fn quoted_results_are_cut_at_16_kib() {
    let server = MockServer::start();
    let first = first_request("[[tool:Read {\"file_path\":\"/big\"}]]", false);
    let (id, name, input) = only_tool_use(&cc(&server, &first).message());
    // 'é' is two bytes: 16 KiB falls in the middle of one.
    let long = format!("x{}", "é".repeat(10_000));
    let body = continued(
        first,
        tool_use_block(&id, &name, &input),
        json!([{"type": "tool_result", "tool_use_id": id, "content": long}]),
    );
    let message = cc(&server, &body).message();
    let text = only_text(&message);
    let quoted = text.strip_prefix("Read returned: ").unwrap();
    assert_eq!(quoted.len(), 16 * 1024 - 1);
    assert!(long.starts_with(quoted));
}

#[test]
fn error_directive_fails_at_once() {
    let server = MockServer::start();
    for (status, error_type) in [
        (401, "authentication_error"),
        (529, "overloaded_error"),
        (500, "api_error"),
    ] {
        for stream in [true, false] {
            let prompt = format!("[[error:{status}]]");
            let response = cc(&server, &first_request(&prompt, stream));
            assert_eq!(response.status, status);
            assert_eq!(response.header("content-type"), Some("application/json"));
            assert_eq!(response.header("x-should-retry"), Some("false"));
            let body = response.json();
            assert_eq!(body["type"], "error");
            assert_eq!(body["error"]["type"], error_type);
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty())
            );
            assert_eq!(body["request_id"].as_str(), response.header("request-id"));
        }
    }
    // After a tool directive, the error comes once the tool's result is back.
    let first = first_request("[[tool:Read {\"file_path\":\"/x\"}]] [[error:529]]", true);
    let (id, name, input) = only_tool_use(&cc(&server, &first).message());
    let body = continued(
        first,
        tool_use_block(&id, &name, &input),
        json!([{"type": "tool_result", "tool_use_id": id, "content": "x"}]),
    );
    assert_eq!(cc(&server, &body).status, 529);
}

#[test]
fn error_directive_with_a_count_fails_that_many_times() {
    let server = MockServer::start();
    let body = first_request("[[error:529:2]] then fine", true);
    for _ in 0..2 {
        let response = cc(&server, &body);
        assert_eq!(response.status, 529);
        assert_eq!(response.header("x-should-retry"), Some("true"));
    }
    let text = only_text(&cc(&server, &body).message()).to_owned();
    assert_eq!(text, format!("{GREETING}then fine"));
    assert_eq!(cc(&server, &body).status, 200);
    // The count is per session: another session fails again.
    let mut headers = cc_headers();
    for (name, value) in &mut headers {
        if name == "x-claude-code-session-id" {
            assert_eq!(value, SESSION);
            *value = "11111111-0000-4000-8000-000000000000".into();
        }
    }
    assert_eq!(send(server.addr(), MESSAGES, &headers, &body).status, 529);
}

#[test]
fn slow_directive_streams_one_character_per_delta() {
    let server = MockServer::start();
    let response = cc(&server, &first_request("[[slow:1]][[text:abc dé]]", true));
    let deltas: Vec<String> = response
        .events()
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .map(|(_, data)| data["delta"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deltas, ["a", "b", "c", " ", "d", "é"]);
    // Each event is a chunk of its own, sent after its pause.
    assert_eq!(response.chunks.len(), response.events().len());
    assert_eq!(only_text(&response.message()), "abc dé");
    // Without a text directive, the greeting goes slowly (many deltas).
    let response = cc(&server, &first_request("[[slow:0]]", true));
    let deltas = response
        .events()
        .iter()
        .filter(|(name, _)| name == "content_block_delta")
        .count();
    assert_eq!(deltas, GREETING.trim_end().chars().count());
    // Non-streaming: the message at once.
    let message = cc(&server, &first_request("[[slow:5000]] [[text:now]]", false)).message();
    assert_eq!(only_text(&message), "now");
}

#[test]
fn text_directive_replies_exactly() {
    let server = MockServer::start();
    let message = cc(
        &server,
        &first_request("[[text:  Line 1\nLine [2] ]]", true),
    )
    .message();
    assert_eq!(only_text(&message), "  Line 1\nLine [2] ");
    // After tools, it replaces the quotes.
    let first = first_request(
        "[[tool:Read {\"file_path\":\"/x\"}]][[text:read it]]",
        false,
    );
    let (id, name, input) = only_tool_use(&cc(&server, &first).message());
    let body = continued(
        first,
        tool_use_block(&id, &name, &input),
        json!([{"type": "tool_result", "tool_use_id": id, "content": "x"}]),
    );
    assert_eq!(only_text(&cc(&server, &body).message()), "read it");
}

#[test]
fn bad_directives_are_explained() {
    let server = MockServer::start();
    for (prompt, needle) in [
        (
            "[[tool:Read {bad json}]]",
            "[[tool:Read ...]]: bad JSON input",
        ),
        ("[[tool:Read [1]]]", "the input must be a JSON object"),
        ("[[error:299]]", "expected an HTTP status from 400 to 599"),
        ("[[slow:soon]]", "[[slow:soon]]: expected milliseconds"),
        ("[[text:never closed", "no closing ]]"),
    ] {
        let message = cc(&server, &first_request(prompt, true)).message();
        let text = only_text(&message);
        assert!(text.starts_with("claude-kit-mock: "), "{text}");
        assert!(text.contains(needle), "{prompt}: {text}");
    }
    // `[[` without a directive name is plain text.
    let message = cc(&server, &first_request("see [[Main Page]]", true)).message();
    assert_eq!(only_text(&message), format!("{GREETING}see [[Main Page]]"));
}

#[test]
fn count_tokens_with_a_query_string() {
    let server = MockServer::start();
    let mut body = fixture()["body"].clone();
    let object = body.as_object_mut().unwrap();
    for key in ["max_tokens", "stream", "metadata", "context_management"] {
        object.remove(key);
    }
    let response = send(
        server.addr(),
        "/v1/messages/count_tokens?beta=true",
        &cc_headers(),
        &body,
    );
    assert_eq!(response.status, 200);
    assert!(response.header("request-id").is_some());
    let tokens = response.json()["input_tokens"].as_u64().unwrap();
    // The tools (about 6 KB here, trimmed) count too.
    assert!(tokens > 1000, "{tokens}");
    // Ordinary clients: the system entry is invalid, as before.
    let response = send(
        server.addr(),
        "/v1/messages/count_tokens?beta=true",
        &api_headers(),
        &body,
    );
    assert_eq!(response.status, 400);
    // Any other path, query or not, is a JSON 404.
    let response = send(server.addr(), "/v1/nothing?beta=true", &cc_headers(), &body);
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["error"]["type"], "not_found_error");
}

#[test]
fn faults_and_scripted_replies_still_come_first() {
    let server = MockServer::start();
    server.enqueue(claude_kit_mock::Reply::text("scripted"));
    let body = first_request("[[error:401]]", true);
    assert_eq!(only_text(&cc(&server, &body).message()), "scripted");
    let mut headers = cc_headers();
    headers.push(("x-mock-fault".into(), "status:503".into()));
    let response = send(
        server.addr(),
        MESSAGES,
        &headers,
        &first_request("Hi", true),
    );
    assert_eq!(response.status, 503);
}

#[test]
fn request_log_of_the_binary() {
    let dir = std::env::temp_dir().join(format!("claude-kit-mock-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("requests.jsonl");
    let _ = std::fs::remove_file(&log);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_claude-kit-mock"))
        .args(["--threads", "1"])
        .env("CLAUDE_KIT_MOCK_REQUEST_LOG", &log)
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
    let body = first_request("Hello", true);
    let response = send(addr, MESSAGES, &cc_headers(), &body);
    assert_eq!(response.status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    // The line is written before the answer.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let logged = &lines[0];
    assert_eq!(logged["method"], "POST");
    assert_eq!(logged["path"], MESSAGES);
    assert_eq!(logged["request_id"].as_str(), response.header("request-id"));
    assert_eq!(logged["headers"]["x-app"], "cli");
    assert_eq!(logged["headers"]["x-api-key"], "<redacted>");
    assert_eq!(logged["body"], body);
    let _ = std::fs::remove_dir_all(&dir);
}
