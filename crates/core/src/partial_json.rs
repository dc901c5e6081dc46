//! Best-effort parsing of a JSON document that may be cut off: a tool's input while it
//! streams in `input_json_delta` pieces, or after `max_tokens` stopped it mid-way.
//!
//! The rules are those of the official SDKs (`jiter` in partial mode): whatever is complete is
//! kept, and the unfinished tail is dropped — an unfinished string, number or literal, or an
//! object key without its value. `{"path": "a.txt", "lines": ["one", "tw` gives
//! `{"path": "a.txt", "lines": ["one"]}`.
//!
//! ```
//! use claude_kit_core::partial_json::{parse_partial, PartialJson};
//! use serde_json::json;
//!
//! assert_eq!(parse_partial(r#"{"a": 1, "b": "unfini"#), Ok(PartialJson::Value(json!({"a": 1}))));
//! assert_eq!(parse_partial(r#"{"a": [1, 2"#), Ok(PartialJson::Value(json!({"a": [1, 2]}))));
//! assert_eq!(parse_partial("  "), Ok(PartialJson::Nothing));
//! assert!(parse_partial(r#"{"a": ]"#).is_err());
//! ```

use std::fmt;

use serde_json::{Map, Value};

/// The deepest nesting accepted: deeper input is rejected instead of exhausting the stack.
pub const MAX_DEPTH: usize = 256;

/// What a possibly cut-off document holds so far.
#[derive(Debug, Clone, PartialEq)]
pub enum PartialJson {
    /// The value, complete or with its unfinished tail dropped.
    Value(Value),
    /// No value has started, or only an unfinished scalar (`"abc`, `tr`, `-`).
    Nothing,
}

/// The input is not a prefix of any JSON document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidJson {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

impl fmt::Display for InvalidJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.reason)
    }
}

impl std::error::Error for InvalidJson {}

/// Parses `input`, keeping what is complete. Text after a complete top-level value is
/// ignored, as the official SDKs do.
pub fn parse_partial(input: &str) -> Result<PartialJson, InvalidJson> {
    let mut parser = Parser {
        input: input.as_bytes(),
        text: input,
        pos: 0,
        depth: 0,
    };
    match parser.value() {
        Ok(value) => Ok(PartialJson::Value(value)),
        Err(Stop::End) => Ok(PartialJson::Nothing),
        Err(Stop::Invalid(error)) => Err(error),
    }
}

enum Stop {
    /// The input ended inside this value.
    End,
    Invalid(InvalidJson),
}

