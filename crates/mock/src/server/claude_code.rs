//! Serving the real Claude Code CLI: recognising its requests, finding the prompt in its
//! conversations, and the directives (`[[tool:NAME JSON]]`, `[[error:STATUS]]`,
//! `[[slow:MS]]`, `[[text:TEXT]]`) that script the model's answers. See the crate docs for
//! the syntax and behaviour.
//!
//! The model is stateless: what is due next is worked out from the conversation the CLI
//! sends (the `tool_use` blocks the mock answered before and their `tool_result`s), except for
//! the attempt counts of `[[error:STATUS:N]]`, kept per session, prompt and directive.

use std::time::Duration;

use http::header::HeaderMap;
use serde_json::{Value, json};

use crate::fault;
use crate::model::{Dialect, MessagesRequest};
use crate::tools::{self, ToolCall};
use crate::{Reply, Shared};

/// The text of a tool result is quoted up to this many bytes.
pub(crate) const QUOTE_LIMIT: usize = 16 * 1024;

/// The tool Claude Code offers to load deferred tools (MCP tools among them).
const TOOL_SEARCH: &str = "ToolSearch";

/// The dialect of a request: [`Dialect::ClaudeCode`] when it carries `x-app: cli` and an
/// `anthropic-beta` naming a `claude-code-*` beta, as the Claude Code CLI sends.
pub(crate) fn dialect(headers: &HeaderMap) -> Dialect {
    let is_cli = headers.get_all("x-app").iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.trim().eq_ignore_ascii_case("cli"))
    });
    let has_beta = headers.get_all("anthropic-beta").iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|beta| beta.trim().starts_with("claude-code-"))
        })
    });
    if is_cli && has_beta {
        Dialect::ClaudeCode
    } else {
        Dialect::Api
    }
}

/// One directive of a prompt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Directive {
    /// `[[tool:NAME JSON]]` (or `[[tool:NAME]]`: an input made from the tool's schema).
    Tool { name: String, input: Option<Value> },
    /// `[[error:STATUS]]` (every time, `x-should-retry: false`) or `[[error:STATUS:N]]`
    /// (the first `N` times, `x-should-retry: true`).
    Error { status: u16, times: Option<u64> },
    /// `[[slow:MS]]`.
    Slow(Duration),
    /// `[[text:TEXT]]`.
    Text(String),
}

/// The directive names, each followed by `:` in a directive.
const NAMES: [&str; 4] = ["tool", "error", "slow", "text"];

/// The directives in `prompt`, in order. `[[` not followed by a directive name and `:` is
/// plain text; a directive with a bad argument is an error (the message says which).
pub(crate) fn parse(prompt: &str) -> Result<Vec<Directive>, String> {
    Ok(parse_spans(prompt)?.into_iter().map(|(_, d)| d).collect())
}

/// The directives in `prompt` with the byte range each takes.
fn parse_spans(prompt: &str) -> Result<Vec<(std::ops::Range<usize>, Directive)>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(found) = prompt[at..].find("[[") {
        let start = at + found;
        let after = &prompt[start + 2..];
        let Some(name) = NAMES
            .into_iter()
            .find(|n| after.strip_prefix(n).is_some_and(|a| a.starts_with(':')))
        else {
            at = start + 1;
            continue;
        };
        let body_start = start + 2 + name.len() + 1;
        let (directive, len) = parse_one(name, &prompt[body_start..])?;
        at = body_start + len;
        out.push((start..at, directive));
    }
    Ok(out)
}

/// `prompt` without its directives, trimmed.
fn plain(prompt: &str) -> String {
    let Ok(spans) = parse_spans(prompt) else {
        return prompt.trim().to_owned();
    };
    let mut out = String::with_capacity(prompt.len());
    let mut at = 0;
    for (range, _) in spans {
        out.push_str(&prompt[at..range.start]);
        at = range.end;
    }
    out.push_str(&prompt[at..]);
    out.trim().to_owned()
}

