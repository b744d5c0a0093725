"""TokenManager round two from Python: refresh ahead (callers keep the current token while one
refresh runs), stale if error (an outage ridden through with backoff), Concur's verdict reported
once, events and status with every field and no secret, the ``concur_native.manager`` logger,
a raising ``on_event``, sealed stores (no token in the file, wrong key, rotation, migration,
``require_sealed``), and the new arguments refused when bad.

No test depends on timing: a refresh is held at its save by a ``threading.Event`` the test sets,
and waits are bounded polls that only stop a broken run. Requests are counted as in
test_manager.py, by the generation the test server writes into its refresh tokens.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import os
import threading
import time

import pytest

from concur_native import (
    Client,
    ConcurError,
    HTTPStatusError,
    InvalidArgumentError,
    ManagerStatus,
    RefreshEvent,
    StoreError,
    TokenManager,
    UnauthorizedError,
)
from test_manager import (
    EVERY_CALL_REFRESHES,
    HOUR_AND_A_BIT,
    fresh_refresh_token,
    generation,
    seed,
    still_refreshes,
)

UTC = datetime.timezone.utc
LOGGER = "concur_native.manager"
ALWAYS = EVERY_CALL_REFRESHES


@pytest.fixture()
def client(server):
    return Client(base_url=server.base_url, ca_file=server.ca_file, timeout=20.0)


def until(what: str, done, seconds: float = 60.0) -> None:
    """Waits (bounded) until `done()` holds; the bound only stops a broken run."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.002)


def plain_document(refresh_token: str, access_token: str, expires_at: int) -> bytes:
    return json.dumps({
        "version": 1, "refresh_token": refresh_token, "access_token": access_token,
        "expires_at": expires_at,
    }).encode()


class MemoryStore:
    """A callback store keeping its document in memory."""

    def __init__(self, document: bytes | None = None) -> None:
        self.document = document
        self.saved: list[bytes] = []

    def load(self):
        return self.document

    def save(self, document: bytes) -> None:
        self.saved.append(document)
        self.document = document


class LatchStore(MemoryStore):
    """A callback store whose save waits until the test sets `open`: a refresh held at its save
    for as long as the test wants."""

    def __init__(self) -> None:
        super().__init__()
        self.open = threading.Event()
        self.open.set()
        self.entered = threading.Event()

    def save(self, document: bytes) -> None:
        self.saved.append(document)
        self.entered.set()
        assert self.open.wait(60), "the test never opened the latch"
        self.document = document


def forms(secret: str) -> list[str]:
    """Every way a secret could show in a text: as is, base64, URL-safe base64, hex."""
    raw = secret.encode()
    return [
        secret,
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        raw.hex(),
    ]


def assert_no_secret(texts, secrets) -> None:
    for text in texts:
        for secret in secrets:
            for form in forms(secret):
                assert form not in text, f"a secret in {text!r}"


def aware_utc(value) -> bool:
    return isinstance(value, datetime.datetime) and value.utcoffset() == datetime.timedelta(0)


# --- refresh ahead, stale if error, Concur's verdict ------------------------------------------


