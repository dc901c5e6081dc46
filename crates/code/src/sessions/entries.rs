//! A transcript's linked entries (the ones with a `uuid`, maybe a `parentUuid`): reading
//! them, their common fields, and their index by `uuid`.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::lines::{Line, read_capped_line};

/// The entry types that carry `uuid` / `parentUuid` links.
const TRANSCRIPT_ENTRY_TYPES: [&str; 5] = ["user", "assistant", "progress", "system", "attachment"];

/// The transcript's linked entries (of [`TRANSCRIPT_ENTRY_TYPES`], with a string `uuid`), in
/// file order; other, malformed and overlong (past `cap` bytes) lines skipped.
pub(super) fn read_transcript_entries(
    mut reader: impl BufRead,
    cap: usize,
) -> Vec<Map<String, Value>> {
    let mut entries = Vec::new();
    let mut line = Vec::new();
    loop {
        match read_capped_line(&mut reader, &mut line, cap) {
            Ok(Line::End) | Err(_) => break,
            Ok(Line::TooLong) => continue,
            Ok(Line::Complete) => {}
        }
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() {
            continue;
        }
        let Ok(Value::Object(entry)) = serde_json::from_slice::<Value>(trimmed) else {
            continue;
        };
        let linked = entry
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| TRANSCRIPT_ENTRY_TYPES.contains(&kind))
            && entry.get("uuid").is_some_and(Value::is_string);
        if linked {
            entries.push(entry);
        }
    }
    entries
}

/// Python truthiness of an optional JSON value.
pub(super) fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

pub(super) type Entry = Map<String, Value>;

pub(super) fn uuid_of(entry: &Entry) -> &str {
    entry
        .get("uuid")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(super) fn kind_of(entry: &Entry) -> Option<&str> {
    entry.get("type").and_then(Value::as_str)
}

/// A non-empty string `parentUuid`.
pub(super) fn parent_of(entry: &Entry) -> Option<&str> {
    entry
        .get("parentUuid")
        .and_then(Value::as_str)
        .filter(|parent| !parent.is_empty())
}

pub(super) fn is_user_or_assistant(entry: &Entry) -> bool {
    matches!(kind_of(entry), Some("user" | "assistant"))
}

/// The entries indexed by `uuid`: a later duplicate wins, at its first position.
pub(super) struct Index<'a> {
    pub(super) entries: &'a [Entry],
    /// `uuid` -> index of its last entry.
    pub(super) by_uuid: HashMap<&'a str, usize>,
    /// Each `uuid` once, in order of first appearance.
    pub(super) order: Vec<&'a str>,
}

impl<'a> Index<'a> {
    pub(super) fn new(entries: &'a [Entry]) -> Self {
        let mut by_uuid = HashMap::new();
        let mut order = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let uuid = uuid_of(entry);
            if by_uuid.insert(uuid, i).is_none() {
                order.push(uuid);
            }
        }
        Self {
            entries,
            by_uuid,
            order,
        }
    }

    pub(super) fn parent(&self, at: usize) -> Option<usize> {
        parent_of(&self.entries[at]).and_then(|parent| self.by_uuid.get(parent).copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn transcript_reading_skips_bad_lines() {
        let huge = format!(
            r#"{{"type":"user","uuid":"big","message":{{"content":"{}"}}}}"#,
            "x".repeat(500)
        );
        let lines = [
            r#"{"type":"user","uuid":"u1","parentUuid":null,"message":{"role":"user","content":"hi"}}"#,
            "",
            "   ",
            "{not json",
            "[1,2,3]",
            r#""a string""#,
            r#"{"type":"summary","summary":"s","leafUuid":"u1"}"#,
            r#"{"type":"user","uuid":7}"#,
            r#"{"type":"custom-title","uuid":"t","customTitle":"x"}"#,
            &huge,
            "\u{0}\u{1}binary",
            r#"  {"type":"attachment","uuid":"at1","parentUuid":"u1"}  "#,
            r#"{"type":"system","uuid":"sy1","parentUuid":"at1"}"#,
            r#"{"type":"progress","uuid":"p1","parentUuid":"sy1"}"#,
        ];
        let mut bytes = lines.join("\n").into_bytes();
        bytes.extend_from_slice(b"\n\xff\xfe{\"type\":\"user\",\"uuid\":\"bad-utf8\"}\n");
        bytes.extend_from_slice(br#"{"type":"assistant","uuid":"a1","parentUuid":"p1"}"#);
        let entries = read_transcript_entries(Cursor::new(bytes), 300);
        let uuids: Vec<&str> = entries.iter().map(uuid_of).collect();
        assert_eq!(uuids, ["u1", "at1", "sy1", "p1", "a1"]);
    }
}
