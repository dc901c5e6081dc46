//! Cursor pagination as a [`Stream`]: list endpoints (`/v1/models`,
//! `/v1/messages/batches`) return pages with `has_more` and `last_id`; [`Paginated`] fetches
//! the next page only when the items of the current one are used up.
//!
//! ```
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit_smol::block_on(async {
//! # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! use futures_util::TryStreamExt;
//!
//! let models: Vec<_> = client.models().list().try_collect().await?;
//! for model in models {
//!     println!("{} ({})", model.id, model.display_name);
//! }
//! # Ok::<_, claude_kit_core::Error>(()) }).unwrap();
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use claude_kit_core::{Error, Result};

use crate::engine::Engine;
use crate::options::Settings;

/// One page of a list endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the endpoint's order.
    pub data: Vec<T>,
    /// Whether more items follow.
    #[serde(default)]
    pub has_more: bool,
    /// The id of the first item.
    #[serde(default)]
    pub first_id: Option<String>,
    /// The id of the last item: the cursor for the next page (`after_id`).
    #[serde(default)]
    pub last_id: Option<String>,
}

/// Every item of a list endpoint, page after page.
///
/// A page is requested (with retries) only when the items already received are used up;
/// dropping the stream stops it.
#[must_use = "a stream does nothing unless polled"]
pub struct Paginated<T> {
    items: VecDeque<T>,
    next: Option<PageFuture<T>>,
    cursor: Option<Cursor>,
    /// Pages in a row that had no items (a server that keeps saying `has_more` with nothing
    /// in it would otherwise keep `next()` fetching forever without yielding).
    empty_pages: u32,
    /// The error that ends a listing whose cursor stopped moving, once its items are out.
    stalled: Option<Error>,
}

/// How many empty pages in a row end the listing with an error.
const MAX_EMPTY_PAGES: u32 = 8;

/// The request for the next page.
type PageFuture<T> = Pin<Box<dyn futures_core::Future<Output = Result<Page<T>>> + Send>>;

#[derive(Clone)]
struct Cursor {
    engine: Arc<Engine>,
    settings: Arc<Settings>,
    path: String,
    limit: Option<u32>,
    after_id: Option<String>,
}

impl Cursor {
    fn fetch<T: DeserializeOwned + Send + 'static>(&self) -> PageFuture<T> {
        let cursor = self.clone();
        Box::pin(async move {
            let mut query = Vec::new();
            if let Some(limit) = cursor.limit {
                query.push(format!("limit={limit}"));
            }
            if let Some(after) = &cursor.after_id {
                // The cursor is the server's text: encoded, it can only ever be one value.
                query.push(format!("after_id={}", super::path_segment(after)));
            }
            let path = if query.is_empty() {
                cursor.path.clone()
            } else {
                format!("{}?{}", cursor.path, query.join("&"))
            };
            Ok(cursor
                .engine
                .call_json::<Page<T>>(&cursor.settings, Method::GET, &path, None)
                .await?
                .into_inner())
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginated<T> {
    pub(crate) fn new(
        engine: &Arc<Engine>,
        settings: &Arc<Settings>,
        path: impl Into<String>,
        limit: Option<u32>,
    ) -> Self {
        let cursor = Cursor {
            engine: engine.clone(),
            settings: settings.clone(),
            path: path.into(),
            limit,
            after_id: None,
        };
        Self {
            items: VecDeque::new(),
            next: Some(cursor.fetch()),
            cursor: Some(cursor),
            empty_pages: 0,
            stalled: None,
        }
    }
}

impl<T: DeserializeOwned + Send + Unpin + 'static> Stream for Paginated<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            let Some(next) = self.next.as_mut() else {
                return Poll::Ready(self.stalled.take().map(Err));
            };
            let page = std::task::ready!(next.as_mut().poll(cx));
            self.next = None;
            let page = match page {
                Ok(page) => page,
                Err(error) => {
                    self.cursor = None;
                    return Poll::Ready(Some(Err(error)));
                }
            };
            self.empty_pages = if page.data.is_empty() {
                self.empty_pages + 1
            } else {
                0
            };
            let empty_pages = self.empty_pages;
            // Another page only if the server says so and gives a cursor to continue from,
            // one that moves: a repeated cursor or empty page after empty page would page
            // forever.
            if let (true, Some(last), Some(cursor)) =
                (page.has_more, page.last_id.clone(), self.cursor.as_mut())
            {
                let stuck = cursor.after_id.as_deref() == Some(last.as_str());
                if stuck || empty_pages >= MAX_EMPTY_PAGES {
                    // Delivered after this page's items: nothing received is lost.
                    self.stalled = Some(Error::decode(if stuck {
                        "pagination does not advance: the server returned the same cursor again"
                    } else {
                        "pagination does not advance: the server keeps returning empty pages \
                         with has_more"
                    }));
                    self.cursor = None;
                } else {
                    cursor.after_id = Some(last);
                    let fetch = cursor.fetch();
                    self.next = Some(fetch);
                }
            }
            self.items.extend(page.data);
            if self.items.is_empty() && self.next.is_none() {
                return Poll::Ready(self.stalled.take().map(Err));
            }
        }
    }
}

impl<T> std::fmt::Debug for Paginated<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginated")
            .field("buffered", &self.items.len())
            .field("more", &self.next.is_some())
            .finish()
    }
}
