//! Finding the Claude Code CLI.
//!
//! [`find_cli`] looks for the `claude` binary the way the official Agent SDKs do, plus this
//! workspace's conventions, and stops at the first candidate that is an existing file (and,
//! on unix, executable):
//!
//! 1. the path the caller gave ([`CliSearch::explicit`]): when set, nothing else is tried;
//! 2. the environment variable [`ENV_VAR`] (`CLAUDE_CODE_PATH`): when set, nothing below is
//!    tried, so CI can pin a cached binary;
//! 3. `claude` in each absolute directory of `PATH`, in order;
//! 4. the official SDKs' usual install locations under the home directory
//!    ([`CliSearch::home`]): `~/.npm-global/bin/claude`, `/usr/local/bin/claude`,
//!    `~/.local/bin/claude`, `~/node_modules/.bin/claude`, `~/.yarn/bin/claude`,
//!    `~/.claude/local/claude` (on Windows only `~\.local\bin\claude.exe`, as the Python SDK);
//! 5. the pinned install of this workspace ([`pinned_install`]):
//!    `target/claude-code/node_modules/@anthropic-ai/claude-code-<platform>/claude` under the
//!    workspace root, then under the current directory ([`CliSearch::roots`]).
//!
//! When nothing is found the error is [`Error::CliNotFound`], listing every path tried, in
//! order; its message ends with the command that installs the CLI.
//!
//! The search itself is pure: [`CliSearch`] holds every input (explicit path, override, `PATH`,
//! home, roots), [`CliSearch::from_env`] fills them from the process, and
//! [`CliSearch::candidates`] / [`CliSearch::find`] only look at the file system.
//!
//! ```
//! use claude_kit_code::discover::{CliSearch, find_cli};
//!
//! match find_cli(None) {
//!     Ok(cli) => println!("using {}", cli.display()),
//!     Err(error) => println!("{error}"), // lists what was searched, and how to install
//! }
//!
//! // The same search over an environment of your choosing: here an empty one.
//! let search = CliSearch::new().path_var("").home("/nonexistent-home");
//! assert!(search.find().is_err());
//! ```
//!
//! On Windows, discovery picks only native `claude.exe` files: npm's `claude.cmd` shim runs
//! through `cmd.exe`, which re-parses the arguments (a prompt is an argument), so, like the
//! Python SDK, we never choose it on our own. An explicit path or `CLAUDE_CODE_PATH` may still
//! name one.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use claude_kit_core::Error;

/// The version of the Claude Code CLI this crate is tested against, and that the workspace's
/// install script pins (`npm install @anthropic-ai/claude-code@2.1.328`).
pub const PINNED_VERSION: &str = "2.1.328";

/// The environment variable that names the CLI binary and overrides every other place.
pub const ENV_VAR: &str = "CLAUDE_CODE_PATH";

/// The file name of the CLI binary on this platform: `claude`, or `claude.exe` on Windows.
pub const BINARY_NAME: &str = if cfg!(windows) {
    "claude.exe"
} else {
    "claude"
};

/// The npm package that holds the native CLI binary for the platform this crate was built
/// for (`@anthropic-ai/claude-code-linux-x64`, `…-linux-x64-musl`, `…-linux-arm64`,
/// `…-linux-arm64-musl`, `…-darwin-x64`, `…-darwin-arm64`, `…-win32-x64`, `…-win32-arm64`).
///
/// On a platform without a native package this is the wrapper package
/// `@anthropic-ai/claude-code`, whose `bin/claude.exe` npm's postinstall replaces by the
/// native binary when there is one.
///
/// ```
/// assert!(claude_kit_code::discover::PLATFORM_PACKAGE.starts_with("@anthropic-ai/claude-code"));
/// ```
pub const PLATFORM_PACKAGE: &str = platform::PACKAGE;

/// The path of the binary inside [`PLATFORM_PACKAGE`].
const PACKAGE_BINARY: &str = platform::BINARY;

