//! The Models API: which models exist, [`Models::list`] and [`Models::get`].

use http::Method;
use serde::{Deserialize, Serialize};

use crate::pagination::Paginated;
use crate::types::Extra;
use crate::{Client, Response, Result};

/// A model, as `/v1/models` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The id to put in requests, e.g. `claude-sonnet-4-5`.
    pub id: String,
    /// A human-readable name.
    #[serde(default)]
    pub display_name: String,
    /// When it was released (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// Other fields (`type`, and any newer ones).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The Models API of a [`Client`]; get one with [`Client::models`].
#[derive(Debug, Clone, Copy)]
pub struct Models<'a> {
    client: &'a Client,
}

impl<'a> Models<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Every model, newest first, fetched page by page as the stream is read.
    pub fn list(&self) -> Paginated<ModelInfo> {
        Paginated::new(self.client.clone(), "/v1/models", None)
    }

    /// Like [`list`](Self::list), asking for `limit` models per page.
    pub fn list_with_page_size(&self, limit: u32) -> Paginated<ModelInfo> {
        Paginated::new(self.client.clone(), "/v1/models", Some(limit))
    }

    /// One model by id (or alias); a model that does not exist is
    /// [`Error::Api`](crate::Error::Api) with [`ApiErrorKind::NotFound`](crate::ApiErrorKind::NotFound).
    pub async fn get(&self, id: &str) -> Result<Response<ModelInfo>> {
        self.client
            .call_json(
                Method::GET,
                &format!("/v1/models/{}", path_segment(id)),
                None,
            )
            .await
    }
}

/// `segment`, with the characters that would change a URL path percent-encoded.
pub(crate) fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

impl Client {
    /// The Models API: `list`, `get`.
    pub fn models(&self) -> Models<'_> {
        Models::new(self)
    }
}

/// The reply of `/v1/messages/count_tokens`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenCount {
    /// The input tokens the request would use.
    pub input_tokens: u64,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}
