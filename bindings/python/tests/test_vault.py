"""The TokenVault from Python against the test server: every start kind of add(), replacing,
access_token (cached, async, from a second vault over one SQLite file, from a second process),
token, invalidate, remove (and revoke), connection and connections() (an iterator that pages),
status, keep_alive's report (refreshed, fresh, dead with 108), events naming the connection,
vault.manager(id) in the requests and httpx adapters; bad input refused with typed errors
(invalid IDs, unknown IDs, a bad store URL, a wrong mix of keywords); no secret in any text.

Requests are counted as in test_manager.py: the test server's refresh tokens carry their
family and how many times it was refreshed, and any but the family's newest is refused (108).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import pickle
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import concur_native
from concur_native import (
    Client,
    ConcurError,
    ConnectionInfo,
    InvalidArgumentError,
    KeepAliveReport,
    TokenVault,
    UnauthorizedError,
    UnknownConnectionError,
)

REDIRECT = "https://partner.example/callback"
DAY = 86_400


@pytest.fixture()
def client(server):
    return Client(base_url=server.base_url, ca_file=server.ca_file, timeout=20.0)


def vault_of(client, server, **kwargs) -> TokenVault:
    return TokenVault(client, server.client_id, server.oauth2_secret, **kwargs)


def generation(refresh_token: str) -> tuple[int, int]:
    """(family, how many refreshes the family had) of a test-server refresh token."""
    payload = refresh_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["f"], claims["n"]


def fresh_refresh_token(client, server, account: int = 0) -> str:
    a = server.accounts[account]
    token = client.password_grant(server.client_id, server.oauth2_secret, a["login_id"], a["password"])
    return token.refresh_token


def still_refreshes(client, server, refresh_token: str) -> bool:
    """Whether `refresh_token` is its family's newest (spends it: the family moves on)."""
    try:
        client.refresh_grant(server.client_id, server.oauth2_secret, refresh_token)
        return True
    except UnauthorizedError as e:
        assert e.concur_code == 108
        return False


def texts_of(value) -> list[str]:
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts += [repr(value.args), repr(vars(value))]
    return texts


def authorization_code(server) -> str:
    url, state = concur_native.oauth2_authorize_url(server.client_id, REDIRECT, base_url=server.plain_base_url)
    callback = server.approve_oauth2(url.split("?", 1)[1])
    code, _ = concur_native.parse_oauth2_callback(callback, expected_state=state)
    return code


# --- add, every start ------------------------------------------------------------------------


def test_add_from_a_refresh_token_refreshes_it_once_and_serves_from_memory(client, server):
    vault = vault_of(client, server)
    rt = fresh_refresh_token(client, server)
    token = vault.add("user-1", refresh_token=rt, geolocation=server.base_url)
    assert isinstance(token, concur_native.OAuth2Token)
    assert generation(token.refresh_token)[1] == 1, "refreshed once at add"
    first = vault.access_token("user-1")
    assert first == token.access_token
    for _ in range(200):
        assert vault.access_token("user-1") == first
    assert vault.token("user-1").access_token == first
    # Nothing sent since the add: its refresh token is still the family's newest.
    assert still_refreshes(client, server, token.refresh_token)


@pytest.mark.parametrize("start", ["company", "password", "code", "client_credentials"])
def test_every_start_adds_a_connection_of_its_kind(client, server, start):
    vault = vault_of(client, server)
    if start == "company":
        token = vault.add("c", company_id=server.company_id, request_token=server.request_token)
        kind = "company"
    elif start == "password":
        a = server.accounts[2]
        token = vault.add("c", username=a["login_id"], password=a["password"])
        kind = "user"
    elif start == "code":
        token = vault.add("c", code=authorization_code(server), redirect_uri=REDIRECT)
        kind = "user"
    else:
        token = vault.add("c", client_credentials=True)
        kind = "app"
    assert vault.access_token("c") == token.access_token
    info = vault.connection("c")
    assert isinstance(info, ConnectionInfo)
    assert (info.id, info.kind, info.state) == ("c", kind, "active")
    assert info.expires_at is not None and info.expires_at.tzinfo is datetime.timezone.utc
    assert info.added_at.tzinfo is datetime.timezone.utc
    assert info.last_refresh is not None and info.concur_code is None and info.failures == 0
    assert info.subject == token.subject


