//! What the tests of the sessions modules share: temp dirs, and the fixture store with what
//! the Python SDK read from it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::store::file_name;
use super::{ListSessions, SessionInfo, SessionMessage, SessionMessages};

pub(super) const PROJECT: &str = "/nonexistent-claude-kit/project";

pub(super) fn long_project() -> String {
    format!("/nonexistent-claude-kit/{}", "x".repeat(250))
}

/// A directory under the system temp dir, removed on drop.
pub(super) struct TempDir(PathBuf);

impl TempDir {
    pub(super) fn new() -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos());
        let name = format!(
            "claude-kit-sessions-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(super) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sessions")
}

/// What `python-reference.py` recorded from the Python SDK on the fixture store.
pub(super) fn expected() -> Value {
    let text = std::fs::read_to_string(fixtures().join("expected-python.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

pub(super) fn set_mtime(path: &Path, seconds: f64) {
    let time = UNIX_EPOCH + Duration::from_secs_f64(seconds);
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(time).unwrap();
}

/// The fixture store copied to a temp dir, with the modification times the Python
/// reference run gave it.
pub(super) fn fixture_store() -> (TempDir, PathBuf) {
    let expected = expected();
    let tmp = TempDir::new();
    let config = tmp.path().join("config");
    copy_tree(&fixtures().join("config"), &config);
    let default = expected["default_mtime"].as_f64().unwrap();
    let mut stack = vec![config.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = file_name(&path);
            let stem = name.split('.').next().unwrap();
            let mtime = match &expected["mtimes"][stem] {
                Value::Object(by_project) => by_project[&file_name(&dir)].as_f64().unwrap(),
                Value::Number(n) => n.as_f64().unwrap(),
                _ => default,
            };
            set_mtime(&path, mtime);
        }
    }
    (tmp, config)
}

pub(super) fn expected_infos(key: &str) -> Vec<SessionInfo> {
    serde_json::from_value(expected()[key].clone()).unwrap()
}

pub(super) fn expected_messages(key: &str) -> Vec<SessionMessage> {
    serde_json::from_value(expected()[key].clone()).unwrap()
}

pub(super) fn list(config: &Path) -> ListSessions {
    ListSessions::new()
        .config_dir(config)
        .include_worktrees(false)
}

pub(super) fn messages(config: &Path) -> SessionMessages {
    SessionMessages::new()
        .config_dir(config)
        .include_worktrees(false)
}
