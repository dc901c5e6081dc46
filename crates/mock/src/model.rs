//! Request validation, the deterministic default "model", and the wire shapes of its answers.

use bytes::Bytes;
use serde_json::Value;

/// What the server needs from a valid `POST /v1/messages` body.
#[derive(Debug)]
pub(crate) struct MessagesRequest {
    pub(crate) model: String,
    pub(crate) stream: bool,
    /// The request's `max_tokens` (counted as the output tokens it may use, for rate limits).
    pub(crate) max_tokens: u64,
    /// Word count of the request messages, at least 1.
    pub(crate) input_tokens: u64,
    /// Text blocks of the last user message, joined by a space.
    pub(crate) last_user_text: String,
    /// Words of the messages and the system prompt, at least 1 (for `count_tokens`).
    pub(crate) counted_tokens: u64,
    /// The tool the model calls first, when it answers with tool calls: the `tool_choice`
    /// tool, else the first tool offered; `None` when no tool call is due.
    pub(crate) tool_call: Option<usize>,
    /// The tools offered (`name` and `input_schema` of each).
    pub(crate) tools: Vec<(String, Value)>,
    /// The `tool_result` blocks of the last message (when it is a user turn): text and
    /// `is_error` of each.
    pub(crate) tool_results: Vec<(String, bool)>,
    /// How many tool calls to make in one turn (`x-mock-parallel-tools`, default 1).
    pub(crate) parallel_tools: usize,
    /// The whole body, kept for Claude Code's requests only (their directives are read from
    /// the conversation); `None` for other clients.
    pub(crate) claude_code: Option<Value>,
}

/// Who sent a request, which decides what the server accepts and how the model answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Any client of the Messages API: validated like the real API, answered by the default
    /// model (echo, schema-example tool calls).
    Api,
    /// The Claude Code CLI (`x-app: cli` and a `claude-code-*` beta): `role: "system"`
    /// entries are accepted in `messages`, no schema-example tool calls are made (its
    /// directives script the model instead), and `count_tokens` counts the tools too.
    ClaudeCode,
}

/// Validates a Messages request body like the real API; the error is the 400 message.
pub(crate) fn validate(body: &[u8], dialect: Dialect) -> Result<MessagesRequest, String> {
    validate_with(body, true, dialect)
}

/// Validates a `count_tokens` request body: a Messages request without `max_tokens`.
pub(crate) fn validate_count(body: &[u8], dialect: Dialect) -> Result<MessagesRequest, String> {
    validate_with(body, false, dialect)
}

