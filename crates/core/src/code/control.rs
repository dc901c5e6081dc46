//! The control protocol of Claude Code's stream-json mode, as a pure state machine.
//!
//! Both sides send `control_request`s and answer the other's with `control_response`s, routed
//! by `request_id`; the CLI may cancel a request it sent with `control_cancel_request` (then no
//! answer is written). A [`ControlChannel`] keeps the requests this side has pending and the
//! CLI's requests it still owes an answer, builds the lines to write, and classifies every
//! frame read from the CLI's stdout. It does no I/O and reads no clock: the async driver owns
//! the pipes, the timeouts and the tasks that answer the CLI's requests.
//!
//! ```
//! use claude_kit_core::code::control::{ControlChannel, Inbound};
//! use serde_json::json;
//!
//! let mut channel = ControlChannel::new(0x1234_abcd);
//! let (id, line) = channel.request(json!({"subtype": "initialize", "hooks": null}));
//! assert_eq!(id, "req_1_1234abcd");
//! assert!(line.ends_with('\n'));
//!
//! let answer = json!({"type": "control_response", "response": {
//!     "subtype": "success", "request_id": "req_1_1234abcd", "response": {"pid": 42}}});
//! match channel.receive(answer) {
//!     Inbound::Response { id, result } => {
//!         assert_eq!(id, "req_1_1234abcd");
//!         assert_eq!(result.unwrap().to_value()?["pid"], 42);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(channel.pending(), 0);
//!
//! // A stdout line that is a `control_response` is classified without a `Value` of its
//! // answer (an `initialize` answer is many kilobytes): the answer stays JSON text.
//! let (id, _) = channel.request(json!({"subtype": "mcp_status"}));
//! let line = format!(
//!     r#"{{"type":"control_response","response":{{"subtype":"success","request_id":"{id}","response":{{"mcpServers":[]}}}}}}"#
//! );
//! let Some(Inbound::Response { result: Ok(answer), .. }) = channel.receive_response_line(&line) else {
//!     panic!("an answer");
//! };
//! assert_eq!(answer.json(), r#"{"mcpServers":[]}"#);
//! # Ok::<_, serde_json::Error>(())
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The `response` of a successful `control_response`, as the CLI wrote it: JSON text, parsed
/// by whoever reads it ([`to_value`](Self::to_value), [`parse`](Self::parse)). Most answers are
/// small, but an `initialize` answer is many kilobytes of commands, models and agents that
/// most programs never read.
#[derive(Clone)]
pub struct ControlAnswer(Box<RawValue>);

impl ControlAnswer {
    /// The answer's JSON text.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The answer as a [`Value`].
    pub fn to_value(&self) -> serde_json::Result<Value> {
        self.parse()
    }

    /// The answer as a `T`.
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> serde_json::Result<T> {
        serde_json::from_str(self.0.get())
    }
}

/// Answers are equal when their JSON texts are.
impl PartialEq for ControlAnswer {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for ControlAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ControlAnswer").field(&self.json()).finish()
    }
}

/// The error half of a `control_response`, as the other side sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    /// The `error` text.
    pub message: String,
    /// The `error_code`, when there is one (`unsupported_request`, …).
    pub code: Option<String>,
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} ({code})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ControlError {}

/// What a frame read from the CLI is, for the control protocol.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Inbound {
    /// The answer to a request of ours, which is no longer pending.
    Response {
        /// Our request's id.
        id: String,
        /// Its `response` on success (`null` when it has none), its `error` otherwise.
        result: Result<ControlAnswer, ControlError>,
    },
    /// A `control_response` for no request of ours (late, duplicated, or never sent): the
    /// driver logs it and goes on.
    StrayResponse {
        /// The id it names, when it names one.
        id: Option<String>,
    },
    /// A request of the CLI (`can_use_tool`, `hook_callback`, `mcp_message`, …) that this side
    /// owes an answer: hand it to a handler, then write [`ControlChannel::answer`].
    Request {
        /// The CLI's request id.
        id: String,
        /// Its `request` object (with its `subtype`).
        request: Value,
    },
    /// The CLI cancelled one of its requests: its handler may stop, and no answer is written.
    Cancelled {
        /// The cancelled request's id.
        id: String,
    },
    /// A control frame missing what the protocol requires (an id, a `request` object).
    Malformed {
        /// What was missing.
        reason: &'static str,
    },
    /// Any other frame (`system`, `assistant`, `result`, …, or a type a newer CLI adds).
    Message(Value),
}

