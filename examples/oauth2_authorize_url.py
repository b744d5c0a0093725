"""The authorization-code flow of Concur's current API, both steps.

Step 1, the URL to send the user to (keep the state it prints, in the user's session):

    CONCUR_CLIENT_ID=... python examples/oauth2_authorize_url.py

Step 2, once Concur sent the user's browser back to the redirect URI:

    CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_CALLBACK_URL='https://…?code=…' \\
        CONCUR_CALLBACK_STATE=... python examples/oauth2_authorize_url.py

CONCUR_REDIRECT_URI defaults to https://partner.example/callback; CONCUR_AUTHORIZE_BASE_URL
(the browser-facing host) and CONCUR_BASE_URL / CONCUR_CA_FILE (the token host) are for a
test server.
"""

import os
import sys

import concur_native


def main() -> int:
    env = os.environ
    redirect_uri = env.get("CONCUR_REDIRECT_URI", "https://partner.example/callback")
    try:
        client_id = env["CONCUR_CLIENT_ID"]
        if "CONCUR_CALLBACK_URL" not in env:
            url, state = concur_native.oauth2_authorize_url(
                client_id, redirect_uri, scopes=("openid", "user.read"),
                base_url=env.get("CONCUR_AUTHORIZE_BASE_URL"),
            )
            print(url)
            print(f"state: {state}", file=sys.stderr)
            return 0
        # The state first: a callback with another state is forged or stale.
        code, geolocation = concur_native.parse_oauth2_callback(
            env["CONCUR_CALLBACK_URL"], expected_state=env["CONCUR_CALLBACK_STATE"]
        )
        print(f"Callback:        a code, the user lives at {geolocation}")
        client = concur_native.Client(
            base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"), timeout=10
        )
        token = client.authorization_code_grant(
            client_id, env["CONCUR_CLIENT_SECRET"], code, redirect_uri
        )
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1
    print(f"Token:           {token.access_token[:24]}… for {token.subject}, scope {token.scope!r}")
    print(f"Refresh at:      {token.geolocation}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
