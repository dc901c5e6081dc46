//! Credentials, kept out of every `Debug`, `Display`, error and log.

use std::fmt;

use http::HeaderValue;

/// An API key. Its `Debug` and `Display` never show the key.
///
/// ```
/// let key = claude_agent::ApiKey::new("sk-ant-secret");
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
    pub(crate) fn header_value(&self) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
        let mut value = HeaderValue::from_str(&self.0)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

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