/// Validates a Messages request body; `max_tokens` is required when `needs_max_tokens`.
fn validate_with(
    body: &[u8],
    needs_max_tokens: bool,
    dialect: Dialect,
) -> Result<MessagesRequest, String> {
    let claude_code = dialect == Dialect::ClaudeCode;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("There was an error parsing the body of your request: {e}"))?;
    let Some(obj) = value.as_object() else {
        return Err("body: Input should be a valid dictionary".into());
    };
    let model = match obj.get("model") {
        None => return Err("model: Field required".into()),
        Some(Value::String(model)) => model.clone(),
        Some(_) => return Err("model: Input should be a valid string".into()),
    };
    let max_tokens = match obj.get("max_tokens") {
        None if !needs_max_tokens => 1,
        None => return Err("max_tokens: Field required".into()),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 1 => n as u64,
            Some(_) => return Err("max_tokens: Input should be greater than or equal to 1".into()),
            None => return Err("max_tokens: Input should be a valid integer".into()),
        },
    };
    let messages = match obj.get("messages") {
        None => return Err("messages: Field required".into()),
        Some(Value::Array(messages)) => messages,
        Some(_) => return Err("messages: Input should be a valid list".into()),
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    for (i, message) in messages.iter().enumerate() {
        match message.get("role").and_then(Value::as_str) {
            Some("user" | "assistant") => {}
            // Claude Code puts its environment description in a `role: "system"` entry.
            Some("system") if claude_code => {}
            Some(_) => {
                return Err(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant'"
                ));
            }
            None => return Err(format!("messages.{i}.role: Field required")),
        }
        match message.get("content") {
            Some(Value::String(_) | Value::Array(_)) => {}
            Some(_) => {
                return Err(format!(
                    "messages.{i}.content: Input should be a valid string or list"
                ));
            }
            None => return Err(format!("messages.{i}.content: Field required")),
        }
    }
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err("stream: Input should be a valid boolean".into()),
    };
    let words: usize = messages
        .iter()
        .map(|m| text_of(m).split_whitespace().count())
        .sum();
    let last_user_text = messages
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
        .map(text_of)
        .unwrap_or_default();
    let system_words = match obj.get("system") {
        None | Some(Value::Null) => 0,
        Some(Value::String(text)) => text.split_whitespace().count(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .map(|t| t.split_whitespace().count())
            .sum(),
        Some(_) => return Err("system: Input should be a valid string or list".into()),
    };
    let tools = crate::tool_request::offered(obj.get("tools"))?;
    let last = messages.last().unwrap_or(&Value::Null);
    let tool_results = if last.get("role").and_then(Value::as_str) == Some("user") {
        crate::tool_request::results_of(last)
    } else {
        Vec::new()
    };
    let tool_call =
        if last.get("role").and_then(Value::as_str) == Some("user") && tool_results.is_empty() {
            crate::tool_request::choice(&tools, obj.get("tool_choice"))?.filter(|_| !claude_code)
        } else {
            None
        };
    // Claude Code's context usage counts its (big) tool definitions: about 4 bytes a token.
    let tool_tokens = match obj.get("tools") {
        Some(tools @ Value::Array(_)) if claude_code => tools.to_string().len() / 4,
        _ => 0,
    };
    Ok(MessagesRequest {
        model,
        stream,
        max_tokens,
        input_tokens: words.max(1) as u64,
        last_user_text,
        counted_tokens: (words + system_words + tool_tokens).max(1) as u64,
        tool_call,
        tools,
        tool_results,
        parallel_tools: 1,
        claude_code: claude_code.then_some(value),
    })
}

/// The text of a message: its string content, or its text blocks joined by a space.
fn text_of(message: &Value) -> String {
    match message.get("content") {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    }
}

/// The default model's text answer to a request: the text before its tool calls when it calls
/// tools, what the tools said when the last user turn carries tool results, else an echo.
pub(crate) fn answer(request: &MessagesRequest) -> String {
    if let Some(index) = request.tool_call {
        return format!("I'll use the {} tool.", request.tools[index].0);
    }
    if !request.tool_results.is_empty() {
        return request
            .tool_results
            .iter()
            .map(|(text, is_error)| {
                let verb = if *is_error { "failed" } else { "said" };
                format!("The tool {verb}: {text}")
            })
            .collect::<Vec<_>>()
            .join(" ");
    }
    format!(
        "Hello! I am the claude-kit mock server. You said: {}",
        request.last_user_text
    )
}

/// Splits text into tokens on word boundaries, keeping whitespace in front of each word:
/// `"Hello! I am"` gives `["Hello!", " I", " am"]` (trailing whitespace stays with the last
/// word). Concatenating the tokens gives the text back.
pub(crate) fn tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        let ws = c.is_whitespace();
        if ws && !prev_ws && i > start {
            out.push(&text[start..i]);
            start = i;
        }
        prev_ws = ws;
    }
    if start < text.len() {
        // Trailing whitespace stays with the last word rather than being a token of its own.
        match out.pop() {
            Some(last) if text[start..].trim().is_empty() => {
                let last_start = start - last.len();
                out.push(&text[last_start..]);
            }
            last => {
                out.extend(last);
                out.push(&text[start..]);
            }
        }
    }
    out
}

/// Splits text into one piece per character (for slow streams: many deltas).
pub(crate) fn chars(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len());
    let mut indices = text.char_indices().map(|(i, _)| i).peekable();
    while let Some(start) = indices.next() {
        let end = indices.peek().copied().unwrap_or(text.len());
        out.push(&text[start..end]);
    }
    out
}

// The bodies below are written by hand rather than through `serde_json::Value`, whose maps sort
// their keys: the real API puts `"type"` first, and clients that dispatch on it stream faster.

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A complete assistant message in the API's shape.
pub(crate) fn message(id: &str, model: &str, text: &str, input_tokens: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"id":{},"type":"message","role":"assistant","model":{},"content":[{{"type":"text","text":{}}}],"stop_reason":"end_turn","stop_sequence":null,"usage":{{"input_tokens":{input_tokens},"output_tokens":{}}}}}"#,
        quote(id),
        quote(model),
        quote(text),
        tokens(text).len(),
    ))
}

