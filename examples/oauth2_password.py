"""Print a token of Concur's current Authentication API (oauth2/v0), from a user's password.

    CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \\
        python examples/oauth2_password.py

Secrets come from the environment, never the command line. CONCUR_BASE_URL and CONCUR_CA_FILE
are optional (a test server); without a base URL the grant goes to Concur's production host,
and a user who lives in another data centre is followed there. Store the refresh token and the
geolocation: refreshes and later API calls go there (see oauth2_refresh.py).
"""

import os
import sys

import concur_native


def main() -> int:
    env = os.environ
    try:
        client = concur_native.Client(
            base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"), timeout=10
        )
        token = client.password_grant(
            env["CONCUR_CLIENT_ID"], env["CONCUR_CLIENT_SECRET"],
            env["CONCUR_USERNAME"], env["CONCUR_PASSWORD"],
        )
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.UnauthorizedError as e:
        print(f"Concur refused: {e.message or e} (code {e.concur_code})", file=sys.stderr)
        return 1
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e} (correlation id {e.correlation_id})", file=sys.stderr)
        return 1
    print("Access token:   ", token.access_token[:24] + "…")
    print("Expires at:     ", token.expires_at)
    print("Geolocation:    ", token.geolocation)
    print("User (sub):     ", token.subject, f"({token.principal_type})")
    print("Refresh until:  ", token.refresh_expires_at)
    print(repr(token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