/// Parses the directive `name` whose argument starts `body`; returns it and the length of
/// `body` it used, up to and including the closing `]]`.
fn parse_one(name: &str, body: &str) -> Result<(Directive, usize), String> {
    let unclosed = || format!("[[{name}:...: no closing ]]");
    if name == "tool" {
        return parse_tool(body);
    }
    let end = body.find("]]").ok_or_else(unclosed)?;
    let arg = &body[..end];
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let directive = match name {
        "text" => Directive::Text(arg.to_owned()),
        "slow" => {
            let ms = number(arg).ok_or_else(|| {
                format!("[[slow:{arg}]]: expected milliseconds, e.g. [[slow:200]]")
            })?;
            Directive::Slow(Duration::from_millis(ms))
        }
        _ => {
            let bad = || {
                format!(
                    "[[error:{arg}]]: expected an HTTP status from 400 to 599, then optionally \
                     :N (fail N times), e.g. [[error:401]] or [[error:529:2]]"
                )
            };
            let (status, times) = match arg.split_once(':') {
                Some((status, times)) => (status, Some(number(times).ok_or_else(bad)?)),
                None => (arg, None),
            };
            let status = number(status)
                .and_then(|s| u16::try_from(s).ok())
                .filter(|s| (400..=599).contains(s))
                .ok_or_else(bad)?;
            Directive::Error { status, times }
        }
    };
    Ok((directive, end + 2))
}

/// `[[tool:NAME]]` or `[[tool:NAME JSON]]`, from after `tool:`.
fn parse_tool(body: &str) -> Result<(Directive, usize), String> {
    let name_end = body
        .find(|c: char| c.is_whitespace() || c == ']')
        .unwrap_or(body.len());
    let name = &body[..name_end];
    if name.is_empty() {
        return Err("[[tool:NAME JSON]]: the tool name is missing".into());
    }
    let after_name = &body[name_end..];
    let json_start = name_end + (after_name.len() - after_name.trim_start().len());
    let rest = &body[json_start..];
    if let Some(tail) = rest.strip_prefix("]]") {
        let used = body.len() - tail.len();
        let directive = Directive::Tool {
            name: name.to_owned(),
            input: None,
        };
        return Ok((directive, used));
    }
    let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
    let input = match values.next() {
        Some(Ok(value @ Value::Object(_))) => value,
        Some(Ok(_)) => {
            return Err(format!(
                "[[tool:{name} ...]]: the input must be a JSON object"
            ));
        }
        Some(Err(e)) => return Err(format!("[[tool:{name} ...]]: bad JSON input: {e}")),
        None => return Err(format!("[[tool:{name} ...]]: no closing ]]")),
    };
    let after_json = &rest[values.byte_offset()..];
    let Some(tail) = after_json.trim_start().strip_prefix("]]") else {
        return Err(format!(
            "[[tool:{name} ...]]: expected ]] right after the JSON input"
        ));
    };
    let used = body.len() - tail.len();
    let directive = Directive::Tool {
        name: name.to_owned(),
        input: Some(input),
    };
    Ok((directive, used))
}

/// Whether a text block is one of Claude Code's `<system-reminder>` blocks (not the prompt).
fn is_reminder(text: &str) -> bool {
    text.trim_start().starts_with("<system-reminder>")
}

/// The type of a content block.
fn kind(block: &Value) -> Option<&str> {
    block.get("type").and_then(Value::as_str)
}

/// The prompt a user message carries: its string content, else its last text block that is
/// not a `<system-reminder>` (its last text block when all are reminders). `None` for other
/// roles and for a message that answers tools: Claude Code sends text blocks next to
/// `tool_result` blocks (`"Tool loaded."` after a `ToolSearch`, reminders), which are no
/// prompt.
fn prompt_of(message: &Value) -> Option<&str> {
    if message.get("role").and_then(Value::as_str) != Some("user") {
        return None;
    }
    let blocks = match message.get("content") {
        Some(Value::String(text)) => return Some(text),
        Some(Value::Array(blocks)) => blocks,
        _ => return None,
    };
    if blocks.iter().any(|b| kind(b) == Some("tool_result")) {
        return None;
    }
    let texts = || {
        blocks
            .iter()
            .filter(|b| kind(b) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
    };
    texts()
        .rev()
        .find(|t| !is_reminder(t))
        .or_else(|| texts().next_back())
        .or(Some(""))
}

/// The prompt of a Claude Code conversation: the one of the last user message that carries
/// one (see [`prompt_of`]), with that message's index.
pub(crate) fn prompt(body: &Value) -> Option<(usize, &str)> {
    let messages = body.get("messages")?.as_array()?;
    messages
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, m)| prompt_of(m).map(|p| (i, p)))
}

