"""The TokenManager from Python against the test server: a cached token costs no request, a
token below the floor is refreshed, 64 threads at expiry make one refresh, the rotated refresh
token is saved before the token is returned, a failed save surfaces, 108 surfaces as
unauthorized, client credentials are renewed without a refresh token; across processes (a file)
and machines (Redis) one refresh between them; bad arguments refused; no secret in any text.

How requests are counted from Python (the server's log is not reachable from here): the test
server's refresh tokens say which refresh family they belong to and how many times the family
was refreshed (``rt.{base64url JSON with "f" and "n"}.{checksum}``), and a refresh with any but
the family's newest refresh token is refused with code 108. So when every caller succeeded and
the newest refresh token says ``n == 1``, exactly one refresh request was sent: a second one
would have made ``n == 2``, or (sent with the old token) failed its caller with 108. And when
that refresh token still refreshes afterwards, no refresh has been sent since it was issued.
Access tokens carry a fresh random ``jti`` each: two grants never give the same access token.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from concur_native import (
    Client,
    ConcurError,
    InvalidArgumentError,
    StoreError,
    TokenManager,
    UnauthorizedError,
)

HOUR_AND_A_BIT = 3660.0
# A floor above an hour: every token the test server issues is below it, so every call waits
# for a refresh of its own (inside the margin but above the floor, a caller would keep the
# current token while it is refreshed ahead in the background).
EVERY_CALL_REFRESHES = {"margin": 2 * HOUR_AND_A_BIT, "floor": HOUR_AND_A_BIT}


@pytest.fixture()
def client(server):
    return Client(base_url=server.base_url, ca_file=server.ca_file, timeout=20.0)


def fresh_refresh_token(client, server) -> str:
    """A refresh token of a new family (generation 0), from a password grant."""
    token = client.password_grant(server.client_id, server.oauth2_secret, server.login_id, server.password)
    assert generation(token.refresh_token)[1] == 0
    return token.refresh_token


def generation(refresh_token: str) -> tuple[int, int]:
    """(family, how many refreshes the family had) of a test-server refresh token."""
    payload = refresh_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["f"], claims["n"]


def still_refreshes(client, server, refresh_token: str) -> bool:
    """Whether `refresh_token` is its family's newest (spends it: the family moves on)."""
    try:
        client.refresh_grant(server.client_id, server.oauth2_secret, refresh_token)
        return True
    except UnauthorizedError as e:
        assert e.concur_code == 108
        return False


def manager(client, server, **kwargs) -> TokenManager:
    if "grant" not in kwargs and "refresh_token" not in kwargs:
        kwargs["refresh_token"] = fresh_refresh_token(client, server)
    return TokenManager(client, server.client_id, server.oauth2_secret, **kwargs)


def seed(path: Path, refresh_token: str) -> None:
    """A stored refresh token whose access token has expired: the next caller must refresh."""
    path.write_text(json.dumps({
        "version": 1, "refresh_token": refresh_token, "access_token": "expired-access-token",
        "expires_at": 1,
    }))
    path.chmod(0o600)  # a token file readable by others is refused


def texts_of(value) -> list[str]:
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts += [repr(value.args), repr(vars(value))]
    return texts


# --- the contract ---------------------------------------------------------------------------


def test_a_cached_token_is_served_with_no_request(client, server, tmp_path):
    path = tmp_path / "token.json"
    m = manager(client, server, store=str(path))
    first = m.access_token()
    document = path.read_bytes()
    for _ in range(1000):
        assert m.access_token() == first
    token = m.token()
    assert token.access_token == first
    assert path.read_bytes() == document, "nothing saved again"
    # One refresh (generation 1), and none since: the refresh token it gave is still the newest.
    assert generation(token.refresh_token)[1] == 1
    assert still_refreshes(client, server, token.refresh_token)


