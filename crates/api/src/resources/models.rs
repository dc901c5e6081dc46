//! The Models API: which models exist, [`Models::list`] and [`Models::get`].

use std::sync::Arc;

use http::Method;
use serde::{Deserialize, Serialize};

use claude_kit_core::Result;
use claude_kit_core::types::Extra;

use super::pagination::Paginated;
use super::path_segment;
use crate::engine::Engine;
use crate::meta::Response;
use crate::options::Settings;

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

/// The Models API of a [`Client`](crate::Client); get one with
/// [`Client::models`](crate::Client::models).
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Models<'a> {
    engine: &'a Arc<Engine>,
    settings: &'a Arc<Settings>,
}

impl<'a> Models<'a> {
    pub(crate) fn new(engine: &'a Arc<Engine>, settings: &'a Arc<Settings>) -> Self {
        Self { engine, settings }
    }

    /// Every model, newest first, fetched page by page as the stream is read.
    pub fn list(&self) -> Paginated<ModelInfo> {
        Paginated::new(self.engine, self.settings, "/v1/models", None)
    }

    /// Like [`list`](Self::list), asking for `limit` models per page.
    pub fn list_with_page_size(&self, limit: u32) -> Paginated<ModelInfo> {
        Paginated::new(self.engine, self.settings, "/v1/models", Some(limit))
    }

    /// One model by id (or alias); a model that does not exist is
    /// [`Error::Api`](claude_kit_core::Error::Api) with
    /// [`ApiErrorKind::NotFound`](claude_kit_core::ApiErrorKind::NotFound).
    pub async fn get(&self, id: &str) -> Result<Response<ModelInfo>> {
        self.engine
            .call_json(
                self.settings,
                Method::GET,
                &format!("/v1/models/{}", path_segment(id)),
                None,
            )
            .await
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