/// The state of the control protocol on one CLI process. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct ControlChannel {
    /// Ours, awaiting a `control_response`.
    pending: HashSet<String>,
    /// The CLI's, awaiting our answer (cancelled ones are removed).
    owed: HashSet<String>,
    counter: u64,
    /// The 8 hex digits of our ids, as the official SDK makes them (`req_<n>_<hex>`).
    suffix: String,
    closed: bool,
}

impl ControlChannel {
    /// A channel whose request ids end in the 8 hex digits of `nonce` (pass a random number:
    /// ids only need to be unique on this process, the suffix keeps them apart across
    /// processes in logs).
    pub fn new(nonce: u32) -> Self {
        Self {
            pending: HashSet::new(),
            owed: HashSet::new(),
            counter: 0,
            suffix: format!("{nonce:08x}"),
            closed: false,
        }
    }

    /// Registers a request of ours (`request` is the object with its `subtype`) and returns
    /// its id and the line to write to the CLI's stdin (JSON and `\n`).
    pub fn request(&mut self, request: Value) -> (String, String) {
        self.counter += 1;
        let id = format!("req_{}_{}", self.counter, self.suffix);
        // Written as it is, not built into a `Value` first (the frame's map and its keys).
        let frame = RequestFrame {
            kind: "control_request",
            request_id: &id,
            request: &request,
        };
        // Cannot fail: strings and a `Value` (whose keys are strings) always serialize.
        let mut line = serde_json::to_string(&frame).unwrap_or_default();
        line.push('\n');
        if !self.closed {
            self.pending.insert(id.clone());
        }
        (id, line)
    }

    /// Forgets a request of ours that the caller stopped waiting for (a timeout, a dropped
    /// future): a late answer is then a [`StrayResponse`](Inbound::StrayResponse).
    pub fn abandon(&mut self, id: &str) -> bool {
        self.pending.remove(id)
    }

    /// How many requests of ours await an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// How many requests of the CLI await our answer.
    pub fn owed(&self) -> usize {
        self.owed.len()
    }

    /// Classifies one frame read from the CLI's stdout.
    pub fn receive(&mut self, frame: Value) -> Inbound {
        match frame.get("type").and_then(Value::as_str) {
            Some("control_response") => self.response(frame),
            Some("control_request") => {
                let Some(id) = frame.get("request_id").and_then(Value::as_str) else {
                    return Inbound::Malformed {
                        reason: "a control_request without a request_id",
                    };
                };
                let id = id.to_owned();
                let mut frame = frame;
                match frame.get_mut("request").map(Value::take) {
                    Some(request @ Value::Object(_)) => {
                        self.owed.insert(id.clone());
                        Inbound::Request { id, request }
                    }
                    _ => Inbound::Malformed {
                        reason: "a control_request without a request object",
                    },
                }
            }
            Some("control_cancel_request") => {
                match frame.get("request_id").and_then(Value::as_str) {
                    Some(id) => {
                        self.owed.remove(id);
                        Inbound::Cancelled { id: id.to_owned() }
                    }
                    None => Inbound::Malformed {
                        reason: "a control_cancel_request without a request_id",
                    },
                }
            }
            _ => Inbound::Message(frame),
        }
    }

    /// Takes the answer out of `frame` (an `initialize` answer is many kilobytes: it is moved,
    /// not copied).
    fn response(&mut self, mut frame: Value) -> Inbound {
        let Some(response) = frame.get_mut("response") else {
            return Inbound::Malformed {
                reason: "a control_response without a response object",
            };
        };
        let answer = response
            .get_mut("response")
            .map(Value::take)
            .and_then(|answer| serde_json::value::to_raw_value(&answer).ok());
        let text = |field: &str| {
            response
                .get(field)
                .and_then(Value::as_str)
                .map(Cow::Borrowed)
        };
        self.settle(ResponseBody {
            subtype: text("subtype"),
            request_id: text("request_id"),
            response: answer,
            error: text("error"),
            error_code: text("error_code"),
        })
    }

