"""Python rows of benches/run.py: concur_native against requests + xml.etree (Native Flow)
and requests + .json() (the current API's password grant), same server; and the
TokenManager's cached access_token() from 1 and 8 threads, against the check-and-return a
pure-Python cache would do.

Reads the server from CONCUR_* variables; prints one JSON object of seconds-per-token figures.
BENCH_PARTS (comma-separated: client, one_shot, requests, oauth2, threads, manager, vault)
measures only those parts (default: all but vault); benches/run.py's --only uses it. The vault
part needs BENCH_VAULT_STORE, a store URL holding BENCH_VAULT_CONNECTIONS connections named
connection-0000000… with fresh tokens (`vault_bench fill` writes one).
"""

import json
import os
import statistics
import threading
import time
import xml.etree.ElementTree as ET

import requests

import concur_native

ENV = os.environ
URL = ENV["CONCUR_BASE_URL"] + "/net2/oauth2/accesstoken.ashx"
KEY, LOGIN, PASSWORD, CA = (
    ENV["CONCUR_CONSUMER_KEY"], ENV["CONCUR_LOGIN_ID"], ENV["CONCUR_PASSWORD"], ENV["CONCUR_CA_FILE"],
)
COUNT = int(ENV.get("BENCH_COUNT", "500"))
REPEATS = int(ENV.get("BENCH_REPEATS", "5"))
PARTS = set(filter(None, ENV.get("BENCH_PARTS", "").split(","))) or {
    "client", "one_shot", "requests", "oauth2", "threads", "manager"}


