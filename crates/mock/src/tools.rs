//! Tool calling by the default model: the calls it makes (with inputs generated from each
//! tool's `input_schema`), and the wire shapes of a `tool_use` answer, as JSON or as SSE
//! events. What a request offers and asks for is read in `tool_request`.

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::model::{self, MessagesRequest, event};

/// How deep [`example`] follows nested schemas (guards against self-referencing schemas).
const MAX_DEPTH: usize = 16;

/// A value valid against `schema` (the usual JSON Schema subset of tool inputs): the first
/// `enum` value or the `const`; `"example"` for strings, `1` for numbers (within `minimum` /
/// `maximum`), `true`, `null`; arrays of `max(1, minItems)` items when `items` is given (else
/// `[]`); objects with every property; the first branch of `anyOf` / `oneOf`.
pub(crate) fn example(schema: &Value) -> Value {
    example_at(schema, 0)
}

fn example_at(schema: &Value, depth: usize) -> Value {
    let Some(schema) = schema.as_object() else {
        return Value::String("example".into());
    };
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(Value::Array(values)) = schema.get("enum")
        && let Some(first) = values.first()
    {
        return first.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = schema.get(key)
            && let Some(first) = branches.first()
        {
            return example_at(first, depth + 1);
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null"),
        _ if schema.contains_key("properties") => "object",
        _ if schema.contains_key("items") => "array",
        _ => "string",
    };
    match kind {
        "integer" | "number" => {
            let bound = |key| schema.get(key).and_then(Value::as_f64);
            let mut n = 1.0_f64;
            if let Some(min) = bound("minimum") {
                n = n.max(min.ceil());
            }
            if let Some(max) = bound("maximum") {
                n = n.min(max.floor());
            }
            json!(n as i64)
        }
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        "array" => match schema.get("items") {
            Some(items) if items.is_object() => {
                let count = schema
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .clamp(1, 16);
                let item = example_at(items, depth + 1);
                Value::Array(vec![item; count as usize])
            }
            _ => Value::Array(Vec::new()),
        },
        "object" => {
            let mut out = Map::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, property) in properties {
                    out.insert(name.clone(), example_at(property, depth + 1));
                }
            }
            Value::Object(out)
        }
        _ => Value::String("example".into()),
    }
}

/// One `tool_use` block of an answer.
#[derive(Debug, Clone)]
pub(crate) struct ToolCall {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The input, as JSON text.
    pub(crate) input: String,
}

/// The tool calls the default model makes for `request` (none when it answers with text):
/// `parallel_tools` calls, cycling through the tools from the chosen one; `next_id` gives
/// each call's id.
pub(crate) fn calls(
    request: &MessagesRequest,
    mut next_id: impl FnMut() -> String,
) -> Vec<ToolCall> {
    let Some(first) = request.tool_call else {
        return Vec::new();
    };
    let tools = &request.tools;
    (0..request.parallel_tools.max(1))
        .map(|i| {
            let (name, schema) = &tools[(first + i) % tools.len()];
            ToolCall {
                id: next_id(),
                name: name.clone(),
                input: example(schema).to_string(),
            }
        })
        .collect()
}

/// Output tokens of an answer: the text's tokens plus about one per 4 bytes of tool input.
fn output_tokens(text: &str, calls: &[ToolCall]) -> usize {
    model::tokens(text).len()
        + calls
            .iter()
            .map(|c| (c.input.len() / 4).max(1))
            .sum::<usize>()
}

/// `s` as a JSON string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// A `tool_use` content block (`input` as given, or `{}` while streaming).
fn tool_use_block(call: &ToolCall, input: &str) -> String {
    format!(
        r#"{{"type":"tool_use","id":{},"name":{},"input":{input}}}"#,
        quote(&call.id),
        quote(&call.name),
    )
}

