//! `query`: the handshake, the frames, the prompt forms, argv and environment, stdin closing.

use crate::common::{Rt, on_all_runtimes};
use claude_kit::code::{CodeOptions, Message, PermissionMode, Prompt, SystemMessage, query};
use claude_kit_mock::fake_cli::{Action, Script};
use serde_json::json;

use super::{collect, fake, texts};

async fn plain_query_streams_typed_messages(rt: Rt) {
    let (options, record) = fake(&rt, &Script::new());
    let messages = collect(&rt, query("Hello", options)).await;
    assert!(
        matches!(&messages[0], Ok(Message::System(SystemMessage::Other { subtype, .. })) if subtype == "session_state_changed")
    );
    assert!(messages.iter().any(|m| matches!(m, Ok(Message::System(SystemMessage::Init(init))) if !init.session_id.is_empty())));
    assert_eq!(texts(&messages), ["echo: Hello"]);
    let result = messages.iter().find_map(|m| match m {
        Ok(Message::Result(result)) => Some(result.clone()),
        _ => None,
    });
    let result = result.expect("a result");
    assert!(!result.is_error);
    assert_eq!(result.result.as_deref(), Some("echo: Hello"));
    assert!(messages.iter().all(Result::is_ok), "{messages:?}");
    // initialize first, then the prompt (session "" for a one-shot query), then stdin closed.
    let stdin = record.stdin();
    assert_eq!(stdin[0]["type"], "control_request");
    assert_eq!(
        stdin[0]["request"],
        json!({"subtype": "initialize", "hooks": null})
    );
    assert!(
        stdin[0]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_1_")
    );
    assert_eq!(
        stdin[1],
        json!({"type": "user", "session_id": "", "message": {"role": "user", "content": "Hello"}, "parent_tool_use_id": null})
    );
    assert_eq!(
        stdin[2],
        serde_json::Value::Null,
        "stdin closed after the prompt: {stdin:?}"
    );
}

async fn stdin_is_closed_at_once_for_a_plain_prompt(rt: Rt) {
    // The fake waits for EOF before it answers: a client that kept stdin open would hang here
    // (and fail the bound of `collect`).
    let script = Script::new().turn([
        Action::init(),
        Action::wait_eof(),
        Action::text("after eof"),
        Action::result(),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options)).await;
    assert_eq!(texts(&messages), ["after eof"]);
}

async fn argv_and_environment_are_the_official_sdks(rt: Rt) {
    let (options, record) = fake(&rt, &Script::new());
    let options = options
        .model("claude-sonnet-4-5")
        .max_turns(2)
        .permission_mode(PermissionMode::Plan)
        .resume("-weird-id")
        .extra_arg("some-flag", Some("-dash"))
        .cwd(std::env::temp_dir());
    let messages = collect(&rt, query("x", options)).await;
    assert!(messages.iter().all(Result::is_ok));
    let argv = record.argv();
    assert_eq!(
        &argv[..5],
        [
            "--output-format",
            "stream-json",
            "--verbose",
            "--system-prompt",
            ""
        ]
    );
    assert!(
        argv.windows(2)
            .any(|w| w == ["--model", "claude-sonnet-4-5"])
    );
    assert!(argv.windows(2).any(|w| w == ["--max-turns", "2"]));
    assert!(argv.windows(2).any(|w| w == ["--permission-mode", "plan"]));
    assert!(argv.contains(&"--resume=-weird-id".to_owned()));
    assert!(argv.contains(&"--some-flag=-dash".to_owned()));
    assert_eq!(&argv[argv.len() - 2..], ["--input-format", "stream-json"]);
    let env = record.env();
    assert_eq!(env["CLAUDE_CODE_ENTRYPOINT"], "sdk-rs");
    assert_eq!(env["CLAUDE_AGENT_SDK_VERSION"], env!("CARGO_PKG_VERSION"));
    assert_eq!(env["CLAUDE_CODE_SDK_READS_SESSION_STATE"], "1");
    assert!(env.get("CLAUDECODE").is_none());
    assert_eq!(env["PWD"], std::env::temp_dir().to_string_lossy().as_ref());
}

