//! [`query`]: one prompt (or a stream of them) to a fresh CLI process, its messages back.

use claude_kit_core::Result;
use claude_kit_rt::{self as rt, JoinHandle};
use futures_util::{StreamExt, stream};

use crate::client::AgentClient;
use crate::message::{Message, MessageStream, Prompt, result_error, user_frame};
use crate::options::CodeOptions;

/// Runs `prompt` on a new Claude Code process and streams its messages: `System` (`Init`
/// first), `Assistant`, `User` (tool results), `StreamEvent`s with
/// [`include_partial_messages`](CodeOptions::include_partial_messages), and the `Result`.
///
/// The process starts when the stream is first polled and is ended when the stream ends or is
/// dropped (stdin closed, then `SIGTERM`, then `SIGKILL`, bounded). stdin is closed as the
/// official SDK closes it: right after the prompt, or, when the CLI may call back into this
/// process (an in-process MCP server, hooks, a permission callback), once the run is over.
///
/// An error result (`is_error: true`, other than an interrupted turn) is delivered, then
/// followed by its [`Error::AgentResult`](claude_kit_core::Error::AgentResult); the stream
/// ends after any error.
///
/// ```no_run
/// # async fn example() -> claude_kit_core::Result<()> {
/// use claude_kit_code::{CodeOptions, Message, query};
/// use futures_util::StreamExt;
///
/// let mut messages = query("What is 2 + 2?", CodeOptions::new().max_turns(1));
/// while let Some(message) = messages.next().await {
///     if let Message::Result(result) = message? {
///         println!("{}", result.result.unwrap_or_default());
///     }
/// }
/// # Ok(()) }
/// ```
pub fn query(prompt: impl Into<Prompt>, options: CodeOptions) -> MessageStream<'static> {
    enum Step {
        Start(Box<(Prompt, CodeOptions)>),
        Running(Box<Running>),
        Done,
    }
    struct Running {
        client: AgentClient,
        _input: JoinHandle<()>,
        failing: Option<claude_kit_core::Error>,
    }
    let prompt = prompt.into();
    Box::pin(stream::unfold(
        Step::Start(Box::new((prompt, options))),
        |step| async move {
            let mut running = match step {
                Step::Done => return None,
                Step::Running(running) => running,
                Step::Start(start_with) => match start(start_with.0, start_with.1).await {
                    Ok((client, input)) => Box::new(Running {
                        client,
                        _input: input,
                        failing: None,
                    }),
                    Err(error) => return Some((Err(error), Step::Done)),
                },
            };
            if let Some(error) = running.failing.take() {
                return Some((Err(error), Step::Done));
            }
            let next = running.client.receive_messages().next().await;
            match next {
                None => None,
                Some(Err(error)) => Some((Err(error), Step::Done)),
                Some(Ok(Message::Result(result))) => {
                    running.failing = result_error(&result);
                    Some((Ok(Message::Result(result)), Step::Running(running)))
                }
                Some(Ok(message)) => Some((Ok(message), Step::Running(running))),
            }
        },
    ))
}

async fn start(prompt: Prompt, options: CodeOptions) -> Result<(AgentClient, JoinHandle<()>)> {
    let callbacks = options.has_callbacks();
    let client = AgentClient::connect(options).await?;
    let input = client.session().input();
    let task = async move {
        let mut prompts = 0u64;
        match prompt {
            Prompt::Content(content) => {
                if input.send_user(&user_frame(&content, "")).await.is_ok() {
                    prompts = 1;
                }
            }
            Prompt::Stream(mut turns) => {
                while let Some(content) = turns.next().await {
                    if input.send_user(&user_frame(&content, "")).await.is_err() {
                        break;
                    }
                    prompts += 1;
                }
            }
        }
        if callbacks && prompts > 0 {
            input.wait_run(|run| run.run_over(prompts)).await;
        }
        input.close_stdin().await;
    };
    let handle = rt::spawn(&**client.runtime(), task);
    Ok((client, handle))
}