struct Parser<'a> {
    input: &'a [u8],
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn invalid(&self, reason: &'static str) -> Stop {
        Stop::Invalid(InvalidJson {
            offset: self.pos,
            reason,
        })
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte, not consumed; `Stop::End` at the end of input.
    fn peek(&mut self) -> Result<u8, Stop> {
        self.skip_whitespace();
        self.input.get(self.pos).copied().ok_or(Stop::End)
    }

    fn value(&mut self) -> Result<Value, Stop> {
        match self.peek()? {
            b'{' => self.nested(Self::object),
            b'[' => self.nested(Self::array),
            b'"' => self.string().map(Value::String),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.invalid("expected a value")),
        }
    }

    fn nested(&mut self, parse: fn(&mut Self) -> Result<Value, Stop>) -> Result<Value, Stop> {
        if self.depth == MAX_DEPTH {
            return Err(self.invalid("nested too deeply"));
        }
        self.depth += 1;
        let value = parse(self);
        self.depth -= 1;
        value
    }

    /// An object; cut off anywhere, it holds the members completed so far.
    fn object(&mut self) -> Result<Value, Stop> {
        self.pos += 1; // '{'
        let mut map = Map::new();
        let outcome = self.members(&mut map);
        self.complete_or_partial(outcome, Value::Object(map))
    }

    /// An array; cut off anywhere, it holds the elements completed so far.
    fn array(&mut self) -> Result<Value, Stop> {
        self.pos += 1; // '['
        let mut items = Vec::new();
        let outcome = self.elements(&mut items);
        self.complete_or_partial(outcome, Value::Array(items))
    }

    /// A container whose input ended inside it is what it holds so far: everything after
    /// this point is missing.
    fn complete_or_partial(
        &mut self,
        outcome: Result<(), Stop>,
        value: Value,
    ) -> Result<Value, Stop> {
        match outcome {
            Ok(()) => Ok(value),
            Err(Stop::End) => {
                self.pos = self.input.len();
                Ok(value)
            }
            Err(invalid) => Err(invalid),
        }
    }

    fn members(&mut self, map: &mut Map<String, Value>) -> Result<(), Stop> {
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek()? != b'"' {
                return Err(self.invalid("expected a string key"));
            }
            let key = self.string()?;
            if self.peek()? != b':' {
                return Err(self.invalid("expected ':'"));
            }
            self.pos += 1;
            let value = self.value()?;
            map.insert(key, value);
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or '}'")),
            }
        }
    }

    fn elements(&mut self, items: &mut Vec<Value>) -> Result<(), Stop> {
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            items.push(self.value()?);
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.invalid("expected ',' or ']'")),
            }
        }
    }

    /// A complete string, unescaped by serde_json; `Stop::End` if it is not closed.
    fn string(&mut self) -> Result<String, Stop> {
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &self.input[i..]) {
                None => return Err(Stop::End),
                Some(offset) => {
                    i += offset;
                    if self.input[i] == b'\\' {
                        i += 2;
                        if i > self.input.len() {
                            return Err(Stop::End);
                        }
                    } else {
                        break;
                    }
                }
            }
        }
        let literal = &self.text[start..=i];
        let string = serde_json::from_str(literal).map_err(|_| self.invalid("invalid string"))?;
        self.pos = i + 1;
        Ok(string)
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, Stop> {
        let rest = &self.input[self.pos..];
        let n = rest.len().min(word.len());
        if rest[..n] != word.as_bytes()[..n] {
            return Err(self.invalid("invalid literal"));
        }
        if n < word.len() {
            return Err(Stop::End);
        }
        self.pos += n;
        Ok(value)
    }

    /// A number; one that the input cuts short (`-`, `1.`, `2e+`) is unfinished.
    fn number(&mut self) -> Result<Value, Stop> {
        let start = self.pos;
        let end = self.input[start..]
            .iter()
            .position(|b| !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
            .map_or(self.input.len(), |n| start + n);
        let literal = &self.text[start..end];
        match serde_json::from_str::<serde_json::Number>(literal) {
            Ok(number) => {
                self.pos = end;
                Ok(Value::Number(number))
            }
            Err(_) if end == self.input.len() && is_number_prefix(literal) => Err(Stop::End),
            Err(_) => Err(self.invalid("invalid number")),
        }
    }
}

