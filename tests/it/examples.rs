//! Every example runs offline (against its embedded mock server) on every runtime, and prints
//! what it should.
//!
//! `cargo test` builds the examples with the same features as the tests (`--all-features`:
//! all three runtimes); `CLAUDE_KIT_RUNTIME` picks the one each run uses. CI also runs the
//! quickstart built with each single runtime feature.

use std::path::PathBuf;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// Example name, and text its standard output must contain.
const EXAMPLES: &[(&str, &str)] = &[
    ("quickstart", "You said: Hello"),
    ("streaming", "lighthouse"),
    ("final_message", "\"type\":\"message\""),
    ("retry_backoff", "after a few retries"),
    ("timeouts", "cancelled"),
    ("client_lifecycle", "closed: true"),
    ("parallel_queries", "3. Hello!"),
    ("spawn_tasks", "detached task succeeded: true"),
    ("rate_limited", "10 answers, at most 3 at once"),
    ("response_stream", "Response: Hello!"),
    ("error_handling", "2 succeeded, 1 failed"),
    ("cancellation", "cancelled after 500 ms"),
    ("sync_bridge", "refused inside async code"),
    ("runtime_check", "inside a spawned task: Some("),
    ("blocking_work", "checksum computed off the async threads"),
    ("client_pool", "clients available again: 3 of 3"),
    ("producer_consumer", "9 items processed"),
    ("task_group", "first error cancelled the group"),
    ("batch_progress", "cancelled: [1, 3, 5]"),
    ("batch", "results: 20 succeeded, 1 errored"),
    ("chatbot", "demo: 2 turns"),
    ("tools_agent", "The tool said:"),
];

/// The Claude Code examples, run here with the fake CLI (`CLAUDE_CODE_PATH`), which echoes
/// prompts; the end-to-end tests run them with the real CLI. Example, arguments, expected
/// stdout.
const AGENT_EXAMPLES: &[(&str, &[&str], &str)] = &[
    (
        "agent_query",
        &["--max-turns", "2", "Hello"],
        "\nresult: echo: Hello\n",
    ),
    ("agent_client", &[], "turn 4: echo: Say hello."),
    ("agent_tools", &[], "PreToolUse hook saw: []"),
    ("agent_parallel", &[], "warm pool: 1 handed out"),
    (
        "backend_switch",
        &[],
        "Claude Code: map_concurrent: 3 of 3 answered",
    ),
];

const RUNTIMES: &[&str] = &["tokio", "smol", "async-std"];

fn examples_dir() -> PathBuf {
    // target/<profile>/deps/examples-<hash> → target/<profile>/examples
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().join("examples")
}

fn run(example: &str, runtime: &str) -> (bool, String, String) {
    run_with_input(example, runtime, None)
}

/// Runs an example, feeding it `input` on standard input (or none at all).
fn run_with_input(example: &str, runtime: &str, input: Option<&str>) -> (bool, String, String) {
    run_with(example, runtime, input, &[], None)
}

