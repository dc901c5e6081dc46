#!/usr/bin/env bash
# Installs the pinned Claude Code CLI (npm package @anthropic-ai/claude-code) into
# <workspace>/target/claude-code/ and prints the path of its native binary on the last line of
# stdout, so a caller can do:
#
#   CLAUDE_CODE_PATH="$(scripts/install-claude-code.sh | tail -n 1)"
#
# Usage (from any directory):
#   scripts/install-claude-code.sh             # installs 2.1.328 (or does nothing if present)
#   CLAUDE_CODE_VERSION=2.1.328 scripts/install-claude-code.sh
#   scripts/install-claude-code.sh --force     # reinstalls even if the binary is there
#
# - Idempotent: when the platform binary already answers `claude -v` with the pinned version,
#   nothing is downloaded.
# - The binary comes from the platform package (an optional dependency of the main package):
#   @anthropic-ai/claude-code-{linux-x64,linux-x64-musl,linux-arm64,linux-arm64-musl,
#   darwin-x64,darwin-arm64}. The `node_modules/.bin/claude` stub is not used.
# - Needs npm (any Node; npm's EBADENGINE warning about node >= 22 is harmless: the binary
#   embeds its own runtime). Progress and npm's output go to stderr.
set -euo pipefail

version="${CLAUDE_CODE_VERSION:-2.1.328}"
force=0
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -h | --help)
            sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "install-claude-code: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

die() {
    echo "install-claude-code: $*" >&2
    exit 1
}

# The workspace is the parent of this script's folder, whatever the caller's cwd.
script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
workspace="$(cd -- "$script_dir/.." && pwd -P)"
[ -f "$workspace/Cargo.toml" ] || die "cannot find the workspace (no Cargo.toml in $workspace)"
dest="$workspace/target/claude-code"

# The platform package for this machine.
os="$(uname -s)"
arch="$(uname -m)"
case "$arch" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "unsupported CPU architecture: $arch" ;;
esac
case "$os" in
    Linux)
        libc=""
        # musl systems (Alpine, ...) need the -musl build.
        if [ -e /etc/alpine-release ] || (ldd --version 2>&1 | grep -qi musl); then
            libc="-musl"
        fi
        platform="linux-$arch$libc"
        ;;
    Darwin) platform="darwin-$arch" ;;
    *) die "unsupported operating system: $os (install the CLI by hand)" ;;
esac
binary="$dest/node_modules/@anthropic-ai/claude-code-$platform/claude"

installed_version() {
    [ -x "$binary" ] || return 1
    "$binary" -v 2>/dev/null | head -n 1 | awk '{print $1}'
}

if [ "$force" = 0 ] && [ "$(installed_version || true)" = "$version" ]; then
    echo "install-claude-code: Claude Code $version already installed" >&2
    echo "$binary"
    exit 0
fi

command -v npm >/dev/null 2>&1 ||
    die "npm is not installed (needed to download @anthropic-ai/claude-code@$version); install Node.js and npm first"

echo "install-claude-code: installing @anthropic-ai/claude-code@$version ($platform) into $dest" >&2
mkdir -p "$dest"
# A package.json of our own keeps npm from walking up to some other project's.
if [ ! -f "$dest/package.json" ]; then
    printf '{\n  "name": "claude-code-pinned",\n  "private": true\n}\n' >"$dest/package.json"
fi
(
    cd "$dest"
    npm install --no-audit --no-fund --no-save --loglevel=error \
        "@anthropic-ai/claude-code@$version" 1>&2
) || die "npm install @anthropic-ai/claude-code@$version failed"

[ -x "$binary" ] ||
    die "npm finished but $binary is missing (was the optional dependency @anthropic-ai/claude-code-$platform skipped? try npm with --include=optional)"
got="$(installed_version || true)"
[ "$got" = "$version" ] || die "$binary -v says '${got:-nothing}', expected $version"
echo "install-claude-code: installed Claude Code $got" >&2
echo "$binary"
