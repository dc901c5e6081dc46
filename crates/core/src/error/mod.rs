//! The one error type of the SDK.
//!
//! Every failure is an [`Error`] variant you can match on: the API answered with an error
//! ([`Error::Api`], with its HTTP status, its `error.type` and the request id), the connection
//! could not be made ([`Error::Connect`]) or broke ([`Error::Transport`]), a deadline passed
//! ([`Error::Timeout`]), a body could not be decoded ([`Error::Decode`]), the client was set
//! up wrong ([`Error::Config`]), a blocking call was made inside async code
//! ([`Error::AsyncContext`]), or the client or its runtime is gone ([`Error::Closed`]).
//!
//! ```
//! use claude_kit_core::{ApiErrorKind, Error};
//!
//! fn advice(error: &Error) -> &'static str {
//!     match error {
//!         Error::Api { kind: ApiErrorKind::Overloaded | ApiErrorKind::RateLimit, .. } => "retry later",
//!         Error::Api { kind: ApiErrorKind::Authentication, .. } => "check ANTHROPIC_API_KEY",
//!         Error::Timeout { .. } | Error::Connect { .. } => "check the network",
//!         _ => "report a bug",
//!     }
//! }
//! let error = Error::api(http::StatusCode::from_u16(529).unwrap(), None, br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#);
//! assert_eq!(advice(&error), "retry later");
//! ```

use std::fmt;
use std::sync::Arc;

use http::StatusCode;
use serde::Deserialize;

use crate::redact::{MAX_MESSAGE_BYTES, Secrets};

mod decode;
mod kind;

