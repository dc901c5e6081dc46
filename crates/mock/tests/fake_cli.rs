//! Tests of the fake Claude Code CLI (`claude-kit-fake-claude`), driven as the SDK drives the
//! real one: JSON lines on stdin and stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use claude_kit_mock::fake_cli::{self, Action, ControlAnswer, Initialize, Script};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_claude-kit-fake-claude");

/// How long a test waits for a line before failing (a guard against hangs, not a sync point).
const LINE_TIMEOUT: Duration = Duration::from_secs(60);

/// The SDK's base argv, as in the protocol reference.
const BASE_ARGS: &[&str] = &[
    "--output-format",
    "stream-json",
    "--verbose",
    "--system-prompt",
    "",
    "--input-format",
    "stream-json",
];

/// A running fake CLI: stdin, stdout lines from a reader thread, stderr.
struct Fake {
    child: Child,
    stdin: Option<ChildStdin>,
    /// stdout lines (without `\n`; the last one may lack it), then `None` at EOF.
    lines: mpsc::Receiver<Option<Vec<u8>>>,
    stderr: Option<BufReader<ChildStderr>>,
}

fn fake_command(script: Option<&Script>) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(BASE_ARGS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("FAKE_CLAUDE_SCRIPT")
        .env_remove("FAKE_CLAUDE_RECORD")
        .env_remove("CLAUDE_CODE_SDK_READS_SESSION_STATE");
    if let Some(script) = script {
        command.env("FAKE_CLAUDE_SCRIPT", script.to_json());
    }
    command
}

impl Fake {
    fn start(script: Option<&Script>) -> Fake {
        Fake::spawn(fake_command(script))
    }

    fn spawn(mut command: Command) -> Fake {
        let mut child = command.spawn().expect("spawn the fake CLI");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let stderr = child.stderr.take().map(BufReader::new);
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            loop {
                let mut line = Vec::new();
                match stdout.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if tx.send(Some(line)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(None);
        });
        Fake {
            child,
            stdin,
            lines,
            stderr,
        }
    }

    fn send(&mut self, frame: &Value) {
        self.send_raw(&frame.to_string());
    }

    fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next stdout line, or `None` at EOF.
    fn next_line(&self) -> Option<Vec<u8>> {
        self.lines
            .recv_timeout(LINE_TIMEOUT)
            .expect("the fake CLI wrote no line in time")
    }

    fn line(&self) -> String {
        let line = self.next_line().expect("a line, not EOF");
        String::from_utf8(line).expect("UTF-8")
    }

    fn frame(&self) -> Value {
        let line = self.line();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }

    fn expect_eof(&self) {
        if let Some(line) = self.next_line() {
            panic!("expected EOF, got {}", String::from_utf8_lossy(&line));
        }
    }

    fn stderr_line(&mut self) -> String {
        let mut line = String::new();
        self.stderr.as_mut().unwrap().read_line(&mut line).unwrap();
        line
    }

    fn initialize(&mut self) -> Value {
        self.send(
            &json!({"type": "control_request", "request_id": "req_1_init",
            "request": {"subtype": "initialize", "hooks": null}}),
        );
        let answer = self.frame();
        assert_eq!(answer["type"], "control_response", "{answer}");
        assert_eq!(answer["response"]["request_id"], "req_1_init");
        answer
    }

    fn user(&mut self, text: &str) {
        self.send(&json!({"type": "user", "session_id": "",
            "message": {"role": "user", "content": text}, "parent_tool_use_id": null}));
    }

    fn control(&mut self, id: &str, request: Value) {
        self.send(&json!({"type": "control_request", "request_id": id, "request": request}));
    }

    fn answer(&mut self, id: &Value, payload: Value) {
        self.send(&json!({"type": "control_response",
            "response": {"subtype": "success", "request_id": id, "response": payload}}));
    }

