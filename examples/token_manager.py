"""Keep a valid access token for a whole program: refreshed once shortly before it expires,
shared by every thread, kept in a file that the program's other processes share too.

    CONCUR_CLIENT_ID=... CONCUR_CLIENT_SECRET=... CONCUR_REFRESH_TOKEN=... \\
        CONCUR_GEOLOCATION=https://us2.api.concursolutions.com \\
        CONCUR_TOKEN_FILE=/var/lib/myapp/concur-token.json python examples/token_manager.py

Without CONCUR_REFRESH_TOKEN it signs in once with CONCUR_USERNAME and CONCUR_PASSWORD
(the password grant). The refresh token is needed only while the file holds none: from then on
the file holds the newest one (Concur may rotate it on every refresh). With requests installed,
``auth=BearerAuth(manager)`` is the one line an HTTP call needs.
"""

import os
import sys
import tempfile
import threading

import concur_native


def main() -> int:
    env = os.environ
    client = concur_native.Client(
        base_url=env.get("CONCUR_BASE_URL"), ca_file=env.get("CONCUR_CA_FILE"), timeout=10
    )
    store = env.get("CONCUR_TOKEN_FILE") or os.path.join(tempfile.mkdtemp(), "concur-token.json")
    try:
        app = (client, env["CONCUR_CLIENT_ID"], env["CONCUR_CLIENT_SECRET"])
        if "CONCUR_REFRESH_TOKEN" in env:
            start = {"refresh_token": env["CONCUR_REFRESH_TOKEN"], "geolocation": env.get("CONCUR_GEOLOCATION")}
        else:
            start = {"grant": "password", "username": env["CONCUR_USERNAME"], "password": env["CONCUR_PASSWORD"]}
        manager = concur_native.TokenManager(*app, store=store, **start)

        # Eight threads ask at once: one request, one token for all.
        tokens = []
        threads = [threading.Thread(target=lambda: tokens.append(manager.access_token())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        token = manager.token()
        print(f"8 threads, {len(set(tokens))} token; expires {token.expires_at}; calls go to {token.geolocation}")
        print(f"Kept in {store} (mode {os.stat(store).st_mode & 0o777:o}), newest refresh token included")
        headers = {"Authorization": f"Bearer {manager.access_token()}"}  # or auth=BearerAuth(manager)
        print(f"Header ready: Authorization: Bearer <{len(headers['Authorization']) - 7} characters>")
    except KeyError as missing:
        print(f"set {missing.args[0]}", file=sys.stderr)
        return 2
    except concur_native.ConcurError as e:
        print(f"{e.code}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