def test_an_id_present_is_refused_unless_replaced(client, server):
    vault = vault_of(client, server)
    first = vault.add("dup", client_credentials=True)
    with pytest.raises(InvalidArgumentError):
        vault.add("dup", client_credentials=True)
    assert vault.access_token("dup") == first.access_token, "the refused add changed nothing"
    second = vault.add("dup", client_credentials=True, replace=True)
    assert second.access_token != first.access_token
    assert vault.access_token("dup") == second.access_token


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"geolocation": "https://us.api.concursolutions.com"},
        {"refresh_token": "rt", "username": "u"},
        {"company_id": "c"},
        {"request_token": "t"},
        {"username": "u"},
        {"password": "p"},
        {"code": "c"},
        {"redirect_uri": REDIRECT},
        {"company_id": "c", "request_token": "t", "password": "p"},
        {"client_credentials": True, "refresh_token": "rt"},
        {"code": "c", "redirect_uri": REDIRECT, "geolocation": "https://x.example"},
    ],
)
def test_a_wrong_mix_of_keywords_is_refused(client, server, kwargs):
    vault = vault_of(client, server)
    with pytest.raises(InvalidArgumentError) as caught:
        vault.add("x", **kwargs)
    for value in kwargs.values():
        if isinstance(value, str) and len(value) > 2:
            assert all(value not in t for t in texts_of(caught.value))
    assert list(vault.connections()) == [], "nothing stored"


# --- bad input -------------------------------------------------------------------------------

INVALID_IDS = ["", "a\nb", "tab\there", "x" * 257]


@pytest.mark.parametrize("bad", INVALID_IDS)
def test_invalid_ids_are_invalid_arguments(client, server, bad):
    vault = vault_of(client, server)
    calls = [
        lambda: vault.add(bad, client_credentials=True),
        lambda: vault.access_token(bad),
        lambda: vault.token(bad),
        lambda: vault.invalidate(bad),
        lambda: vault.remove(bad),
        lambda: vault.connection(bad),
        lambda: vault.status(bad),
        lambda: vault.manager(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError):
            call()
    assert list(vault.connections()) == []


def test_unknown_ids_are_unknown_connection_errors(client, server):
    vault = vault_of(client, server)
    assert issubclass(UnknownConnectionError, ConcurError)
    calls = [
        lambda: vault.access_token("nobody"),
        lambda: vault.token("nobody"),
        lambda: vault.invalidate("nobody"),
        lambda: vault.remove("nobody"),
        lambda: vault.remove("nobody", revoke=True),
        lambda: vault.connection("nobody"),
        lambda: vault.status("nobody"),
        lambda: vault.manager("nobody").access_token(),
        lambda: asyncio.run(vault.access_token_async("nobody")),
    ]
    for call in calls:
        with pytest.raises(UnknownConnectionError) as caught:
            call()
        assert caught.value.code == "UNKNOWN_CONNECTION" if hasattr(caught.value, "code") else True


@pytest.mark.parametrize("url", ["", "nonsense", "ftp://host/x", "memory", "file:///tmp/x"])
def test_a_store_url_that_does_not_parse_is_refused(client, server, url):
    with pytest.raises(InvalidArgumentError):
        vault_of(client, server, store=url)


def test_a_store_that_cannot_be_opened_is_a_concur_error(client, server, tmp_path):
    with pytest.raises(ConcurError) as caught:
        vault_of(client, server, store=f"sqlite:///{tmp_path}/no/such/dir/vault.db")
    assert not isinstance(caught.value, InvalidArgumentError) or "sqlite" in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"margin": -1.0},
        {"floor": -1.0},
        {"margin": 60.0, "floor": 120.0},
        {"store_key": b"short"},
        {"store_key": []},
        {"require_sealed": True},
        {"on_event": 42},
        {"cache_capacity": 0},
        {"cache_capacity": -5},
        {"horizons": [-1]},
        {"horizons": 5},
    ],
)
def test_bad_options_are_refused(client, server, kwargs):
    with pytest.raises(InvalidArgumentError):
        vault_of(client, server, **kwargs)