    fn wait(&mut self) -> ExitStatus {
        self.close_stdin();
        self.child.wait().unwrap()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh path in the temp dir for a record or script file.
fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join(format!(
        "claude-kit-fake-cli-{}-{n}-{name}",
        std::process::id()
    ))
}

fn read_record(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn default_script_round_trip() {
    let mut fake = Fake::start(None);
    let answer = fake.initialize();
    let info = &answer["response"]["response"];
    assert_eq!(answer["response"]["subtype"], "success");
    assert_eq!(info["claude_code_version"], "2.1.328");
    assert_eq!(info["pid"], fake.child.id());
    assert_eq!(info["current_permission_mode"], "default");
    assert_eq!(info["capabilities"], json!(["interrupt_receipt_v1"]));
    assert_eq!(info["output_style"], "default");
    assert_eq!(info["commands"], json!([]));
    assert_eq!(info["agents"], json!([]));
    assert_eq!(info["models"].as_array().unwrap().len(), 1);
    assert!(info["account"].is_object());

    for (turn, prompt) in ["Hello", "again"].into_iter().enumerate() {
        fake.user(prompt);
        let init = fake.frame();
        assert_eq!(
            (&init["type"], &init["subtype"]),
            (&json!("system"), &json!("init"))
        );
        let session_id = init["session_id"].as_str().unwrap().to_owned();
        assert_eq!(session_id.len(), 36, "uuid-like: {session_id}");
        assert!(init["uuid"].is_string());
        assert_eq!(init["claude_code_version"], "2.1.328");
        assert!(init["tools"].as_array().unwrap().contains(&json!("Bash")));
        let assistant = fake.frame();
        assert_eq!(assistant["type"], "assistant");
        assert_eq!(
            assistant["message"]["content"],
            json!([{"type": "text", "text": format!("echo: {prompt}")}])
        );
        assert_eq!(assistant["message"]["role"], "assistant");
        assert!(
            assistant["message"]["id"]
                .as_str()
                .unwrap()
                .starts_with("msg_")
        );
        assert_eq!(assistant["session_id"], session_id.as_str());
        let result = fake.frame();
        assert_eq!(result["type"], "result", "turn {turn}");
        assert_eq!(result["subtype"], "success");
        assert_eq!(result["is_error"], false);
        assert_eq!(result["num_turns"], 1);
        assert_eq!(result["result"], format!("echo: {prompt}"));
        assert_eq!(result["session_id"], session_id.as_str());
        assert!(result["total_cost_usd"].is_number());
        assert!(result["usage"].is_object());
    }
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn default_turn_reports_session_state_when_asked() {
    let mut command = fake_command(None);
    command.env("CLAUDE_CODE_SDK_READS_SESSION_STATE", "1");
    let mut fake = Fake::spawn(command);
    fake.user("hi");
    let kinds: Vec<String> = (0..5)
        .map(|_| {
            let f = fake.frame();
            match f["state"].as_str() {
                Some(state) => format!("state:{state}"),
                None => f["type"].as_str().unwrap().to_owned(),
            }
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "state:running",
            "system",
            "assistant",
            "result",
            "state:idle"
        ]
    );
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn writes_nothing_before_the_first_stdin_line() {
    let record = temp_path("record-silent.jsonl");
    let mut command = fake_command(None);
    command.env("FAKE_CLAUDE_RECORD", &record);
    let mut fake = Fake::spawn(command);
    // stdin closed before any line: the fake must exit without writing anything.
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
    let lines = read_record(&record);
    assert_eq!(lines[2..], [json!({"eof": true}), json!({"exit": 0})]);
    let _ = std::fs::remove_file(record);
}

#[test]
fn control_requests_answered_mid_turn() {
    let script = Script::new().turn([
        Action::init(),
        Action::wait_interrupt(),
        Action::emit(json!({"type": "assistant", "aborted": true,
            "message": {"role": "assistant", "content": [{"type": "text", "text": "partial"}]}})),
        Action::result_with(
            json!({"subtype": "error_during_execution", "is_error": true,
            "terminal_reason": "aborted_streaming"}),
        ),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.initialize();
    fake.user("long task");
    assert_eq!(fake.frame()["subtype"], "init");

    // The turn is waiting for an interrupt: every other control request is answered meanwhile.
    fake.control(
        "req_2",
        json!({"subtype": "set_permission_mode", "mode": "acceptEdits"}),
    );
    let answer = fake.frame();
    assert_eq!(
        answer["response"],
        json!({"subtype": "success", "request_id": "req_2", "response": {"mode": "acceptEdits"}})
    );
    let status = fake.frame();
    assert_eq!(
        (
            &status["type"],
            &status["subtype"],
            &status["permissionMode"]
        ),
        (&json!("system"), &json!("status"), &json!("acceptEdits"))
    );
    fake.control(
        "req_3",
        json!({"subtype": "set_model", "model": "claude-fake-9"}),
    );
    assert_eq!(
        fake.frame()["response"]["response"],
        json!({"model": "claude-fake-9"})
    );
    fake.control("req_4", json!({"subtype": "mcp_status"}));
    assert_eq!(
        fake.frame()["response"]["response"],
        json!({"mcpServers": []})
    );
    fake.control("req_5", json!({"subtype": "get_context_usage"}));
    let usage = fake.frame();
    assert_eq!(usage["response"]["request_id"], "req_5");
    assert!(usage["response"]["response"]["totalTokens"].is_number());
    assert!(usage["response"]["response"]["categories"].is_array());

    fake.control("req_6", json!({"subtype": "interrupt"}));
    let answer = fake.frame();
    assert_eq!(answer["response"]["request_id"], "req_6");
    assert_eq!(answer["response"]["response"], json!({"still_queued": []}));
    let aborted = fake.frame();
    assert_eq!(aborted["aborted"], true);
    let result = fake.frame();
    assert_eq!(result["subtype"], "error_during_execution");
    assert_eq!(result["is_error"], true);
    assert_eq!(result["terminal_reason"], "aborted_streaming");

    // The next turn (the default one) sees the new model and permission mode.
    fake.user("next");
    let init = fake.frame();
    assert_eq!(init["model"], "claude-fake-9");
    assert_eq!(init["permissionMode"], "acceptEdits");
    assert_eq!(fake.frame()["message"]["model"], "claude-fake-9");
    assert_eq!(fake.frame()["result"], "echo: next");
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn unknown_and_scripted_control_answers() {
    let script = Script::new()
        .control("mcp_status", ControlAnswer::error("no MCP here"))
        .control("set_model", ControlAnswer::ignore())
        .control(
            "get_context_usage",
            ControlAnswer::response(json!({"totalTokens": 7})),
        );
    let mut fake = Fake::start(Some(&script));
    fake.control("req_1", json!({"subtype": "no_such_subtype"}));
    assert_eq!(
        fake.frame(),
        json!({"type": "control_response", "response": {"subtype": "error", "request_id": "req_1",
            "error": "Unsupported control request subtype: no_such_subtype",
            "error_code": "unsupported_request"}})
    );
    fake.control("req_2", json!({"subtype": "mcp_status"}));
    assert_eq!(
        fake.frame()["response"],
        json!({"subtype": "error", "request_id": "req_2", "error": "no MCP here"})
    );
    // Ignored: no answer; the next answer is the next request's.
    fake.control("req_3", json!({"subtype": "set_model", "model": "x"}));
    fake.control("req_4", json!({"subtype": "get_context_usage"}));
    assert_eq!(
        fake.frame()["response"],
        json!({"subtype": "success", "request_id": "req_4", "response": {"totalTokens": 7}})
    );
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn initialize_error_and_ignore() {
    let script = Script::new().initialize(Initialize::error("bad hooks"));
    let mut fake = Fake::start(Some(&script));
    assert_eq!(
        fake.initialize()["response"],
        json!({"subtype": "error", "request_id": "req_1_init", "error": "bad hooks"})
    );
    fake.close_stdin();
    fake.expect_eof();

    let script = Script::new().initialize(Initialize::ignore());
    let mut fake = Fake::start(Some(&script));
    fake.send(&json!({"type": "control_request", "request_id": "req_1",
        "request": {"subtype": "initialize", "hooks": null}}));
    fake.user("hi");
    // No answer to initialize: the first frame is the turn's.
    assert_eq!(fake.frame()["subtype"], "init");
    fake.close_stdin();
    assert_eq!(fake.wait().code(), Some(0));

    let script = Script::new().initialize(
        Initialize::with_response(json!({"commands": [{"name": "x"}]})).merge(json!({"pid": 1})),
    );
    let mut fake = Fake::start(Some(&script));
    assert_eq!(
        fake.initialize()["response"]["response"],
        json!({"commands": [{"name": "x"}], "pid": 1})
    );
    let script = Script::new()
        .initialize(Initialize::new().merge(json!({"current_permission_mode": "plan"})));
    let mut fake = Fake::start(Some(&script));
    let info = fake.initialize();
    assert_eq!(
        info["response"]["response"]["current_permission_mode"],
        "plan"
    );
    assert_eq!(
        info["response"]["response"]["claude_code_version"],
        "2.1.328"
    );
}

#[test]
fn request_round_trip_and_initialize_before() {
    let mcp = json!({"subtype": "mcp_message", "server_name": "calc",
        "message": {"jsonrpc": "2.0", "id": 0, "method": "initialize"}});
    let script = Script::new()
        .initialize_before([Action::request(mcp.clone())])
        .turn([
            Action::init(),
            Action::tool_use("toolu_1", "Bash", json!({"command": "ls"})),
            Action::request(json!({"subtype": "can_use_tool", "tool_name": "Bash",
                "input": {"command": "ls"}, "tool_use_id": "toolu_1"})),
            Action::tool_result("toolu_1", json!("file.txt"), false),
            Action::text("done"),
            Action::result(),
        ]);
    let mut fake = Fake::start(Some(&script));
    fake.send(&json!({"type": "control_request", "request_id": "req_1",
        "request": {"subtype": "initialize", "hooks": null}}));
    // Before answering initialize, the fake asks the SDK's MCP server.
    let request = fake.frame();
    assert_eq!(request["type"], "control_request");
    assert_eq!(request["request"], mcp);
    let id = request["request_id"].clone();
    assert_eq!(id.as_str().unwrap().len(), 36);
    let reply = json!({"mcp_response": {"jsonrpc": "2.0", "id": 0, "result": {}}});
    fake.answer(&id, reply.clone());
    let echoed = fake.frame();
    assert_eq!(echoed["type"], "fake_control_response");
    assert_eq!(echoed["request"], mcp);
    assert_eq!(
        echoed["response"],
        json!({"subtype": "success", "request_id": id, "response": reply})
    );
    let answer = fake.frame();
    assert_eq!(answer["response"]["request_id"], "req_1");
    assert_eq!(answer["response"]["subtype"], "success");

    fake.user("list files");
    assert_eq!(fake.frame()["subtype"], "init");
    let tool_use = fake.frame();
    assert_eq!(
        tool_use["message"]["content"],
        json!([{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}])
    );
    let request = fake.frame();
    assert_eq!(request["request"]["subtype"], "can_use_tool");
    let id = request["request_id"].clone();
    // An answer to an id the fake never sent is ignored.
    fake.answer(&json!("not-ours"), json!({"behavior": "deny"}));
    let allow = json!({"behavior": "allow", "updatedInput": {"command": "ls"}});
    fake.answer(&id, allow.clone());
    let echoed = fake.frame();
    assert_eq!(echoed["type"], "fake_control_response");
    assert_eq!(echoed["response"]["response"], allow);
    let tool_result = fake.frame();
    assert_eq!(tool_result["type"], "user");
    assert_eq!(
        tool_result["message"]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "file.txt", "is_error": false})
    );
    assert_eq!(fake.frame()["message"]["content"][0]["text"], "done");
    let result = fake.frame();
    assert_eq!(result["result"], "done");
    assert_eq!(result["num_turns"], 2);
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn error_answers_and_stream_closed_requests() {
    let script = Script::new().turn([
        Action::request(json!({"subtype": "hook_callback", "callback_id": "hook_0"})),
        Action::request(json!({"subtype": "can_use_tool", "tool_name": "Write"})),
        Action::result(),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.user("go");
    let request = fake.frame();
    let id = request["request_id"].clone();
    fake.send(&json!({"type": "control_response",
        "response": {"subtype": "error", "request_id": id, "error": "callback failed"}}));
    let echoed = fake.frame();
    assert_eq!(
        echoed["response"],
        json!({"subtype": "error", "request_id": id, "error": "callback failed"})
    );
    // stdin closes while the second request waits: it gives up, the turn goes on.
    assert_eq!(fake.frame()["request"]["subtype"], "can_use_tool");
    fake.close_stdin();
    let echoed = fake.frame();
    assert_eq!(echoed["type"], "fake_control_response");
    assert_eq!(echoed["response"], Value::Null);
    assert_eq!(echoed["stream_closed"], true);
    assert_eq!(fake.frame()["type"], "result");
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn async_requests_and_cancel() {
    let script = Script::new().turn([
        Action::request_async(json!({"subtype": "can_use_tool", "tool_name": "A"})),
        Action::request_async(json!({"subtype": "can_use_tool", "tool_name": "B"})),
        Action::cancel_last(),
        Action::request_async(json!({"subtype": "can_use_tool", "tool_name": "C"})),
        Action::await_responses(2),
        Action::result(),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.user("go");
    let a = fake.frame();
    let b = fake.frame();
    assert_eq!(b["request"]["tool_name"], "B");
    let cancel = fake.frame();
    assert_eq!(
        cancel,
        json!({"type": "control_cancel_request", "request_id": b["request_id"]})
    );
    let c = fake.frame();
    assert_eq!(c["request"]["tool_name"], "C");
    // The cancelled request's late answer is not counted; the others come in arrival order.
    fake.answer(&b["request_id"], json!({"behavior": "allow"}));
    fake.answer(
        &c["request_id"],
        json!({"behavior": "deny", "message": "C"}),
    );
    fake.answer(
        &a["request_id"],
        json!({"behavior": "deny", "message": "A"}),
    );
    let first = fake.frame();
    assert_eq!(first["request"]["tool_name"], "C");
    assert_eq!(first["response"]["response"]["message"], "C");
    let second = fake.frame();
    assert_eq!(second["request"]["tool_name"], "A");
    assert_eq!(fake.frame()["type"], "result");
    fake.close_stdin();
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn crash_before_init() {
    let script = Script::new().startup([
        Action::stderr("Error: cannot start (pid {{pid}})"),
        Action::exit(1),
    ]);
    let output = fake_command(Some(&script)).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("Error: cannot start (pid "), "{stderr}");
    assert!(!stderr.contains("{{pid}}"));
}

#[test]
fn bad_script_exits_2() {
    let mut command = fake_command(None);
    command.env(
        "FAKE_CLAUDE_SCRIPT",
        r#"{"turns": [[{"no_such_action": 1}]]}"#,
    );
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad inline script"));
}

#[test]
fn script_from_file() {
    let path = temp_path("script.json");
    let script = Script::new().turn([Action::text("from file")]);
    std::fs::write(&path, script.to_json()).unwrap();
    let mut command = fake_command(None);
    command.env("FAKE_CLAUDE_SCRIPT", &path);
    let mut fake = Fake::spawn(command);
    fake.user("x");
    assert_eq!(fake.frame()["message"]["content"][0]["text"], "from file");
    fake.close_stdin();
    assert_eq!(fake.wait().code(), Some(0));
    let _ = std::fs::remove_file(path);
}

#[test]
fn bad_lines_and_huge_lines_verbatim() {
    let frame = json!({"type": "assistant", "message": {"content": [{"type": "text", "text": "slow {{turn}}"}]}});
    let script = Script::new()
        .turn([
            Action::raw("[SandboxDebug] hello {{turn}}"),
            Action::raw("{not json"),
            Action::huge(3 * 1024 * 1024),
            Action::partial(frame, 7, 0),
            Action::stream_event(json!({"type": "message_start"})),
            Action::state("running"),
            Action::raw_no_newline("{\"type\":\"trunc"),
        ])
        .on_eof([]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    assert_eq!(fake.line(), "[SandboxDebug] hello {{turn}}");
    assert_eq!(fake.line(), "{not json");
    let huge = fake.frame();
    assert_eq!(huge["type"], "assistant");
    let text = huge["message"]["content"][0]["text"].as_str().unwrap();
    assert_eq!(text.len(), 3 * 1024 * 1024);
    assert!(text.bytes().all(|b| b == b'x'));
    assert_eq!(
        fake.frame(),
        json!({"type": "assistant", "message": {"content": [{"type": "text", "text": "slow 1"}]}})
    );
    let event = fake.frame();
    assert_eq!(event["type"], "stream_event");
    assert_eq!(event["event"], json!({"type": "message_start"}));
    let state = fake.frame();
    assert_eq!(
        (&state["subtype"], &state["state"]),
        (&json!("session_state_changed"), &json!("running"))
    );
    fake.close_stdin();
    // The unterminated last line, then EOF.
    assert_eq!(fake.line(), "{\"type\":\"trunc");
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn record_file() {
    let record = temp_path("record.jsonl");
    let mut command = fake_command(Some(&Script::new().on_eof([Action::exit(3)])));
    command
        .arg("--model")
        .arg("claude-x")
        .env("FAKE_CLAUDE_RECORD", &record)
        .env("ANTHROPIC_API_KEY", "sk-fake-key")
        .env("CLAUDE_CODE_ENTRYPOINT", "sdk-rs")
        .env("PWD", "/somewhere")
        .env("UNRELATED_VARIABLE", "1");
    let mut fake = Fake::spawn(command);
    fake.send_raw("not json at all");
    fake.user("hi");
    let init = fake.frame();
    assert_eq!(init["model"], "claude-x");
    assert_eq!(init["apiKeySource"], "ANTHROPIC_API_KEY");
    fake.frame();
    fake.frame();
    assert_eq!(fake.wait().code(), Some(3));
    let lines = read_record(&record);
    let mut argv: Vec<&str> = BASE_ARGS.to_vec();
    argv.extend(["--model", "claude-x"]);
    assert_eq!(lines[0], json!({ "argv": argv }));
    let env = lines[1]["env"].as_object().unwrap();
    assert_eq!(env["ANTHROPIC_API_KEY"], "sk-fake-key");
    assert_eq!(env["CLAUDE_CODE_ENTRYPOINT"], "sdk-rs");
    assert_eq!(env["PWD"], "/somewhere");
    assert!(!env.contains_key("UNRELATED_VARIABLE"));
    assert!(
        env.keys()
            .all(|k| k.starts_with("CLAUDE") || k.starts_with("ANTHROPIC") || k == "PWD")
    );
    assert_eq!(lines[2], json!({"stdin_raw": "not json at all"}));
    assert_eq!(lines[3]["stdin"]["type"], "user");
    assert_eq!(lines[3]["stdin"]["message"]["content"], "hi");
    assert_eq!(lines[4..], [json!({"eof": true}), json!({"exit": 3})]);
    let _ = std::fs::remove_file(record);
}

#[test]
fn error_result_then_exit_1() {
    let script = Script::new().turn([
        Action::init(),
        Action::tool_use("toolu_1", "Bash", json!({})),
        Action::result_with(json!({"subtype": "error_max_turns", "is_error": true,
            "errors": ["Reached maximum number of turns (1)"], "result": null})),
        Action::exit(1),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    fake.frame();
    fake.frame();
    let result = fake.frame();
    assert_eq!(result["subtype"], "error_max_turns");
    assert_eq!(result["is_error"], true);
    assert_eq!(
        result["errors"],
        json!(["Reached maximum number of turns (1)"])
    );
    assert!(result.get("result").is_none());
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(1));
}

#[test]
fn placeholders() {
    let echo = json!({"type": "echo", "prompt": "{{prompt}}", "session": "{{session_id}}",
        "turn": "turn {{turn}}", "pid": "{{pid}}", "unknown": "{{nope}}", "nested": ["{{turn}}"]});
    let script = Script::new().turn([Action::emit(echo.clone())]).turn([
        Action::emit(echo),
        Action::text("{{prompt}}!"),
        Action::result(),
    ]);
    let mut command = fake_command(Some(&script));
    command.arg("--session-id=3f0c5d1e-0000-4000-8000-000000000001");
    let mut fake = Fake::spawn(command);
    fake.user("first {{turn}}");
    let pid = fake.child.id().to_string();
    assert_eq!(
        fake.frame(),
        json!({"type": "echo", "prompt": "first {{turn}}",
            "session": "3f0c5d1e-0000-4000-8000-000000000001", "turn": "turn 1", "pid": pid,
            "unknown": "{{nope}}", "nested": ["1"]})
    );
    fake.send(&json!({"type": "user", "message": {"role": "user", "content": [
        {"type": "text", "text": "a"}, {"type": "image", "source": {}}, {"type": "text", "text": "b"}]}}));
    let echo = fake.frame();
    assert_eq!(echo["prompt"], "a\nb");
    assert_eq!(echo["turn"], "turn 2");
    let text = fake.frame();
    assert_eq!(text["message"]["content"][0]["text"], "a\nb!");
    assert_eq!(text["session_id"], "3f0c5d1e-0000-4000-8000-000000000001");
    assert_eq!(fake.frame()["result"], "a\nb!");
    fake.close_stdin();
    assert_eq!(fake.wait().code(), Some(0));

    // --resume gives the session id too.
    let mut command = fake_command(None);
    command.args(["--resume", "resumed-session"]);
    let mut fake = Fake::spawn(command);
    fake.user("x");
    assert_eq!(fake.frame()["session_id"], "resumed-session");
}

#[test]
fn on_eof_after_the_current_turn() {
    let script = Script::new()
        .turn([
            Action::wait_eof(),
            Action::text("after eof"),
            Action::result(),
        ])
        .on_eof([Action::emit(json!({"type": "bye"}))]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    fake.user("queued");
    fake.close_stdin();
    assert_eq!(fake.frame()["message"]["content"][0]["text"], "after eof");
    assert_eq!(fake.frame()["type"], "result");
    // The queued turn still runs (the default one), then on_eof.
    assert_eq!(fake.frame()["subtype"], "init");
    assert_eq!(
        fake.frame()["message"]["content"][0]["text"],
        "echo: queued"
    );
    assert_eq!(fake.frame()["type"], "result");
    assert_eq!(fake.frame(), json!({"type": "bye"}));
    fake.expect_eof();
    assert_eq!(fake.wait().code(), Some(0));
}

#[test]
fn broken_stdout_pipe_ends_quietly() {
    let script = Script::new().turn([Action::huge(1024 * 1024), Action::huge(1024 * 1024)]);
    let mut command = fake_command(Some(&script));
    command.stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut byte = [0u8; 1];
    {
        let stdin = child.stdin.as_mut().unwrap();
        writeln!(
            stdin,
            "{}",
            json!({"type": "user", "message": {"role": "user", "content": "x"}})
        )
        .unwrap();
    }
    stdout.read_exact(&mut byte).unwrap();
    drop(stdout);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[cfg(unix)]
fn kill(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn sigterm_exits_143() {
    let script = Script::new().turn([Action::text("ready"), Action::hang()]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    assert_eq!(fake.frame()["message"]["content"][0]["text"], "ready");
    kill(fake.child.id(), "TERM");
    assert_eq!(fake.child.wait().unwrap().code(), Some(143));
}

#[cfg(unix)]
#[test]
fn ignore_sigterm_needs_sigkill() {
    use std::os::unix::process::ExitStatusExt;
    let script = Script::new().turn([
        Action::ignore_sigterm(),
        Action::text("ready"),
        Action::hang(),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    assert_eq!(fake.frame()["message"]["content"][0]["text"], "ready");
    kill(fake.child.id(), "TERM");
    // The fake says on stderr that it got (and ignored) the signal.
    assert_eq!(
        fake.stderr_line(),
        "claude-kit-fake-claude: SIGTERM ignored\n"
    );
    // Still alive: the reader thread answers control requests; after stdin EOF it hangs on.
    fake.control("req_1", json!({"subtype": "mcp_status"}));
    assert_eq!(fake.frame()["response"]["request_id"], "req_1");
    fake.close_stdin();
    assert!(fake.child.try_wait().unwrap().is_none());
    fake.child.kill().unwrap();
    let status = fake.child.wait().unwrap();
    assert_eq!(status.signal(), Some(9));
}

#[cfg(unix)]
#[test]
fn sigint_interrupts_then_exits_0() {
    let script = Script::new().turn([
        Action::text("working"),
        Action::wait_interrupt(),
        Action::result_with(json!({"subtype": "error_during_execution", "is_error": true})),
    ]);
    let mut fake = Fake::start(Some(&script));
    fake.user("x");
    assert_eq!(fake.frame()["type"], "assistant");
    kill(fake.child.id(), "INT");
    assert_eq!(fake.frame()["subtype"], "error_during_execution");
    fake.expect_eof();
    // stdin is still open: the exit comes from the signal.
    assert_eq!(fake.child.wait().unwrap().code(), Some(0));
}

#[test]
fn script_json_round_trip() {
    let script = Script::new()
        .startup([Action::sleep_ms(0)])
        .initialize(Initialize::new().before([Action::request_async(json!({"subtype": "x"}))]))
        .turn([
            Action::init_with(json!({"model": "m"})),
            Action::huge(10),
            Action::partial(json!("raw"), 2, 1),
            Action::ignore_sigterm(),
            Action::await_responses(1),
            Action::cancel_last(),
            Action::wait_interrupt(),
        ])
        .default_turn([Action::result()])
        .on_eof([Action::exit(0)])
        .control("interrupt", ControlAnswer::response(json!({})));
    let json = script.to_json();
    assert_eq!(Script::from_json(&json).unwrap(), script);
    assert_eq!(
        script.to_value()["turns"][0][0],
        json!({"init": {"model": "m"}})
    );
    assert_eq!(
        script.to_value()["turns"][0][3],
        json!({"ignore_sigterm": true})
    );
    assert_eq!(
        Script::from_json(
            r#"{"turns":[[{"text":"hi"},{"result":{}}]],"control":{"x":{"ignore":true}}}"#
        )
        .unwrap(),
        Script::new()
            .turn([Action::text("hi"), Action::result()])
            .control("x", ControlAnswer::ignore())
    );
    assert!(Script::from_json(r#"{"turnz": []}"#).is_err());
}

#[test]
fn path_finds_the_built_binary() {
    let found = fake_cli::path();
    assert_eq!(
        found.canonicalize().unwrap(),
        PathBuf::from(BIN).canonicalize().unwrap()
    );
}
