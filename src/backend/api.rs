//! The Messages API backend: each turn runs the in-process tool loop over the history the
//! conversation keeps.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use async_trait::async_trait;
use event_listener::{Event, EventListener};
use futures_core::Stream;
use futures_util::StreamExt;

use super::{AgentOptions, Backend, Conversation, ConversationState, Prompt};
use crate::tools::{AgentEvent, AgentStream, ToolRunner};
use crate::types::{Content, ContentBlock, MessageParam, Role};
use crate::{Client, DEFAULT_MAX_TOKENS, Error, MessageRequest, Result, Usage};

/// The Messages API as a [`Backend`]: conversations on this client, tools run in-process by a
/// [`ToolRunner`].
#[derive(Debug, Clone)]
pub struct ApiBackend {
    client: Client,
}

impl ApiBackend {
    /// Conversations on `client` (and its runtime, pool and limits).
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// The client the conversations use.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A conversation, without the trait object: what [`Backend::connect`] boxes.
    ///
    /// # Errors
    /// [`Error::Config`] when `options.resume` is a state this backend cannot resume (a
    /// Claude Code session id).
    pub fn conversation(&self, options: AgentOptions) -> Result<ApiConversation> {
        let (history, usage) = match options.resume {
            None => (Vec::new(), Usage::default()),
            Some(ConversationState::Messages { messages, usage }) => (messages, usage),
            Some(other) => {
                return Err(Error::config(format!(
                    "the Messages API backend resumes from saved messages, not {other:?}"
                )));
            }
        };
        let mut runner = ToolRunner::new(self.client.clone(), options.toolbox);
        if let Some(max_turns) = options.max_turns {
            runner = runner.max_turns(max_turns);
        }
        Ok(ApiConversation {
            runner,
            model: options
                .model
                .unwrap_or_else(|| self.client.model().to_owned()),
            system: options.system,
            max_tokens: options.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            shared: Arc::new(Shared {
                transcript: Mutex::new(Transcript { history, usage }),
                epoch: AtomicU64::new(0),
                interrupted: Event::new(),
            }),
        })
    }
}

#[async_trait]
impl Backend for ApiBackend {
    async fn connect(&self, options: AgentOptions) -> Result<Box<dyn Conversation>> {
        Ok(Box::new(self.conversation(options)?))
    }
}

/// A conversation on the Messages API: the history lives here, in memory.
#[derive(Debug)]
pub struct ApiConversation {
    runner: ToolRunner,
    model: String,
    system: Option<Content>,
    max_tokens: u32,
    shared: Arc<Shared>,
}

/// What the conversation and the streams of its turns share.
#[derive(Debug)]
struct Shared {
    transcript: Mutex<Transcript>,
    /// Bumped by `interrupt`: a turn started under an older epoch ends.
    epoch: AtomicU64,
    interrupted: Event,
}

#[derive(Debug, Clone, Default)]
struct Transcript {
    history: Vec<MessageParam>,
    usage: Usage,
}

impl Shared {
    fn transcript(&self) -> std::sync::MutexGuard<'_, Transcript> {
        // A panic while the lock was held cannot leave a half-written transcript: every
        // write replaces it whole.
        self.transcript
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl ApiConversation {
    /// The turns so far.
    pub fn history(&self) -> Vec<MessageParam> {
        self.shared.transcript().history.clone()
    }

    /// Tokens summed over the conversation.
    pub fn usage(&self) -> Usage {
        self.shared.transcript().usage.clone()
    }

    fn request(&self, prompt: Prompt) -> MessageRequest {
        let mut request = MessageRequest::new(self.model.clone(), self.max_tokens);
        request.system = self.system.clone();
        request.messages = self.shared.transcript().history.clone();
        request.user(prompt.into_content())
    }
}

#[async_trait]
impl Conversation for ApiConversation {
    fn send(&self, prompt: Prompt) -> AgentStream {
        let request = self.request(prompt);
        let epoch = self.shared.epoch.load(Ordering::Acquire);
        Box::pin(Turn {
            messages: request.messages.clone(),
            results: Vec::new(),
            usage: Usage::default(),
            events: self.runner.run_stream(request),
            shared: self.shared.clone(),
            epoch,
            listener: None,
            done: false,
        })
    }

    async fn interrupt(&self) -> Result<()> {
        self.shared.epoch.fetch_add(1, Ordering::AcqRel);
        self.shared.interrupted.notify(usize::MAX);
        Ok(())
    }

    fn state(&self) -> ConversationState {
        let transcript = self.shared.transcript();
        ConversationState::Messages {
            messages: transcript.history.clone(),
            usage: transcript.usage.clone(),
        }
    }

    async fn close(self: Box<Self>) -> Result<()> {
        // The client is shared (clones of it may serve others): closing the conversation ends
        // its turns, not the client.
        self.interrupt().await
    }
}

/// The stream of one turn: the tool loop's events, recorded into a transcript that becomes
/// the history at `Finished`.
struct Turn {
    /// The request's turns (history + the user turn), then each assistant turn and each user
    /// turn of tool results.
    messages: Vec<MessageParam>,
    /// The tool results of the current model turn, sent back as one user turn.
    results: Vec<ContentBlock>,
    usage: Usage,
    events: AgentStream,
    shared: Arc<Shared>,
    epoch: u64,
    listener: Option<EventListener>,
    done: bool,
}

impl Turn {
    fn record(&mut self, event: &AgentEvent) {
        match event {
            AgentEvent::TurnComplete(message) => {
                self.flush_results();
                self.messages.push(message.to_assistant_turn());
                self.usage.accumulate(&message.usage);
            }
            AgentEvent::ToolResult {
                id,
                content,
                is_error,
            } => self.results.push(ContentBlock::tool_result(
                id.clone(),
                content.clone(),
                *is_error,
            )),
            AgentEvent::Finished(_) => {
                let mut transcript = self.shared.transcript();
                transcript.history = std::mem::take(&mut self.messages);
                transcript.usage.accumulate(&self.usage);
            }
            _ => {}
        }
    }

    fn flush_results(&mut self) {
        if !self.results.is_empty() {
            self.messages.push(MessageParam {
                role: Role::User,
                content: Content::Blocks(std::mem::take(&mut self.results)),
            });
        }
    }
}

impl Stream for Turn {
    type Item = Result<AgentEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        // Listen before checking, so that an interrupt between the two is not missed.
        loop {
            let shared = &this.shared;
            let listener = this
                .listener
                .get_or_insert_with(|| shared.interrupted.listen());
            if shared.epoch.load(Ordering::Acquire) != this.epoch {
                this.done = true;
                return Poll::Ready(None);
            }
            match Pin::new(listener).poll(cx) {
                Poll::Ready(()) => this.listener = None,
                Poll::Pending => break,
            }
        }
        match this.events.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(event))) => {
                this.record(&event);
                if matches!(event, AgentEvent::Finished(_)) {
                    this.done = true;
                }
                Poll::Ready(Some(Ok(event)))
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
