#!/usr/bin/env bash
# Install the real coding-agent CLIs that tests/test_agent_clis.py runs against a scripted
# local model endpoint (no network to any model). Idempotent: a pinned version already
# installed is kept. Prefix: $CAMPAIGN_NODE_PREFIX (default ~/.cache/campaign-node);
# the binaries land in $PREFIX/node_modules/.bin (the tests look there and on PATH).
set -euo pipefail
PREFIX="${CAMPAIGN_NODE_PREFIX:-$HOME/.cache/campaign-node}"
CLAUDE_CODE_VERSION="2.1.332"
CODEX_VERSION="0.171.0"

if ! command -v npm >/dev/null 2>&1; then
    echo "install_agent_clis: npm is required (apt-get install nodejs npm)" >&2
    exit 1
fi
mkdir -p "$PREFIX"
installed() {  # installed PACKAGE VERSION -> true when that exact version is there
    local pkg_json="$PREFIX/node_modules/$1/package.json"
    [ -f "$pkg_json" ] && node -e "process.exit(require('$pkg_json').version === '$2' ? 0 : 1)"
}
want=()
installed @anthropic-ai/claude-code "$CLAUDE_CODE_VERSION" || want+=("@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION")
installed @openai/codex "$CODEX_VERSION" || want+=("@openai/codex@$CODEX_VERSION")
if [ ${#want[@]} -gt 0 ]; then
    npm install --no-audit --no-fund --prefix "$PREFIX" "${want[@]}" >&2
fi
"$PREFIX/node_modules/.bin/claude" --version
"$PREFIX/node_modules/.bin/codex" --version
