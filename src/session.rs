//! Stateful conversations: [`Session`] keeps the history, the settings and the token totals
//! of a chat, and can be saved and restored as JSON ([`SessionState`]).
//!
//! ```
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit::rt::block_on(async {
//! # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! use claude_kit::session::Session;
//!
//! let mut session = Session::new(client).system("Be brief.").max_tokens(512);
//! let reply = session.send("My name is Ada.").await?;
//! println!("{}", reply.text());
//! let reply = session.send("What is my name?").await?; // the model sees the first turn
//! println!("{} ({} turns so far)", reply.text(), session.history().len());
//!
//! let saved = session.to_json()?; // survives a restart
//! # let client = session.client().clone();
//! let session = Session::from_json(client, &saved)?;
//! assert_eq!(session.history().len(), 4);
//! # Ok::<_, claude_kit::Error>(()) }).unwrap();
//! ```
//!
//! # Consistency
//! A turn is added to the history only once it succeeded: a failed [`Session::send`] keeps
//! no user turn (retrying does not duplicate it), and a [`SessionStream`] adds its turn only
//! when it is read to the end. Dropping an unfinished stream leaves the history unchanged.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::tools::{AgentOutcome, ToolRunner};
use crate::types::{Content, ContentDelta, MessageParam, ToolDefinition};
use crate::{Client, DEFAULT_MAX_TOKENS, Error, Message, MessageRequest, MessageStream, Result};
use crate::{StreamEvent, Usage};

/// What a [`Session`] saves: everything but the client and the tools.
///
/// Serialize it with serde (or use [`Session::to_json`] / [`Session::from_json`]) to keep a
/// conversation across restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SessionState {
    /// The model of every turn.
    pub model: String,
    /// The system prompt, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<Content>,
    /// `max_tokens` of every turn.
    pub max_tokens: u32,
    /// The conversation so far: user and assistant turns, alternating.
    #[serde(default)]
    pub history: Vec<MessageParam>,
    /// Token totals over the session.
    #[serde(default)]
    pub usage: Usage,
}

/// A stateful conversation with the model: it remembers the turns, sums the tokens, and can
/// be saved and loaded (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Session {
    client: Client,
    state: SessionState,
    tools: Vec<ToolDefinition>,
}

impl Session {
    /// An empty session on `client`, with the client's model and [`DEFAULT_MAX_TOKENS`].
    pub fn new(client: Client) -> Self {
        let model = client.model().to_owned();
        Self::from_state(
            client,
            SessionState {
                model,
                system: None,
                max_tokens: DEFAULT_MAX_TOKENS,
                history: Vec::new(),
                usage: Usage::default(),
            },
        )
    }

    /// A session resuming `state` (e.g. one read back from disk).
    pub fn from_state(client: Client, state: SessionState) -> Self {
        Self {
            client,
            state,
            tools: Vec::new(),
        }
    }

    /// A session resuming the JSON written by [`Session::to_json`].
    ///
    /// Fails with [`Error::Decode`] when `json` is not a saved session.
    pub fn from_json(client: Client, json: &str) -> Result<Self> {
        let state: SessionState = serde_json::from_str(json)
            .map_err(|e| Error::decode_json("invalid saved session", &e))?;
        Ok(Self::from_state(client, state))
    }