mod platform {
    #[cfg(all(target_os = "linux", target_arch = "x86_64", not(target_env = "musl")))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-linux-x64";
    #[cfg(all(target_os = "linux", target_arch = "x86_64", target_env = "musl"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-linux-x64-musl";
    #[cfg(all(target_os = "linux", target_arch = "aarch64", not(target_env = "musl")))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-linux-arm64";
    #[cfg(all(target_os = "linux", target_arch = "aarch64", target_env = "musl"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-linux-arm64-musl";
    #[cfg(all(target_os = "macos", target_arch = "x86_64"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-darwin-x64";
    #[cfg(all(target_os = "macos", target_arch = "aarch64"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-darwin-arm64";
    #[cfg(all(windows, target_arch = "x86_64"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-win32-x64";
    #[cfg(all(windows, target_arch = "aarch64"))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code-win32-arm64";

    #[cfg(any(
        all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(
            target_os = "macos",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(windows, any(target_arch = "x86_64", target_arch = "aarch64")),
    ))]
    pub const BINARY: &str = super::BINARY_NAME;

    #[cfg(not(any(
        all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(
            target_os = "macos",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(windows, any(target_arch = "x86_64", target_arch = "aarch64")),
    )))]
    pub const PACKAGE: &str = "@anthropic-ai/claude-code";
    #[cfg(not(any(
        all(
            target_os = "linux",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(
            target_os = "macos",
            any(target_arch = "x86_64", target_arch = "aarch64")
        ),
        all(windows, any(target_arch = "x86_64", target_arch = "aarch64")),
    )))]
    pub const BINARY: &str = "bin/claude.exe";
}

/// The pinned install's binary relative to a root directory:
/// `target/claude-code/node_modules/<PLATFORM_PACKAGE>/claude`.
///
/// ```
/// use std::path::Path;
/// use claude_kit_code::discover::pinned_install_under;
///
/// let binary = pinned_install_under(Path::new("/repo"));
/// assert!(binary.starts_with("/repo/target/claude-code/node_modules/@anthropic-ai"));
/// ```
pub fn pinned_install_under(root: &Path) -> PathBuf {
    let mut path = root.join("target").join("claude-code").join("node_modules");
    path.extend(PLATFORM_PACKAGE.split('/'));
    path.extend(PACKAGE_BINARY.split('/'));
    path
}

/// The root of the workspace this crate was built in (`CARGO_MANIFEST_DIR/../..`).
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    match manifest.parent().and_then(Path::parent) {
        Some(root) => root.to_path_buf(),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")),
    }
}

/// The binary of this workspace's pinned install, `target/claude-code/…` under the workspace
/// root, whether or not it exists (the install script puts it there).
///
/// ```
/// let binary = claude_kit_code::discover::pinned_install();
/// assert!(binary.ends_with(claude_kit_code::discover::BINARY_NAME)
///     || binary.ends_with("bin/claude.exe"));
/// ```
pub fn pinned_install() -> PathBuf {
    pinned_install_under(&workspace_root())
}

/// Finds the Claude Code CLI: `explicit` when given, else [`ENV_VAR`], else `PATH`, the usual
/// install locations and the pinned install (see the [module docs](self)).
///
/// # Errors
///
/// [`Error::CliNotFound`] with every path tried, in order (only `explicit`, or only the
/// override, when one of them is set).
///
/// ```
/// use std::path::Path;
/// use claude_kit_core::Error;
/// use claude_kit_code::discover::find_cli;
///
/// let missing = Path::new("/nonexistent/claude");
/// match find_cli(Some(missing)) {
///     Err(Error::CliNotFound { searched }) => assert_eq!(searched, [missing]),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn find_cli(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    CliSearch::from_env(explicit).find()
}

/// The inputs of a CLI search, so that it can run over any environment (see the
/// [module docs](self) for the order).
///
/// [`CliSearch::from_env`] reads them from the process; [`CliSearch::new`] starts from
/// nothing, for tests and sandboxes.
///
/// ```
/// use claude_kit_code::discover::CliSearch;
///
/// let search = CliSearch::new().path_var("/opt/a:/opt/b").home("/home/me");
/// let candidates = search.candidates();
/// assert_eq!(candidates[0], std::path::Path::new("/opt/a").join(claude_kit_code::discover::BINARY_NAME));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CliSearch {
    /// A path the caller chose; when set, it is the only candidate.
    pub explicit: Option<PathBuf>,
    /// The value of [`ENV_VAR`]; when set (and `explicit` is not), the only candidate.
    pub env_override: Option<PathBuf>,
    /// The value of `PATH`, in the platform's `PATH` syntax.
    pub path_var: Option<OsString>,
    /// The home directory, for the usual install locations.
    pub home: Option<PathBuf>,
    /// The directories under which the pinned install is looked for, in order
    /// ([`pinned_install_under`] each).
    pub roots: Vec<PathBuf>,
}