async fn streaming_input_sends_each_prompt(rt: Rt) {
    let (options, record) = fake(&rt, &Script::new());
    let prompts = futures_util::stream::iter(["one", "two", "three"]);
    let messages = collect(&rt, query(Prompt::stream(prompts), options)).await;
    assert_eq!(texts(&messages), ["echo: one", "echo: two", "echo: three"]);
    let users: Vec<_> = record
        .stdin()
        .into_iter()
        .filter(|f| f["type"] == "user")
        .collect();
    assert_eq!(users.len(), 3);
    assert_eq!(users[2]["message"]["content"], "three");
}

async fn content_block_prompts_are_sent_as_blocks(rt: Rt) {
    let (options, record) = fake(&rt, &Script::new());
    let content = claude_kit::types::Content::Blocks(vec![
        claude_kit::types::ContentBlock::text("first"),
        claude_kit::types::ContentBlock::text("second"),
    ]);
    let messages = collect(&rt, query(content, options)).await;
    assert_eq!(texts(&messages), ["echo: first\nsecond"]);
    let user = record
        .stdin()
        .into_iter()
        .find(|f| f["type"] == "user")
        .unwrap();
    assert_eq!(
        user["message"]["content"][1],
        json!({"type": "text", "text": "second"})
    );
}

async fn every_frame_type_is_typed_or_kept(rt: Rt) {
    let script = Script::new().turn([
        Action::init_with(json!({"model": "claude-x", "tools": ["Read"], "claude_code_version": "9.9.9"})),
        Action::stream_event(json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}})),
        Action::emit(json!({"type": "rate_limit_event", "rate_limit_info": {"status": "allowed"}})),
        Action::emit(json!({"type": "hologram", "future": true})),
        Action::emit(json!({"type": "system", "subtype": "api_retry", "attempt": 1})),
        Action::tool_use("toolu_1", "Read", json!({"file_path": "/x"})),
        Action::tool_result("toolu_1", json!("contents"), false),
        Action::text("done"),
        Action::result_with(json!({"structured_output": {"answer": 4}, "total_cost_usd": 0.25})),
    ]);
    let (options, _record) = fake(&rt, &script);
    let messages = collect(&rt, query("x", options.include_partial_messages(true))).await;
    let ok: Vec<&Message> = messages.iter().map(|m| m.as_ref().unwrap()).collect();
    let init = ok.iter().find_map(|m| match m {
        Message::System(SystemMessage::Init(init)) => Some(init),
        _ => None,
    });
    let init = init.unwrap();
    assert_eq!(init.model.as_deref(), Some("claude-x"));
    assert_eq!(init.claude_code_version.as_deref(), Some("9.9.9"));
    assert!(ok.iter().any(|m| matches!(m, Message::StreamEvent(event)
        if matches!(&event.event, claude_kit::types::StreamEvent::ContentBlockDelta { .. }))));
    assert!(ok.iter().any(
        |m| matches!(m, Message::RateLimit(v) if v["rate_limit_info"]["status"] == "allowed")
    ));
    assert!(
        ok.iter()
            .any(|m| matches!(m, Message::Unknown(v) if v["type"] == "hologram"))
    );
    assert!(ok.iter().any(|m| matches!(m, Message::System(SystemMessage::Other { subtype, .. }) if subtype == "api_retry")));
    assert!(ok.iter().any(|m| matches!(m, Message::User(_))));
    let result = ok.iter().find_map(|m| match m {
        Message::Result(result) => Some(result),
        _ => None,
    });
    let result = result.unwrap();
    assert_eq!(result.structured_output, Some(json!({"answer": 4})));
    assert_eq!(result.total_cost_usd, Some(0.25));
}

async fn a_missing_cli_is_cli_not_found(rt: Rt) {
    let options = CodeOptions::new()
        .runtime(rt.clone())
        .cli_path("/definitely/not/here/claude");
    let messages = collect(&rt, query("x", options)).await;
    assert!(
        matches!(&messages[..], [Err(claude_kit::Error::CliNotFound { searched })] if searched[0].ends_with("claude")),
        "{messages:?}"
    );
    let text = messages[0].as_ref().unwrap_err().to_string();
    assert!(
        text.contains("/definitely/not/here/claude") && text.contains("install-claude-code.sh"),
        "{text}"
    );
}

on_all_runtimes!(
    plain_query_streams_typed_messages,
    stdin_is_closed_at_once_for_a_plain_prompt,
    argv_and_environment_are_the_official_sdks,
    streaming_input_sends_each_prompt,
    content_block_prompts_are_sent_as_blocks,
    every_frame_type_is_typed_or_kept,
    a_missing_cli_is_cli_not_found,
);