def test_bad_keep_alive_arguments_are_refused(client, server):
    vault = vault_of(client, server)
    for kwargs in [{"within": -1}, {"within": "soon"}, {"within": True}, {"concurrency": 0},
                   {"concurrency": -1}, {"concurrency": 65}]:
        with pytest.raises(InvalidArgumentError):
            vault.keep_alive(**kwargs)


# --- the rest of the methods ---------------------------------------------------------------


def test_invalidate_makes_the_next_use_refresh(client, server):
    vault = vault_of(client, server)
    vault.add("u", refresh_token=fresh_refresh_token(client, server))
    before = vault.token("u")
    vault.invalidate("u")
    after = vault.token("u")
    assert after.access_token != before.access_token
    assert generation(after.refresh_token) == (generation(before.refresh_token)[0], 2)


def test_remove_forgets_the_connection(client, server):
    vault = vault_of(client, server)
    vault.add("gone", client_credentials=True)
    vault.add("kept", client_credentials=True)
    vault.remove("gone")
    with pytest.raises(UnknownConnectionError):
        vault.access_token("gone")
    with pytest.raises(UnknownConnectionError):
        vault.remove("gone")
    assert [c.id for c in vault.connections()] == ["kept"]


def test_remove_with_revoke_revokes_the_connection_at_concur(client, server):
    vault = vault_of(client, server)
    account = server.accounts[-1]
    vault.add("revoked", username=account["login_id"], password=account["password"])
    refresh_token = vault.token("revoked").refresh_token
    vault.remove("revoked", revoke=True)
    with pytest.raises(UnknownConnectionError):
        vault.connection("revoked")
    assert not still_refreshes(client, server, refresh_token), "Concur no longer honours it"


def test_connections_is_an_iterator_that_pages(client, server):
    vault = vault_of(client, server)
    listing = vault.connections()
    assert not isinstance(listing, (list, tuple))
    assert iter(listing) is listing
    assert list(listing) == []
    # More than one page of the store (the core reads 500 records at a time).
    ids = [f"app-{n:04d}" for n in range(1_050)]
    for id in ids:
        vault.add(id, client_credentials=True)
    listing = vault.connections()
    first = next(listing)
    assert first.id == ids[0] and first.kind == "app"
    rest = [c.id for c in listing]
    assert [first.id] + rest == sorted(ids)
    with pytest.raises(StopIteration):
        next(listing)


def test_status_is_the_connections_engine(client, server):
    vault = vault_of(client, server)
    vault.add("s", client_credentials=True)
    status = vault.status("s")
    assert isinstance(status, concur_native.ManagerStatus)
    assert status.state == "active" and status.expires_at is not None


def test_keep_alive_refreshes_what_is_due_and_the_report_adds_up(client, server):
    vault = vault_of(client, server)
    for n in range(3):
        vault.add(f"k{n}", refresh_token=fresh_refresh_token(client, server))
    # Nothing is due within a second: the refresh tokens live far longer.
    quiet = vault.keep_alive(within=1)
    assert isinstance(quiet, KeepAliveReport)
    assert (quiet.checked, quiet.refreshed, quiet.fresh, quiet.dead, quiet.failed) == (0, 0, 0, [], [])
    assert quiet
    before = {f"k{n}": vault.token(f"k{n}").refresh_token for n in range(3)}
    # Within ten years every one is due, given as a timedelta.
    report = vault.keep_alive(within=datetime.timedelta(days=3650), concurrency=2)
    assert report.checked == 3
    assert report.checked == report.refreshed + report.fresh + len(report.dead) + len(report.failed)
    assert report.refreshed == 3 and report
    for id, old in before.items():
        new = vault.token(id).refresh_token
        assert generation(new) == (generation(old)[0], generation(old)[1] + 1)
    assert "KeepAliveReport(checked=3" in repr(report)


