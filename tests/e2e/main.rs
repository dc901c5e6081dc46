//! End to end: the SDK drives the **real** Claude Code CLI (the pinned install under
//! `target/claude-code/`, `scripts/install-claude-code.sh`), which talks to the project's own
//! mock Messages API server on 127.0.0.1, offline, on tokio and on smol.
//!
//! Without the pinned CLI these tests say that they did not run and pass; with
//! `CLAUDE_KIT_REQUIRE_CLI=1` (as in `.ci/run`) a missing CLI fails them.
//!
//! The mock's directives in the prompt script its model: `[[tool:NAME JSON]]`, `[[error:STATUS]]`,
//! `[[slow:MS]]`, `[[text:TEXT]]` (see `claude_kit_mock`'s docs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use claude_kit::code::{
    AgentClient, CanUseTool, CodeOptions, HookCallback, HookEvent, HookMatcher, HookOutput,
    Message, PermissionDecision, ResultMessage, discover, query,
};
use claude_kit::tools::{ToolError, ToolFn, Toolbox};
use claude_kit::types::{ContentDelta, StreamEvent};
use claude_kit::{Error, Result};
use claude_kit_mock::MockServer;
use claude_kit_testkit::{Rt, run_smol, run_tokio};
use futures_util::StreamExt;
use serde_json::json;

/// The pinned CLI, checked once: `Some(path)` when installed at the pinned version.
fn cli() -> Option<PathBuf> {
    static CLI: OnceLock<Option<PathBuf>> = OnceLock::new();
    CLI.get_or_init(|| {
        let path = discover::pinned_install();
        let required = std::env::var_os("CLAUDE_KIT_REQUIRE_CLI").is_some_and(|v| v == "1");
        let version = Command::new(&path).arg("-v").output().ok().filter(|o| o.status.success());
        match version {
            Some(output) => {
                let text = String::from_utf8_lossy(&output.stdout);
                assert!(
                    text.contains(discover::PINNED_VERSION),
                    "{} is {text:?}, not the pinned {}: rerun scripts/install-claude-code.sh",
                    path.display(),
                    discover::PINNED_VERSION
                );
                Some(path)
            }
            None if required => panic!(
                "CLAUDE_KIT_REQUIRE_CLI=1 but the pinned Claude Code CLI is not at {}: run scripts/install-claude-code.sh",
                path.display()
            ),
            None => {
                // Straight to the process's stderr: the test harness captures `eprintln!`.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "NOT RUN: the Claude Code end-to-end tests need the pinned CLI at {} \
                     (scripts/install-claude-code.sh); set CLAUDE_KIT_REQUIRE_CLI=1 to make this a failure",
                    path.display()
                );
                None
            }
        }
    })
    .clone()
}

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("claude-kit-e2e-{}-{name}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::create_dir_all(dir.join("work")).unwrap();
        Self(dir)
    }

    fn work(&self) -> PathBuf {
        self.0.join("work")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The offline environment of `../shared/claude-code-cli.md` §2: the mock, a fresh home,
/// nothing else on the network, the CLI's retries short.
fn options(rt: &Rt, cli: &Path, mock: &MockServer, scratch: &Scratch) -> CodeOptions {
    let options = CodeOptions::new()
        .cli_path(cli)
        .runtime(rt.clone())
        .cwd(scratch.work())
        .env("LANG", "C.UTF-8");
    mock.claude_code_env(&scratch.0.join("home"))
        .into_iter()
        .fold(options, |options, (name, value)| options.env(name, value))
}

async fn within<F: std::future::Future>(rt: &Rt, future: F) -> F::Output {
    claude_kit_rt::timeout(&**rt, Duration::from_secs(180), future)
        .await
        .expect("the real CLI did not finish within 3 minutes")
}

async fn run(rt: &Rt, prompt: &str, options: CodeOptions) -> Vec<Result<Message>> {
    within(rt, query(prompt, options).collect::<Vec<_>>()).await
}

fn result_of(messages: &[Result<Message>]) -> ResultMessage {
    messages
        .iter()
        .find_map(|m| match m {
            Ok(Message::Result(result)) => Some(ResultMessage::clone(result)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no result in {messages:?}"))
}

/// Runs `test` on tokio and smol, when the CLI is installed.
fn on_tokio_and_smol<F, Fut>(test: F)
where
    F: Fn(Rt, PathBuf) -> Fut + Copy,
    Fut: std::future::Future<Output = ()>,
{
    let Some(cli) = cli() else { return };
    let on = cli.clone();
    run_tokio(move |rt| test(rt, on));
    run_smol(move |rt| test(rt, cli));
}

#[test]
fn a_plain_query() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("plain");
        let messages = run(&rt, "Hello", options(&rt, &cli, &mock, &scratch)).await;
        assert!(messages.iter().all(Result::is_ok), "{messages:?}");
        let init = messages.iter().find_map(|m| match m {
            Ok(Message::System(claude_kit::code::SystemMessage::Init(init))) => Some(init.clone()),
            _ => None,
        });
        assert_eq!(
            init.unwrap().claude_code_version.as_deref(),
            Some(discover::PINNED_VERSION)
        );
        let result = result_of(&messages);
        assert!(!result.is_error);
        assert!(result.result.unwrap().contains("Hello"));
        // The CLI's requests reached the mock, and only the mock.
        assert!(
            mock.requests()
                .iter()
                .any(|r| r.path.starts_with("/v1/messages"))
        );
    });
}

#[test]
fn a_multi_turn_client() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("client");
        let client = within(
            &rt,
            AgentClient::connect(options(&rt, &cli, &mock, &scratch)),
        )
        .await
        .unwrap();
        assert_eq!(
            client.server_info().version(),
            Some(discover::PINNED_VERSION)
        );
        for prompt in ["[[text:first answer]]", "[[text:second answer]]"] {
            client.query(prompt).await.unwrap();
            let turn: Vec<_> = within(&rt, client.receive_response().collect::<Vec<_>>()).await;
            let result = result_of(&turn);
            assert_eq!(result.result.as_deref(), Some(&prompt[7..prompt.len() - 2]));
        }
        assert_eq!(within(&rt, client.disconnect()).await, Some(0));
    });
}

