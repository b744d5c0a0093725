"""What running every network call on the library's threads costs a sync call (not a test:
`python tests/bench_pool_overhead.py`, with CONCUR_TEST_SERVER set for the loopback part).

Prints the per-call time of an empty call run the old way (on the caller's thread, GIL
released) and the new way (handed to a worker, waited for in slices), and of a real loopback
grant against the test server, all from one thread."""

from __future__ import annotations

import json
import os
import subprocess
import time

import concur_native
from concur_native import _native

N_EMPTY = 20_000
N_GRANT = 1_000


def per_call(func, n: int) -> float:
    func()
    start = time.perf_counter()
    for _ in range(n):
        func()
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    direct = per_call(lambda: _native._empty_call_for_tests(False), N_EMPTY)
    pooled = per_call(lambda: _native._empty_call_for_tests(True), N_EMPTY)
    local = per_call(lambda: concur_native.oauth2_authorize_url("id", "https://app.example/cb"), N_EMPTY)
    print(f"empty call, caller's thread: {direct:8.1f} us")
    print(f"empty call, worker thread:   {pooled:8.1f} us  (+{pooled - direct:.1f} us a call)")
    print(f"oauth2_authorize_url (local): {local:7.1f} us")
    binary = os.environ.get("CONCUR_TEST_SERVER")
    if not binary:
        return
    server = subprocess.Popen([binary, "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(server.stdout.readline())
        client = concur_native.Client(base_url=info["base_url"], ca_file=info["ca_file"], timeout=10)
        grant = lambda: client.client_credentials_grant(info["oauth2_client_id"], info["oauth2_client_secret"])  # noqa: E731
        print(f"loopback client_credentials_grant: {per_call(grant, N_GRANT):8.1f} us")
    finally:
        server.stdin.close()
        server.wait()


if __name__ == "__main__":
    main()
