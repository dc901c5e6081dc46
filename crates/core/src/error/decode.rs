//! The structured source of an [`Error::Decode`](super::Error::Decode).

use std::fmt;

/// The kind of an [`Error::Decode`](super::Error::Decode), without the input's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeCategory {
    /// Not JSON (or not an event stream) at all.
    Syntax,
    /// Valid JSON of the wrong shape: a missing field, a wrong type.
    Data,
    /// The input ended in the middle of a value.
    Eof,
    /// Reading the input failed.
    Io,
    /// An event, line or body over its size limit.
    TooLarge,
    /// Well-formed pieces in an order the protocol forbids (a delta before its block).
    Protocol,
    /// The response is not of the expected type (its `content-type`).
    ContentType,
}

impl fmt::Display for DecodeCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeCategory::Syntax => "invalid syntax",
            DecodeCategory::Data => "unexpected shape",
            DecodeCategory::Eof => "truncated input",
            DecodeCategory::Io => "read error",
            DecodeCategory::TooLarge => "over its size limit",
            DecodeCategory::Protocol => "out of protocol order",
            DecodeCategory::ContentType => "unexpected content type",
        })
    }
}

/// The source of an [`Error::Decode`](super::Error::Decode): its category and, for JSON, where the parser stopped.
///
/// Deliberately not a `serde_json::Error`, whose text may quote the input a server sent;
/// that text is in the error's (redacted, bounded) message instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DecodeSource {
    /// What kind of failure.
    pub category: DecodeCategory,
    /// The 1-based line where the parser stopped, for JSON.
    pub line: Option<usize>,
    /// The 1-based column where the parser stopped, for JSON.
    pub column: Option<usize>,
}

impl DecodeSource {
    /// The category and position of a `serde_json` error (its text is left out).
    pub fn from_json(error: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let category = match error.classify() {
            Category::Syntax => DecodeCategory::Syntax,
            Category::Data => DecodeCategory::Data,
            Category::Eof => DecodeCategory::Eof,
            Category::Io => DecodeCategory::Io,
        };
        let known = error.line() > 0;
        Self {
            category,
            line: known.then(|| error.line()),
            column: known.then(|| error.column()),
        }
    }
}

impl fmt::Display for DecodeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.category)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " at line {line}, column {column}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DecodeSource {}
