//! What [`list_sessions`](super::list_sessions) reads of a transcript: its size, its
//! modification time and its first and last 64 KiB, searched for fields without a full parse
//! (titles, the first meaningful prompt, the git branch, the tag, the start time).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::SessionInfo;
use super::iso8601::iso8601_millis;

/// How much of a transcript's start and end [`list_sessions`](super::list_sessions) reads.
const LITE_READ_BUF_SIZE: u64 = 65536;

/// A transcript's size, modification time, and first and last 64 KiB.
pub(super) struct LiteFile {
    mtime: i64,
    size: u64,
    head: String,
    tail: String,
}

/// Reads a [`LiteFile`]; `None` when the file cannot be read or is empty.
pub(super) fn read_lite(path: &Path) -> Option<LiteFile> {
    let mut file = File::open(path).ok()?;
    let metadata = file.metadata().ok()?;
    let size = metadata.len();
    let mtime =
        metadata
            .modified()
            .ok()
            .map_or(0, |modified| match modified.duration_since(UNIX_EPOCH) {
                Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
                Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
            });
    let mut head = Vec::new();
    (&mut file)
        .take(LITE_READ_BUF_SIZE)
        .read_to_end(&mut head)
        .ok()?;
    if head.is_empty() {
        return None;
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let tail = if size <= LITE_READ_BUF_SIZE {
        head.clone()
    } else {
        file.seek(SeekFrom::Start(size - LITE_READ_BUF_SIZE)).ok()?;
        let mut tail = Vec::new();
        file.take(LITE_READ_BUF_SIZE).read_to_end(&mut tail).ok()?;
        String::from_utf8_lossy(&tail).into_owned()
    };
    Some(LiteFile {
        mtime,
        size,
        head,
        tail,
    })
}

/// The Python SDK's `_parse_session_info_from_lite`: `None` for a sidechain transcript or
/// one with nothing to show.
pub(super) fn parse_session_info(
    session_id: &str,
    lite: &LiteFile,
    project_path: Option<&str>,
) -> Option<SessionInfo> {
    let (head, tail) = (lite.head.as_str(), lite.tail.as_str());
    let first_line = head.split('\n').next().unwrap_or_default();
    if first_line.contains(r#""isSidechain":true"#) || first_line.contains(r#""isSidechain": true"#)
    {
        return None;
    }
    let non_empty = |value: Option<String>| value.filter(|value| !value.is_empty());
    let custom_title = non_empty(last_string_field(tail, "customTitle"))
        .or_else(|| non_empty(last_string_field(head, "customTitle")))
        .or_else(|| non_empty(last_string_field(tail, "aiTitle")))
        .or_else(|| non_empty(last_string_field(head, "aiTitle")));
    let first_prompt = non_empty(Some(first_prompt(head)));
    let summary = custom_title
        .clone()
        .or_else(|| non_empty(last_string_field(tail, "lastPrompt")))
        .or_else(|| non_empty(last_string_field(tail, "summary")))
        .or_else(|| first_prompt.clone())?;
    let git_branch = non_empty(last_string_field(tail, "gitBranch"))
        .or_else(|| non_empty(first_string_field(head, "gitBranch")));
    let cwd = non_empty(first_string_field(head, "cwd"))
        .or_else(|| non_empty(project_path.map(str::to_owned)));
    // Only `{"type":"tag"` lines: a bare "tag" also appears in tool inputs (git tags, …).
    let tag = tail
        .split('\n')
        .rev()
        .find(|line| line.starts_with(r#"{"type":"tag""#))
        .and_then(|line| non_empty(last_string_field(line, "tag")));
    let created_at = first_string_field(head, "timestamp")
        .filter(|timestamp| !timestamp.is_empty())
        .and_then(|timestamp| iso8601_millis(&timestamp));
    Some(SessionInfo {
        session_id: session_id.to_owned(),
        summary,
        last_modified: lite.mtime,
        file_size: lite.size,
        custom_title,
        first_prompt,
        git_branch,
        cwd,
        tag,
        created_at,
    })
}

/// The two spellings of `"key":"` the SDK looks for (compact, and with a space).
fn field_patterns(key: &str) -> [String; 2] {
    [format!("\"{key}\":\""), format!("\"{key}\": \"")]
}

/// The end (index of the closing quote) of a JSON string's body starting at `start`, skipping
/// escapes; `None` when the text ends first (a truncated line).
fn string_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The value of the first `"key":"…"` in `text`, found without parsing (works on truncated
/// lines): the compact spelling first, then the spaced one.
fn first_string_field(text: &str, key: &str) -> Option<String> {
    for pattern in field_patterns(key) {
        let Some(at) = text.find(&pattern) else {
            continue;
        };
        let start = at + pattern.len();
        if let Some(end) = string_end(text, start) {
            return Some(unescape(&text[start..end]));
        }
    }
    None
}

/// Like [`first_string_field`], the last occurrence (of the compact spelling, then of the
/// spaced one, as the SDK scans).
fn last_string_field(text: &str, key: &str) -> Option<String> {
    let mut last = None;
    for pattern in field_patterns(key) {
        let mut from = 0;
        while let Some(at) = text.get(from..).and_then(|rest| rest.find(&pattern)) {
            let start = from + at + pattern.len();
            match string_end(text, start) {
                Some(end) => {
                    last = Some(unescape(&text[start..end]));
                    from = end + 1;
                }
                None => break,
            }
        }
    }
    last
}

/// A JSON string body's text; the body itself when it does not decode.
fn unescape(raw: &str) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned())
}

/// The first meaningful user prompt in a transcript's head, at most 200 characters: user
/// entries that are tool results, meta or compact summaries are skipped, and so are texts
/// that are slash commands (the first command's name is the fallback) or auto-generated.
fn first_prompt(head: &str) -> String {
    let mut command_fallback = String::new();
    for line in head.split('\n') {
        if !line.contains(r#""type":"user""#) && !line.contains(r#""type": "user""#) {
            continue;
        }
        if line.contains(r#""tool_result""#)
            || line.contains(r#""isMeta":true"#)
            || line.contains(r#""isMeta": true"#)
            || line.contains(r#""isCompactSummary":true"#)
            || line.contains(r#""isCompactSummary": true"#)
        {
            continue;
        }
        let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if entry.get("type").and_then(Value::as_str) != Some("user") {
            continue;
        }
        let Some(Value::Object(message)) = entry.get("message") else {
            continue;
        };
        let texts: Vec<&str> = match message.get("content") {
            Some(Value::String(text)) => vec![text],
            Some(Value::Array(blocks)) => blocks
                .iter()
                .filter(|block| block.get("type").and_then(Value::as_str) == Some("text"))
                .filter_map(|block| block.get("text").and_then(Value::as_str))
                .collect(),
            _ => Vec::new(),
        };
        for raw in texts {
            let flattened = raw.replace('\n', " ");
            let text = flattened.trim();
            if text.is_empty() {
                continue;
            }
            if let Some(command) = command_name(text) {
                if command_fallback.is_empty() {
                    command_fallback = command.to_owned();
                }
                continue;
            }
            if is_auto_generated(text) {
                continue;
            }
            if text.chars().count() > 200 {
                let cut: String = text.chars().take(200).collect();
                return format!("{}\u{2026}", cut.trim_end());
            }
            return text.to_owned();
        }
    }
    command_fallback
}

/// The name in `<command-name>…</command-name>` (a slash command's transcript text).
fn command_name(text: &str) -> Option<&str> {
    const OPEN: &str = "<command-name>";
    let start = text.find(OPEN)? + OPEN.len();
    let end = text[start..].find("</command-name>")?;
    Some(&text[start..start + end])
}

/// Texts the CLI generates in a user entry: command output, hooks, ticks, interrupts, files
/// the IDE opened.
fn is_auto_generated(text: &str) -> bool {
    const PREFIXES: [&str; 4] = [
        "<local-command-stdout>",
        "<session-start-hook>",
        "<tick>",
        "<goal>",
    ];
    if PREFIXES.iter().any(|prefix| text.starts_with(prefix)) {
        return true;
    }
    if let Some(rest) = text.strip_prefix("[Request interrupted by user")
        && rest.contains(']')
    {
        return true;
    }
    let wrapped = |tag: &str| {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        text.strip_prefix(&open)
            .is_some_and(|rest| rest.trim_end().ends_with(&close))
    };
    wrapped("ide_opened_file") || wrapped("ide_selection")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::test_support::{PROJECT, TempDir, list};
    use crate::sessions::{list_sessions, sanitize_path};

    #[test]
    fn extracts_string_fields_without_parsing() {
        let text = r#"{"a":"one","k":"first"} {"k": "spaced"} {"k":"esc\"aped\n"} {"k":"trunc"#;
        assert_eq!(first_string_field(text, "k").as_deref(), Some("first"));
        // The compact spelling's last, then the spaced one's: the SDK's scan order.
        assert_eq!(last_string_field(text, "k").as_deref(), Some("spaced"));
        let compact = r#"{"k":"first"} {"k":"esc\"aped\n"} {"k":"trunc"#;
        assert_eq!(
            last_string_field(compact, "k").as_deref(),
            Some("esc\"aped\n")
        );
        assert_eq!(first_string_field(r#"{"k":"tr\"unc"#, "k"), None);
        assert_eq!(first_string_field("{}", "k"), None);
        // An escape that does not decode is kept as written.
        assert_eq!(
            first_string_field(r#"{"k":"bad\q"}"#, "k").as_deref(),
            Some(r"bad\q")
        );
    }

    fn user_line(content: Value) -> String {
        serde_json::json!({"type": "user", "message": {"role": "user", "content": content}})
            .to_string()
    }

    #[test]
    fn the_first_prompt_skips_generated_text() {
        let head = [
            user_line("<ide_selection>lines 1-3</ide_selection>".into()),
            user_line("<tick>".into()),
            user_line("<goal>ship</goal>".into()),
            user_line("<session-start-hook>hi</session-start-hook>".into()),
            user_line("[Request interrupted by user]".into()),
            user_line("<command-name>/first</command-name>".into()),
            user_line("<command-name>/second</command-name>".into()),
        ]
        .join("\n");
        assert_eq!(first_prompt(&head), "/first");
        let head = format!(
            "{head}\n{}",
            user_line("[Request interrupted by user".into())
        );
        // No closing bracket: not the interrupt marker.
        assert_eq!(first_prompt(&head), "[Request interrupted by user");
        // Exactly 200 characters: kept whole.
        let exact = "é".repeat(200);
        assert_eq!(first_prompt(&user_line(exact.clone().into())), exact);
        let longer = format!("{} {}", "é".repeat(199), "x".repeat(10));
        assert_eq!(
            first_prompt(&user_line(longer.into())),
            format!("{}\u{2026}", "é".repeat(199))
        );
    }

    #[test]
    fn list_reads_only_the_head_and_tail() {
        let tmp = TempDir::new();
        let config = tmp.path().join("config");
        let dir = config.join("projects").join(sanitize_path(PROJECT));
        std::fs::create_dir_all(&dir).unwrap();
        let id = "d0000000-0000-4000-8000-000000000001";
        let first = serde_json::json!({"type": "user", "uuid": "u1", "cwd": "/elsewhere",
            "gitBranch": "start", "timestamp": "2025-01-01T00:00:00Z",
            "message": {"role": "user", "content": "the first"}});
        let padding = serde_json::json!({"type": "assistant", "uuid": "a1",
            "message": {"a": "z".repeat(150_000), "customTitle": "hidden in the middle",
            "b": "z".repeat(150_000)}});
        let last = serde_json::json!({"type": "user", "uuid": "u2", "gitBranch": "end",
            "message": {"role": "user", "content": "the last"}});
        let tag = serde_json::json!({"type": "tag", "tag": "t1"});
        let path = dir.join(format!("{id}.jsonl"));
        std::fs::write(&path, format!("{first}\n{padding}\n{last}\n{tag}\n")).unwrap();
        let sessions = list_sessions(&list(&config).directory(PROJECT)).unwrap();
        assert_eq!(sessions.len(), 1);
        let session = &sessions[0];
        assert_eq!(session.summary, "the first");
        assert_eq!(session.custom_title, None);
        assert_eq!(session.git_branch.as_deref(), Some("end"));
        assert_eq!(session.cwd.as_deref(), Some("/elsewhere"));
        assert_eq!(session.tag.as_deref(), Some("t1"));
        assert_eq!(session.created_at, Some(1_735_689_600_000));
        assert_eq!(session.file_size, std::fs::metadata(&path).unwrap().len());
    }
}