def test_keep_alive_reports_a_108_as_dead_and_never_sends_it_again(client, server):
    events = []
    vault = vault_of(client, server, on_event=events.append)
    vault.add("doomed", refresh_token=fresh_refresh_token(client, server))
    vault.add("fine", client_credentials=True)
    # Someone else spends the vault's refresh token: Concur refuses it from now on (108).
    stolen = vault.token("doomed").refresh_token
    assert still_refreshes(client, server, stolen)
    report = vault.keep_alive(within=10 * 365 * DAY)
    assert report.dead == [("doomed", 108)]
    assert report.checked == report.refreshed + report.fresh + len(report.dead) + len(report.failed)
    assert not report
    info = vault.connection("doomed")
    assert (info.state, info.concur_code) == ("dead", 108)
    assert any(e.outcome == "dead" and e.connection == "doomed" for e in events)
    # A second sweep does not send it again.
    sent = len(events)
    again = vault.keep_alive(within=10 * 365 * DAY)
    assert ("doomed", 108) in again.dead or again.checked == again.refreshed + again.fresh
    assert not any(e.grant == "refresh_token" and e.connection == "doomed" for e in events[sent:])
    with pytest.raises(UnauthorizedError):
        vault.invalidate("doomed")
        vault.access_token("doomed")


def test_events_name_the_connection_and_hold_no_secret(client, server):
    events = []
    vault = vault_of(client, server, on_event=events.append, floor=3600 * 1.01, margin=7200)
    rt = fresh_refresh_token(client, server)
    vault.add("evented", refresh_token=rt)
    vault.access_token("evented")  # below the floor: refreshed again
    assert events, "every refresh attempt is an event"
    assert {e.connection for e in events} == {"evented"}
    secrets = [rt, server.oauth2_secret, vault.token("evented").refresh_token]
    for event in events:
        for text in texts_of(event):
            assert all(s not in text for s in secrets)


# --- stores ----------------------------------------------------------------------------------


def test_two_vaults_over_one_sqlite_file_share_connections(client, server, tmp_path):
    url = f"sqlite:///{tmp_path}/vault.db"
    first = vault_of(client, server, store=url)
    second = vault_of(client, server, store=url)
    token = first.add("shared", refresh_token=fresh_refresh_token(client, server))
    # The second reads what the first stored: the same access token, no refresh sent.
    assert second.access_token("shared") == token.access_token
    assert [c.id for c in second.connections()] == ["shared"]
    assert still_refreshes(client, server, token.refresh_token)