def test_a_token_below_the_floor_is_refreshed_with_the_rotated_refresh_token(client, server):
    m = manager(client, server, **EVERY_CALL_REFRESHES)
    tokens = [m.token() for _ in range(3)]
    assert len({t.access_token for t in tokens}) == 3
    family = generation(tokens[0].refresh_token)[0]
    # Each refresh used the refresh token the one before rotated in (an older one gets 108).
    assert [generation(t.refresh_token) for t in tokens] == [(family, 1), (family, 2), (family, 3)]


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_64_threads_at_expiry_make_one_refresh(client, server, tmp_path, kind):
    seeded = fresh_refresh_token(client, server)
    if kind == "file":
        path = tmp_path / "token.json"
        seed(path, seeded)
        m = TokenManager(client, server.client_id, server.oauth2_secret,
                         refresh_token="unused-start", store=path)
    else:
        m = TokenManager(client, server.client_id, server.oauth2_secret, refresh_token=seeded)
    barrier = threading.Barrier(64)
    results: list = [None] * 64

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = m.access_token()
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(64)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, str) for r in results), [r for r in results if not isinstance(r, str)]
    assert len(set(results)) == 1, "one token for all"
    refresh_token = m.token().refresh_token
    assert generation(refresh_token) == (generation(seeded)[0], 1), "one refresh request"
    if kind == "file":
        assert json.loads(path.read_text())["refresh_token"] == refresh_token
    assert still_refreshes(client, server, refresh_token)


class RecordingStore:
    """A callback store that keeps its document in memory and records what happens."""

    def __init__(self, events: list) -> None:
        self.document = None
        self.events = events

    def load(self):
        return self.document

    def save(self, document: bytes) -> None:
        self.events.append("saved")
        self.document = document


def test_the_rotated_refresh_token_is_saved_before_the_token_is_returned(client, server, tmp_path):
    seeded = fresh_refresh_token(client, server)
    events: list = []
    store = RecordingStore(events)
    m = TokenManager(client, server.client_id, server.oauth2_secret, refresh_token=seeded, store=store)
    access = m.access_token()
    events.append("returned")
    assert events == ["saved", "returned"]
    stored = json.loads(store.document)
    token = m.token()
    assert stored["refresh_token"] == token.refresh_token != seeded
    assert stored["access_token"] == access
    assert stored["geolocation"] == token.geolocation == server.base_url
    assert not still_refreshes(client, server, seeded), "the old one is spent"
    # The same through a file.
    path = tmp_path / "token.json"
    m = manager(client, server, store=path)
    access = m.access_token()
    stored = json.loads(path.read_text())
    assert (stored["access_token"], stored["refresh_token"]) == (access, m.token().refresh_token)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


class FailingStore:
    def __init__(self) -> None:
        self.saves = 0

    def load(self):
        return None

    def save(self, document: bytes) -> None:
        self.saves += 1
        raise OSError("disk full (the application's own text)")


def test_a_failed_save_surfaces_and_the_token_is_not_handed_out(client, server):
    store = FailingStore()
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials", store=store)
    for attempt in (1, 2):
        with pytest.raises(StoreError) as caught:
            m.access_token()
        # Not cached: the next call asks again, and fails again.
        assert store.saves == attempt
    e = caught.value
    assert isinstance(e, ConcurError) and e.code == "STORE"
    assert "save(bytes) raised OSError" in str(e)
    assert isinstance(e.__cause__, OSError)
    for text in texts_of(e):
        assert server.oauth2_secret not in text


def test_unusable_stores_are_store_errors_and_lose_nothing(client, server, tmp_path):
    m = manager(client, server, store=tmp_path / "no-such-directory" / "token.json")
    with pytest.raises(StoreError):
        m.access_token()
    path = tmp_path / "token.json"
    path.write_bytes(b'{"refresh_token": 42')
    m = manager(client, server, store=path)
    with pytest.raises(StoreError) as caught:
        m.access_token()
    assert "42" not in str(caught.value)
    assert path.read_bytes() == b'{"refresh_token": 42', "left as it was"

    class Garbage:
        def load(self):
            return "not bytes"

        def save(self, document):
            raise AssertionError("never reached")

    with pytest.raises(StoreError, match="neither bytes nor None"):
        manager(client, server, store=Garbage()).access_token()