/// Runs an example with arguments, and with `CLAUDE_CODE_PATH` set when `cli` is given.
fn run_with(
    example: &str,
    runtime: &str,
    input: Option<&str>,
    args: &[&str],
    cli: Option<&std::path::Path>,
) -> (bool, String, String) {
    let path = examples_dir().join(format!("{example}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} was not built; run the tests with cargo test",
        path.display()
    );
    let mut command = Command::new(&path);
    if let Some(cli) = cli {
        command.env("CLAUDE_CODE_PATH", cli);
    }
    let mut child = command
        .args(args)
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env("CLAUDE_KIT_RUNTIME", runtime)
        .stdin(if input.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(input) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        // Dropping stdin closes it: the example sees the end of its input.
    }
    // Every example finishes in a few seconds; a hang fails the test instead of stalling it.
    let pid = child.id();
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let Ok(output) = outcome.recv_timeout(Duration::from_secs(60)) else {
        let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        panic!("{example} on {runtime} did not finish within 60 s");
    };
    let output = output.unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn every_example_runs_offline_on_every_runtime() {
    // One thread per runtime; each runs the examples one after another.
    std::thread::scope(|scope| {
        for runtime in RUNTIMES {
            scope.spawn(move || {
                for (example, expected) in EXAMPLES {
                    let (ok, stdout, stderr) = run(example, runtime);
                    assert!(ok, "{example} on {runtime} failed:\n{stdout}\n{stderr}");
                    assert!(
                        stdout.contains(expected),
                        "{example} on {runtime}: expected {expected:?} in\n{stdout}\n{stderr}"
                    );
                    assert!(
                        stderr.contains("embedded mock server"),
                        "{example} on {runtime} ran offline"
                    );
                    if *example == "runtime_check" {
                        assert!(
                            stdout.contains(&format!("inside block_on: Some(\"{runtime}\")")),
                            "{stdout}"
                        );
                    }
                }
            });
        }
    });
}

#[test]
#[cfg(feature = "backend-code")]
fn every_agent_example_runs_offline_on_every_runtime() {
    let fake = claude_kit_mock::fake_cli::path();
    std::thread::scope(|scope| {
        for runtime in RUNTIMES {
            let fake = &fake;
            scope.spawn(move || {
                for (example, args, expected) in AGENT_EXAMPLES {
                    let (ok, stdout, stderr) = run_with(example, runtime, None, args, Some(fake));
                    assert!(ok, "{example} on {runtime} failed:\n{stdout}\n{stderr}");
                    assert!(
                        stdout.contains(expected),
                        "{example} on {runtime}: expected {expected:?} in\n{stdout}\n{stderr}"
                    );
                    assert!(
                        stderr.contains("embedded mock server"),
                        "{example} on {runtime} ran offline"
                    );
                }
            });
        }
    });
}

#[test]
#[cfg(feature = "backend-code")]
fn agent_query_keeps_its_interface() {
    let fake = claude_kit_mock::fake_cli::path();
    // The last stdout line is `result: ` and the text with each newline replaced by a space
    // (the fake echoes the prompt); the exit status says whether the result is an error.
    let (ok, stdout, _) = run_with(
        "agent_query",
        "smol",
        None,
        &["line one\nline two "],
        Some(&fake),
    );
    assert!(ok);
    assert_eq!(
        stdout.lines().last(),
        Some("result: echo: line one line two ")
    );
    // Without a CLI: exit 1 and the typed error, which says where it looked and how to install.
    let missing = std::path::Path::new("/nonexistent/claude");
    let (ok, stdout, stderr) = run_with("agent_query", "tokio", None, &["Hello"], Some(missing));
    assert!(!ok);
    assert!(!stdout.contains("result:"), "{stdout}");
    assert!(
        stderr.contains("/nonexistent/claude") && stderr.contains("install-claude-code.sh"),
        "{stderr}"
    );
}

#[test]
fn every_example_file_is_covered() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    files.sort();
    let mut covered: Vec<String> = EXAMPLES
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .chain(AGENT_EXAMPLES.iter().map(|(name, _, _)| (*name).to_owned()))
        .collect();
    covered.sort();
    assert_eq!(files, covered, "every example must be run by this test");
}

#[test]
fn the_chatbot_follows_a_scripted_conversation_on_every_runtime() {
    let script = "My name is Ada.\n/usage\n/reset\nWhat is my name?\n/quit\nnever read\n";
    for runtime in RUNTIMES {
        let (ok, stdout, stderr) = run_with_input("chatbot", runtime, Some(script));
        assert!(ok, "chatbot on {runtime} failed:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("You said: My name is Ada."),
            "{runtime}: {stdout}"
        );
        assert!(
            stdout.contains("You said: What is my name?"),
            "{runtime}: {stdout}"
        );
        assert!(stdout.contains("usage:"), "{runtime}: {stdout}");
        assert!(
            !stdout.contains("never read"),
            "{runtime}: /quit ends the chat: {stdout}"
        );
        assert!(
            !stdout.contains("demo: 2 turns"),
            "{runtime}: input was given, so no demo: {stdout}"
        );
    }
}
