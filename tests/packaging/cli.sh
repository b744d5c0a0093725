#!/usr/bin/env bash
# concur-token as the README installs it: `cargo install --locked --path cli` (here into a
# scratch root, in the debug profile the tests already built), then used from that root: a token
# with the password on standard input, and the bash completion written where the README says,
# found there by bash-completion. It also proves a library user's build has no clap.
set -euo pipefail
# shellcheck source=tests/packaging/common.sh
source "$(dirname "$0")/common.sh"
work=$(scratch cli)

echo "--- concur-token: the library alone compiles no clap"
if cargo tree --locked -p concur-native -e normal --prefix none | grep -q '^clap'; then
  echo "clap is in concur-native's dependencies" >&2
  exit 1
fi

echo "--- concur-token: cargo install --locked --path cli"
cargo install --quiet --locked --path cli --root "$work" --debug
export PATH="$work/bin:$PATH"
[ "$(command -v concur-token)" = "$work/bin/concur-token" ]
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ "$(concur-token --version)" = "concur-token $version" ]

echo "--- concur-token: the password from a file on standard input (the environment's unset)"
KEY=$CONCUR_CONSUMER_KEY
printf '%s\n' "$CONCUR_PASSWORD" >"$work/password.txt"
(cd "$work" && env -u CONCUR_PASSWORD \
  concur-token native --consumer-key "$KEY" --login "$CONCUR_LOGIN_ID" --password-stdin < password.txt) >"$work/token.out"
grep -q '^0_' "$work/token.out"

echo "--- concur-token: the bash completion where the README puts it, loaded by bash-completion"
export HOME="$work/home"
unset XDG_DATA_HOME BASH_COMPLETION_USER_DIR
mkdir -p "$HOME"
mkdir -p ~/.local/share/bash-completion/completions
concur-token completions bash > ~/.local/share/bash-completion/completions/concur-token
bash -n ~/.local/share/bash-completion/completions/concur-token
# /usr/share/bash-completion/bash_completion: Debian's bash-completion (.ci/run installs it).
loaded=$(bash -c 'source /usr/share/bash-completion/bash_completion
  __load_completion concur-token && complete -p concur-token')
[ "$loaded" = "complete -o bashdefault -o default -o nosort -F _concur__token concur-token" ] || {
  echo "bash-completion did not load it: $loaded" >&2
  exit 1
}
echo "packaging (concur-token): cargo install works, the password comes on stdin, bash completes it"
