//! [`ToolRunner`]: the API backend's tool loop — send the conversation, run the tools the model
//! asks for, send their results back, until the model is done.
//!
//! ```
//! # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
//! # claude_kit_smol::block_on(async {
//! # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build().unwrap();
//! use claude_kit_api::ToolRunner;
//! use claude_kit_core::agent::{ToolError, ToolFn, Toolbox};
//! use claude_kit_core::types::MessageRequest;
//! use serde_json::json;
//!
//! let weather = ToolFn::new(
//!     "get_weather",
//!     "The current weather in a city",
//!     json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
//!     |input: serde_json::Value| async move {
//!         Ok::<_, ToolError>(format!("Sunny in {}", input["city"]))
//!     },
//! );
//! let runner = ToolRunner::new(client, Toolbox::new().with(weather)).max_turns(5);
//! let outcome = runner
//!     .run(MessageRequest::new("claude-sonnet-4-5", 1024).user("Weather in Paris?"))
//!     .await?;
//! println!("{} ({} turns)", outcome.final_message.text(), outcome.turns);
//! # Ok::<_, claude_kit_core::Error>(()) }).unwrap();
//! ```

use std::fmt;
use std::sync::Arc;

use futures_util::{FutureExt, StreamExt};

use claude_kit_core::Result;
use claude_kit_core::agent::{
    AgentEvent, AgentOutcome, AgentStream, HookDecision, ToolCall, ToolOutput, Toolbox,
};
use claude_kit_core::types::{
    ContentBlock, ContentDelta, Message, MessageParam, MessageRequest, StopReason, StreamEvent,
    Usage,
};

use crate::client::Client;

type BeforeHook = dyn Fn(&ToolCall) -> HookDecision + Send + Sync;
type AfterHook = dyn Fn(&ToolCall, &mut ToolOutput) + Send + Sync;

/// Runs the tool-calling loop: send the conversation, run the tools the model asks for, send
/// their results, until the model answers without asking for a tool or `max_turns` model calls
/// were made.
///
/// - Model turns are streamed, so [`run_stream`](Self::run_stream) yields text as it comes.
/// - The calls of one turn run concurrently, at most
///   [`max_parallel_tools`](Self::max_parallel_tools) at once, inside the task that polls the
///   run (nothing is spawned); their results are sent in the order of the `tool_use` blocks.
/// - Tool failures (an `Err`, invalid input, a panic, an unknown tool, a denied call) are sent
///   back as `is_error` results; the run goes on. Only API errors end a run with `Err`.
/// - Cancellation: dropping the run's future or stream drops the tool futures in flight.
/// - The toolbox's definitions are added to the request's `tools` (a tool already there by
///   the same name is kept).
#[derive(Clone)]
#[must_use]
pub struct ToolRunner {
    client: Client,
    toolbox: Arc<Toolbox>,
    max_turns: usize,
    max_parallel_tools: usize,
    before: Option<Arc<BeforeHook>>,
    after: Option<Arc<AfterHook>>,
}

impl fmt::Debug for ToolRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolRunner")
            .field("toolbox", &self.toolbox)
            .field("max_turns", &self.max_turns)
            .field("max_parallel_tools", &self.max_parallel_tools)
            .finish_non_exhaustive()
    }
}

impl ToolRunner {
    /// The default of [`max_turns`](Self::max_turns).
    pub const DEFAULT_MAX_TURNS: usize = 10;
    /// The default of [`max_parallel_tools`](Self::max_parallel_tools).
    pub const DEFAULT_MAX_PARALLEL_TOOLS: usize = 4;

    /// A runner calling the model with `client` and the tools of `toolbox`.
    pub fn new(client: Client, toolbox: Toolbox) -> Self {
        Self {
            client,
            toolbox: Arc::new(toolbox),
            max_turns: Self::DEFAULT_MAX_TURNS,
            max_parallel_tools: Self::DEFAULT_MAX_PARALLEL_TOOLS,
            before: None,
            after: None,
        }
    }

    /// At most `turns` model calls per run (at least 1). Default 10. See
    /// [`AgentOutcome::max_turns_reached`].
    pub fn max_turns(mut self, turns: usize) -> Self {
        self.max_turns = turns.max(1);
        self
    }

    /// At most `limit` tool calls of one turn run at once (at least 1). Default 4.
    pub fn max_parallel_tools(mut self, limit: usize) -> Self {
        self.max_parallel_tools = limit.max(1);
        self
    }