#[test]
fn a_permission_callback_allows_one_tool_and_denies_another() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("permission");
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let callback = CanUseTool::new(move |request| {
            log.lock().unwrap().push(request.tool_name.clone());
            async move {
                match request.tool_name.as_str() {
                    "Bash" => PermissionDecision::allow(),
                    _ => PermissionDecision::deny("Write is not allowed in this test"),
                }
            }
        });
        let target = scratch.work().join("denied.txt");
        let prompt = format!(
            r#"[[tool:Bash {{"command": "touch made-by-bash && echo bash-ran", "description": "touch a file"}}]] [[tool:Write {{"file_path": "{}", "content": "x"}}]]"#,
            target.display()
        );
        let options = options(&rt, &cli, &mock, &scratch)
            .can_use_tool(callback)
            .max_turns(4);
        let messages = run(&rt, &prompt, options).await;
        let result = result_of(&messages);
        let text = result.result.clone().unwrap_or_default();
        assert!(text.contains("bash-ran"), "{text}");
        assert!(text.contains("Write is not allowed in this test"), "{text}");
        assert!(!target.exists());
        assert!(
            scratch.work().join("made-by-bash").exists(),
            "the allowed Bash call ran"
        );
        assert_eq!(*asked.lock().unwrap(), ["Bash", "Write"]);
        assert!(
            result.extra["permission_denials"]
                .as_array()
                .is_some_and(|d| d.len() == 1),
            "{result:?}"
        );
    });
}

#[test]
fn a_pre_tool_use_hook() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("hook");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let hook = HookCallback::new(move |input| {
            log.lock().unwrap().push(input.tool_input.clone());
            async move { HookOutput::deny("the hook says no") }
        });
        let options = options(&rt, &cli, &mock, &scratch)
            .hook(
                HookEvent::PreToolUse,
                HookMatcher::new(Some("Bash")).callback(hook),
            )
            .allowed_tools(["Bash"])
            .max_turns(3);
        let messages = run(
            &rt,
            r#"[[tool:Bash {"command": "echo never", "description": "echo"}]]"#,
            options,
        )
        .await;
        let text = result_of(&messages).result.unwrap_or_default();
        assert!(text.contains("the hook says no"), "{text}");
        assert!(!text.contains("never\n"), "{text}");
        assert_eq!(
            seen.lock().unwrap()[0].as_ref().unwrap()["command"],
            "echo never"
        );
    });
}

