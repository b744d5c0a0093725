"""Client, refresh, code exchange, revocation and the Web-flow helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import concur_native
from concur_native import (
    Client,
    ConcurTimeoutError,
    HTTPStatusError,
    InvalidArgumentError,
    ProtocolError,
    UnauthorizedError,
)


@pytest.fixture()
def client(server):
    return Client(base_url=server.base_url, ca_file=server.ca_file, timeout=10.0)


def account(server, index):
    return server.accounts[index]["login_id"], server.accounts[index]["password"] or None


def login(client, server, index=0):
    return client.native_token(server.consumer_key, *account(server, index))


def test_client_native_token_and_repr(client, server):
    token = login(client, server)
    assert token.token.startswith("0_")
    assert "Client" in repr(client) and server.base_url in repr(client)


def test_client_options_are_checked_at_construction(server):
    with pytest.raises(InvalidArgumentError):
        Client(base_url="http://example.com")
    with pytest.raises(InvalidArgumentError):
        Client(timeout=-1)
    with pytest.raises(TypeError):
        Client(server.base_url)  # keyword-only


def test_refresh_keeps_the_refresh_token(client, server):
    first = login(client, server)
    at_instance = Client(base_url=first.instance_url, ca_file=server.ca_file)
    refreshed = at_instance.refresh_token(server.consumer_key, server.client_secret, first.refresh_token)
    assert refreshed.token != first.token
    assert refreshed.refresh_token == first.refresh_token
    assert refreshed.expires_at is not None


def test_refresh_errors(client, server):
    first = login(client, server)
    with pytest.raises(UnauthorizedError) as info:
        client.refresh_token(server.consumer_key, "wrong-secret-zz", first.refresh_token)
    assert info.value.status_code == 401
    assert "wrong-secret-zz" not in str(info.value)
    assert first.refresh_token not in str(info.value)
    slow = Client(base_url=server.scenario("slow-headers-3000"), ca_file=server.ca_file, timeout=0.3)
    with pytest.raises(ConcurTimeoutError):
        slow.refresh_token(server.consumer_key, server.client_secret, first.refresh_token)
    down = Client(base_url=server.scenario("status-503"), ca_file=server.ca_file)
    with pytest.raises(HTTPStatusError):
        down.refresh_token(server.consumer_key, server.client_secret, first.refresh_token)
    html = Client(base_url=server.scenario("html"), ca_file=server.ca_file)
    with pytest.raises(ProtocolError):
        html.refresh_token(server.consumer_key, server.client_secret, first.refresh_token)
    with pytest.raises(InvalidArgumentError):
        client.refresh_token(server.consumer_key, "", first.refresh_token)
    with pytest.raises(TypeError):
        client.refresh_token(server.consumer_key, None, first.refresh_token)


def test_web_flow_end_to_end(client, server):
    url, state = concur_native.authorization_url(
        server.consumer_key,
        "https://partner.example/callback",
        scopes=["EXPRPT", "LIST"],
        base_url=server.base_url,
    )
    assert url.startswith(server.base_url + "/net2/oauth2/Login.aspx?client_id=")
    assert "scope=EXPRPT%2CLIST" in url and len(state) == 32
    callback = server.approve(urlsplit(url).query)
    code = concur_native.parse_callback(callback, state)
    token = client.exchange_code(server.consumer_key, server.client_secret, code)
    assert token.refresh_token
    with pytest.raises(UnauthorizedError):
        client.exchange_code(server.consumer_key, server.client_secret, code)


def test_web_flow_refusals(server):
    url, state = concur_native.authorization_url(
        server.consumer_key, "https://p.example/cb", base_url=server.base_url, state="mine"
    )
    assert state == "mine"
    denied = server.approve(urlsplit(url).query + "&deny=1")
    with pytest.raises(UnauthorizedError) as info:
        concur_native.parse_callback(denied, state)
    assert info.value.message == "The user denied access."
    with pytest.raises(InvalidArgumentError):
        concur_native.parse_callback("https://p.example/cb?code=x&state=evil", state)
    with pytest.raises(InvalidArgumentError):
        concur_native.authorization_url(server.consumer_key, "relative/cb")
    assert concur_native.parse_callback("https://p.example/listen?code=abc") == "abc"


def test_revocation(client, server):
    admin = login(client, server, 0)
    victim = login(client, server, 2)
    with pytest.raises(UnauthorizedError) as info:
        client.revoke_token(victim.token, admin.token)
    assert info.value.status_code == 403
    assert client.revoke_token(admin.token, victim.token) is None
    with pytest.raises(UnauthorizedError):
        client.refresh_token(server.consumer_key, server.client_secret, victim.refresh_token)
    other = login(client, server, 1)
    client.revoke_user_tokens(admin.token, server.consumer_key, server.accounts[1]["login_id"])
    with pytest.raises(UnauthorizedError):
        client.refresh_token(server.consumer_key, server.client_secret, other.refresh_token)
    with pytest.raises(InvalidArgumentError):
        client.revoke_token(admin.token, "")


def idle_closes(server):
    """How many kept-alive connections the server has closed for idling so far."""
    import http.client

    plain = urlsplit(server.plain_base_url)
    connection = http.client.HTTPConnection(plain.hostname, plain.port, timeout=10)
    try:
        connection.request("GET", "/s/idle-closes/net2/oauth2/accesstoken.ashx")
        return int(connection.getresponse().read())
    finally:
        connection.close()


def test_an_idle_connection_closed_by_the_server_is_replaced(server):
    # A load balancer closes the client's kept-alive connection while it sits in the pool:
    # the next GET, and then a POST (revocation), go out on fresh connections and succeed.
    client = Client(**server.kwargs(server.scenario("idle-close-100")))

    def after_idle_close(call):
        before = idle_closes(server)
        result = call()
        deadline = time.monotonic() + 5
        while idle_closes(server) == before:
            assert time.monotonic() < deadline, "the server kept the idle connection open"
            time.sleep(0.005)
        return result

    after_idle_close(lambda: login(client, server))
    token = after_idle_close(lambda: login(client, server))
    assert token.token.startswith("0_")
    assert client.revoke_token(token.token, token.token) is None


def test_one_client_many_threads_gil_released(server):
    client = Client(base_url=server.scenario("slow-headers-1000"), ca_file=server.ca_file)
    results = []

    def work():
        results.append(login(client, server).token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 8
    assert time.monotonic() - started < 4.0


def test_lifecycle_example(server):
    example = Path(__file__).resolve().parents[3] / "examples" / "token_lifecycle.py"
    env = dict(
        os.environ,
        CONCUR_CONSUMER_KEY=server.consumer_key,
        CONCUR_LOGIN_ID=server.login_id,
        CONCUR_PASSWORD=server.password,
        CONCUR_CLIENT_SECRET=server.client_secret,
        CONCUR_CALLBACK_URL=server.approve(
            f"client_id={server.consumer_key}&redirect_uri=https%3A%2F%2Fp.example%2Fcb&state=ex"
        ),
        CONCUR_CALLBACK_STATE="ex",
        CONCUR_BASE_URL=server.base_url,
        CONCUR_CA_FILE=server.ca_file,
    )
    result = subprocess.run(
        [sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "(same refresh token: True)" in result.stdout
    assert "Exchanged code:  0_" in result.stdout
    assert "Revoke:          done" in result.stdout
