//! Keeping credentials out of text that a server controls.
//!
//! A hostile or buggy server can echo the request's `x-api-key` or bearer token back: in an
//! error message, in a non-JSON error page, in an `error` event, in a header. Anything the SDK
//! builds from such text (an [`Error`](crate::Error)'s message, a retry event's headers) goes
//! through [`Secrets`] first, so the key never reaches a log line.
//!
//! ```
//! use claude_kit_core::redact::Secrets;
//!
//! let secrets = Secrets::new(["sk-ant-secret"]);
//! assert_eq!(
//!     secrets.scrub("invalid x-api-key: sk-ant-secret"),
//!     "invalid x-api-key: <redacted>"
//! );
//! assert!(format!("{secrets:?}").contains("1 secret"));
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use memchr::memmem;

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The longest message an [`Error`](crate::Error) keeps from server text, in bytes; longer
/// ones are cut on a character boundary (after redaction) and end in `…`.
pub const MAX_MESSAGE_BYTES: usize = 512;

/// The credentials a client sends: the strings that must never appear in what it reports.
///
/// Cheap to clone (shared). Its `Debug` shows how many secrets it holds, never one of them.
#[derive(Clone, Default)]
pub struct Secrets(Option<Arc<Inner>>);

struct Inner {
    secrets: Box<[Box<str>]>,
    /// One searcher per secret, built once: [`Secrets::appears_in`] runs on every response
    /// header of every call.
    finders: Box<[memmem::Finder<'static>]>,
    /// The length of the shortest secret: shorter text cannot hold one.
    shortest: usize,
}

impl Secrets {
    /// The secrets to redact. Empty strings are ignored (they would match everywhere).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let secrets: Box<[Box<str>]> = secrets
            .into_iter()
            .filter(|s| !s.as_ref().is_empty())
            .map(|s| s.as_ref().into())
            .collect();
        if secrets.is_empty() {
            return Self::none();
        }
        let finders = secrets
            .iter()
            .map(|secret| memmem::Finder::new(secret.as_bytes()).into_owned())
            .collect();
        let shortest = secrets.iter().map(|s| s.len()).min().unwrap_or(0);
        Self(Some(Arc::new(Inner {
            secrets,
            finders,
            shortest,
        })))
    }

    /// No secrets: [`scrub`](Self::scrub) returns its input.
    pub fn none() -> Self {
        Self(None)
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether `bytes` contains one of the secrets.
    pub fn appears_in(&self, bytes: &[u8]) -> bool {
        match &self.0 {
            Some(inner) if bytes.len() >= inner.shortest => inner
                .finders
                .iter()
                .any(|finder| finder.find(bytes).is_some()),
            _ => false,
        }
    }

    /// `text` with every occurrence of every secret replaced by [`REDACTED`].
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        let Some(inner) = &self.0 else {
            return text;
        };
        for (secret, finder) in inner.secrets.iter().zip(inner.finders.iter()) {
            if finder.find(text.as_bytes()).is_some() {
                text = Cow::Owned(text.replace(&**secret, REDACTED));
            }
        }
        text
    }

    /// `text` scrubbed, then cut to at most `max_bytes` bytes (with `…` when cut).
    /// Scrubbing comes first, so a secret that straddles the cut is never half shown.
    pub fn scrub_bounded(&self, text: &str, max_bytes: usize) -> String {
        truncate(&self.scrub(text), max_bytes)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_ref().map_or(0, |inner| inner.secrets.len()) {
            1 => f.write_str("Secrets(1 secret)"),
            n => write!(f, "Secrets({n} secrets)"),
        }
    }
}

/// `text` cut to at most `max_bytes` bytes on a character boundary, with `…` appended when it
/// was cut.
pub fn truncate(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_owned();
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A bounded excerpt of `text` around byte offset `at`: at most `radius` bytes on each side
/// (on character boundaries), with `…` where it was cut, and the total length. For errors that
/// must show where a long buffer went wrong without quoting all of it.
///
/// ```
/// use claude_kit_core::redact::excerpt;
///
/// let text = format!("{}!{}", "a".repeat(1000), "b".repeat(1000));
/// let shown = excerpt(&text, 1000, 8);
/// assert_eq!(shown, "…aaaaaaaa!bbbbbbb… (2001 bytes)");
/// assert_eq!(excerpt("short", 2, 8), "short");
/// ```
pub fn excerpt(text: &str, at: usize, radius: usize) -> String {
    let at = at.min(text.len());
    let mut start = at.saturating_sub(radius);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = at.saturating_add(radius).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    if start == 0 && end == text.len() {
        return text.to_owned();
    }
    format!(
        "{}{}{} ({} bytes)",
        if start > 0 { "…" } else { "" },
        &text[start..end],
        if end < text.len() { "…" } else { "" },
        text.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_and_every_occurrence_is_replaced() {
        let secrets = Secrets::new(["key-1", "", "tok-2"]);
        assert_eq!(
            secrets.scrub("key-1 and tok-2 and key-1"),
            "<redacted> and <redacted> and <redacted>"
        );
        assert!(matches!(secrets.scrub("nothing here"), Cow::Borrowed(_)));
        assert!(secrets.appears_in(b"xx tok-2 yy"));
        assert!(!secrets.appears_in(b"tok-"));
        assert_eq!(format!("{secrets:?}"), "Secrets(2 secrets)");
    }

    #[test]
    fn scrubbing_comes_before_the_cut() {
        let secrets = Secrets::new(["sk-ant-0123456789"]);
        let text = format!("{}sk-ant-0123456789 tail", "x".repeat(505));
        let bounded = secrets.scrub_bounded(&text, 512);
        assert!(!bounded.contains("sk-ant-0"), "{bounded}");
        assert_eq!(bounded.len(), 512 + '…'.len_utf8());
        assert!(bounded.ends_with('…'));
    }

    #[test]
    fn excerpts_respect_character_boundaries() {
        let text = "é".repeat(100);
        let shown = excerpt(&text, 101, 5);
        assert!(
            shown.starts_with('…') && shown.contains("(200 bytes)"),
            "{shown}"
        );
        assert_eq!(excerpt("", 10, 3), "");
        assert_eq!(truncate("ééé", 5), "éé…");
        assert_eq!(truncate("ééé", 6), "ééé");
    }
}
