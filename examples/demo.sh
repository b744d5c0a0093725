#!/usr/bin/env bash
# The demo: starts the bundled loopback HTTPS test server and fetches a token from it with the
# C, C++, Python and Node examples. Name languages to run fewer: `bash examples/demo.sh c`.
# Needs cargo, cc/c++, and python3/npm for those two. The first run builds for a minute or two.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/common.sh
languages=" ${*:-c cpp python node} "
wants() { [[ "$languages" == *" $1 "* ]]; }

echo "Building the library and the test server..."
cargo build --quiet -p concur-native -p concur-test-server -p concur-token --bins --lib
build_c_examples
# shellcheck disable=SC2119 # no extra packages for the demo
if wants python; then echo "Installing the Python package..."; install_python_package; fi
if wants node; then echo "Installing the Node package..."; install_node_package; fi

start_test_server
echo "Test server at $CONCUR_BASE_URL (CA: $CONCUR_CA_FILE), user $CONCUR_LOGIN_ID"
if wants c; then echo; echo "== C (examples/native_token.c)"; "$BIN_DIR/native_token"; fi
if wants cpp; then echo; echo "== C++ (examples/native_token.cpp)"; "$BIN_DIR/native_token_cpp"; fi
if wants python; then echo; echo "== Python (examples/native_token.py)"; "$VENV/bin/python" examples/native_token.py; fi
if wants node; then echo; echo "== Node (examples/native_token.mjs)"; node examples/native_token.mjs; fi

echo
echo "== A token's life (Native Flow, refresh, Web-flow code exchange, revoke) with a client:"
export CONCUR_CALLBACK_STATE=demo-state
CONCUR_CALLBACK_URL=$(approve_callback "$CONCUR_CALLBACK_STATE")
export CONCUR_CALLBACK_URL
if wants c; then echo "-- C (examples/token_lifecycle.c)"; "$BIN_DIR/token_lifecycle"; fi
if wants python; then
  echo "-- Python (examples/token_lifecycle.py)"
  CONCUR_CALLBACK_URL=$(approve_callback "$CONCUR_CALLBACK_STATE") "$VENV/bin/python" examples/token_lifecycle.py
fi
if wants node; then
  echo "-- Node (examples/token_lifecycle.mjs)"
  CONCUR_CALLBACK_URL=$(approve_callback "$CONCUR_CALLBACK_STATE") node examples/token_lifecycle.mjs
fi
if wants c; then
  echo
  echo "== The current API (oauth2/v0): a password grant, then a refresh (examples/oauth2_password.c)"
  "$BIN_DIR/oauth2_password"
  echo "-- C, the token manager: four threads, one token kept in a file (examples/token_manager.c)"
  CONCUR_TOKEN_FILE="$TARGET_DIR/demo-token.json" "$BIN_DIR/token_manager"
fi
echo "-- the command-line tool (concur-token native --json)"
"$BIN_DIR/concur-token" native --consumer-key "$CONCUR_CONSUMER_KEY" --login "$CONCUR_LOGIN_ID" --json


echo
echo "== The current API (oauth2/v0), next to the Native Flow above: same server, same user"
(
  export CONCUR_CLIENT_ID=$OAUTH2_CLIENT_ID CONCUR_CLIENT_SECRET=$OAUTH2_CLIENT_SECRET
  export CONCUR_USERNAME=$CONCUR_LOGIN_ID
  unset CONCUR_CALLBACK_URL CONCUR_CALLBACK_STATE
  if wants python; then
    echo "-- Python, password grant (examples/oauth2_password.py)"
    "$VENV/bin/python" examples/oauth2_password.py
    echo "-- Python, refresh and rotation (examples/oauth2_refresh.py)"
    "$VENV/bin/python" examples/oauth2_refresh.py
    echo "-- Python, authorization code (examples/oauth2_authorize_url.py): the URL, the user approves, the code"
    url=$(CONCUR_AUTHORIZE_BASE_URL=$PLAIN_BASE_URL "$VENV/bin/python" examples/oauth2_authorize_url.py 2>"$TARGET_DIR/oauth2-state")
    echo "$url"
    state=$(sed -n 's/^state: //p' "$TARGET_DIR/oauth2-state")
    CONCUR_CALLBACK_URL=$(redirect_of "/oauth2/v0/authorize?${url#*\?}") CONCUR_CALLBACK_STATE=$state \
      "$VENV/bin/python" examples/oauth2_authorize_url.py
  fi
  if wants node; then
    echo "-- Node, password grant, refresh, authorize URL (examples/oauth2_password.mjs)"
    node examples/oauth2_password.mjs
    echo "-- Node, the token manager with a file store (examples/token_manager.mjs)"
    node examples/token_manager.mjs
  fi
  echo "-- the command-line tool (concur-token oauth2 password --json)"
  "$BIN_DIR/concur-token" oauth2 password --client-id "$OAUTH2_CLIENT_ID" --username "$CONCUR_LOGIN_ID" --json
)

echo
echo "== The token vault: a company and a user kept alive in one SQLite file, then the daily keep-alive"
# Runs "$@" with the application's credentials and the test server's company in its environment
# (never on a command line).
with_vault_env() {
  local info="$TARGET_DIR/test-server.json" company request
  company=$(grep -o '"company_id":"[^"]*"' "$info" | head -n 1 | cut -d'"' -f4)
  request=$(grep -o '"request_token":"[^"]*"' "$info" | head -n 1 | cut -d'"' -f4)
  CONCUR_CLIENT_ID=$OAUTH2_CLIENT_ID CONCUR_CLIENT_SECRET=$OAUTH2_CLIENT_SECRET CONCUR_USERNAME=$CONCUR_LOGIN_ID \
    CONCUR_COMPANY_ID=$company CONCUR_REQUEST_TOKEN=$request "$@"
}
if wants python; then
  echo "-- Python (examples/token_vault.py)"
  CONCUR_VAULT="sqlite:///$TARGET_DIR/demo-vault-python.db" with_vault_env "$VENV/bin/python" examples/token_vault.py
fi
if wants node; then
  echo "-- Node (examples/token_vault.mjs)"
  CONCUR_VAULT="sqlite:///$TARGET_DIR/demo-vault-node.db" with_vault_env node examples/token_vault.mjs
fi

echo
echo "With a wrong password, the C example explains the refusal:"
CONCUR_PASSWORD=wrong "$BIN_DIR/native_token" || true