def test_a_bad_refresh_token_is_unauthorized_108(client, server):
    m = TokenManager(client, server.client_id, server.oauth2_secret, refresh_token="not-a-refresh-token")
    for _ in range(3):
        with pytest.raises(UnauthorizedError) as caught:
            m.access_token()
        assert caught.value.concur_code == 108
        for text in texts_of(caught.value):
            assert "not-a-refresh-token" not in text and server.oauth2_secret not in text
    # A real refresh token, spent elsewhere since (rotated away), is refused the same way.
    spent = fresh_refresh_token(client, server)
    assert still_refreshes(client, server, spent)
    with pytest.raises(UnauthorizedError) as caught:
        TokenManager(client, server.client_id, server.oauth2_secret, refresh_token=spent).access_token()
    assert caught.value.concur_code == 108


def test_client_credentials_are_renewed_without_a_refresh_token(client, server, tmp_path):
    path = tmp_path / "token.json"
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials",
                     store=path, **EVERY_CALL_REFRESHES)
    a, b = m.token(), m.token()
    assert a.access_token != b.access_token, "asked again"
    assert a.refresh_token is None and b.refresh_token is None
    assert "refresh_token" not in json.loads(path.read_text())


def test_a_password_or_company_start_runs_once_then_refreshes(client, server):
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="password",
                     username=server.login_id, password=server.password, **EVERY_CALL_REFRESHES)
    first, second = m.token(), m.token()
    family = generation(first.refresh_token)[0]
    assert (generation(first.refresh_token), generation(second.refresh_token)) == ((family, 0), (family, 1))
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="company",
                     company_id=server.company_id, request_token=server.request_token)
    token = m.token()
    assert token.principal_type == "company" and token.access_token == m.access_token()


def test_the_gil_is_released_while_a_refresh_waits(server):
    slow = Client(base_url=server.scenario("slow-headers-1000"), ca_file=server.ca_file, timeout=10.0)
    m = TokenManager(slow, server.client_id, server.oauth2_secret, grant="client_credentials")
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        m.access_token()
    finally:
        done.set()
        counter.join()
    # Held for the whole second, the GIL would have let the counter run for a switch interval
    # (5 ms, some 80,000 ticks here) at most; released, it counts for about the whole second
    # (some 16 million ticks here): a million is 6% of that.
    assert ticks > 1_000_000, ticks


# --- across processes and machines ----------------------------------------------------------

CHILD = r"""
import os, sys, time
import concur_native
store, base_url, ca_file, client_id, go = sys.argv[1:6]
client = concur_native.Client(base_url=base_url, ca_file=ca_file, timeout=60.0)
m = concur_native.TokenManager(client, client_id, os.environ["CONCUR_CLIENT_SECRET"],
                               refresh_token="unused-start", store=store)
deadline = time.monotonic() + 60
while not os.path.exists(go):
    assert time.monotonic() < deadline, "no start signal"
    time.sleep(0.002)
print("ACCESS_TOKEN=" + m.access_token(), flush=True)
"""


def test_four_processes_sharing_a_file_store_refresh_once(client, server, tmp_path):
    path = tmp_path / "token.json"
    seeded = fresh_refresh_token(client, server)
    seed(path, seeded)
    go = tmp_path / "go"
    env = dict(os.environ, CONCUR_CLIENT_SECRET=server.oauth2_secret)
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), server.base_url, server.ca_file, server.client_id, str(go)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        for _ in range(4)
    ]
    try:
        time.sleep(0.5)  # not needed for correctness: lets the four start before the signal
        go.write_bytes(b"")
        outputs = [child.communicate(timeout=60) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert all(child.returncode == 0 for child in children), [err for _, err in outputs]
    tokens = [out.strip().removeprefix("ACCESS_TOKEN=") for out, _ in outputs]
    assert len(set(tokens)) == 1, "every process has the one new token"
    stored = json.loads(path.read_text())
    assert stored["access_token"] == tokens[0]
    # One refresh request between the four: the family moved on exactly once (a second refresh
    # would have made it 2, or failed its process with 108), and the saved token is its newest.
    assert generation(stored["refresh_token"]) == (generation(seeded)[0], 1)
    assert still_refreshes(client, server, stored["refresh_token"])


def test_eight_workers_sharing_redis_refresh_once(client, server, redis_url):
    seeded = fresh_refresh_token(client, server)
    key = f"py-test:{os.getpid()}:{time.monotonic_ns()}"
    # Eight "machines": eight managers, each with its own memory, the same start and key.
    managers = [
        TokenManager(client, server.client_id, server.oauth2_secret, refresh_token=seeded,
                     store=redis_url, redis_key=key)
        for _ in range(8)
    ]
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = managers[i].access_token()
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, str) for r in results), results
    assert len(set(results)) == 1
    refresh_token = managers[0].token().refresh_token
    assert generation(refresh_token) == (generation(seeded)[0], 1), "one refresh between eight"
    assert still_refreshes(client, server, refresh_token)