/// An API error body.
pub(crate) fn error_body(error_type: &str, message: &str, request_id: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"type":"error","error":{{"type":{},"message":{}}},"request_id":{}}}"#,
        quote(error_type),
        quote(message),
        quote(request_id),
    ))
}

/// One SSE event: `event: NAME\ndata: JSON\n\n`.
pub(crate) fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// The `message_start` event of a streamed message.
fn message_start(id: &str, model: &str, input_tokens: u64) -> Bytes {
    let start = format!(
        r#"{{"type":"message_start","message":{{"id":{},"type":"message","role":"assistant","model":{},"content":[],"stop_reason":null,"stop_sequence":null,"usage":{{"input_tokens":{input_tokens},"output_tokens":1}}}}}}"#,
        quote(id),
        quote(model),
    );
    event("message_start", &start)
}

/// The `content_block_start` event of the text block at index 0.
fn text_block_start() -> Bytes {
    event(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    )
}

/// A `text_delta` event of the block at index 0.
fn text_delta(token: &str) -> Bytes {
    let delta = format!(
        r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":{}}}}}"#,
        quote(token)
    );
    event("content_block_delta", &delta)
}

/// A stream that fails: `message_start`, `content_block_start`, `deltas` text deltas (the
/// tokens of `text`, repeated as needed), then an `error` event of this type and message.
pub(crate) fn error_stream_events(
    id: &str,
    model: &str,
    text: &str,
    input_tokens: u64,
    deltas: usize,
    error: (&str, &str, &str),
) -> Vec<Bytes> {
    let (error_type, message, request_id) = error;
    let tokens = tokens(text);
    let mut events = vec![message_start(id, model, input_tokens), text_block_start()];
    events.extend(
        tokens
            .iter()
            .cycle()
            .take(if tokens.is_empty() { 0 } else { deltas })
            .map(|token| text_delta(token)),
    );
    let error = error_body(error_type, message, request_id);
    events.push(event("error", &String::from_utf8_lossy(&error)));
    events
}

/// The beginning of a streamed text message: its events up to and including the first text
/// delta (all of them if the text is empty). What a stream fault sends before failing.
pub(crate) fn stream_prefix(id: &str, model: &str, text: &str, input_tokens: u64) -> Bytes {
    let mut prefix = Vec::new();
    for (event, is_token) in stream_events(id, model, text, input_tokens) {
        prefix.extend_from_slice(&event);
        if is_token {
            break;
        }
    }
    Bytes::from(prefix)
}

/// The SSE events of a streamed text message, in the real API's order; the flag marks the
/// `content_block_delta` events (the ones a token delay applies to).
pub(crate) fn stream_events(
    id: &str,
    model: &str,
    text: &str,
    input_tokens: u64,
) -> Vec<(Bytes, bool)> {
    stream_events_of(id, model, &tokens(text), input_tokens)
}