/// Whether `text` can be completed into a JSON number.
fn is_number_prefix(text: &str) -> bool {
    let mut rest = text.strip_prefix('-').unwrap_or(text).as_bytes();
    if rest.is_empty() {
        return true;
    }
    let digits = |s: &[u8]| s.iter().take_while(|b| b.is_ascii_digit()).count();
    let int = digits(rest);
    if int == 0 || (rest[0] == b'0' && int > 1) {
        return false;
    }
    rest = &rest[int..];
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = digits(fraction);
        rest = &fraction[n..];
        if n == 0 {
            return rest.is_empty();
        }
    }
    if let Some(exponent) = rest.strip_prefix(b"e").or_else(|| rest.strip_prefix(b"E")) {
        let exponent = exponent
            .strip_prefix(b"+")
            .or_else(|| exponent.strip_prefix(b"-"))
            .unwrap_or(exponent);
        let n = digits(exponent);
        return n == exponent.len();
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn partial(input: &str) -> Value {
        match parse_partial(input) {
            Ok(PartialJson::Value(value)) => value,
            other => panic!("{input:?} gave {other:?}"),
        }
    }

    /// The outputs the official SDK's parser (jiter, partial mode) gives for these inputs.
    #[test]
    fn matches_the_official_sdks_partial_mode() {
        let cases = [
            (r#"{"a": "hel"#, json!({})),
            (r#"{"a": 1, "b": "x"#, json!({"a": 1})),
            ("[1, 2", json!([1, 2])),
            (r#"{"a": 12"#, json!({"a": 12})),
            (r#"{"a": -"#, json!({})),
            (r#"{"a": 1."#, json!({})),
            (r#"{"a": 1e"#, json!({})),
            (r#"{"a": 1E+"#, json!({})),
            (r#"{"a": tr"#, json!({})),
            (r#"{"a": true"#, json!({"a": true})),
            (r#"{"a": nul"#, json!({})),
            (r#"{"a""#, json!({})),
            (r#"{"a":"#, json!({})),
            (r#"{"a": {"b": [1, {"c": "d"#, json!({"a": {"b": [1, {}]}})),
            (r#"{""#, json!({})),
            ("12", json!(12)),
            ("[", json!([])),
            ("{", json!({})),
            (r#"{"a": [1, 2, "x"#, json!({"a": [1, 2]})),
            (r#"{"a": "x\"#, json!({})),
            (r#"{"a": "\u00"#, json!({})),
            ("[tru", json!([])),
            (r#"{"a": 1,"#, json!({"a": 1})),
            ("[1,", json!([1])),
            (r#"{"a": 1} x"#, json!({"a": 1})),
            (r#"{"a": 0.5"#, json!({"a": 0.5})),
            (r#"{"a": -1"#, json!({"a": -1})),
            (r#"{"a": "b""#, json!({"a": "b"})),
            (r#"[ "a", "b"#, json!(["a"])),
            (r#"{"k": "v", "l""#, json!({"k": "v"})),
            (r#"{"a": "\n""#, json!({"a": "\n"})),
            (r#"{"a": 1, "a": 2}"#, json!({"a": 2})),
            (
                r#"{"s": "é \ud83d\ude00 \"q\""}"#,
                json!({"s": "é 😀 \"q\""}),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(partial(input), expected, "{input:?}");
        }
    }

    #[test]
    fn unfinished_top_level_scalars_are_nothing_yet() {
        for input in ["", "  ", "\"abc", "nul", "-", "tr"] {
            assert_eq!(parse_partial(input), Ok(PartialJson::Nothing), "{input:?}");
        }
    }

    #[test]
    fn invalid_input_is_an_error_with_an_offset() {
        for input in [
            r#"{"a": [}"#,
            "{a: 1}",
            "[1 2]",
            "01",
            r#"{"a": 1 "b": 2}"#,
            "@",
            r#"{"a": falsy}"#,
        ] {
            assert!(parse_partial(input).is_err(), "{input:?}");
        }
        let error = parse_partial(r#"{"a": ]"#).unwrap_err();
        assert_eq!(error.offset, 6);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(parse_partial(&deep).is_err());
        let fine = "[".repeat(MAX_DEPTH);
        assert!(parse_partial(&fine).is_ok());
    }

    #[test]
    fn every_prefix_of_a_document_parses() {
        let document = r#"{"path": "notes/a.txt", "lines": ["one", "two \"quoted\"", ""], "n": -12.5e3, "ok": true, "none": null, "nested": {"k": [1, [2, {}]]}}"#;
        let full: Value = serde_json::from_str(document).unwrap();
        for end in 0..=document.len() {
            let prefix = &document[..end];
            match parse_partial(prefix) {
                Ok(PartialJson::Value(value)) if end == document.len() => assert_eq!(value, full),
                Ok(_) => {}
                Err(error) => panic!("prefix {prefix:?}: {error}"),
            }
        }
    }
}