pub use decode::{DecodeCategory, DecodeSource};
pub use kind::{ApiErrorKind, ErrorOrigin, TimeoutPhase};

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A source error kept for [`std::error::Error::source`]; shared so that [`Error`] is `Clone`.
pub type Source = Arc<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in a call to the API.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status, or with an `error` event inside a stream
    /// ([`origin`](ErrorOrigin) says which).
    #[error("{}{kind}: {message}{}", OriginPrefix(*.origin, *.status), RequestIdSuffix(.request_id))]
    Api {
        /// Where the error came from: the response's status, or an event in its body.
        origin: ErrorOrigin,
        /// The HTTP status of the response (for an [`ErrorOrigin::Stream`] error, the status
        /// of the stream's response: 200).
        status: StatusCode,
        /// The `error.type` of the body, or a kind derived from the status when the body has
        /// none.
        kind: ApiErrorKind,
        /// The `error.message` of the body, or the body itself when it is not the API's JSON.
        message: String,
        /// The `request-id` response header: quote it when you contact support.
        request_id: Option<String>,
        /// The `anthropic-ratelimit-*` and `retry-after` headers of the response, when it
        /// had any.
        rate_limit: Option<Box<crate::policy::limit::RateLimitInfo>>,
    },

    /// The TCP connection (or the TLS handshake, or a proxy tunnel) could not be established.
    #[error("could not connect to {target}: {message}")]
    Connect {
        /// `host:port` that was dialled.
        target: String,
        /// What failed.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Source>,
    },

    /// A deadline passed: which one is in [`TimeoutPhase`], how long it was in `after`.
    #[error("timed out: {phase} (after {after:?})")]
    Timeout {
        /// The deadline that passed.
        phase: TimeoutPhase,
        /// The length of that deadline, as configured.
        after: std::time::Duration,
    },

    /// An established connection broke or misbehaved (reset, closed early, invalid HTTP).
    #[error("transport error: {message}")]
    Transport {
        /// What happened.
        message: String,
        /// The underlying error, when there is one.
        #[source]
        source: Option<Source>,
    },

    /// A response arrived but could not be decoded (invalid JSON, malformed event stream,
    /// an event or body over its size limit).
    #[error("could not decode the response: {message}{}", RequestIdSuffix(.request_id))]
    Decode {
        /// What was wrong (bounded, and scrubbed of secrets when the client built it).
        message: String,
        /// The `request-id` of the response, when known.
        request_id: Option<String>,
        /// What kind of failure, and where in the input: never the input's text, so that
        /// printing the error chain cannot leak what a server sent.
        #[source]
        source: Option<DecodeSource>,
    },

    /// The reply is not the structured output it was parsed as
    /// ([`Message::parse`](crate::types::Message::parse)): no text, not JSON, JSON of another
    /// shape than the type (the message names the field), cut off at `max_tokens`, or a
    /// refusal.
    #[error("the reply is not the expected structured output: {message}")]
    Output {
        /// What does not match, and where (bounded).
        message: String,
        /// Why the model stopped, when that explains it (`max_tokens`, `refusal`).
        stop_reason: Option<crate::types::StopReason>,
        /// The parser's category and position, for JSON that does not parse or match.
        #[source]
        source: Option<DecodeSource>,
    },

    /// The client is not set up to make this call (no API key, invalid base URL, no runtime).
    #[error("invalid configuration: {message}")]
    Config {
        /// What to fix.
        message: String,
    },

    /// A blocking call was made from async code, where blocking the thread would stall (or
    /// deadlock) the event loop: Python's "this event loop is already running". Use the async
    /// API and `.await` there.
    #[error("{message}")]
    AsyncContext {
        /// What was called, and what to do instead.
        message: String,
    },

    /// What the call needs is gone: the client was closed, or the runtime it was built on has
    /// shut down (a tokio runtime dropped while the client lives on).
    #[error("closed: {message}")]
    Closed {
        /// What is closed, and why.
        message: String,
    },

    /// The Claude Code CLI was not found: every place that was searched, in order, and the
    /// command that installs it.
    #[error("{}", CliNotFoundText(.searched))]
    CliNotFound {
        /// The paths and directories searched, in the order they were tried.
        searched: Vec<std::path::PathBuf>,
    },

    /// The Claude Code CLI could not be started, or ended before it had answered: its exit
    /// status (when it exited) and the last lines it wrote to stderr. Every request waiting on
    /// the CLI fails with this at once when it exits.
    #[error("{message}{}{}", ExitSuffix(*.exit_code), StderrSuffix(.stderr_tail))]
    Process {
        /// What happened (which CLI, at what stage).
        message: String,
        /// The exit code, when the CLI exited with one (`None`: not started, or ended by a
        /// signal, or still running).
        exit_code: Option<i32>,
        /// The end of what the CLI wrote to stderr (bounded, secrets redacted).
        stderr_tail: String,
    },

    /// A Claude Code run ended with an error result (`is_error: true`): an API error the CLI
    /// gave up on, the turn or budget limit, an interrupted turn. The result message itself
    /// was delivered before this error.
    #[error("{0}")]
    AgentResult(Box<AgentResultError>),

    /// The Claude Code CLI answered a control request with an error, did not answer it in time
    /// (`code` is `"timeout"`), or broke the protocol.
    #[error("{subtype}: {message}{}", CodeSuffix(.code))]
    Control {
        /// The control request's subtype (`initialize`, `interrupt`, …), or `protocol`.
        subtype: String,
        /// The CLI's error text, or what went wrong.
        message: String,
        /// The `error_code` the CLI sent, or `"timeout"`.
        code: Option<String>,
    },
}

/// What an error result of a Claude Code run says ([`Error::AgentResult`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentResultError {
    /// The result's `subtype` (`success` for an API error the CLI reported, `error_max_turns`,
    /// `error_during_execution`, `error_max_budget_usd`, …).
    pub subtype: String,
    /// The result's `errors` texts.
    pub errors: Vec<String>,
    /// The result's `result` text, when it had one.
    pub result: Option<String>,
    /// The HTTP status of the API error that ended the run, when there was one.
    pub api_error_status: Option<u16>,
    /// Why the run ended (`completed`, `api_error`, `aborted_streaming`, …).
    pub terminal_reason: Option<String>,
    /// The session the run belonged to.
    pub session_id: Option<String>,
}