def test_a_second_process_reads_the_sqlite_vault(client, server, tmp_path):
    url = f"sqlite:///{tmp_path}/vault.db"
    vault = vault_of(client, server, store=url)
    token = vault.add("proc", refresh_token=fresh_refresh_token(client, server))
    script = (
        "import sys, concur_native as c\n"
        "client = c.Client(base_url=sys.argv[1], ca_file=sys.argv[2], timeout=20.0)\n"
        "v = c.TokenVault(client, sys.argv[3], sys.stdin.readline().strip(), store=sys.argv[4])\n"
        "print(v.access_token('proc'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, server.base_url, server.ca_file, server.client_id, url],
        input=server.oauth2_secret + "\n", capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == token.access_token


def test_a_sealed_store_does_not_open_without_its_key(client, server, tmp_path):
    url = f"sqlite:///{tmp_path}/sealed.db"
    key = os.urandom(32)
    sealed = vault_of(client, server, store=url, store_key=base64.b64encode(key).decode())
    token = sealed.add("s", client_credentials=True)
    raw = (tmp_path / "sealed.db").read_bytes()
    assert token.access_token.encode() not in raw
    # The same key (as bytes, in a rotation list) opens it.
    rotated = vault_of(client, server, store=url, store_key=[os.urandom(32), key])
    assert rotated.access_token("s") == token.access_token
    wrong = vault_of(client, server, store=url, store_key=os.urandom(32))
    with pytest.raises(ConcurError) as caught:
        wrong.access_token("s")
    assert token.access_token not in str(caught.value)


# --- asyncio and the auth adapters -----------------------------------------------------------


def test_access_token_async(client, server):
    vault = vault_of(client, server)
    token = vault.add("a", client_credentials=True)

    async def both():
        return await asyncio.gather(vault.access_token_async("a"), vault.manager("a").access_token_async())

    assert asyncio.run(both()) == [token.access_token, token.access_token]


class Api:
    """A loopback API that answers 200 to `Bearer {valid()}`, 401 to anything else, and 401 to
    the first `refusals` requests."""

    def __init__(self, valid) -> None:
        self.valid = valid
        self.refusals = 0
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                ok = api.refusals == 0 and self.headers.get("Authorization") == f"Bearer {api.valid()}"
                api.refusals = max(0, api.refusals - 1)
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/x"
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_auth_adapters_take_a_vault_connection(client, server):
    import httpx
    import requests

    from concur_native.auth import BearerAuth, HTTPXAuth

    vault = vault_of(client, server)
    vault.add("api", client_credentials=True)
    connection = vault.manager("api")
    assert connection.id == "api" and connection.vault is vault
    api = Api(lambda: vault.access_token("api"))
    try:
        with requests.Session() as http:
            http.trust_env = False
            assert http.get(api.url, auth=BearerAuth(connection), timeout=10).status_code == 200
        with httpx.Client(auth=HTTPXAuth(connection), timeout=10, trust_env=False) as http:
            assert http.get(api.url).status_code == 200
            # A 401 invalidates the connection's token: the retry carries a new one.
            before = vault.access_token("api")
            api.refusals = 1
            assert http.get(api.url).status_code == 200
            assert vault.access_token("api") != before

        async def get():
            async with httpx.AsyncClient(auth=HTTPXAuth(connection), timeout=10, trust_env=False) as http:
                return await http.get(api.url)

        assert asyncio.run(get()).status_code == 200
    finally:
        api.close()


# --- no secret anywhere ------------------------------------------------------------------------


def test_no_secret_in_any_text_and_no_pickling(client, server, tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    key = os.urandom(32)
    vault = vault_of(client, server, store=url, store_key=key)
    a = server.accounts[2]
    token = vault.add("who", username=a["login_id"], password=a["password"])
    secrets = [server.oauth2_secret, a["password"], token.access_token, token.refresh_token,
               base64.b64encode(key).decode()]
    report = vault.keep_alive(within=10 * 365 * DAY)
    objects = [vault, vault.connection("who"), vault.manager("who"), report, vault.status("who")]
    errors = []
    for call in [lambda: vault.add("who", username=a["login_id"], password=a["password"]),
                 lambda: vault.add("x", refresh_token=token.refresh_token + "-bad"),
                 lambda: vault_of(client, server, store="redis://:" + server.oauth2_secret + "@",
                                  store_key=key)]:
        try:
            call()
        except ConcurError as e:
            errors.append(e)
    assert len(errors) == 3
    for value in objects + errors:
        for text in texts_of(value):
            assert all(s not in text for s in secrets), text
    for value in [vault, vault.manager("who")]:
        with pytest.raises(TypeError):
            pickle.dumps(value)


def test_the_example_runs(server, tmp_path):
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "examples" / "token_vault.py"
    env = dict(
        os.environ, CONCUR_BASE_URL=server.base_url, CONCUR_CA_FILE=server.ca_file,
        CONCUR_CLIENT_ID=server.client_id, CONCUR_CLIENT_SECRET=server.oauth2_secret,
        CONCUR_USERNAME=server.login_id, CONCUR_PASSWORD=server.password,
        CONCUR_COMPANY_ID=server.company_id, CONCUR_REQUEST_TOKEN=server.request_token,
        CONCUR_VAULT=f"sqlite:///{tmp_path}/vault.db",
    )
    out = subprocess.run([sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f"company:{server.company_id}" in out.stdout and f"user:{server.login_id}" in out.stdout
    assert "keep-alive: 0 due" in out.stdout
    assert server.password not in out.stdout + out.stderr


def test_a_refresh_token_within_a_horizon_is_warned_about_once(client, server):
    # The test server's refresh tokens live six months: within both horizons given.
    events = []
    vault = vault_of(client, server, horizons=[datetime.timedelta(days=365), 200 * DAY], on_event=events.append)
    vault.add("h", username=server.login_id, password=server.password)
    info = vault.connection("h")
    assert (info.state, info.horizon) == ("expiring", datetime.timedelta(days=200))
    vault.invalidate("h")
    vault.access_token("h")  # a refresh: its new refresh token is within both horizons
    warned = [e for e in events if e.outcome == "expiring"]
    assert [(e.connection, e.horizon) for e in warned] == [
        ("h", datetime.timedelta(days=365)), ("h", datetime.timedelta(days=200))]
    for _ in range(10):
        vault.access_token("h")
    vault.keep_alive(within=1)
    assert len([e for e in events if e.outcome == "expiring"]) == 2, "once per horizon"
    assert all(server.password not in t for e in events for t in texts_of(e))


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def shared_store(request, tmp_path):
    """A store URL two vaults (two processes, two machines) share."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/race.db"
    return request.getfixturevalue(f"{request.param}_url")


def test_two_vaults_sweeping_one_store_at_once_never_use_a_refresh_token_twice(client, server, shared_store):
    # A server just started may refuse sessions for a moment: a bound only a broken run reaches.
    deadline = time.monotonic() + 30
    while True:
        try:
            first = vault_of(client, server, store=shared_store)
            break
        except concur_native.StoreError:
            assert time.monotonic() < deadline, "the store never opened"
            time.sleep(0.1)
    second = vault_of(client, server, store=shared_store)
    tag = os.urandom(4).hex()  # a Redis server is shared by this module's tests
    ids = [f"race-{tag}-{n:02d}" for n in range(12)]
    for id in ids:
        first.add(id, refresh_token=fresh_refresh_token(client, server))
    reports: list = [None, None]
    barrier = threading.Barrier(2)

    def sweep(i: int, vault: TokenVault) -> None:
        barrier.wait()
        reports[i] = vault.keep_alive(within=10 * 365 * DAY, concurrency=4)

    threads = [threading.Thread(target=sweep, args=(i, v)) for i, v in enumerate([first, second])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for report in reports:
        assert isinstance(report, KeepAliveReport)
        assert report.checked == report.refreshed + report.fresh + len(report.dead) + len(report.failed)
        # A refresh token sent twice would have been refused (108) and reported dead.
        assert (report.dead, report.failed) == ([], [])
    assert sum(r.refreshed for r in reports) >= len(ids), "every connection refreshed at least once"
    # A vault's memory may hold an earlier access token of a connection (valid until it
    # expires). Invalidated, the first takes the newest from the store (or refreshes when that
    # is the one it held): its refresh token is the family's newest, alive.
    for id in ids:
        first.invalidate(id)
        token = first.token(id)
        assert generation(token.refresh_token)[1] >= 2
        assert still_refreshes(client, server, token.refresh_token)


def test_the_gil_is_released_while_an_add_waits(server):
    # Every answer of this server address comes a second late.
    slow = Client(base_url=server.scenario("slow-headers-1000"), ca_file=server.ca_file, timeout=10.0)
    vault = vault_of(slow, server)
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        vault.add("slow", client_credentials=True)
    finally:
        done.set()
        counter.join()
    # Held for the whole second, the GIL would let the counter run a switch interval (5 ms) at
    # most; released, it counts for about the whole second (as in test_manager.py).
    assert ticks > 1_000_000, ticks


def test_the_cached_path_hands_out_only_what_memory_holds(client, server, tmp_path):
    url = f"sqlite:///{tmp_path}/cached.db"
    first = vault_of(client, server, store=url)
    token = first.add("c", client_credentials=True)
    assert first._cached_access_token("c") == token.access_token
    second = vault_of(client, server, store=url)
    # Not in the second vault's memory yet: only a call (which reads the store) gets it.
    assert second._cached_access_token("c") is None
    assert second._cached_access_token("nobody") is None
    assert second.access_token("c") == token.access_token
    assert second._cached_access_token("c") == token.access_token
    assert asyncio.run(second.access_token_async("c")) == token.access_token
    # Below the floor a token is never handed out from memory: a call waits for a refresh.
    strict = vault_of(client, server, margin=7200, floor=3700)
    first_strict = strict.add("s", client_credentials=True)
    assert strict._cached_access_token("s") is None
    assert strict.access_token("s") != first_strict.access_token