def test_redis_problems_are_store_errors(client, server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    m = manager(client, server, store=f"redis://127.0.0.1:{port}/", redis_key="k")
    with pytest.raises(StoreError):
        m.access_token()
    with pytest.raises(InvalidArgumentError):
        manager(client, server, store="redis://127.0.0.1:6379/", redis_key="bad\nkey")


# --- arguments and texts --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({}, InvalidArgumentError),
        ({"refresh_token": "rt", "grant": "password", "username": "u", "password": "p"}, InvalidArgumentError),
        ({"grant": "password", "username": "u"}, InvalidArgumentError),
        ({"grant": "company", "company_id": "c"}, InvalidArgumentError),
        ({"grant": "client_credentials", "username": "u"}, InvalidArgumentError),
        ({"grant": "implicit"}, InvalidArgumentError),
        ({"refresh_token": "rt", "margin": -1}, InvalidArgumentError),
        ({"refresh_token": "rt", "margin": float("nan")}, InvalidArgumentError),
        ({"refresh_token": ""}, InvalidArgumentError),
        ({"refresh_token": "rt", "geolocation": "http://example.com"}, InvalidArgumentError),
        ({"refresh_token": "rt", "store": "path", "redis_key": "k"}, InvalidArgumentError),
        ({"refresh_token": "rt", "redis_key": "k"}, InvalidArgumentError),
        ({"refresh_token": "rt", "store": "redis://[::1"}, InvalidArgumentError),
        ({"refresh_token": "rt", "store": ""}, InvalidArgumentError),
        ({"refresh_token": "rt", "store": 42}, TypeError),
        ({"refresh_token": "a\ud800b"}, InvalidArgumentError),
    ],
)
def test_bad_arguments_are_refused(client, server, kwargs, error):
    with pytest.raises(error) as caught:
        TokenManager(client, server.client_id, server.oauth2_secret, **kwargs)
    for text in texts_of(caught.value):
        assert server.oauth2_secret not in text


def test_no_secret_in_repr_and_no_pickling(client, server):
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="password",
                     username=server.login_id, password=server.password)
    token = m.token()
    shown = repr(m)
    assert shown.startswith("TokenManager") and server.client_id in shown
    for secret in (server.oauth2_secret, server.password, token.access_token, token.refresh_token):
        assert secret not in shown
    with pytest.raises(TypeError):
        pickle.dumps(m)


def test_the_example_runs(server, tmp_path):
    example = Path(__file__).resolve().parents[3] / "examples" / "token_manager.py"
    store = tmp_path / "token.json"
    env = dict(
        os.environ, CONCUR_BASE_URL=server.base_url, CONCUR_CA_FILE=server.ca_file,
        CONCUR_CLIENT_ID=server.client_id, CONCUR_CLIENT_SECRET=server.oauth2_secret,
        CONCUR_USERNAME=server.login_id, CONCUR_PASSWORD=server.password, CONCUR_TOKEN_FILE=str(store),
    )
    env.pop("CONCUR_REFRESH_TOKEN", None)
    out = subprocess.run([sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "8 threads, 1 token" in out.stdout and "mode 600" in out.stdout
    stored = json.loads(store.read_text())
    assert stored["access_token"] not in out.stdout and stored["refresh_token"] not in out.stdout
