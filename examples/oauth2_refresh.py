"""Refresh a token of Concur's current API, and show that the refresh token rotates.

    CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_USERNAME=... CONCUR_PASSWORD=... \\
        python examples/oauth2_refresh.py

Signs in with the password grant, then refreshes at the token's geolocation twice. Concur may
hand out a new refresh token with each refresh: store the newest one, the old one may stop
working (as it does here: the test server rotates every time). With CONCUR_REFRESH_TOKEN and
CONCUR_GEOLOCATION set, refreshes that token instead of signing in.
"""

import os
import sys

import concur_native


def main() -> int:
    env = os.environ
    client = concur_native.Client(
        base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"), timeout=10
    )
    try:
        app = (env["CONCUR_CLIENT_ID"], env["CONCUR_CLIENT_SECRET"])
        if "CONCUR_REFRESH_TOKEN" in env:
            refresh_token, geolocation = env["CONCUR_REFRESH_TOKEN"], env.get("CONCUR_GEOLOCATION")
        else:
            first = client.password_grant(*app, env["CONCUR_USERNAME"], env["CONCUR_PASSWORD"])
            refresh_token, geolocation = first.refresh_token, first.geolocation
        second = client.refresh_grant(*app, refresh_token, base_url=geolocation)
        print(f"Refreshed once:  rotated: {second.refresh_token != refresh_token}, expires {second.expires_at}")
        third = client.refresh_grant(*app, second.refresh_token, base_url=second.geolocation)
        print(f"Refreshed twice: rotated: {third.refresh_token != second.refresh_token}")
        try:
            client.refresh_grant(*app, refresh_token, base_url=geolocation)
            print("The first refresh token still works (Concur did not rotate it)")
        except concur_native.UnauthorizedError as e:
            print(f"The first refresh token is dead now: code {e.concur_code}, {e.oauth_error}")
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1
    print("Store:           refresh_token and geolocation =", third.geolocation)
    return 0


if __name__ == "__main__":
    sys.exit(main())