def per_token(loop, count):
    """Median over REPEATS runs of `loop(count)`, in seconds per token."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        loop(count)
        times.append((time.perf_counter() - started) / count)
    return statistics.median(times)


client = concur_native.Client(base_url=ENV["CONCUR_BASE_URL"], ca_file=CA)
client.native_token(KEY, LOGIN, PASSWORD)  # opens the connection


def with_client(n):
    for _ in range(n):
        client.native_token(KEY, LOGIN, PASSWORD)


def one_shot(n):
    for _ in range(n):
        concur_native.native_token(KEY, LOGIN, PASSWORD, base_url=ENV["CONCUR_BASE_URL"], ca_file=CA)


session = requests.Session()
# Per request: requests lets REQUESTS_CA_BUNDLE override a session's verify.
session.get(URL, auth=(LOGIN, PASSWORD), headers={"X-ConsumerKey": KEY}, verify=CA)


def with_requests(n):
    for _ in range(n):
        response = session.get(URL, auth=(LOGIN, PASSWORD), headers={"X-ConsumerKey": KEY}, verify=CA)
        response.raise_for_status()
        root = ET.fromstring(response.content)
        assert root.find("Token").text


# The current API (oauth2/v0): the password grant, a form POST answered with JSON.
O2_URL = ENV["CONCUR_BASE_URL"] + "/oauth2/v0/token"
O2_ID, O2_SECRET = ENV["CONCUR_OAUTH2_CLIENT_ID"], ENV["CONCUR_OAUTH2_CLIENT_SECRET"]
O2_FORM = {
    "client_id": O2_ID, "client_secret": O2_SECRET, "grant_type": "password",
    "username": LOGIN, "password": PASSWORD, "credtype": "password",
}
client.password_grant(O2_ID, O2_SECRET, LOGIN, PASSWORD)


def oauth2_with_client(n):
    for _ in range(n):
        client.password_grant(O2_ID, O2_SECRET, LOGIN, PASSWORD)


def oauth2_with_requests(n):
    for _ in range(n):
        response = session.post(O2_URL, data=O2_FORM, verify=CA)
        response.raise_for_status()
        assert response.json()["access_token"]


def interleaved(loops, count):
    """Median seconds per token of each loop, the runs taken in turn (2 * REPEATS - 1 rounds),
    so that a noisy moment of the shared machine hits every loop alike."""
    times = [[] for _ in loops]
    for _ in range(2 * REPEATS - 1):
        for i, loop in enumerate(loops):
            started = time.perf_counter()
            loop(count)
            times[i].append((time.perf_counter() - started) / count)
    return [statistics.median(t) for t in times]


def threads(n, count):
    """Tokens per second with n threads sharing the client."""
    def work():
        for _ in range(count // n):
            client.native_token(KEY, LOGIN, PASSWORD)
    pool = [threading.Thread(target=work) for _ in range(n)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return count / (time.perf_counter() - started)


# The token manager's hot path: a cached token, valid for the margin.
MANAGER_CALLS = int(ENV.get("BENCH_MANAGER_CALLS", "1000000"))


class PurePythonCache:
    """The peer: what a hand-written cache does when its token is fresh."""

    def __init__(self, token, fresh_until):
        self.token, self.fresh_until = token, fresh_until

    def access_token(self):
        if time.monotonic() < self.fresh_until:
            return self.token
        raise AssertionError("not reached")


def calls_per_s(source, n_threads, total):
    """access_token() calls per second, `total` calls spread over n_threads threads."""
    each = total // n_threads
    barrier = threading.Barrier(n_threads + 1)

    def work():
        call = source.access_token
        barrier.wait()
        for _ in range(each):
            call()

    pool = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in pool:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in pool:
        t.join()
    return each * n_threads / (time.perf_counter() - started)


def manager_rows():
    manager = concur_native.TokenManager(client, O2_ID, O2_SECRET, grant="client_credentials")
    manager.access_token()
    pure = PurePythonCache(manager.access_token(), time.monotonic() + 3000)

    def best_of_interleaved(n_threads):
        ours, peer = [], []
        for _ in range(REPEATS):
            ours.append(calls_per_s(manager, n_threads, MANAGER_CALLS))
            peer.append(calls_per_s(pure, n_threads, MANAGER_CALLS))
        return statistics.median(ours), statistics.median(peer)

    cached1, pure1 = best_of_interleaved(1)
    cached8, pure8 = best_of_interleaved(8)
    return {
        "manager_cached1_per_s": cached1,
        "pure_cache1_per_s": pure1,
        "manager_cached8_per_s": cached8,
        "pure_cache8_per_s": pure8,
    }


def vault_rows():
    """TokenVault.access_token(id) on random IDs, every connection cached, against the
    TokenManager's cached access_token(), 1 thread, taken in turn."""
    import random
    n = int(ENV["BENCH_VAULT_CONNECTIONS"])
    calls = int(ENV.get("BENCH_VAULT_CALLS", "300000"))
    vault = concur_native.TokenVault(client, O2_ID, O2_SECRET, store=ENV["BENCH_VAULT_STORE"],
                                     cache_capacity=n)
    ids = [f"connection-{i:07}" for i in range(n)]
    for i in ids:  # every connection read from the store once: cached from here on
        vault.access_token(i)
    rng = random.Random(7)
    order = [ids[rng.randrange(n)] for _ in range(calls)]
    manager = concur_native.TokenManager(client, O2_ID, O2_SECRET, grant="client_credentials")
    manager.access_token()

    def vault_loop():
        call = vault.access_token
        started = time.perf_counter()
        for i in order:
            call(i)
        return calls / (time.perf_counter() - started)

    def manager_loop():
        call = manager.access_token
        started = time.perf_counter()
        for _ in order:  # the same loop, so that only the call differs
            call()
        return calls / (time.perf_counter() - started)

    ours, peer = [], []
    for _ in range(REPEATS):
        ours.append(vault_loop())
        peer.append(manager_loop())
    return {"vault_cached_per_s": statistics.median(ours),
            "manager_cached_per_s": statistics.median(peer)}


def main():
    out = {}
    if "oauth2" in PARTS:
        out["oauth2_client"], out["oauth2_requests"] = interleaved(
            [oauth2_with_client, oauth2_with_requests], COUNT)
    if "client" in PARTS:
        out["client"] = per_token(with_client, COUNT)
    if "one_shot" in PARTS:
        out["one_shot"] = per_token(one_shot, max(COUNT // 5, 20))
    if "requests" in PARTS:
        out["requests"] = per_token(with_requests, COUNT)
    if "threads" in PARTS:
        out["threads1_per_s"] = statistics.median(threads(1, COUNT) for _ in range(3))
        out["threads8_per_s"] = statistics.median(threads(8, COUNT) for _ in range(3))
    if "manager" in PARTS:
        out.update(manager_rows())
    if "vault" in PARTS:
        out.update(vault_rows())
    print(json.dumps(out))


main()