impl CliSearch {
    /// A search with no input at all: it finds only what you add.
    pub fn new() -> Self {
        Self::default()
    }

    /// The search [`find_cli`] runs: `explicit`, then `CLAUDE_CODE_PATH`, `PATH`, the home
    /// directory, and as roots the workspace root and the current directory. Empty variables
    /// count as unset.
    pub fn from_env(explicit: Option<&Path>) -> Self {
        let non_empty = |value: Option<OsString>| value.filter(|value| !value.is_empty());
        let mut roots = vec![workspace_root()];
        if let Ok(current) = std::env::current_dir() {
            roots.push(current);
        }
        Self {
            explicit: explicit.map(Path::to_path_buf),
            env_override: non_empty(std::env::var_os(ENV_VAR)).map(PathBuf::from),
            path_var: std::env::var_os("PATH"),
            home: std::env::home_dir().filter(|home| !home.as_os_str().is_empty()),
            roots,
        }
    }

    /// Sets the path the caller chose.
    #[must_use]
    pub fn explicit(mut self, path: impl Into<PathBuf>) -> Self {
        self.explicit = Some(path.into());
        self
    }

    /// Sets the override that [`ENV_VAR`] would give.
    #[must_use]
    pub fn env_override(mut self, path: impl Into<PathBuf>) -> Self {
        self.env_override = Some(path.into());
        self
    }

    /// Sets the `PATH` to search.
    #[must_use]
    pub fn path_var(mut self, path: impl Into<OsString>) -> Self {
        self.path_var = Some(path.into());
        self
    }

    /// Sets the home directory.
    #[must_use]
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }

    /// Adds a root under which the pinned install is looked for, after the others.
    #[must_use]
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.roots.push(root.into());
        self
    }

    /// Every path the search would try, in order, without duplicates: only the explicit path
    /// or only the override when one is set.
    pub fn candidates(&self) -> Vec<PathBuf> {
        if let Some(explicit) = &self.explicit {
            return vec![explicit.clone()];
        }
        if let Some(path) = &self.env_override {
            return vec![path.clone()];
        }
        let mut candidates = Vec::new();
        let mut push = |path: PathBuf| {
            if !candidates.contains(&path) {
                candidates.push(path);
            }
        };
        if let Some(path_var) = &self.path_var {
            // A relative entry (`.` or an empty one) would resolve against whatever the
            // current directory is, where a checkout could plant a `claude`: skipped, as the
            // Python SDK does on Windows.
            for dir in std::env::split_paths(path_var) {
                if dir.is_absolute() {
                    push(dir.join(BINARY_NAME));
                }
            }
        }
        if let Some(home) = &self.home {
            for location in usual_locations(home) {
                push(location);
            }
        }
        for root in &self.roots {
            push(pinned_install_under(root));
        }
        candidates
    }

    /// Runs the search: the first of [`candidates`](Self::candidates) that is an existing
    /// file (executable, on unix).
    ///
    /// A bare file name (`claude`, relative to the current directory) comes back as
    /// `./claude`, so that spawning it runs that file and does not search `PATH`.
    ///
    /// # Errors
    ///
    /// [`Error::CliNotFound`] listing the candidates, in order.
    pub fn find(&self) -> Result<PathBuf, Error> {
        let searched = self.candidates();
        match searched.iter().find(|path| is_runnable_file(path)) {
            Some(found) => Ok(spawnable(found)),
            None => Err(Error::CliNotFound { searched }),
        }
    }
}

/// `./name` for a bare `name`, which a spawn would otherwise look up in `PATH`.
fn spawnable(found: &Path) -> PathBuf {
    if found.parent() == Some(Path::new("")) {
        Path::new(".").join(found)
    } else {
        found.to_path_buf()
    }
}

/// The official SDKs' usual install locations, in their order.
fn usual_locations(home: &Path) -> Vec<PathBuf> {
    if cfg!(windows) {
        vec![home.join(".local").join("bin").join("claude.exe")]
    } else {
        vec![
            home.join(".npm-global/bin/claude"),
            PathBuf::from("/usr/local/bin/claude"),
            home.join(".local/bin/claude"),
            home.join("node_modules/.bin/claude"),
            home.join(".yarn/bin/claude"),
            home.join(".claude/local/claude"),
        ]
    }
}