    /// Called before each tool call: allow it, deny it (the reason goes back to the model as
    /// an error result and the tool is not run), or rewrite its input.
    ///
    /// ```
    /// # fn make(runner: claude_kit_api::ToolRunner) -> claude_kit_api::ToolRunner {
    /// use claude_kit_core::agent::HookDecision;
    ///
    /// runner.before_tool(|call| match call.name.as_str() {
    ///     "delete_file" => HookDecision::Deny("deleting files is not allowed".into()),
    ///     _ => HookDecision::Allow,
    /// })
    /// # }
    /// ```
    pub fn before_tool(
        mut self,
        hook: impl Fn(&ToolCall) -> HookDecision + Send + Sync + 'static,
    ) -> Self {
        self.before = Some(Arc::new(hook));
        self
    }

    /// Called after each tool call (denied ones included) with the result about to be sent;
    /// it may change it.
    pub fn after_tool(
        mut self,
        hook: impl Fn(&ToolCall, &mut ToolOutput) + Send + Sync + 'static,
    ) -> Self {
        self.after = Some(Arc::new(hook));
        self
    }

    /// The tools.
    pub fn toolbox(&self) -> &Toolbox {
        &self.toolbox
    }

    /// Runs the loop on `request` to the end and returns the outcome.
    ///
    /// Fails only when a model call fails (after the client's retries); tool failures are
    /// answered to the model. Dropping the future cancels the run and its tool calls.
    pub async fn run(&self, request: MessageRequest) -> Result<AgentOutcome> {
        Box::pin(drive(self.clone(), request, None)).await
    }

    /// Runs the loop on `request`, yielding [`AgentEvent`]s as they happen; the last item is
    /// [`AgentEvent::Finished`], or an `Err` when a model call failed.
    ///
    /// ```
    /// # let server = claude_kit_mock::MockServer::start(); // a local stand-in for the API
    /// # claude_kit_smol::block_on(async {
    /// # let client = claude_kit_api::Client::builder().api_key("sk-ant-example").base_url(server.url()).build()?;
    /// use claude_kit_api::ToolRunner;
    /// use claude_kit_core::agent::{AgentEvent, ToolError, ToolFn, Toolbox};
    /// use claude_kit_core::types::MessageRequest;
    /// use futures_util::StreamExt;
    ///
    /// let clock = ToolFn::new("clock", "The time", serde_json::json!({"type": "object"}),
    ///     |_: serde_json::Value| async { Ok::<_, ToolError>("12:00") });
    /// let runner = ToolRunner::new(client, Toolbox::new().with(clock));
    /// // The mock calls the tool the prompt names, then answers.
    /// let request = MessageRequest::new("claude-sonnet-4-5", 1024).user("[[tool:clock {}]] What time is it?");
    /// let mut events = runner.run_stream(request);
    /// let mut calls = Vec::new();
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         AgentEvent::TextDelta(text) => print!("{text}"),
    ///         AgentEvent::ToolCall { name, .. } => calls.push(name),
    ///         AgentEvent::Finished(message) => println!("\n[done: {:?}]", message.stop_reason),
    ///         _ => {}
    ///     }
    /// }
    /// assert_eq!(calls, ["clock"]);
    /// # Ok::<_, claude_kit_core::Error>(()) })?;
    /// # Ok::<_, claude_kit_core::Error>(())
    /// ```
    pub fn run_stream(&self, request: MessageRequest) -> AgentStream {
        // The run is a future that sends its events into a small channel; the stream polls
        // the run and the channel together, so nothing is spawned and dropping the stream
        // drops the run.
        let (sender, receiver) = async_channel::bounded(16);
        let run = drive(self.clone(), request, Some(sender.clone())).then(|result| async move {
            if let Err(error) = result {
                // Awaited: the stream keeps draining the channel meanwhile.
                let _ = sender.send(Err(error)).await;
            }
        });
        let run = run.into_stream().filter_map(|()| std::future::ready(None));
        Box::pin(futures_util::stream::select(Box::pin(run), receiver))
    }
}

type Events = async_channel::Sender<Result<AgentEvent>>;

async fn emit(events: &Option<Events>, event: AgentEvent) {
    if let Some(events) = events {
        // A closed channel means the stream was dropped, and with it this run.
        let _ = events.send(Ok(event)).await;
    }
}

