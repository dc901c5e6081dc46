//! Cursor pagination as a [`Stream`]: list endpoints (`/v1/models`,
//! `/v1/messages/batches`) return pages with `has_more` and `last_id`; [`Paginated`] fetches
//! the next page only when the items of the current one are used up.
//!
//! ```no_run
//! # async fn run(client: claude_agent::Client) -> claude_agent::Result<()> {
//! use futures_util::TryStreamExt;
//!
//! let models: Vec<_> = client.models().list().try_collect().await?;
//! for model in models {
//!     println!("{} ({})", model.id, model.display_name);
//! }
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use http::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Client, Result};

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
pub struct Paginated<T> {
    items: VecDeque<T>,
    next: Option<PageFuture<T>>,
    cursor: Option<Cursor>,
}

/// The request for the next page.
type PageFuture<T> = Pin<Box<dyn futures_core::Future<Output = Result<Page<T>>> + Send>>;

#[derive(Clone)]
struct Cursor {
    client: Client,
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
                query.push(format!("after_id={after}"));
            }
            let path = if query.is_empty() {
                cursor.path.clone()
            } else {
                format!("{}?{}", cursor.path, query.join("&"))
            };
            Ok(cursor
                .client
                .call_json::<Page<T>>(Method::GET, &path, None)
                .await?
                .into_inner())
        })
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginated<T> {
    pub(crate) fn new(client: Client, path: impl Into<String>, limit: Option<u32>) -> Self {
        let cursor = Cursor {
            client,
            path: path.into(),
            limit,
            after_id: None,
        };
        Self {
            items: VecDeque::new(),
            next: Some(cursor.fetch()),
            cursor: Some(cursor),
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
                return Poll::Ready(None);
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
            // Another page only if the server says so and gives a cursor to continue from.
            if let (true, Some(last), Some(cursor)) =
                (page.has_more, page.last_id.clone(), self.cursor.as_mut())
            {
                cursor.after_id = Some(last);
                let fetch = cursor.fetch();
                self.next = Some(fetch);
            }
            self.items.extend(page.data);
            if self.items.is_empty() && self.next.is_none() {
                return Poll::Ready(None);
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