/// An existing file (through symlinks), with an execute bit on unix.
fn is_runnable_file(path: &Path) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    if !metadata.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.subsec_nanos());
            let name = format!(
                "claude-kit-discover-{}-{}-{nanos}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            let path = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        fn path(&self) -> &Path {
            &self.0
        }

        /// Creates `relative` (and its parents) as a file, executable when asked.
        fn file(&self, relative: impl AsRef<Path>, executable: bool) -> PathBuf {
            let path = self.0.join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = if executable { 0o755 } else { 0o644 };
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
            #[cfg(not(unix))]
            let _ = executable;
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn join_paths(dirs: &[&Path]) -> OsString {
        std::env::join_paths(dirs).unwrap()
    }

    fn searched(error: Error) -> Vec<PathBuf> {
        match error {
            Error::CliNotFound { searched } => searched,
            other => panic!("expected CliNotFound, got {other:?}"),
        }
    }

    /// Everything present: PATH, home and root each hold an executable `claude`.
    fn full_layout(tmp: &TempDir) -> (CliSearch, PathBuf, PathBuf, PathBuf) {
        let bin = tmp.path().join("bin");
        let on_path = tmp.file(bin.join(BINARY_NAME), true);
        let home = tmp.path().join("home");
        let in_home = tmp.file(&usual_locations(&home)[0], true);
        let root = tmp.path().join("root");
        let pinned = pinned_install_under(&root);
        let pinned = tmp.file(pinned, true);
        let search = CliSearch::new()
            .path_var(join_paths(&[&bin]))
            .home(&home)
            .root(&root);
        (search, on_path, in_home, pinned)
    }

    #[test]
    fn explicit_path_wins_over_everything() {
        let tmp = TempDir::new();
        let (search, ..) = full_layout(&tmp);
        let explicit = tmp.file("mine/claude-custom", true);
        let override_ = tmp.file("override/claude", true);
        let search = search.env_override(&override_).explicit(&explicit);
        assert_eq!(search.find().unwrap(), explicit);
    }

    #[test]
    fn missing_explicit_path_is_the_only_one_searched() {
        let tmp = TempDir::new();
        let (search, ..) = full_layout(&tmp);
        let missing = tmp.path().join("nope/claude");
        let error = search.clone().explicit(&missing).find().unwrap_err();
        assert_eq!(searched(error), [missing]);

        // A directory is not a file either.
        let error = search.explicit(tmp.path()).find().unwrap_err();
        assert_eq!(searched(error), [tmp.path()]);
    }

    #[test]
    fn env_override_wins_over_path_and_is_exclusive() {
        let tmp = TempDir::new();
        let (search, ..) = full_layout(&tmp);
        let override_ = tmp.file("override/claude", true);
        assert_eq!(
            search.clone().env_override(&override_).find().unwrap(),
            override_
        );

        let missing = tmp.path().join("override/missing");
        let error = search.env_override(&missing).find().unwrap_err();
        assert_eq!(searched(error), [missing]);
    }

    #[test]
    fn path_wins_over_home_and_pinned() {
        let tmp = TempDir::new();
        let (search, on_path, in_home, pinned) = full_layout(&tmp);
        assert_eq!(search.find().unwrap(), on_path);

        std::fs::remove_file(&on_path).unwrap();
        assert_eq!(search.find().unwrap(), in_home);

        std::fs::remove_file(&in_home).unwrap();
        assert_eq!(search.find().unwrap(), pinned);

        std::fs::remove_file(&pinned).unwrap();
        assert!(matches!(search.find(), Err(Error::CliNotFound { .. })));
    }

    #[test]
    fn path_directories_are_tried_in_order() {
        let tmp = TempDir::new();
        let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
        std::fs::create_dir_all(&first).unwrap();
        let in_second = tmp.file(second.join(BINARY_NAME), true);
        let search = CliSearch::new().path_var(join_paths(&[&first, &second]));
        assert_eq!(search.find().unwrap(), in_second);
        let in_first = tmp.file(first.join(BINARY_NAME), true);
        assert_eq!(search.find().unwrap(), in_first);
    }

    #[test]
    fn home_locations_keep_the_sdk_order() {
        let tmp = TempDir::new();
        let home = tmp.path().join("home");
        let locations = usual_locations(&home);
        let search = CliSearch::new().home(&home);
        // A real CLI in /usr/local/bin shadows the locations after it.
        let system = locations
            .iter()
            .position(|location| !location.starts_with(&home) && is_runnable_file(location));
        let tried = &locations[..system.unwrap_or(locations.len())];
        // Create them from last to first: each new one must win.
        for location in tried.iter().rev() {
            if location.starts_with(&home) {
                let created = tmp.file(location, true);
                assert_eq!(search.find().unwrap(), created);
            }
        }
    }

    #[test]
    fn the_workspace_root_comes_before_the_current_directory() {
        let tmp = TempDir::new();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let in_b = tmp.file(pinned_install_under(&b), true);
        let search = CliSearch::new().root(&a).root(&b);
        assert_eq!(search.find().unwrap(), in_b);
        let in_a = tmp.file(pinned_install_under(&a), true);
        assert_eq!(search.find().unwrap(), in_a);
    }

    #[cfg(unix)]
    #[test]
    fn non_executable_files_are_skipped() {
        let tmp = TempDir::new();
        let (search, on_path, in_home, _) = full_layout(&tmp);
        tmp.file(&on_path, false);
        assert_eq!(search.find().unwrap(), in_home);

        let plain = tmp.file("plain/claude", false);
        let error = search.explicit(&plain).find().unwrap_err();
        assert_eq!(searched(error), [plain]);
    }

    #[test]
    fn a_bare_file_name_comes_back_as_a_path() {
        assert_eq!(
            spawnable(Path::new("claude")),
            Path::new(".").join("claude")
        );
        assert_eq!(spawnable(Path::new("bin/claude")), Path::new("bin/claude"));
        assert_eq!(spawnable(Path::new("/x/claude")), Path::new("/x/claude"));
    }

    #[test]
    fn relative_path_entries_are_ignored() {
        let tmp = TempDir::new();
        let bin = tmp.path().join("bin");
        let search = CliSearch::new().path_var(join_paths(&[Path::new("relative"), &bin]));
        assert_eq!(search.candidates(), [bin.join(BINARY_NAME)]);
    }

    #[test]
    fn the_error_lists_every_candidate_in_order_once() {
        let tmp = TempDir::new();
        let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
        let home = tmp.path().join("home");
        let root = tmp.path().join("root");
        let search = CliSearch::new()
            .path_var(join_paths(&[&one, &two, &one]))
            .home(&home)
            .root(&root)
            .root(&root);
        let mut expected = vec![one.join(BINARY_NAME), two.join(BINARY_NAME)];
        expected.extend(usual_locations(&home));
        expected.push(pinned_install_under(&root));
        if !cfg!(windows) && Path::new("/usr/local/bin/claude").exists() {
            // This machine has a real CLI there: the list is still the same.
            assert_eq!(search.candidates(), expected);
            return;
        }
        let error = search.find().unwrap_err();
        let text = error.to_string();
        assert_eq!(searched(error), expected);
        assert!(text.contains("install it with"), "{text}");
    }

    #[test]
    fn pinned_install_names_the_platform_package() {
        let pinned = pinned_install();
        let text = pinned.to_string_lossy().replace('\\', "/");
        assert!(
            text.contains(&format!(
                "target/claude-code/node_modules/{PLATFORM_PACKAGE}/"
            )),
            "{text}"
        );
        assert!(pinned.starts_with(workspace_root()));
        assert!(workspace_root().join("Cargo.toml").exists());
        #[cfg(all(target_os = "linux", target_arch = "x86_64", not(target_env = "musl")))]
        assert!(text.ends_with("@anthropic-ai/claude-code-linux-x64/claude"));
    }

    #[test]
    fn from_env_reads_the_process() {
        let search = CliSearch::from_env(Some(Path::new("/x/claude")));
        assert_eq!(search.explicit.as_deref(), Some(Path::new("/x/claude")));
        assert_eq!(search.roots.first(), Some(&workspace_root()));
        assert_eq!(search.path_var, std::env::var_os("PATH"));
    }
}