    /// Classifies one stdout line (text: checked as UTF-8 once by the caller) if it is a
    /// `control_response` (as [`receive`](Self::receive) does the frame's `Value`), without
    /// building a `Value` of its answer; `None` for any other line, and for one whose fields
    /// do not have the protocol's types, which then takes the general path:
    /// [`serde_json::from_str`] and [`receive`](Self::receive). Where both classify a line,
    /// they agree.
    pub fn receive_response_line(&mut self, line: &str) -> Option<Inbound> {
        let frame: ResponseLine<'_> = serde_json::from_str(line).ok()?;
        if frame.kind.as_deref() != Some("control_response") {
            return None;
        }
        Some(self.settle(frame.response))
    }

    /// The answer `response` gives to one of our requests, or a stray one.
    fn settle(&mut self, response: ResponseBody<'_>) -> Inbound {
        let Some(id) = response.request_id else {
            return Inbound::StrayResponse { id: None };
        };
        let id = id.into_owned();
        if !self.pending.remove(&id) {
            return Inbound::StrayResponse { id: Some(id) };
        }
        let result = match response.subtype.as_deref() {
            // A success without a `response` answers `null`.
            Some("success") => Ok(ControlAnswer(response.response.unwrap_or_default())),
            _ => Err(ControlError {
                message: response.error.map_or_else(
                    || "the CLI answered with an error and no message".to_owned(),
                    Cow::into_owned,
                ),
                code: response.error_code.map(Cow::into_owned),
            }),
        };
        Inbound::Response { id, result }
    }

    /// The line that answers the CLI's request `id` (success with `result`'s value, or an
    /// error with its message), or `None` when nothing must be written: the CLI cancelled the
    /// request, it was answered already, or it never asked.
    pub fn answer(&mut self, id: &str, result: Result<Value, String>) -> Option<String> {
        if !self.owed.remove(id) || self.closed {
            return None;
        }
        let response = match result {
            Ok(value) => json!({"subtype": "success", "request_id": id, "response": value}),
            Err(message) => json!({"subtype": "error", "request_id": id, "error": message}),
        };
        Some(line(
            &json!({"type": "control_response", "response": response}),
        ))
    }

    /// The CLI's stdout ended (or the process is gone): every request of ours fails at once,
    /// and nothing more is owed. Returns the ids that were pending; later requests are not
    /// registered.
    pub fn close(&mut self) -> Vec<String> {
        self.closed = true;
        self.owed.clear();
        let mut ids: Vec<String> = self.pending.drain().collect();
        ids.sort();
        ids
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}

fn line(frame: &Value) -> String {
    let mut line = frame.to_string();
    line.push('\n');
    line
}

/// A `control_request` of ours, as written to the CLI's stdin.
#[derive(Serialize)]
struct RequestFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    request_id: &'a str,
    request: &'a Value,
}

/// A stdout line as [`ControlChannel::receive_response_line`] reads it: the envelope typed,
/// the answer kept as text. A field of another type than the protocol's (a numeric id, an
/// error object) fails the parse, and the line takes the general path.
#[derive(Deserialize)]
struct ResponseLine<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    /// Required here, and an object: a line without one (or with `null`) takes the general
    /// path, which tells those apart.
    #[serde(borrow)]
    response: ResponseBody<'a>,
}