    /// The session's [`SessionState`] as pretty-printed JSON.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.state)
            .map_err(|e| Error::decode_json("cannot serialize the session", &e))
    }

    /// The state to save (model, system prompt, `max_tokens`, history, usage).
    pub fn state(&self) -> &SessionState {
        &self.state
    }

    /// Consumes the session, returning its state.
    pub fn into_state(self) -> SessionState {
        self.state
    }

    /// Sets the model of the next turns.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.state.model = model.into();
        self
    }

    /// Sets the system prompt.
    pub fn system(mut self, system: impl Into<Content>) -> Self {
        self.state.system = Some(system.into());
        self
    }

    /// Sets `max_tokens` of the next turns.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.state.max_tokens = max_tokens;
        self
    }

    /// Offers these tool definitions to the model on every turn (they are not saved). To have
    /// the tool calls answered, use [`Session::run_tools`]. Takes your own
    /// [`Tool`](crate::types::Tool)s and the API's server tools alike.
    pub fn tools<T: Into<ToolDefinition>>(mut self, tools: impl IntoIterator<Item = T>) -> Self {
        self.tools = tools.into_iter().map(Into::into).collect();
        self
    }

    /// The client the session sends its turns with.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The conversation so far.
    pub fn history(&self) -> &[MessageParam] {
        &self.state.history
    }

    /// Forgets the conversation (settings and usage totals stay).
    pub fn clear(&mut self) {
        self.state.history.clear();
    }

    /// Input and output tokens summed over every turn of the session.
    pub fn usage(&self) -> Usage {
        self.state.usage.clone()
    }

    /// The request of the next turn: the history plus `user`, with the session's settings.
    pub fn request(&self, user: impl Into<Content>) -> MessageRequest {
        let mut request = MessageRequest::new(self.state.model.clone(), self.state.max_tokens);
        request.system = self.state.system.clone();
        request.tools = self.tools.clone();
        request.messages = self.state.history.clone();
        request.user(user)
    }

    /// Sends `text` as the next user turn and returns the reply; both are appended to the
    /// history. On error the history is unchanged.
    pub async fn send(&mut self, text: impl Into<Content>) -> Result<Message> {
        let request = self.request(text);
        let reply = self.client.messages().create(request.clone()).await?;
        let reply = reply.into_inner();
        self.commit(request.messages, &reply);
        Ok(reply)
    }

    /// Sends `text` as the next user turn and streams the reply. The turn is appended to the
    /// history when the stream is read to its end (by polling it, or with
    /// [`SessionStream::final_message`]); dropping it earlier appends nothing.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit::rt::block_on(async {
    /// # let client = claude_kit::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// use claude_kit::session::Session;
    /// use futures_util::StreamExt;
    ///
    /// let mut session = Session::new(client);
    /// let mut text = session.stream("Tell me a story").await?.text_stream();
    /// let mut story = String::new();
    /// while let Some(delta) = text.next().await {
    ///     story.push_str(&delta?);
    /// }
    /// let reply = text.final_message().await?; // already in the history
    /// assert_eq!(reply.text(), story);
    /// assert_eq!(session.history().len(), 2);
    /// # Ok::<_, claude_kit::Error>(()) })?;
    /// # Ok::<_, claude_kit::Error>(())
    /// ```
    pub async fn stream(&mut self, text: impl Into<Content>) -> Result<SessionStream<'_>> {
        let request = self.request(text);
        let messages = request.messages.clone();
        let inner = self.client.messages().stream(request).await?;
        Ok(SessionStream {
            session: self,
            inner,
            messages: Some(messages),
            stopped: false,
        })
    }

    /// Replaces the history with `messages` (the request's turns) plus `reply`, and adds the
    /// reply's usage to the totals.
    fn commit(&mut self, messages: Vec<MessageParam>, reply: &Message) {
        self.state.history = messages;
        self.state.history.push(reply.to_assistant_turn());
        self.state.usage.accumulate(&reply.usage);
    }

    /// Runs `runner`'s tool loop on the next turn: `text` as the user turn, the session's
    /// settings, history and tools plus the runner's. When the run succeeds, its transcript
    /// becomes the session's history and its usage is added to the session's totals; on error
    /// the session is unchanged.
    pub async fn run_tools(
        &mut self,
        runner: &ToolRunner,
        text: impl Into<Content>,
    ) -> Result<AgentOutcome> {
        let outcome = runner.run(self.request(text)).await?;
        self.commit_transcript(outcome.messages.clone(), &outcome.usage);
        Ok(outcome)
    }

    /// The transcript of a successful tool run becomes the history.
    pub(crate) fn commit_transcript(&mut self, messages: Vec<MessageParam>, usage: &Usage) {
        self.state.history = messages;
        self.state.usage.accumulate(usage);
    }
}

/// The reply of [`Session::stream`]: a [`Stream`] of [`StreamEvent`]s that appends the turn
/// to the session's history when it ends after `message_stop`.
///
/// It borrows the session mutably, so no other turn can start while it is alive. Dropping it
/// before the end closes the connection and leaves the history as it was.
#[must_use = "a stream does nothing unless polled"]
pub struct SessionStream<'a> {
    session: &'a mut Session,
    inner: MessageStream,
    /// The turns to record (history + the new user turn); taken when committed.
    messages: Option<Vec<MessageParam>>,
    stopped: bool,
}

impl SessionStream<'_> {
    /// The reply so far (see [`MessageStream::snapshot`]).
    pub fn snapshot(&mut self) -> Option<&Message> {
        self.inner.snapshot()
    }

    /// Reads the rest of the stream, appends the turn to the history and returns the reply.
    pub async fn final_message(mut self) -> Result<Message> {
        while let Some(event) = self.next().await {
            event?;
        }
        self.finished_message()
    }

    /// The committed reply, once the stream ended.
    fn finished_message(&mut self) -> Result<Message> {
        if self.messages.is_some() || !self.stopped {
            return Err(Error::decode("the stream ended before message_stop"));
        }
        self.inner
            .snapshot()
            .cloned()
            .ok_or_else(|| Error::decode("the stream ended before message_start"))
    }
}

impl Stream for SessionStream<'_> {
    type Item = Result<StreamEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(event))) => {
                if matches!(event, StreamEvent::MessageStop) {
                    this.stopped = true;
                }
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(None) => {
                if this.stopped
                    && let Some(messages) = this.messages.take()
                    && let Some(reply) = this.inner.snapshot().cloned()
                {
                    this.session.commit(messages, &reply);
                }
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl std::fmt::Debug for SessionStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStream")
            .field("inner", &self.inner)
            .field("committed", &self.messages.is_none())
            .finish_non_exhaustive()
    }
}

/// The text deltas of a [`SessionStream`] (see [`SessionStream::text_stream`]).
#[derive(Debug)]
#[must_use = "a stream does nothing unless polled"]
pub struct SessionTextStream<'a> {
    events: SessionStream<'a>,
}

impl<'a> SessionStream<'a> {
    /// Only the text deltas, as they arrive (the turn is still appended at the end).
    pub fn text_stream(self) -> SessionTextStream<'a> {
        SessionTextStream { events: self }
    }
}

impl SessionTextStream<'_> {
    /// Reads the rest of the stream, appends the turn to the history and returns the reply.
    pub async fn final_message(self) -> Result<Message> {
        self.events.final_message().await
    }
}

impl Stream for SessionTextStream<'_> {
    type Item = Result<String>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match this.events.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(StreamEvent::ContentBlockDelta {
                    delta: ContentDelta::Text(text),
                    ..
                }))) => return Poll::Ready(Some(Ok(text))),
                Poll::Ready(Some(Ok(_))) => continue,
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
