//! Prompt caching: [`CacheControl`], the breakpoint that marks the end of a cacheable prefix.

use serde::{Deserialize, Serialize};

use super::Extra;

/// A prompt-cache breakpoint (`cache_control`): the request up to and including the block
/// that carries it (tools, then system, then messages) is cached for its time to live.
///
/// ```
/// use claude_kit_core::types::{CacheControl, CacheTtl};
/// use serde_json::json;
///
/// assert_eq!(serde_json::to_value(CacheControl::ephemeral()).unwrap(), json!({"type": "ephemeral"}));
/// assert_eq!(
///     serde_json::to_value(CacheControl::ephemeral().ttl(CacheTtl::OneHour)).unwrap(),
///     json!({"type": "ephemeral", "ttl": "1h"}),
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheControl {
    /// The kind of cache; `ephemeral` is the only one the API has.
    #[serde(rename = "type")]
    pub kind: String,
    /// How long the entry lives; the API's default is five minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<CacheTtl>,
    /// Fields this version does not model.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CacheControl {
    /// An `ephemeral` breakpoint with the API's default time to live (five minutes).
    pub fn ephemeral() -> Self {
        Self {
            kind: "ephemeral".to_owned(),
            ttl: None,
            extra: Extra::new(),
        }
    }

    /// Sets the time to live.
    pub fn ttl(mut self, ttl: CacheTtl) -> Self {
        self.ttl = Some(ttl);
        self
    }
}

impl Default for CacheControl {
    fn default() -> Self {
        Self::ephemeral()
    }
}

/// How long a cache entry lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CacheTtl {
    /// Five minutes (`"5m"`), refreshed each time the entry is read.
    #[serde(rename = "5m")]
    FiveMinutes,
    /// One hour (`"1h"`), billed at a higher write price.
    #[serde(rename = "1h")]
    OneHour,
    /// A value this version does not know, kept as sent.
    #[serde(untagged)]
    Other(String),
}