/// A complete assistant message: a text block (none when `text` is empty), then the
/// `tool_use` blocks, with `stop_reason: "tool_use"`.
pub(crate) fn message(
    id: &str,
    model: &str,
    text: &str,
    calls: &[ToolCall],
    input_tokens: u64,
) -> Bytes {
    let mut blocks = Vec::with_capacity(calls.len() + 1);
    if !text.is_empty() {
        blocks.push(format!(r#"{{"type":"text","text":{}}}"#, quote(text)));
    }
    blocks.extend(calls.iter().map(|call| tool_use_block(call, &call.input)));
    let content = blocks.join(",");
    Bytes::from(format!(
        r#"{{"id":{},"type":"message","role":"assistant","model":{},"content":[{content}],"stop_reason":"tool_use","stop_sequence":null,"usage":{{"input_tokens":{input_tokens},"output_tokens":{}}}}}"#,
        quote(id),
        quote(model),
        output_tokens(text, calls),
    ))
}

/// Cuts JSON text into 2 or 3 non-empty pieces (on character boundaries) that concatenate to
/// it; text shorter than 2 characters stays whole.
pub(crate) fn pieces(json: &str) -> Vec<&str> {
    let chars = json.chars().count();
    let parts = if chars >= 3 { 3 } else { chars.max(1) };
    let cuts: Vec<usize> = (1..parts)
        .filter_map(|k| json.char_indices().nth(k * chars / parts).map(|(i, _)| i))
        .collect();
    let mut out = Vec::with_capacity(parts);
    let mut start = 0;
    for cut in cuts {
        out.push(&json[start..cut]);
        start = cut;
    }
    out.push(&json[start..]);
    out
}

/// The SSE events of a streamed tool-calling message: the text block at index 0 (as
/// [`model::stream_events`] streams it; no text block when `text` is empty), then for each
/// call a `content_block_start` with empty input, `input_json_delta` events carrying its input
/// in 2 or 3 pieces and a `content_block_stop`, then `message_delta` with
/// `stop_reason: "tool_use"` and `message_stop`. The flag marks the delta events.
pub(crate) fn stream_events(
    id: &str,
    model_name: &str,
    text: &str,
    calls: &[ToolCall],
    input_tokens: u64,
) -> Vec<(Bytes, bool)> {
    let mut events = model::stream_events(id, model_name, text, input_tokens);
    // Drop `message_delta` and `message_stop`: they end the message after the tool blocks.
    events.truncate(events.len().saturating_sub(2));
    let first_index = if text.is_empty() {
        // Keep `message_start` and `ping`; drop the empty text block.
        events.retain(|(event, _)| !event.starts_with(b"event: content_block_"));
        0
    } else {
        1
    };
    for (i, call) in calls.iter().enumerate() {
        let index = i + first_index;
        let start = format!(
            r#"{{"type":"content_block_start","index":{index},"content_block":{}}}"#,
            tool_use_block(call, "{}")
        );
        events.push((event("content_block_start", &start), false));
        for piece in pieces(&call.input) {
            let delta = format!(
                r#"{{"type":"content_block_delta","index":{index},"delta":{{"type":"input_json_delta","partial_json":{}}}}}"#,
                quote(piece)
            );
            events.push((event("content_block_delta", &delta), true));
        }
        let stop = format!(r#"{{"type":"content_block_stop","index":{index}}}"#);
        events.push((event("content_block_stop", &stop), false));
    }
    events.extend(crate::model::message_end(
        "tool_use",
        output_tokens(text, calls),
    ));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_follow_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3},
                "ratio": {"type": "number", "maximum": 0.5},
                "tags": {"type": "array", "items": {"type": "string"}},
                "any": {"type": "array"},
                "nested": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
                "maybe": {"type": ["null", "integer"]},
                "either": {"anyOf": [{"type": "boolean"}, {"type": "string"}]}
            },
            "required": ["city"]
        });
        assert_eq!(
            example(&schema),
            json!({"city": "example", "unit": "celsius", "days": 3, "ratio": 0, "tags": ["example"],
                   "any": [], "nested": {"ok": true}, "maybe": 1, "either": true})
        );
        assert_eq!(example(&json!({})), json!("example"));
    }

    #[test]
    fn tool_use_only_messages() {
        let calls = [ToolCall {
            id: "toolu_1".into(),
            name: "Read".into(),
            input: r#"{"file_path":"/x"}"#.into(),
        }];
        let message: Value = serde_json::from_slice(&message("m1", "m", "", &calls, 1)).unwrap();
        assert_eq!(
            message["content"],
            json!([{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/x"}}])
        );
        let events: Vec<Value> = stream_events("m1", "m", "", &calls, 1)
            .iter()
            .map(|(event, _)| {
                let event = std::str::from_utf8(event).unwrap();
                serde_json::from_str(event.split_once("\ndata: ").unwrap().1.trim_end()).unwrap()
            })
            .collect();
        let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "message_start",
                "ping",
                "content_block_start",
                "content_block_delta",
                "content_block_delta",
                "content_block_delta",
                "content_block_stop",
                "message_delta",
                "message_stop"
            ]
        );
        assert_eq!(events[2]["index"], 0);
        assert_eq!(events[2]["content_block"]["type"], "tool_use");
        assert_eq!(events[7]["delta"]["stop_reason"], "tool_use");
    }

    #[test]
    fn pieces_concatenate() {
        for text in ["", "{", "{}", "{\"a\":1}", "{\"é\":\"ü\"}"] {
            let parts = pieces(text);
            assert_eq!(parts.concat(), text);
            assert!(parts.len() <= 3);
            if text.chars().count() >= 2 {
                assert!(
                    parts.len() >= 2 && parts.iter().all(|p| !p.is_empty()),
                    "{parts:?}"
                );
            }
        }
    }
}
