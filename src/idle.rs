//! A response body that fails with [`Error::Timeout`] when the next chunk takes too long.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;

use claude_agent_core::rt::{Runtime, Sleep, saturating_deadline};
use claude_agent_core::transport::Body;

use crate::{Error, TimeoutPhase};

/// Wraps `body` so that a wait longer than `idle` for its next chunk ends it with
/// `Error::Timeout { phase: Idle }`. One timer per body, moved forward on every chunk.
pub(crate) fn with_idle_timeout(body: Body, runtime: &Arc<dyn Runtime>, idle: Duration) -> Body {
    Body::from_stream(IdleTimeout {
        body,
        runtime: runtime.clone(),
        idle,
        timer: None,
        done: false,
    })
}

struct IdleTimeout {
    body: Body,
    runtime: Arc<dyn Runtime>,
    idle: Duration,
    timer: Option<Pin<Box<dyn Sleep>>>,
    done: bool,
}

impl Stream for IdleTimeout {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match this.body.poll_next_unpin(cx) {
            Poll::Ready(item) => {
                // The wait for the next chunk starts now.
                if let Some(timer) = this.timer.as_mut() {
                    timer
                        .as_mut()
                        .reset(saturating_deadline(this.runtime.now(), this.idle));
                }
                this.done = item.is_none();
                Poll::Ready(item)
            }
            Poll::Pending => {
                let timer = this.timer.get_or_insert_with(|| {
                    this.runtime
                        .sleep_until(saturating_deadline(this.runtime.now(), this.idle))
                });
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        this.done = true;
                        Poll::Ready(Some(Err(Error::Timeout {
                            phase: TimeoutPhase::Idle,
                        })))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}