async fn drive(
    runner: ToolRunner,
    request: MessageRequest,
    events: Option<Events>,
) -> Result<AgentOutcome> {
    let span = crate::trace::agent(&request.model);
    crate::trace::in_span(span.clone(), drive_in(runner, request, events, span)).await
}

async fn drive_in(
    runner: ToolRunner,
    mut request: MessageRequest,
    events: Option<Events>,
    span: crate::trace::Span,
) -> Result<AgentOutcome> {
    for tool in runner.toolbox.definitions() {
        if !request.tools.iter().any(|t| t.name() == tool.name) {
            request.tools.push(tool.into());
        }
    }
    let mut usage = Usage::default();
    let mut turns = 0;
    loop {
        turns += 1;
        let turn = crate::trace::agent_turn(turns);
        let message = crate::trace::in_span(
            turn.clone(),
            model_turn(&runner.client, request.clone(), &events),
        )
        .await?;
        usage.accumulate(&message.usage);
        request.messages.push(message.to_assistant_turn());
        emit(&events, AgentEvent::TurnComplete(message.clone())).await;

        let calls: Vec<ToolCall> = message
            .tool_uses()
            .map(|block| ToolCall {
                id: block.id.clone(),
                name: block.name.clone(),
                input: block.input.clone(),
            })
            .collect();
        let wants_tools = message.stop_reason == Some(StopReason::ToolUse) && !calls.is_empty();
        if !wants_tools || turns >= runner.max_turns {
            crate::trace::agent_finished(&span, turns, &usage, &message);
            emit(&events, AgentEvent::Finished(message.clone())).await;
            return Ok(AgentOutcome::new(
                message,
                request.messages,
                turns,
                usage,
                wants_tools,
            ));
        }

        for call in &calls {
            let event = AgentEvent::ToolCall {
                id: call.id.clone(),
                name: call.name.clone(),
                input: call.input.clone(),
            };
            emit(&events, event).await;
        }
        let results = crate::trace::in_span(turn, run_tools(&runner, calls)).await;
        let mut blocks = Vec::with_capacity(results.len());
        for (id, output) in results {
            blocks.push(ContentBlock::tool_result(
                id.clone(),
                output.content.clone(),
                output.is_error,
            ));
            let event = AgentEvent::ToolResult {
                id,
                content: output.content,
                is_error: output.is_error,
            };
            emit(&events, event).await;
        }
        request.messages.push(MessageParam::user(blocks));
    }
}

/// One streamed model call: its text deltas go out as events; returns the final message.
async fn model_turn(
    client: &Client,
    request: MessageRequest,
    events: &Option<Events>,
) -> Result<Message> {
    let mut stream = client.messages().stream(request).await?;
    while let Some(event) = stream.next().await {
        if let StreamEvent::ContentBlockDelta {
            delta: ContentDelta::Text(text),
            ..
        } = event?
        {
            emit(events, AgentEvent::TextDelta(text)).await;
        }
    }
    stream.final_message().await
}

/// The calls of one turn, at most `max_parallel_tools` at once (a new one starts as soon as
/// one finishes), in this task; the results in the order of `calls`.
async fn run_tools(runner: &ToolRunner, calls: Vec<ToolCall>) -> Vec<(String, ToolOutput)> {
    let mut results: Vec<(usize, (String, ToolOutput))> =
        futures_util::stream::iter(calls.into_iter().enumerate())
            .map(|(index, call)| run_tool(runner, call).map(move |result| (index, result)))
            .buffer_unordered(runner.max_parallel_tools)
            .collect()
            .await;
    results.sort_unstable_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// One tool call, hooks included; returns the `tool_use` id and the result to send.
async fn run_tool(runner: &ToolRunner, mut call: ToolCall) -> (String, ToolOutput) {
    let decision = match &runner.before {
        Some(hook) => hook(&call),
        None => HookDecision::Allow,
    };
    let denied = matches!(decision, HookDecision::Deny(_));
    let mut output = match decision {
        HookDecision::Allow => runner.toolbox.call(&call).await,
        HookDecision::Deny(reason) => ToolOutput::error(reason),
        HookDecision::Rewrite(input) => {
            call.input = input;
            runner.toolbox.call(&call).await
        }
    };
    if let Some(hook) = &runner.after {
        hook(&call, &mut output);
    }
    crate::trace::tool_call(&call.name, &call.id, denied, output.is_error);
    (call.id, output)
}
