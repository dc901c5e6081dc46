//! Credentials, kept out of every `Debug`, `Display`, error and log.

use std::fmt;

use http::HeaderValue;

/// An API key. Its `Debug` and `Display` never show the key.
///
/// ```
/// let key = claude_kit_api::ApiKey::new("sk-ant-secret");
/// assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
/// assert!(!format!("{key}").contains("secret"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself: for sending it, never for printing it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The key as a header value marked sensitive, so `http`'s own `Debug` hides it too.
    ///
    /// Only visible ASCII is accepted: `http` would take bytes above 0x7F (`é`) as opaque
    /// header bytes, but no real key has them, and a key with spaces or line breaks was
    /// pasted wrong. The error never includes the key.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, InvalidKey> {
        if self.0.is_empty() || !self.0.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidKey);
        }
        let mut value = HeaderValue::from_str(&self.0).map_err(|_| InvalidKey)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// A key or token that cannot be sent as a header value.
#[derive(Debug)]
pub(crate) struct InvalidKey;

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}
