# shellcheck shell=bash
# Shared by examples/demo.sh and tests/run.sh: one cargo target dir for the core, the test
# server, maturin and napi. napi always passes --target <host>, so everything builds for the
# host triple explicitly and lands in target/<triple>/.
export CARGO_BUILD_TARGET="${CARGO_BUILD_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
# Loopback never goes through a proxy the environment names: npm, pip and curl would otherwise
# send the requests for the loopback test server and npm registry (tests/packaging/node.sh) to
# it. Registries stay reachable through it as before.
inherited_no_proxy=${NO_PROXY:-${no_proxy:-}}
export NO_PROXY="127.0.0.1,localhost,::1${inherited_no_proxy:+,$inherited_no_proxy}"
export no_proxy="$NO_PROXY"
TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BIN_DIR="$TARGET_DIR/$CARGO_BUILD_TARGET/debug"
VENV="$TARGET_DIR/venv"

# Starts the loopback test server and exports the demo account for the examples:
# CONCUR_BASE_URL, CONCUR_CA_FILE, CONCUR_CONSUMER_KEY, CONCUR_LOGIN_ID, CONCUR_PASSWORD, and for
# the current API CONCUR_OAUTH2_CLIENT_ID, CONCUR_OAUTH2_CLIENT_SECRET, CONCUR_USERNAME.
start_test_server() {
  local info="$TARGET_DIR/test-server.json"
  # Not an earlier run's line: the wait below would read it before the new server truncates it.
  rm -f "$info"
  "$BIN_DIR/concur-test-server" >"$info" &
  SERVER_PID=$!
  # Killed, the server cannot remove its CA file: do it here.
  trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -f "${CONCUR_CA_FILE:-}"' EXIT
  # It makes its certificates first: on a loaded machine that took more than the 5 s this
  # waited once, and the unset fields then ended the caller silently. A minute, and a reason.
  local waited=0
  # Until the whole line is there (it ends with its newline): a long line can land in more
  # than one write, and a field read from half of it is empty (which ends a `set -e` caller
  # silently: seen once, packaging/emulator.sh's exit 1 with no output).
  until [ -s "$info" ] && [ -z "$(tail -c 1 "$info")" ]; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null || [ "$waited" -ge 1200 ]; then
      echo "the test server did not start (see $info)" >&2
      return 1
    fi
    sleep 0.05
    waited=$((waited + 1))
  done
  # The first occurrence: the demo account precedes the list of all accounts.
  field() { grep -o "\"$1\":\"[^\"]*\"" "$info" | head -n 1 | cut -d'"' -f4; }
  CONCUR_BASE_URL=$(field base_url)
  CONCUR_CA_FILE=$(field ca_file)
  CONCUR_CONSUMER_KEY=$(field consumer_key)
  CONCUR_LOGIN_ID=$(field login_id)
  CONCUR_PASSWORD=$(field password)
  CONCUR_CLIENT_SECRET=$(field client_secret)
  PLAIN_BASE_URL=$(field plain_base_url)
  # The current API (oauth2/v0): the application's credentials; the user is the demo account.
  CONCUR_OAUTH2_CLIENT_ID=$(field oauth2_client_id)
  CONCUR_OAUTH2_CLIENT_SECRET=$(field oauth2_client_secret)
  CONCUR_USERNAME=$CONCUR_LOGIN_ID
  # The same two under the short names the demo's Python and CLI steps use.
  # shellcheck disable=SC2034 # read by the scripts that source this file
  OAUTH2_CLIENT_ID=$CONCUR_OAUTH2_CLIENT_ID
  # shellcheck disable=SC2034
  OAUTH2_CLIENT_SECRET=$CONCUR_OAUTH2_CLIENT_SECRET
  # App Center's company and its request token, for the vault's examples (not exported: only the
  # steps that onboard a company are given them).
  # shellcheck disable=SC2034
  COMPANY_ID=$(field company_id)
  # shellcheck disable=SC2034
  REQUEST_TOKEN=$(field request_token)
  export CONCUR_BASE_URL CONCUR_CA_FILE CONCUR_CONSUMER_KEY CONCUR_LOGIN_ID CONCUR_PASSWORD
  export CONCUR_CLIENT_SECRET CONCUR_OAUTH2_CLIENT_ID CONCUR_OAUTH2_CLIENT_SECRET CONCUR_USERNAME
}

# Prints a Web-flow callback URL with a fresh code and the state $1: what the test server's
# Login.aspx sends a user's browser back with (plain HTTP on loopback, so bash can ask).
approve_callback() {
  redirect_of "/net2/oauth2/Login.aspx?client_id=$CONCUR_CONSUMER_KEY&redirect_uri=https%3A%2F%2Fpartner.example%2Fcallback&state=$1"
}

# Prints the Location the test server's plain listener redirects GET $1 to: what a user's
# browser is sent back with after approving (the oauth2/v0 authorize page, say).
redirect_of() {
  local hostport=${PLAIN_BASE_URL#http://}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"
  printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" "$hostport" >&3
  tr -d '\r' <&3 | sed -n 's/^Location: //p'
  exec 3<&-
}

# Compiles examples/native_token.c and .cpp against the header and the shared library.
build_c_examples() {
  # shellcheck disable=SC2054 # -Wl,-rpath,DIR is one argument
  local link=(-I include -L"$BIN_DIR" -lconcur_native -Wl,-rpath,"$BIN_DIR")
  cc -std=c99 -Wall -Wextra -Werror examples/native_token.c "${link[@]}" -o "$BIN_DIR/native_token"
  c++ -std=c++17 -Wall -Wextra -Werror examples/native_token.cpp "${link[@]}" -o "$BIN_DIR/native_token_cpp"
  cc -std=c99 -Wall -Wextra -Werror examples/token_lifecycle.c "${link[@]}" -o "$BIN_DIR/token_lifecycle"
  cc -std=c99 -Wall -Wextra -Werror examples/oauth2_password.c "${link[@]}" -o "$BIN_DIR/oauth2_password"
  cc -std=c99 -Wall -Wextra -Werror examples/token_manager.c "${link[@]}" -lpthread -o "$BIN_DIR/token_manager"
  cc -std=c99 -Wall -Wextra -Werror examples/token_vault.c "${link[@]}" -o "$BIN_DIR/token_vault"
}

install_python_package() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check ./bindings/python "$@"
}

# The Node package from this checkout: its devDependencies, then the addon built from the
# current source (scripts/build-prebuilt.js --local; cargo rebuilds only what changed). The
# examples import 'concur-native' as users do; examples/node_modules points that at it.
install_node_package() {
  (cd bindings/node && npm install --no-audit --no-fund --loglevel=error --ignore-scripts && npm run --silent build)
  mkdir -p examples/node_modules
  ln -sfn ../../bindings/node examples/node_modules/concur-native
}
