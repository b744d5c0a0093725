"""Python callers during a held refresh: 8 threads call TokenManager.access_token() for SECONDS
while a refresh whose save takes 300 ms runs, and print one JSON line (p50, p99, longest).

    python benches/python_refresh_hold.py MODE [SECONDS]

MODE: `ahead` (the stored token inside the refresh window, 200 s left: refreshed ahead while the
callers keep it), `blocking` (below the floor, 20 s left: every caller waits for the refresh, as
before refresh ahead) or `cached` (an hour left: no refresh, the reference). The server is the
one benches/run.py started (CONCUR_BASE_URL, CONCUR_CA_FILE, CONCUR_LOGIN_ID, CONCUR_PASSWORD,
CONCUR_OAUTH2_CLIENT_ID, CONCUR_OAUTH2_CLIENT_SECRET). Each thread pauses 50 µs between calls, as
request handlers do; the GIL's switch interval (5 ms) bounds what any Python thread waits.
"""

import json
import os
import sys
import threading
import time

import concur_native

HOLD = 0.3


class SlowSaveStore:
    """A store in memory whose saves take HOLD seconds (a slow Concur, a slow disk)."""

    def __init__(self, document):
        self.document = document

    def load(self):
        return self.document

    def save(self, document):
        time.sleep(HOLD)
        self.document = bytes(document)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "ahead"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    env = os.environ
    client = concur_native.Client(base_url=env["CONCUR_BASE_URL"], ca_file=env["CONCUR_CA_FILE"])
    client_id, secret = env["CONCUR_OAUTH2_CLIENT_ID"], env["CONCUR_OAUTH2_CLIENT_SECRET"]
    seeded = client.password_grant(client_id, secret, env["CONCUR_LOGIN_ID"], env["CONCUR_PASSWORD"])
    left = {"ahead": 200, "blocking": 20}.get(mode, 3600)
    document = {
        "version": 1,
        "refresh_token": seeded.refresh_token,
        "access_token": seeded.access_token,
        "expires_at": int(time.time()) + left,
    }
    if seeded.geolocation:
        document["geolocation"] = seeded.geolocation
    store = SlowSaveStore(json.dumps(document).encode())
    manager = concur_native.TokenManager(client, client_id, secret, refresh_token="unused", store=store)
    deadline = time.perf_counter() + seconds
    took = []

    def caller():
        mine = []
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            manager.access_token()
            mine.append((time.perf_counter() - started) * 1e3)
            time.sleep(0.00005)
        took.extend(mine)

    threads = [threading.Thread(target=caller) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took.sort()
    pick = lambda p: took[round((len(took) - 1) * p)]
    print(json.dumps({
        "mode": mode,
        "calls": len(took),
        "p50_ms": pick(0.5),
        "p99_ms": pick(0.99),
        "max_ms": took[-1],
        "refreshes": manager.status().refresh_count,
    }))


if __name__ == "__main__":
    main()