/// A `tool_use` the model made after the prompt.
struct ToolUse<'a> {
    id: &'a str,
    name: &'a str,
    input: &'a Value,
}

/// The text of a `tool_result`'s content: a string as is, text blocks joined by newlines.
fn result_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter(|b| kind(b) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// `text` cut to at most `limit` bytes, on a character boundary.
fn truncated(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What the model answers a Claude Code request: the reply, the tool calls rendered with it
/// (after an empty text: a `tool_use`-only message), and the pause of a slow text stream.
pub(crate) struct Answer {
    pub(crate) reply: Reply,
    pub(crate) tool_calls: Vec<ToolCall>,
    pub(crate) slow: Option<Duration>,
}

impl Answer {
    fn text(text: impl Into<String>, slow: Option<Duration>) -> Self {
        Answer {
            reply: Reply::text(text),
            tool_calls: Vec::new(),
            slow,
        }
    }
}

/// The default answer to a prompt without tool or text directives (the prompt without its
/// directives, when it has some).
pub(crate) fn echo(prompt: &str) -> String {
    let said = if prompt.contains("[[") {
        plain(prompt)
    } else {
        prompt.to_owned()
    };
    let echo = format!("Hello! I am the claude-kit mock server. You said: {said}");
    echo.trim_end().to_owned()
}

/// The model's answer to a Claude Code request (`request.claude_code` holds its body), as its
/// prompt's directives say.
pub(crate) fn answer(shared: &Shared, request: &MessagesRequest, headers: &HeaderMap) -> Answer {
    let empty = Value::Null;
    let body = request.claude_code.as_ref().unwrap_or(&empty);
    let Some((prompt_index, prompt)) = prompt(body) else {
        return Answer::text(echo(""), None);
    };
    let directives = match parse(prompt) {
        Ok(directives) => directives,
        Err(message) => return Answer::text(format!("claude-kit-mock: {message}"), None),
    };
    let slow = directives.iter().rev().find_map(|d| match d {
        Directive::Slow(pause) => Some(*pause),
        _ => None,
    });
    let texts: Vec<&str> = directives
        .iter()
        .filter_map(|d| match d {
            Directive::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect();
    // Tool and error directives are the steps, taken one per model call.
    let steps: Vec<(usize, &Directive)> = directives
        .iter()
        .enumerate()
        .filter(|(_, d)| matches!(d, Directive::Tool { .. } | Directive::Error { .. }))
        .collect();

    let messages = body
        .get("messages")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let later = &messages[prompt_index + 1..];
    let blocks = |role: &'static str| {
        later
            .iter()
            .filter(move |m| m.get("role").and_then(Value::as_str) == Some(role))
            .filter_map(|m| m.get("content").and_then(Value::as_array))
            .flatten()
    };
    let uses: Vec<ToolUse<'_>> = blocks("assistant")
        .filter(|b| kind(b) == Some("tool_use"))
        .map(|b| ToolUse {
            id: b.get("id").and_then(Value::as_str).unwrap_or(""),
            name: b.get("name").and_then(Value::as_str).unwrap_or(""),
            input: b.get("input").unwrap_or(&empty),
        })
        .collect();

    // Progress: the tool steps already answered (their tool_use is in the conversation), and
    // whether the next one's tool was already searched for.
    let mut next = 0;
    let mut searched = false;
    // The `ToolSearch` calls the mock made to load a tool: plumbing, not quoted.
    let mut searches = Vec::new();
    for tool_use in &uses {
        let pending = steps[next..].iter().position(|(_, d)| {
            matches!(d, Directive::Tool { name, .. } if name == tool_use.name
                || (tool_use.name == TOOL_SEARCH && is_search_for(tool_use.input, name)))
        });
        let Some(offset) = pending else { continue };
        let at = next + offset;
        if let Directive::Tool { name, .. } = steps[at].1
            && name == tool_use.name
        {
            next = at + 1;
            searched = false;
        } else {
            next = at;
            searched = true;
            searches.push(tool_use.id);
        }
    }
    // `skip_searches`: leave out the results of those `ToolSearch` calls.
    let quoted = |skip_searches: bool| {
        let user_blocks: Vec<&Value> = blocks("user").collect();
        let skipped = if skip_searches { &searches[..] } else { &[] };
        quotes(&uses, skipped, &user_blocks)
    };

    let offered = |name: &str| request.tools.iter().position(|(n, _)| n == name);
    for &(index, step) in &steps[next..] {
        match step {
            Directive::Error { status, times } => {
                let error_type = fault::error_type_for_status(*status);
                let reply = Reply::error(*status, error_type, fault::default_message(error_type));
                let Some(times) = times else {
                    let reply = reply.header("x-should-retry", "false");
                    return Answer {
                        reply,
                        tool_calls: Vec::new(),
                        slow: None,
                    };
                };
                let session = headers
                    .get("x-claude-code-session-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let key = format!("claude-code\0{session}\0{prompt_index}\0{index}\0{prompt}");
                if shared.next_attempt(&key) < *times {
                    let reply = reply.header("x-should-retry", "true");
                    return Answer {
                        reply,
                        tool_calls: Vec::new(),
                        slow: None,
                    };
                }
            }
            Directive::Tool { name, input } => {
                if let Some(tool) = offered(name) {
                    let input = match input {
                        Some(input) => input.to_string(),
                        None => tools::example(&request.tools[tool].1).to_string(),
                    };
                    return tool_use(shared, name, input);
                }
                let problem = if searched {
                    format!("[[tool:{name}]]: {name} is still not offered after {TOOL_SEARCH}")
                } else if offered(TOOL_SEARCH).is_some() {
                    let input = json!({ "query": format!("select:{name}") }).to_string();
                    return tool_use(shared, TOOL_SEARCH, input);
                } else {
                    let names: Vec<&str> = request.tools.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "[[tool:{name}]]: {name} is not offered (tools: {})",
                        names.join(", ")
                    )
                };
                // What the search said explains why the tool is missing.
                let mut lines = quoted(false);
                lines.push(format!("claude-kit-mock: {problem}"));
                return Answer::text(lines.join("\n"), slow);
            }
            _ => {}
        }
    }

    let text = if !texts.is_empty() {
        texts.join("\n")
    } else if steps
        .iter()
        .any(|(_, d)| matches!(d, Directive::Tool { .. }))
    {
        quoted(true).join("\n")
    } else {
        echo(prompt)
    };
    Answer::text(text, slow)
}

/// Whether a `ToolSearch` input selects `name`.
fn is_search_for(input: &Value, name: &str) -> bool {
    input
        .get("query")
        .and_then(Value::as_str)
        .and_then(|q| q.trim().strip_prefix("select:"))
        .is_some_and(|names| names.split(',').any(|n| n.trim() == name))
}

/// A `tool_use`-only answer calling `name` with `input` (JSON text).
fn tool_use(shared: &Shared, name: &str, input: String) -> Answer {
    Answer {
        reply: Reply::text(""),
        tool_calls: vec![ToolCall {
            id: shared.next_tool_id(),
            name: name.to_owned(),
            input,
        }],
        slow: None,
    }
}

/// One line per `tool_result` block in `user_blocks` (in order) except the results of the
/// `skipped` calls: `NAME returned: TEXT`, the name found from the `tool_use` it answers, the
/// text cut to [`QUOTE_LIMIT`] bytes.
fn quotes(uses: &[ToolUse<'_>], skipped: &[&str], user_blocks: &[&Value]) -> Vec<String> {
    user_blocks
        .iter()
        .filter(|b| kind(b) == Some("tool_result"))
        .filter_map(|block| {
            let id = block.get("tool_use_id").and_then(Value::as_str);
            if id.is_some_and(|id| skipped.contains(&id)) {
                return None;
            }
            let name = uses
                .iter()
                .find(|u| Some(u.id) == id)
                .map_or("(unknown tool)", |u| u.name);
            let text = result_text(block.get("content"));
            Some(format!(
                "{name} returned: {}",
                truncated(&text, QUOTE_LIMIT)
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, input: Option<Value>) -> Directive {
        Directive::Tool {
            name: name.into(),
            input,
        }
    }

    #[test]
    fn parses_directives() {
        assert_eq!(parse("Hello [[ not one ]] [[x:y]]"), Ok(vec![]));
        assert_eq!(
            parse(r#"a [[tool:Read {"file_path":"/tmp/x]]"}]] b [[tool:Bash]][[text:hi there]]"#),
            Ok(vec![
                tool("Read", Some(json!({"file_path": "/tmp/x]]"}))),
                tool("Bash", None),
                Directive::Text("hi there".into()),
            ])
        );
        assert_eq!(
            parse(
                "[[tool:mcp__calc__add\n {\"a\": [[1]]} ]][[error:401]][[error:529:2]][[slow:20]]"
            ),
            Ok(vec![
                tool("mcp__calc__add", Some(json!({"a": [[1]]}))),
                Directive::Error {
                    status: 401,
                    times: None
                },
                Directive::Error {
                    status: 529,
                    times: Some(2)
                },
                Directive::Slow(Duration::from_millis(20)),
            ])
        );
        assert_eq!(parse("[[[tool:X]]"), Ok(vec![tool("X", None)]));
        assert_eq!(plain(" a [[slow:5]] b [[text:x]]"), "a  b");
        assert_eq!(
            echo("[[error:529:2]] after retries"),
            "Hello! I am the claude-kit mock server. You said: after retries"
        );
        for bad in [
            "[[tool:]]",
            "[[tool:X {bad]]",
            "[[tool:X [1]]]",
            "[[tool:X {} junk]]",
            "[[tool:X {}",
            "[[error:200]]",
            "[[error:abc]]",
            "[[error:529:x]]",
            "[[slow:fast]]",
            "[[text:no end",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_the_prompt() {
        let body = json!({"messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>\nx\n</system-reminder>"},
                {"type": "text", "text": "first"}]},
            {"role": "system", "content": "# Environment"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
                {"type": "text", "text": "Tool loaded."}]},
        ]});
        assert_eq!(prompt(&body), Some((0, "first")));
        let body = json!({"messages": [{"role": "user", "content": "plain"}]});
        assert_eq!(prompt(&body), Some((0, "plain")));
        let body = json!({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>only</system-reminder>"}]}]});
        assert_eq!(
            prompt(&body),
            Some((0, "<system-reminder>only</system-reminder>"))
        );
    }

    #[test]
    fn recognises_claude_code() {
        let mut headers = HeaderMap::new();
        assert_eq!(dialect(&headers), Dialect::Api);
        headers.insert("x-app", "cli".parse().unwrap());
        assert_eq!(dialect(&headers), Dialect::Api);
        headers.insert(
            "anthropic-beta",
            "interleaved-thinking-2025-05-14, claude-code-20250219"
                .parse()
                .unwrap(),
        );
        assert_eq!(dialect(&headers), Dialect::ClaudeCode);
        headers.insert("x-app", "web".parse().unwrap());
        assert_eq!(dialect(&headers), Dialect::Api);
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncated("héllo", 2), "h");
        assert_eq!(truncated("héllo", 3), "hé");
        assert_eq!(truncated("abc", 16), "abc");
        assert_eq!(
            result_text(Some(&json!([
                {"type": "tool_reference", "tool_name": "x"},
                {"type": "text", "text": "a"},
                {"type": "text", "text": "b"}
            ]))),
            "a\nb"
        );
    }
}