/// Like [`stream_events`], with one text delta per element of `tokens` (the pieces of the
/// text, in order).
pub(crate) fn stream_events_of(
    id: &str,
    model: &str,
    tokens: &[&str],
    input_tokens: u64,
) -> Vec<(Bytes, bool)> {
    let mut events = Vec::with_capacity(tokens.len() + 6);
    events.push((message_start(id, model, input_tokens), false));
    events.push((text_block_start(), false));
    events.push((event("ping", r#"{"type":"ping"}"#), false));
    for token in tokens {
        events.push((text_delta(token), true));
    }
    events.push((
        event(
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        false,
    ));
    events.extend(message_end("end_turn", tokens.len()));
    events
}

/// The two events that end every streamed message: `message_delta` with the stop reason and
/// the output token count, then `message_stop`.
pub(crate) fn message_end(stop_reason: &str, output_tokens: usize) -> [(Bytes, bool); 2] {
    let delta = format!(
        r#"{{"type":"message_delta","delta":{{"stop_reason":"{stop_reason}","stop_sequence":null}},"usage":{{"output_tokens":{output_tokens}}}}}"#
    );
    [
        (event("message_delta", &delta), false),
        (event("message_stop", r#"{"type":"message_stop"}"#), false),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_spaces() {
        assert_eq!(tokens("Hello! I am"), ["Hello!", " I", " am"]);
        assert_eq!(tokens("  a  b "), ["  a", "  b "]);
        assert!(tokens("").is_empty());
        let text = "Hello! I am the mock.\nYou said: héllo  wörld";
        assert_eq!(tokens(text).concat(), text);
        assert_eq!(chars("aé b"), ["a", "é", " ", "b"]);
        assert!(chars("").is_empty());
    }

    #[test]
    fn hand_written_json_is_valid_and_escaped() {
        let text = "say \"hi\"\n\\ é";
        let message: Value = serde_json::from_slice(&message("msg_1", "m\"", text, 3)).unwrap();
        assert_eq!(message["content"][0]["text"], text);
        assert_eq!(message["model"], "m\"");
        assert_eq!(message["usage"]["output_tokens"], 4);
        let error: Value = serde_json::from_slice(&error_body("e", "a\"b", "req_1")).unwrap();
        assert_eq!(error["error"]["message"], "a\"b");
        for (event, _) in stream_events("msg_1", "m", text, 3) {
            let event = std::str::from_utf8(&event).unwrap();
            let data = event.split_once("\ndata: ").unwrap().1;
            serde_json::from_str::<Value>(data.trim_end()).unwrap();
        }
    }

    #[test]
    fn error_stream_and_prefix() {
        let events = error_stream_events("m1", "m", "a b", 1, 3, ("overloaded_error", "Over", "r"));
        let names: Vec<String> = events
            .iter()
            .map(|e| {
                let e = std::str::from_utf8(e).unwrap();
                let (name, data) = e.split_once("\ndata: ").unwrap();
                serde_json::from_str::<Value>(data.trim_end()).unwrap();
                name.strip_prefix("event: ").unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "message_start",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "error"
            ]
        );
        // The tokens repeat: "a", " b", "a".
        let third = std::str::from_utf8(&events[4]).unwrap();
        assert!(third.contains(r#""text":"a"}"#), "{third}");
        let prefix = stream_prefix("m1", "m", "a b", 1);
        let prefix = std::str::from_utf8(&prefix).unwrap();
        assert!(prefix.ends_with("\"text\":\"a\"}}\n\n"), "{prefix}");
        assert_eq!(prefix.matches("content_block_delta").count(), 2);
    }

    #[test]
    fn validation_messages() {
        let err = |body: &str| validate(body.as_bytes(), Dialect::Api).unwrap_err();
        assert!(err("nope").starts_with("There was an error parsing"));
        assert_eq!(err("[]"), "body: Input should be a valid dictionary");
        assert_eq!(
            err(r#"{"max_tokens":1,"messages":[]}"#),
            "model: Field required"
        );
        assert_eq!(
            err(r#"{"model":"m","messages":[]}"#),
            "max_tokens: Field required"
        );
        assert_eq!(
            err(r#"{"model":"m","max_tokens":0,"messages":[]}"#),
            "max_tokens: Input should be greater than or equal to 1"
        );
        assert_eq!(
            err(r#"{"model":"m","max_tokens":"5","messages":[]}"#),
            "max_tokens: Input should be a valid integer"
        );
        assert_eq!(
            err(r#"{"model":"m","max_tokens":5}"#),
            "messages: Field required"
        );
        assert_eq!(
            err(r#"{"model":"m","max_tokens":5,"messages":[]}"#),
            "messages: at least one message is required"
        );
        assert_eq!(
            err(r#"{"model":"m","max_tokens":5,"messages":[{"role":"bot","content":"x"}]}"#),
            "messages.0.role: Input should be 'user' or 'assistant'"
        );
    }

    #[test]
    fn last_user_text_and_word_count() {
        let body = r#"{"model":"m","max_tokens":5,"stream":true,"messages":[
            {"role":"user","content":"one two"},
            {"role":"assistant","content":"three"},
            {"role":"user","content":[{"type":"text","text":"four"},{"type":"image"},{"type":"text","text":"five"}]}]}"#;
        let req = validate(body.as_bytes(), Dialect::Api).unwrap();
        assert_eq!(req.model, "m");
        assert!(req.stream);
        assert_eq!(req.input_tokens, 5);
        assert_eq!(req.max_tokens, 5);
        assert_eq!(req.last_user_text, "four five");
    }
}