def test_callers_inside_the_margin_keep_the_token_while_one_refresh_is_held(client, server):
    seeded = fresh_refresh_token(client, server)
    family = generation(seeded)[0]
    store = LatchStore()
    events: list = []
    # A margin above the hour: every token is inside it at once, far above the floor.
    m = TokenManager(client, server.client_id, server.oauth2_secret, refresh_token=seeded,
                     store=store, margin=HOUR_AND_A_BIT, floor=10, on_event=events.append)
    first = m.access_token()  # no token yet: this caller waits for the first refresh
    assert store.entered.is_set()
    store.entered.clear()
    store.open.clear()
    # The next call gets the current token at once and starts one refresh ahead, which is
    # then held at its save.
    assert m.access_token() == first
    assert store.entered.wait(60), "the refresh ahead never reached its save"
    barrier = threading.Barrier(8)
    results: list = [None] * 8

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = [m.access_token() for _ in range(50)]
        except BaseException as e:  # noqa: BLE001 - reported below
            results[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # A caller waiting for the held refresh would still be waiting: every one returned.
    assert all(isinstance(r, list) and set(r) == {first} for r in results), results
    status = m.status()
    assert status.refreshing and status.state == "active"
    saves = len(store.saved)  # the count, not the list: its documents hold tokens
    assert saves == 2, "one refresh ahead, however many callers"
    store.open.set()
    until("the refresh ahead's event", lambda: len(events) == 2)
    assert [(e.outcome, e.trigger, e.grant) for e in events] == [
        ("refreshed", "absent", "refresh_token"),
        ("refreshed", "ahead", "refresh_token"),
    ]
    assert events[1].expires_at > datetime.datetime.now(UTC) + datetime.timedelta(seconds=3500)
    # Exactly one refresh request ahead: the saved refresh token is the family's second, and
    # nothing has spent it since.
    saved = json.loads(store.saved[1])
    assert generation(saved["refresh_token"]) == (family, 2)
    assert saved["access_token"] != first
    assert still_refreshes(client, server, saved["refresh_token"])


def test_an_outage_is_ridden_through_with_backoff(client, server):
    seeded = fresh_refresh_token(client, server)
    tag = f"py-outage-{os.getpid()}-{time.monotonic_ns()}"
    store = MemoryStore(plain_document(seeded, "seeded-access", int(time.time()) + 3000))
    events: list = []
    # Concur answers the first two refreshes 503, then recovers.
    outage = Client(base_url=server.scenario(f"retry-503-2-0-{tag}"), ca_file=server.ca_file,
                    timeout=20.0, correlation_id=tag)
    m = TokenManager(outage, server.client_id, server.oauth2_secret, refresh_token="unused-start",
                     store=store, margin=3500, floor=10, on_event=events.append)
    tokens = set()
    deadline = time.monotonic() + 60
    while len(events) < 4:
        assert time.monotonic() < deadline, f"never recovered: {events}"
        tokens.add(m.access_token())  # never an exception: the stored token is above the floor
        time.sleep(0.001)
    assert [e.outcome for e in events] == ["from_store", "failed", "failed", "refreshed"]
    for event, failures in zip(events[1:3], (1, 2)):
        assert isinstance(event.error, HTTPStatusError)
        assert (event.error.status_code, event.error.code) == (503, "HTTP_STATUS")
        assert event.error.correlation_id == tag
        assert (event.failures, event.trigger, event.grant) == (failures, "ahead", "refresh_token")
        assert aware_utc(event.retry_at) and event.retry_at > event.at
        assert event.expires_at is None and event.refresh_expires_at is None
    # The backoff: about 1 s, then about 2 s (±20 %), between the attempts' ends.
    assert (events[2].at - events[1].at).total_seconds() >= 0.8
    assert (events[3].at - events[2].at).total_seconds() >= 1.6
    new = json.loads(store.document)["access_token"]
    assert tokens <= {"seeded-access", new} and "seeded-access" in tokens
    status = m.status()
    assert (status.state, status.failures, status.last_error, status.next_attempt) == (
        "active", 0, None, None)
    assert status.refresh_count == 1


def test_concurs_verdict_is_one_dead_event_and_not_sent_again(client, server):
    store = MemoryStore(plain_document("not-a-refresh-token", "seeded-access", int(time.time()) + 3000))
    events: list = []
    m = TokenManager(client, server.client_id, server.oauth2_secret, refresh_token="unused-start",
                     store=store, margin=3500, floor=10, on_event=events.append)

    def dead() -> bool:
        assert m.access_token() == "seeded-access"
        return len(events) == 2

    until("the dead event", dead)
    for _ in range(200):
        assert m.access_token() == "seeded-access"
    status = m.status()
    assert (status.state, status.failures, status.next_attempt) == ("dead", 1, None)
    assert isinstance(status.last_error, UnauthorizedError) and status.last_error.concur_code == 108
    # Below the floor (here: invalidated) the caller gets the verdict. Nothing is sent: a sent
    # refresh would be an attempt, and every attempt is an event (and a failure in a row).
    m.invalidate()
    with pytest.raises(UnauthorizedError) as caught:
        m.access_token()
    assert caught.value.concur_code == 108
    assert [e.outcome for e in events] == ["from_store", "dead"]
    assert events[1].retry_at is None and events[1].error.concur_code == 108
    assert m.status().failures == 1


# --- events, logs and status ----------------------------------------------------------------


def test_events_carry_every_field_and_no_secret_and_a_raising_callback_changes_nothing(
        client, server, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    seen: list = []

    def on_event(event: RefreshEvent) -> None:
        seen.append(event)
        raise RuntimeError(f"the application's bug, quoting {server.password}")

    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="password",
                     username=server.login_id, password=server.password, on_event=on_event, **ALWAYS)
    before = datetime.datetime.now(UTC)
    a, b = m.token(), m.token()
    assert a.access_token != b.access_token, "refreshed twice despite the raising callback"
    assert [(e.outcome, e.trigger, e.grant) for e in seen] == [
        ("refreshed", "absent", "password"),
        ("refreshed", "expired", "refresh_token"),
    ]
    for event, token in zip(seen, (a, b)):
        assert isinstance(event, RefreshEvent)
        assert isinstance(event.duration, float) and 0 < event.duration < 60
        assert aware_utc(event.at) and before <= event.at <= datetime.datetime.now(UTC)
        assert aware_utc(event.expires_at) and event.expires_at == token.expires_at
        assert aware_utc(event.refresh_expires_at)
        assert event.refresh_expires_at == token.refresh_expires_at
        assert (event.error, event.failures, event.retry_at, event.connection) == (None, 0, None, None)
        assert str(event).startswith("token refresh refreshed (")
        with pytest.raises(AttributeError):
            event.outcome = "dead"  # type: ignore[misc]
    status = m.status()
    assert isinstance(status, ManagerStatus)
    assert (status.state, status.failures, status.refresh_count, status.refreshing) == (
        "active", 0, 2, False)
    assert status.expires_at == b.expires_at and aware_utc(status.last_refresh)
    assert status.last_error is None and status.next_attempt is None
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelname, r.getMessage() == str(e)) for r, e in zip(records[::2], seen)] == [
        ("INFO", True), ("INFO", True)]
    assert [r.getMessage() for r in records[1::2]] == [
        "the on_event callback raised RuntimeError; ignored"] * 2
    assert records[0].concur_event.outcome == "refreshed"
    secrets = [server.oauth2_secret, server.password, a.access_token, a.refresh_token,
               b.access_token, b.refresh_token]
    texts = [repr(status)] + [t for e in seen for t in (str(e), repr(e))]
    texts += [t for r in records for t in (r.getMessage(), repr(vars(r)))]
    assert "refresh_token" in repr(seen[1]) and "RefreshEvent(outcome=" in repr(seen[1])
    assert_no_secret(texts, secrets)


