//! The retry loop around a call's attempts, driven by the pure
//! [`RetryPolicy`](claude_kit_core::policy::retry::RetryPolicy): this only sleeps where the
//! policy says.

use std::future::Future;
use std::time::SystemTime;

use http::HeaderMap;

use claude_kit_core::policy::retry::{Decision, Failure, RetryEvent, RetryPolicy};
use claude_kit_core::redact::Secrets;
use claude_kit_core::{Error, Result};
use claude_kit_rt::Runtime;

/// A failed attempt, with what the retry policy needs to judge it.
pub(crate) struct Failed {
    error: Error,
    /// The headers of an error response.
    headers: Option<HeaderMap>,
}

impl Failed {
    /// An error response: the error built from its status and body, and its headers (for
    /// `retry-after`, `x-should-retry`).
    pub(crate) fn status(error: Error, headers: HeaderMap) -> Self {
        Self {
            error,
            headers: Some(headers),
        }
    }

    fn failure(&self) -> Option<Failure<'_>> {
        // Nothing of a failed attempt reached the caller: a call hands out its response only
        // once the attempt succeeded.
        Failure::classify(&self.error, self.headers.as_ref(), false)
    }
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Self {
            error,
            headers: None,
        }
    }
}

/// Runs `attempt` until it succeeds or `policy` gives up, sleeping between attempts on
/// `runtime`. `attempt` gets the number of retries done so far.
pub(crate) async fn with_retries<T, F, Fut>(
    runtime: &dyn Runtime,
    policy: &RetryPolicy,
    label: Option<&str>,
    secrets: &Secrets,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = std::result::Result<T, Failed>>,
{
    let mut retries_done = 0;
    loop {
        let mut failed = match attempt(retries_done).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        if runtime.is_shut_down() {
            // The runtime died under the attempt (its timers end every wait at once): that,
            // not the timeout it caused, is what went wrong.
            return Err(runtime_gone(runtime));
        }
        // Before anyone sees it (the retry callback, the caller): a server may have echoed
        // the key into the error's text.
        failed.error = failed.error.redact(secrets);
        let Some(failure) = failed.failure() else {
            return Err(failed.error);
        };
        let now = runtime.now();
        match policy.decide(
            &failure,
            retries_done,
            now,
            SystemTime::now(),
            fastrand::f64(),
        ) {
            Decision::GiveUp => return Err(failed.error),
            Decision::RetryAt(at) => {
                crate::trace::retrying(
                    retries_done + 1,
                    at.saturating_duration_since(now),
                    &failed.error,
                );
                policy.notify(
                    &RetryEvent::new(&failure, retries_done, at.saturating_duration_since(now))
                        .with_label(label)
                        .with_request_id(failed.error.request_id()),
                );
                runtime.sleep_until(at).await;
                retries_done += 1;
            }
        }
    }
}

/// The error of a call whose runtime has shut down.
pub(crate) fn runtime_gone(runtime: &dyn Runtime) -> Error {
    Error::closed(format!(
        "the {} runtime this client was built on has shut down",
        runtime.name()
    ))
}