#[test]
fn an_in_process_mcp_tool_through_tool_search() {
    on_tokio_and_smol(|rt, cli| async move {
        #[derive(serde::Deserialize)]
        struct Add {
            a: i64,
            b: i64,
        }
        let mock = MockServer::start();
        let scratch = Scratch::new("mcp");
        let calc = Toolbox::new().with(ToolFn::new(
            "add",
            "Adds two integers",
            json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}),
            |input: Add| async move { Ok::<_, ToolError>(format!("sum={}", input.a + input.b)) },
        ));
        let options = options(&rt, &cli, &mock, &scratch)
            .sdk_mcp_server("calc", calc)
            .allowed_tools(["mcp__calc__add"])
            .max_turns(4);
        let messages = run(&rt, r#"[[tool:mcp__calc__add {"a": 2, "b": 40}]]"#, options).await;
        let calls: Vec<String> = messages
            .iter()
            .filter_map(|m| match m {
                Ok(Message::Assistant(a)) => Some(
                    a.message
                        .content
                        .iter()
                        .filter_map(|b| match b {
                            claude_kit::ContentBlock::ToolUse(t) => Some(t.name.clone()),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(calls, ["ToolSearch", "mcp__calc__add"]);
        let text = result_of(&messages).result.unwrap_or_default();
        assert!(text.contains("sum=42"), "{text}");
    });
}

#[test]
fn an_interrupt_during_a_slow_reply_and_partial_messages() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("interrupt");
        let options = options(&rt, &cli, &mock, &scratch).include_partial_messages(true);
        let client = within(&rt, AgentClient::connect(options)).await.unwrap();
        client
            .query("[[slow:200]] [[text:one two three four five six seven eight nine ten]]")
            .await
            .unwrap();
        let mut deltas = String::new();
        let mut receipt = None;
        let turn: Vec<_> = within(&rt, async {
            let mut all = Vec::new();
            let mut messages = client.receive_response();
            while let Some(message) = messages.next().await {
                if let Ok(Message::StreamEvent(event)) = &message
                    && let StreamEvent::ContentBlockDelta {
                        delta: ContentDelta::Text(text),
                        ..
                    } = &event.event
                {
                    deltas.push_str(text);
                    if receipt.is_none() {
                        receipt = Some(client.interrupt().await.unwrap());
                    }
                }
                all.push(message);
            }
            all
        })
        .await;
        assert!(
            receipt.is_some() && !deltas.is_empty(),
            "partial messages streamed: {turn:?}"
        );
        let result = result_of(&turn);
        assert!(
            result.is_error && result.subtype == "error_during_execution",
            "{result:?}"
        );
        assert!(
            !deltas.contains("ten"),
            "interrupted before the end: {deltas:?}"
        );
        // The session goes on.
        client.query("[[text:after]]").await.unwrap();
        let next: Vec<_> = within(&rt, client.receive_response().collect::<Vec<_>>()).await;
        assert_eq!(result_of(&next).result.as_deref(), Some("after"));
        client.disconnect().await;
    });
}

#[test]
fn max_turns_and_an_api_error_are_typed() {
    on_tokio_and_smol(|rt, cli| async move {
        let mock = MockServer::start();
        let scratch = Scratch::new("errors");
        std::fs::write(scratch.work().join("notes.txt"), "hello").unwrap();
        let prompt = format!(
            r#"[[tool:Read {{"file_path": "{}"}}]]"#,
            scratch.work().join("notes.txt").display()
        );
        let messages = run(
            &rt,
            &prompt,
            options(&rt, &cli, &mock, &scratch).max_turns(1),
        )
        .await;
        assert!(
            matches!(messages.last(), Some(Err(Error::AgentResult(r))) if r.subtype == "error_max_turns"),
            "{messages:?}"
        );
        let messages = run(&rt, "[[error:401]]", options(&rt, &cli, &mock, &scratch)).await;
        let result = result_of(&messages);
        assert!(
            result.is_error && result.api_error_status == Some(401),
            "{result:?}"
        );
        assert!(
            matches!(messages.last(), Some(Err(Error::AgentResult(r))) if r.api_error_status == Some(401))
        );
    });
}

/// `agent_query`, the example with a fixed interface, on the real CLI.
#[test]
fn the_agent_query_example() {
    let Some(cli) = cli() else { return };
    let example = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join("agent_query");
    assert!(example.exists(), "{} was not built", example.display());
    let scratch = Scratch::new("example");
    std::fs::write(
        scratch.work().join("notes.txt"),
        "the file's content\nsecond line",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let output = Command::new(&example)
            .args(args)
            .env("CLAUDE_CODE_PATH", &cli)
            .env_remove("ANTHROPIC_API_KEY")
            .env_remove("ANTHROPIC_BASE_URL")
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run(&["Hello"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.lines().last().unwrap().starts_with("result: ") && stdout.contains("Hello"),
        "{stdout}"
    );
    let cwd = scratch.work().to_string_lossy().into_owned();
    let prompt = format!(r#"[[tool:Read {{"file_path": "{cwd}/notes.txt"}}]]"#);
    let (ok, stdout, stderr) = run(&["--cwd", &cwd, "--max-turns", "3", &prompt]);
    assert!(ok, "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap();
    assert!(
        last.starts_with("result: Read returned: ")
            && last.contains("the file's content")
            && last.contains("second line"),
        "{stdout}"
    );
    let (ok, stdout, _) = run(&["[[error:401]]"]);
    assert!(!ok, "an error result exits 1: {stdout}");
    assert!(stdout.lines().last().unwrap().starts_with("result: "));
}