def test_every_event_is_logged_without_a_callback_and_failures_as_warnings(client, server, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    m = TokenManager(client, server.client_id, server.oauth2_secret,
                     refresh_token="not-a-refresh-token")
    with pytest.raises(UnauthorizedError):
        m.access_token()
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials")
    m.access_token()
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelname, r.concur_event.outcome) for r in records] == [
        ("WARNING", "dead"), ("INFO", "refreshed")]
    dead = records[0].concur_event
    assert isinstance(dead.error, UnauthorizedError) and dead.error.concur_code == 108
    assert "dead" in records[0].getMessage() and "108" in records[0].getMessage()
    status = m.status()
    assert_no_secret([repr(status), repr(dead), records[0].getMessage()],
                     [server.oauth2_secret, "not-a-refresh-token"])


def test_the_async_call_keeps_working_with_events(client, server):
    events: list = []
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials",
                     on_event=events.append)
    token = asyncio.run(m.access_token_async())
    assert token == m.access_token()
    assert [e.outcome for e in events] == ["refreshed"]


# --- sealed stores --------------------------------------------------------------------------


def sealed_manager(client, server, path, key, **kwargs) -> TokenManager:
    kwargs.setdefault("refresh_token", fresh_refresh_token(client, server))
    return TokenManager(client, server.client_id, server.oauth2_secret, store=path, store_key=key,
                        **kwargs)


def test_a_sealed_file_holds_no_token_and_a_wrong_key_changes_nothing(client, server, tmp_path):
    path = tmp_path / "token.json"
    key = os.urandom(32)
    m = sealed_manager(client, server, path, key)
    token = m.token()
    file = path.read_bytes()
    assert file.startswith(b'{"sealed":1')
    assert_no_secret([file.decode()], [token.access_token, token.refresh_token])
    assert "sealed: true" in repr(m)
    # The same key as base64 text opens it (no refresh: the stored token is fresh).
    again = sealed_manager(client, server, path, base64.b64encode(key).decode())
    assert again.access_token() == token.access_token
    # A wrong key: a StoreError quoting neither key nor content, and the file unchanged.
    other = os.urandom(32)
    with pytest.raises(StoreError) as caught:
        sealed_manager(client, server, path, other).access_token()
    texts = [str(caught.value), repr(caught.value)]
    assert_no_secret(texts, [token.access_token, token.refresh_token])
    for k in (key, other):
        assert all(form not in t for t in texts for form in (k.hex(), base64.b64encode(k).decode()))
    assert path.read_bytes() == file