impl AgentResultError {
    /// An error result with only its subtype set.
    pub fn new(subtype: impl Into<String>) -> Self {
        Self {
            subtype: subtype.into(),
            errors: Vec::new(),
            result: None,
            api_error_status: None,
            terminal_reason: None,
            session_id: None,
        }
    }
}

impl fmt::Display for AgentResultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the agent run failed ({}", self.subtype)?;
        if let Some(reason) = &self.terminal_reason {
            write!(f, ", {reason}")?;
        }
        if let Some(status) = self.api_error_status {
            write!(f, ", API status {status}")?;
        }
        f.write_str(")")?;
        if !self.errors.is_empty() {
            write!(f, ": {}", self.errors.join("; "))?;
        } else if let Some(result) = &self.result {
            write!(f, ": {result}")?;
        }
        Ok(())
    }
}

/// The command that installs the pinned Claude Code CLI where discovery looks last.
pub const CLAUDE_CODE_INSTALL_HINT: &str = "scripts/install-claude-code.sh (or: npm install -g @anthropic-ai/claude-code), or set CLAUDE_CODE_PATH";

struct CliNotFoundText<'a>(&'a [std::path::PathBuf]);

impl fmt::Display for CliNotFoundText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the Claude Code CLI was not found; searched: ")?;
        for (i, path) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", path.display())?;
        }
        write!(f, "; install it with {CLAUDE_CODE_INSTALL_HINT}")
    }
}

struct ExitSuffix(Option<i32>);

impl fmt::Display for ExitSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(code) => write!(f, " (exit code {code})"),
            None => Ok(()),
        }
    }
}

struct StderrSuffix<'a>(&'a str);

impl fmt::Display for StderrSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "; stderr: {}", self.0)
        }
    }
}

struct CodeSuffix<'a>(&'a Option<String>);

impl fmt::Display for CodeSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(code) => write!(f, " ({code})"),
            None => Ok(()),
        }
    }
}

struct OriginPrefix(ErrorOrigin, StatusCode);

impl fmt::Display for OriginPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ErrorOrigin::Http => match status_reason(self.1) {
                Some(reason) => write!(f, "{} {reason} ", self.1.as_u16()),
                None => write!(f, "{} ", self.1.as_u16()),
            },
            ErrorOrigin::Stream => f.write_str("error event in the stream: "),
        }
    }
}

/// The reason phrase shown after a status code: the standard one, and `Overloaded` for the
/// API's own 529 (which `http` does not know).
fn status_reason(status: StatusCode) -> Option<&'static str> {
    match status.as_u16() {
        529 => Some("Overloaded"),
        _ => status.canonical_reason(),
    }
}

struct RequestIdSuffix<'a>(&'a Option<String>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (request id {id})"),
            None => Ok(()),
        }
    }
}

impl Error {
    /// Builds an [`Error::Api`] from a response status, its `request-id` and its body, which
    /// is parsed as the API's error document when it is one. The message is cut to
    /// [`MAX_MESSAGE_BYTES`] bytes.
    ///
    /// ```
    /// use claude_kit_core::{ApiErrorKind, Error};
    /// use http::StatusCode;
    ///
    /// let body = br#"{"type":"error","error":{"type":"rate_limit_error","message":"Slow down"}}"#;
    /// let error = Error::api(StatusCode::TOO_MANY_REQUESTS, Some("req_011".into()), body);
    /// assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    /// assert_eq!(error.kind(), Some(&ApiErrorKind::RateLimit));
    /// assert_eq!(error.request_id(), Some("req_011"));
    /// assert!(error.is_retryable());
    /// assert_eq!(error.to_string(), "429 Too Many Requests rate_limit_error: Slow down (request id req_011)");
    /// // Not the API's JSON: the body is the message, the kind comes from the status.
    /// let error = Error::api(StatusCode::BAD_GATEWAY, None, b"<html>bad gateway</html>");
    /// assert!(error.is_retryable() && error.request_id().is_none());
    /// ```
    pub fn api(status: StatusCode, request_id: Option<String>, body: &[u8]) -> Self {
        Self::api_redacted(status, request_id, body, &Secrets::none())
    }