/// The `response` object of a `control_response`, as both paths read it.
#[derive(Deserialize)]
struct ResponseBody<'a> {
    #[serde(borrow, default)]
    subtype: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(default)]
    response: Option<Box<RawValue>>,
    #[serde(borrow, default)]
    error: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error_code: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn success(id: &str, response: Value) -> Value {
        json!({"type": "control_response", "response": {
            "subtype": "success", "request_id": id, "response": response}})
    }

    #[test]
    fn ids_count_up_and_carry_the_nonce() {
        let mut channel = ControlChannel::new(0xbd4e746a);
        let (first, line) = channel.request(json!({"subtype": "initialize"}));
        let (second, _) = channel.request(json!({"subtype": "interrupt"}));
        assert_eq!(first, "req_1_bd4e746a");
        assert_eq!(second, "req_2_bd4e746a");
        assert!(
            line.ends_with('\n') && !line.trim_end().contains('\n'),
            "one line"
        );
        let frame: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(frame["type"], "control_request");
        assert_eq!(frame["request_id"], "req_1_bd4e746a");
        assert_eq!(frame["request"]["subtype"], "initialize");
        assert_eq!(channel.pending(), 2);
    }

    #[test]
    fn responses_are_routed_by_id_in_any_order() {
        let mut channel = ControlChannel::new(1);
        let (a, _) = channel.request(json!({"subtype": "set_model", "model": "m"}));
        let (b, _) = channel.request(json!({"subtype": "interrupt"}));
        let got_b = channel.receive(success(&b, json!({"still_queued": []})));
        assert!(matches!(got_b, Inbound::Response { ref id, result: Ok(_) } if *id == b));
        let got_a = channel.receive(success(&a, json!({"model": "m"})));
        assert!(
            matches!(got_a, Inbound::Response { ref id, result: Ok(ref v) } if *id == a && v.to_value().unwrap()["model"] == "m")
        );
        // A second answer to the same id is stray.
        assert_eq!(
            channel.receive(success(&a, json!({}))),
            Inbound::StrayResponse { id: Some(a) }
        );
        assert_eq!(channel.pending(), 0);
    }

    /// Every line below through `receive_response_line` (when it takes it) and through the
    /// general path, each on a channel with the same pending requests: the same outcome.
    #[test]
    fn response_lines_are_classified_as_their_values_are() {
        let lines = [
            r#"{"type":"control_response","response":{"subtype":"success","request_id":"req_1_00000001","response":{"pid":7,"commands":[{"name":"c\u00e9"}]}}}"#,
            r#"{"response":{"request_id":"req_1_00000001","subtype":"success"},"type":"control_response"}"#,
            r#"{"type":"control_response","response":{"subtype":"success","request_id":"req_1_00000001","response":null}}"#,
            r#"{"type":"control_response","response":{"subtype":"error","request_id":"req_1_00000001","error":"no \"such\" thing","error_code":"unsupported_request"}}"#,
            r#"{"type":"control_response","response":{"subtype":"error","request_id":"req_1_00000001"}}"#,
            r#"{"type":"control_response","response":{"subtype":"error","request_id":"req_1_00000001","error":{"nested":true}}}"#,
            r#"{"type":"control_response","response":{"subtype":"success","request_id":"req_9_00000001","response":{}}}"#,
            r#"{"type":"control_response","response":{"subtype":"success","response":{}}}"#,
            r#"{"type":"control_response","response":{"subtype":"success","request_id":42}}"#,
            r#"{"type":"control_response","response":null}"#,
            r#"{"type":"control_response","response":"text"}"#,
            r#"{"type":"control_response"}"#,
            r#"{"type":"control_request","request_id":"u-1","request":{"subtype":"can_use_tool"}}"#,
            r#"{"type":"result","subtype":"success","is_error":false}"#,
            r#"{"type":"control_response","response":{"subtype":"success","request_id":"req_1_00000001","request_id":"req_1_00000001"}}"#,
        ];
        let channel = || {
            let mut channel = ControlChannel::new(1);
            channel.request(json!({"subtype": "initialize"}));
            channel
        };
        let mut fast_taken = 0;
        for line in lines {
            let general = channel().receive(serde_json::from_str(line).unwrap());
            let mut fast_channel = channel();
            match fast_channel.receive_response_line(line) {
                Some(fast) => {
                    fast_taken += 1;
                    // An answer's text may differ (the general path re-serialises it); its
                    // JSON may not.
                    match (&fast, &general) {
                        (
                            Inbound::Response { id, result: Ok(a) },
                            Inbound::Response {
                                id: id2,
                                result: Ok(b),
                            },
                        ) => {
                            assert_eq!(id, id2, "{line}");
                            assert_eq!(a.to_value().unwrap(), b.to_value().unwrap(), "{line}");
                        }
                        _ => assert_eq!(fast, general, "{line}"),
                    }
                    assert_eq!(fast_channel.pending(), channel_after(line), "{line}");
                }
                None => assert!(
                    !matches!(general, Inbound::Response { result: Ok(_), .. })
                        || line.contains("\"request_id\":\"req_1_00000001\",\"request_id\""),
                    "a plain answer should take the fast path: {line}"
                ),
            }
        }
        assert_eq!(fast_taken, 7, "the lines of the protocol's types");

        /// How many requests stay pending after the general path classified `line`.
        fn channel_after(line: &str) -> usize {
            let mut channel = ControlChannel::new(1);
            channel.request(json!({"subtype": "initialize"}));
            channel.receive(serde_json::from_str(line).unwrap());
            channel.pending()
        }
    }

    #[test]
    fn error_responses_keep_message_and_code() {
        let mut channel = ControlChannel::new(1);
        let (id, _) = channel.request(json!({"subtype": "no_such_subtype"}));
        let frame = json!({"type": "control_response", "response": {"subtype": "error",
            "request_id": id, "error": "Unsupported control request subtype: no_such_subtype",
            "error_code": "unsupported_request"}});
        let Inbound::Response {
            result: Err(error), ..
        } = channel.receive(frame)
        else {
            panic!("an error response");
        };
        assert_eq!(error.code.as_deref(), Some("unsupported_request"));
        assert!(error.to_string().contains("no_such_subtype"));
    }

    #[test]
    fn cli_requests_are_answered_once_and_never_after_a_cancel() {
        let mut channel = ControlChannel::new(1);
        let ask = |id: &str| {
            json!({"type": "control_request", "request_id": id,
                "request": {"subtype": "can_use_tool", "tool_name": "Bash", "input": {}}})
        };
        let Inbound::Request { id, request } = channel.receive(ask("u-1")) else {
            panic!("a request");
        };
        assert_eq!(request["subtype"], "can_use_tool");
        assert_eq!(channel.owed(), 1);
        let line = channel
            .answer(&id, Ok(json!({"behavior": "allow", "updatedInput": {}})))
            .unwrap();
        let frame: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(frame["response"]["request_id"], "u-1");
        assert_eq!(frame["response"]["response"]["behavior"], "allow");
        assert_eq!(channel.answer(&id, Ok(json!({}))), None, "answered once");

        channel.receive(ask("u-2"));
        let cancel = json!({"type": "control_cancel_request", "request_id": "u-2"});
        assert_eq!(
            channel.receive(cancel),
            Inbound::Cancelled { id: "u-2".into() }
        );
        assert_eq!(channel.answer("u-2", Err("too late".into())), None);
        assert_eq!(channel.answer("never-asked", Ok(json!({}))), None);
    }

    #[test]
    fn error_answers_carry_the_message() {
        let mut channel = ControlChannel::new(1);
        channel.receive(json!({"type": "control_request", "request_id": "x",
            "request": {"subtype": "what_is_this"}}));
        let line = channel
            .answer("x", Err("unsupported: what_is_this".into()))
            .unwrap();
        let frame: Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(frame["response"]["subtype"], "error");
        assert_eq!(frame["response"]["error"], "unsupported: what_is_this");
    }

    #[test]
    fn close_fails_every_pending_request_at_once() {
        let mut channel = ControlChannel::new(1);
        let (a, _) = channel.request(json!({"subtype": "initialize"}));
        let (b, _) = channel.request(json!({"subtype": "mcp_status"}));
        channel.receive(json!({"type": "control_request", "request_id": "u",
            "request": {"subtype": "hook_callback"}}));
        assert_eq!(channel.close(), vec![a, b]);
        assert!(channel.is_closed());
        assert_eq!(channel.pending(), 0);
        assert_eq!(
            channel.answer("u", Ok(json!({}))),
            None,
            "nothing after EOF"
        );
        channel.request(json!({"subtype": "interrupt"}));
        assert_eq!(
            channel.pending(),
            0,
            "requests after close are not registered"
        );
    }

    #[test]
    fn malformed_and_other_frames() {
        let mut channel = ControlChannel::new(1);
        assert!(matches!(
            channel.receive(json!({"type": "control_request", "request": {}})),
            Inbound::Malformed { .. }
        ));
        assert!(matches!(
            channel.receive(json!({"type": "control_request", "request_id": "a", "request": 5})),
            Inbound::Malformed { .. }
        ));
        assert!(matches!(
            channel.receive(json!({"type": "control_response"})),
            Inbound::Malformed { .. }
        ));
        assert_eq!(
            channel
                .receive(json!({"type": "control_response", "response": {"subtype": "success"}})),
            Inbound::StrayResponse { id: None }
        );
        assert_eq!(channel.owed(), 0);
        let result = json!({"type": "result", "subtype": "success", "is_error": false});
        assert_eq!(channel.receive(result.clone()), Inbound::Message(result));
        let future = json!({"type": "brand_new_frame"});
        assert_eq!(channel.receive(future.clone()), Inbound::Message(future));
    }
}
