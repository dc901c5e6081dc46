//! The other worktrees of a git repository, whose sessions belong with a directory's.

use std::io::Read;
use std::time::Duration;

/// How long `git worktree list` may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most of `git worktree list`'s output that is read.
const GIT_OUTPUT_LIMIT: u64 = 1 << 20;

/// The worktrees of the git repository holding `dir` (`git worktree list --porcelain`),
/// empty when git is missing, fails, or takes more than 5 s.
pub(super) fn git_worktree_paths(dir: &str) -> Vec<String> {
    use std::process::{Command, Stdio};

    let Ok(mut child) = Command::new("git")
        .args(["worktree", "list", "--porcelain"])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    else {
        return Vec::new();
    };
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        let _ = child.wait();
        return Vec::new();
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut output = Vec::new();
        let _ = stdout.take(GIT_OUTPUT_LIMIT).read_to_end(&mut output);
        let _ = sender.send(output);
    });
    let output = receiver.recv_timeout(GIT_TIMEOUT).ok();
    if output.is_none() {
        let _ = child.kill();
    }
    let status = child.wait();
    match (output, status) {
        (Some(output), Ok(status)) if status.success() => {
            parse_worktree_list(&String::from_utf8_lossy(&output))
        }
        _ => Vec::new(),
    }
}

/// The `worktree <path>` lines of `git worktree list --porcelain`.
fn parse_worktree_list(output: &str) -> Vec<String> {
    output
        .split('\n')
        .filter_map(|line| line.strip_prefix("worktree "))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_porcelain_worktree_list() {
        let output = "worktree /repo/main\nHEAD 0123\nbranch refs/heads/main\n\n\
                      worktree /repo/with space\nHEAD 4567\ndetached\n\n";
        assert_eq!(
            parse_worktree_list(output),
            ["/repo/main", "/repo/with space"]
        );
        // A directory that does not exist: git cannot even start there.
        assert!(git_worktree_paths("/nonexistent-claude-kit/none").is_empty());
    }
}