    /// [`Error::api`], with `secrets` replaced in the message (and in the request id) before
    /// the message is cut, so a server that echoes the key back never gets it printed.
    pub fn api_redacted(
        status: StatusCode,
        request_id: Option<String>,
        body: &[u8],
        secrets: &Secrets,
    ) -> Self {
        Self::api_error(ErrorOrigin::Http, status, request_id, body, secrets)
    }

    /// The [`Error::Api`] of an `error` event in a stream, from the event's data (the API's
    /// error JSON, or anything else, kept as the message), with `secrets` redacted.
    pub fn stream_event(data: &[u8], secrets: &Secrets) -> Self {
        Self::api_error(ErrorOrigin::Stream, StatusCode::OK, None, data, secrets)
    }

    fn api_error(
        origin: ErrorOrigin,
        status: StatusCode,
        request_id: Option<String>,
        body: &[u8],
        secrets: &Secrets,
    ) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            error: Detail,
        }
        #[derive(Deserialize)]
        struct Detail {
            #[serde(rename = "type")]
            kind: Option<String>,
            message: Option<String>,
        }
        let (kind, message) = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error }) => (
                error.kind.map_or_else(
                    || ApiErrorKind::from_status(status),
                    |k| ApiErrorKind::from_type(&k),
                ),
                secrets.scrub_bounded(&error.message.unwrap_or_default(), MAX_MESSAGE_BYTES),
            ),
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let text = text.trim();
                let message = if text.is_empty() {
                    status.canonical_reason().unwrap_or("no message").to_owned()
                } else {
                    secrets.scrub_bounded(text, MAX_MESSAGE_BYTES)
                };
                (ApiErrorKind::from_status(status), message)
            }
        };
        Error::Api {
            origin,
            status,
            kind: kind.redacted(secrets),
            message,
            request_id: request_id.map(|id| bounded_request_id(&id, secrets)),
            rate_limit: None,
        }
    }

    /// This error with `secrets` replaced by [`REDACTED`](crate::redact::REDACTED) in every
    /// text it carries, and each message cut to
    /// [`MAX_MESSAGE_BYTES`] bytes (after the
    /// replacement). The client passes every error built from server text through this.
    ///
    /// ```
    /// use claude_kit_core::{Error, redact::Secrets};
    ///
    /// let error = Error::decode("invalid type: string \"sk-ant-key\", expected u64");
    /// let error = error.redact(&Secrets::new(["sk-ant-key"]));
    /// assert!(!error.to_string().contains("sk-ant-key"), "{error}");
    /// ```
    pub fn redact(mut self, secrets: &Secrets) -> Self {
        let bound = |text: &mut String| {
            if secrets.appears_in(text.as_bytes()) || text.len() > MAX_MESSAGE_BYTES {
                *text = secrets.scrub_bounded(text, MAX_MESSAGE_BYTES);
            }
        };
        match &mut self {
            Error::Api {
                kind,
                message,
                request_id,
                ..
            } => {
                bound(message);
                *kind = std::mem::replace(kind, ApiErrorKind::Internal).redacted(secrets);
                if let Some(id) = request_id {
                    *id = bounded_request_id(id, secrets);
                }
            }
            Error::Decode {
                message,
                request_id,
                ..
            } => {
                bound(message);
                if let Some(id) = request_id {
                    *id = bounded_request_id(id, secrets);
                }
            }
            Error::Connect {
                target, message, ..
            } => {
                bound(target);
                bound(message);
            }
            Error::Transport { message, .. }
            | Error::Config { message }
            | Error::AsyncContext { message }
            | Error::Closed { message }
            | Error::Output { message, .. } => bound(message),
            Error::Process {
                message,
                stderr_tail,
                ..
            } => {
                bound(message);
                bound(stderr_tail);
            }
            Error::Control { message, .. } => bound(message),
            Error::AgentResult(result) => {
                for text in result.errors.iter_mut().chain(result.result.as_mut()) {
                    bound(text);
                }
            }
            Error::Timeout { .. } | Error::CliNotFound { .. } => {}
        }
        self
    }

    /// Attaches the rate-limit information of the response `headers` to an API error. Public
    /// for transports and backends outside this crate, which build errors from responses.
    pub fn with_rate_limit(mut self, headers: &http::HeaderMap) -> Self {
        if let Error::Api { rate_limit, .. } = &mut self {
            let info = crate::policy::limit::RateLimitInfo::from_headers(headers);
            if !info.is_empty() {
                *rate_limit = Some(Box::new(info));
            }
        }
        self
    }

    /// The rate-limit information of the response, for API errors that had it.
    pub fn rate_limit(&self) -> Option<&crate::policy::limit::RateLimitInfo> {
        match self {
            Error::Api { rate_limit, .. } => rate_limit.as_deref(),
            _ => None,
        }
    }

    /// Builds an [`Error::Connect`].
    pub fn connect(
        target: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Connect {
            target: target.into(),
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// Builds an [`Error::Transport`] from an underlying error.
    pub fn transport(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Transport {
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// Builds an [`Error::Decode`] without a request id or source.
    pub fn decode(message: impl Into<String>) -> Self {
        Error::Decode {
            message: message.into(),
            request_id: None,
            source: None,
        }
    }

    /// Builds an [`Error::Decode`] for JSON that `serde_json` refused: `context` and the
    /// parser's text in the message, its category and position as the source.
    ///
    /// ```
    /// use std::error::Error as _;
    /// use claude_kit_core::error::{DecodeCategory, Error};
    ///
    /// let parse = serde_json::from_str::<u32>(r#""sk-ant-secret""#).unwrap_err();
    /// let error = Error::decode_json("invalid count", &parse);
    /// let source = error.source().unwrap().to_string();
    /// assert!(!source.contains("sk-ant"), "the source never quotes the input");
    /// assert!(matches!(error, Error::Decode { source: Some(s), .. } if s.category == DecodeCategory::Data));
    /// ```
    pub fn decode_json(context: impl fmt::Display, error: &serde_json::Error) -> Self {
        Error::Decode {
            message: format!("{context}: {error}"),
            request_id: None,
            source: Some(DecodeSource::from_json(error)),
        }
    }

    /// Builds an [`Error::Decode`] of a known category (no position).
    pub fn decode_as(category: DecodeCategory, message: impl Into<String>) -> Self {
        Error::Decode {
            message: message.into(),
            request_id: None,
            source: Some(DecodeSource {
                category,
                line: None,
                column: None,
            }),
        }
    }

    /// Builds an [`Error::AsyncContext`].
    pub fn async_context(message: impl Into<String>) -> Self {
        Error::AsyncContext {
            message: message.into(),
        }
    }

    /// Builds an [`Error::Closed`].
    pub fn closed(message: impl Into<String>) -> Self {
        Error::Closed {
            message: message.into(),
        }
    }

    /// Builds an [`Error::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// The HTTP status, for API errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The API error kind, for API errors.
    pub fn kind(&self) -> Option<&ApiErrorKind> {
        match self {
            Error::Api { kind, .. } => Some(kind),
            _ => None,
        }
    }

    /// Whether a deadline passed ([`Error::Timeout`], any phase).
    ///
    /// ```
    /// use claude_kit_core::{Error, TimeoutPhase};
    ///
    /// let error = Error::Timeout { phase: TimeoutPhase::Idle, after: std::time::Duration::from_secs(60) };
    /// assert!(error.is_timeout());
    /// assert!(!Error::decode("bad JSON").is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// The `request-id` of the response that failed, when there was one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api { request_id, .. } | Error::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// Attaches a request id to errors that carry one and have none yet. Public for the same
    /// reason as [`with_rate_limit`](Self::with_rate_limit).
    pub fn with_request_id(mut self, id: Option<&str>) -> Self {
        if let (Error::Api { request_id, .. } | Error::Decode { request_id, .. }, Some(id)) =
            (&mut self, id)
            && request_id.is_none()
        {
            *request_id = Some(id.to_owned());
        }
        self
    }
}

/// The longest `request-id` kept, in bytes: real ones are about 30.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// A `request-id` header value as an error keeps it: scrubbed and bounded (a server chooses it).
fn bounded_request_id(id: &str, secrets: &Secrets) -> String {
    secrets.scrub_bounded(id, MAX_REQUEST_ID_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_from_body() {
        let body =
            br#"{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}"#;
        let error = Error::api(StatusCode::NOT_FOUND, Some("req_1".into()), body);
        assert!(
            matches!(&error, Error::Api { kind: ApiErrorKind::NotFound, message, .. } if message == "model: nope")
        );
        assert_eq!(error.request_id(), Some("req_1"));
        assert_eq!(
            error.to_string(),
            "404 Not Found not_found_error: model: nope (request id req_1)"
        );
    }

    #[test]
    fn api_error_without_json_uses_status() {
        let error = Error::api(
            StatusCode::from_u16(529).unwrap(),
            None,
            b"<html>busy</html>",
        );
        assert_eq!(error.kind(), Some(&ApiErrorKind::Overloaded));
        let error = Error::api(StatusCode::BAD_GATEWAY, None, b"");
        assert!(
            matches!(error, Error::Api { kind: ApiErrorKind::Internal, ref message, .. } if message == "Bad Gateway")
        );
    }

    #[test]
    fn unknown_error_type_is_kept() {
        let body = br#"{"error":{"type":"brand_new_error","message":"m"}}"#;
        let error = Error::api(StatusCode::BAD_REQUEST, None, body);
        assert_eq!(
            error.kind(),
            Some(&ApiErrorKind::Other("brand_new_error".into()))
        );
        assert_eq!(error.kind().unwrap().as_str(), "brand_new_error");
    }

    #[test]
    fn long_bodies_are_truncated_on_char_boundaries() {
        let body = "é".repeat(1000);
        let Error::Api { message, .. } = Error::api(StatusCode::BAD_GATEWAY, None, body.as_bytes())
        else {
            unreachable!()
        };
        assert!(message.len() < 520);
    }

    #[test]
    fn json_error_messages_are_bounded_too() {
        let body = serde_json::json!({
            "type": "error",
            "error": {"type": "api_error", "message": "m".repeat(900 * 1024)},
        })
        .to_string();
        let error = Error::api(StatusCode::INTERNAL_SERVER_ERROR, None, body.as_bytes());
        assert!(error.to_string().len() < 600, "{}", error.to_string().len());
    }

    #[test]
    fn echoed_secrets_are_redacted_before_the_cut() {
        let key = "sk-ant-api03-secret-key";
        let secrets = Secrets::new([key]);
        let json = format!(
            r#"{{"type":"error","error":{{"type":"authentication_error","message":"{}bad key {key}"}}}}"#,
            "x".repeat(500)
        );
        let html = format!("<html>{key}</html>");
        for body in [json.as_str(), html.as_str()] {
            let error = Error::api_redacted(
                StatusCode::UNAUTHORIZED,
                Some(format!("req_{key}")),
                body.as_bytes(),
                &secrets,
            );
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains("sk-ant-api03"), "{text}");
            }
        }
        let error = Error::Api {
            origin: ErrorOrigin::Http,
            status: StatusCode::BAD_REQUEST,
            kind: ApiErrorKind::Other(format!("{key}_error")),
            message: format!("{key} {}", "y".repeat(2000)),
            request_id: Some(key.to_owned()),
            rate_limit: None,
        }
        .redact(&secrets);
        let text = format!("{error} {error:?}");
        assert!(!text.contains(key), "{text}");
        assert!(text.len() < 1500, "{}", text.len());
    }
}
