//! `claude-kit-fake-claude`: a fake Claude Code CLI speaking the stream-json protocol, driven by
//! the JSON script in `FAKE_CLAUDE_SCRIPT` (see `claude_kit_mock::fake_cli`). Accepts any argv.
#![forbid(unsafe_code)]

fn main() {
    claude_kit_mock::fake_cli::run()
}