def test_keys_rotate_and_plain_files_migrate_unless_sealing_is_required(client, server, tmp_path):
    path = tmp_path / "token.json"
    old, new = os.urandom(32), os.urandom(32)
    seed(path, fresh_refresh_token(client, server))
    plain = path.read_bytes()
    # Sealing required: the plain file is refused and left as it is.
    with pytest.raises(StoreError, match="unsealed"):
        sealed_manager(client, server, path, old, require_sealed=True, **ALWAYS).access_token()
    assert path.read_bytes() == plain
    # Not required: the plain file is read, and sealed at the save.
    first = sealed_manager(client, server, path, old, refresh_token="unused-start", **ALWAYS).token()
    assert path.read_bytes().startswith(b'{"sealed":1')
    assert_no_secret([path.read_text()], [first.access_token, first.refresh_token])
    # Rotation: [new, old] opens the old document and seals the next save under the new key.
    rotated = sealed_manager(client, server, path, [new, base64.b64encode(old).decode()],
                             refresh_token="unused-start", **ALWAYS).token()
    assert generation(rotated.refresh_token) == (generation(first.refresh_token)[0],
                                                 generation(first.refresh_token)[1] + 1)
    sealed_new = path.read_bytes()
    with pytest.raises(StoreError):
        sealed_manager(client, server, path, (old,), refresh_token="unused-start").access_token()
    assert path.read_bytes() == sealed_new
    after = sealed_manager(client, server, path, [new], refresh_token="unused-start")
    assert after.access_token() == rotated.access_token
    # A sealed file with require_sealed opens as well.
    strict = sealed_manager(client, server, path, new, require_sealed=True, refresh_token="unused-start")
    assert strict.access_token() == rotated.access_token


def test_a_callback_store_keeps_sealed_bytes(client, server):
    key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
    store = MemoryStore()
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials",
                     store=store, store_key=key)
    token = m.token()
    saves = len(store.saved)
    assert saves == 1 and isinstance(store.saved[0], bytes)
    assert store.saved[0].startswith(b'{"sealed":1')
    assert_no_secret([store.saved[0].decode()], [token.access_token])
    events: list = []
    other = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials",
                         store=store, store_key=[key], on_event=events.append)
    assert other.access_token() == token.access_token
    assert [e.outcome for e in events] == ["from_store"] and events[0].grant is None


# --- arguments ------------------------------------------------------------------------------

GOOD_KEY = bytes(range(32))


@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"floor": -1}, "floor"),
        ({"floor": float("nan")}, "floor"),
        ({"floor": float("inf")}, "floor"),
        ({"floor": 86_401}, "floor"),
        ({"floor": 300}, "floor"),  # not below the default margin
        ({"margin": 60, "floor": 61}, "floor"),
        ({"margin": 90_000, "floor": 10}, "margin"),
        ({"store_key": b"too short"}, "store_key"),
        ({"store_key": GOOD_KEY + b"!"}, "store_key"),
        ({"store_key": "not base64 at all!"}, "store_key"),
        ({"store_key": base64.b64encode(os.urandom(16)).decode()}, "store_key"),
        ({"store_key": []}, "store_key"),
        ({"store_key": ()}, "store_key"),
        ({"store_key": [GOOD_KEY, b"x"]}, "store_key"),
        ({"store_key": 42}, "store_key"),
        ({"store_key": "a\ud800b"}, "store_key"),
        ({"require_sealed": True}, "require_sealed"),
        ({"on_event": 42}, "on_event"),
        ({"on_event": "print"}, "on_event"),
    ],
)
def test_bad_new_arguments_are_refused_by_name(client, server, kwargs, named):
    with pytest.raises(InvalidArgumentError) as caught:
        TokenManager(client, server.client_id, server.oauth2_secret, refresh_token="rt", **kwargs)
    assert isinstance(caught.value, ConcurError)
    text = str(caught.value)
    assert named + "=" in text
    key = kwargs.get("store_key")
    if isinstance(key, (str, bytes)) and key:
        assert str(key) not in text and repr(key) not in text
        assert (key.hex() if isinstance(key, bytes) else key) not in text


def test_what_worked_before_keeps_its_meaning_and_good_new_arguments_are_taken(client, server):
    for kwargs in ({"margin": 0}, {"margin": 10}, {"margin": 100_000}, {"margin": 60, "floor": 0},
                   {"floor": 299.5}, {"store_key": GOOD_KEY}, {"store_key": bytearray(GOOD_KEY)},
                   {"store_key": base64.b64encode(GOOD_KEY).decode()},
                   {"store_key": (GOOD_KEY, GOOD_KEY), "require_sealed": True},
                   {"on_event": None, "store_key": None}, {"on_event": print}):
        TokenManager(client, server.client_id, server.oauth2_secret, refresh_token="rt", **kwargs)
    # A margin below the default floor still refreshes ahead of expiry: the floor follows it.
    m = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials",
                     margin=10)
    token = m.access_token()
    assert m.access_token() == token
    assert m.status().refresh_count == 1

