"""A token's life with a reusable client: Native Flow, refresh, Web-flow code exchange, revoke.

    CONCUR_CONSUMER_KEY=... CONCUR_LOGIN_ID=... CONCUR_PASSWORD=... CONCUR_CLIENT_SECRET=... \\
    [CONCUR_CALLBACK_URL=... CONCUR_CALLBACK_STATE=...] python examples/token_lifecycle.py

CONCUR_CALLBACK_URL is the URL Concur sent a user's browser back to after the Login page
printed here (an App Center listener's URL works too, without a state).
"""

import os
import sys

import concur_native


def main() -> int:
    env = os.environ
    key, secret = env["CONCUR_CONSUMER_KEY"], env["CONCUR_CLIENT_SECRET"]
    client = concur_native.Client(base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"))
    try:
        first = client.native_token(key, env["CONCUR_LOGIN_ID"], env.get("CONCUR_PASSWORD"))
        print(f"Native token:    {first.token} (expires {first.expires_at})")

        refreshed = client.refresh_token(key, secret, first.refresh_token)
        print(f"Refreshed token: {refreshed.token} (same refresh token: {refreshed.refresh_token == first.refresh_token})")

        url, state = concur_native.authorization_url(
            key, "https://partner.example/callback", scopes=["EXPRPT", "LIST"],
            base_url=env.get("CONCUR_BASE_URL"),
        )
        print(f"Web flow:        send the user to {url}")
        if "CONCUR_CALLBACK_URL" in env:
            code = concur_native.parse_callback(env["CONCUR_CALLBACK_URL"], env.get("CONCUR_CALLBACK_STATE"))
            print(f"Exchanged code:  {client.exchange_code(key, secret, code).token}")

        client.revoke_token(first.token, refreshed.token)  # needs an administrator's token
        print("Revoke:          done")
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
