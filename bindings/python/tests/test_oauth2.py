"""The current API (oauth2/v0) from Python: every Client method and both module functions
against the test server, each error class with Concur's code, code 16 followed, untrusted
geolocations refused, rotation, bad arguments refused before anything is sent, and no secret in
any text."""

from __future__ import annotations

import copy
import datetime
import json
import pickle
import threading
import time
import uuid
from urllib.parse import quote

import pytest

import concur_native
from concur_native import (
    Client,
    ConcurConnectionError,
    ConcurError,
    ConcurTimeoutError,
    HTTPStatusError,
    InvalidArgumentError,
    LegacyExchange,
    OAuth2Token,
    ProtocolError,
    TLSError,
    UnauthorizedError,
)

REDIRECT = "https://partner.example/callback?x=1"


@pytest.fixture()
def client(server):
    return Client(base_url=server.base_url, ca_file=server.ca_file, timeout=10.0)


def at(server, base_url, **extra):
    """A client whose every call goes to `base_url` (a scenario, say)."""
    return Client(base_url=base_url, ca_file=server.ca_file, timeout=extra.pop("timeout", 10.0), **extra)


def password(client, server, **kwargs):
    return client.password_grant(
        server.client_id, server.oauth2_secret, server.login_id, server.password, **kwargs
    )


def otp_user(client, server):
    """A user of this test's own (revocation is per user, server-wide): an OTP grant for a
    fresh address."""
    email = f"py-{uuid.uuid4().hex[:12]}@example.com"
    assert client.send_otp(server.client_id, server.oauth2_secret, email) is None
    return email, client.otp_grant(server.client_id, server.oauth2_secret, email, server.otp)


def texts_of(value) -> list[str]:
    texts = [str(value), repr(value)]
    if isinstance(value, BaseException):
        texts += [repr(value.args), repr(vars(value))]
    return texts


def assert_quotes_none(value, *secrets):
    for text in texts_of(value):
        for secret in secrets:
            assert secret not in text, (secret, text)


def assert_user_token(token, server):
    assert isinstance(token, OAuth2Token)
    assert token.token_type == "Bearer"
    assert token.access_token and token.refresh_token and token.id_token
    now = datetime.datetime.now(datetime.timezone.utc)
    assert token.expires_at.tzinfo is datetime.timezone.utc
    assert now < token.expires_at <= now + datetime.timedelta(seconds=3601)
    assert token.refresh_expires_at > now + datetime.timedelta(days=170)
    assert token.principal_type == "user"
    assert token.subject and token.correlation_id
    assert "openid" in token.scope.split()


# --- each method, succeeding -------------------------------------------------------------


def test_password_grant(client, server):
    token = password(client, server)
    assert_user_token(token, server)
    assert token.geolocation == server.base_url
    shown = repr(token)
    assert shown.startswith("OAuth2Token(") and "access_token='***'" in shown
    assert server.base_url in shown and token.subject in shown
    assert_quotes_none(token, token.access_token, token.refresh_token, token.id_token, server.password)


def test_password_grant_with_a_scope_and_a_per_call_base_url(server):
    # The client points nowhere usable; the call's own base_url wins.
    client = at(server, "https://127.0.0.1:1")
    token = client.password_grant(
        server.client_id, server.oauth2_secret, server.login_id, server.password,
        scope="openid user.read", base_url=server.base_url,
    )
    assert token.scope == "openid user.read"


def test_company_grant(client, server):
    token = client.company_grant(server.client_id, server.oauth2_secret, server.company_id, server.request_token)
    assert token.principal_type == "company"
    assert token.refresh_token and token.geolocation == server.base_url
    with pytest.raises(UnauthorizedError) as caught:
        client.company_grant(server.client_id, server.oauth2_secret, server.company_id, "0" * 36)
    assert caught.value.concur_code == 5
    assert_quotes_none(caught.value, server.oauth2_secret, "0" * 36)


def test_client_credentials_grant(client, server):
    token = client.client_credentials_grant(server.client_id, server.oauth2_secret)
    assert token.access_token and token.expires_at is not None
    assert token.refresh_token is None and token.id_token is None and token.subject is None
    assert "refresh_token=None" in repr(token)


def test_refresh_rotates_and_the_old_refresh_token_dies(client, server):
    first = password(client, server)
    second = client.refresh_grant(
        server.client_id, server.oauth2_secret, first.refresh_token, base_url=first.geolocation
    )
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.subject == first.subject
    with pytest.raises(UnauthorizedError) as caught:
        client.refresh_grant(server.client_id, server.oauth2_secret, first.refresh_token)
    error = caught.value
    assert (error.concur_code, error.oauth_error, error.status_code) == (108, "invalid_grant", 400)
    assert error.correlation_id
    assert_quotes_none(error, first.refresh_token, server.oauth2_secret)
    # The rotated one works, and narrows the scope when asked.
    third = client.refresh_grant(
        server.client_id, server.oauth2_secret, second.refresh_token, scope="openid"
    )
    assert third.scope == "openid"


def test_authorization_code_flow(client, server):
    url, state = concur_native.oauth2_authorize_url(
        server.client_id, REDIRECT, scopes=("openid", "user.read"), base_url=server.plain_base_url
    )
    assert len(state) == 32 and url.startswith(server.plain_base_url + "/oauth2/v0/authorize?")
    assert "scope=openid%20user.read" in url and "redirect_uri=https%3A%2F%2Fpartner.example" in url
    callback = server.approve_oauth2(url.split("?", 1)[1])
    code, geolocation = concur_native.parse_oauth2_callback(callback, expected_state=state)
    assert geolocation == server.base_url
    token = client.authorization_code_grant(server.client_id, server.oauth2_secret, code, REDIRECT)
    assert token.scope == "openid user.read" and token.principal_type == "user"
    # Single use: the second exchange is refused with Concur's code 103.
    with pytest.raises(ConcurError) as caught:
        client.authorization_code_grant(server.client_id, server.oauth2_secret, code, REDIRECT)
    assert caught.value.concur_code == 103
    assert_quotes_none(caught.value, code, server.oauth2_secret)


def test_authorize_url_and_callback_refusals(server):
    url, state = concur_native.oauth2_authorize_url("cid", "https://a/cb", state="mine")
    assert state == "mine"
    assert url.startswith("https://www-us2.api.concursolutions.com/oauth2/v0/authorize?")
    assert "scope=" not in url
    with pytest.raises(InvalidArgumentError, match="state"):
        concur_native.parse_oauth2_callback("https://a/cb?code=abc&state=other", "mine")
    callback = server.approve_oauth2(
        f"client_id={server.client_id}&redirect_uri=https%3A%2F%2Fa%2Fcb&response_type=code"
        f"&state=s1&username={quote(server.locked_username)}"
    )
    with pytest.raises(UnauthorizedError) as caught:
        concur_native.parse_oauth2_callback(callback, "s1")
    assert caught.value.concur_code == 14
    assert concur_native.parse_oauth2_callback("https://a/cb?code=abc") == ("abc", None)
    with pytest.raises(InvalidArgumentError):
        concur_native.parse_oauth2_callback(
            "https://a/cb?code=abc&geolocation=http%3A%2F%2Fevil.example"
        )


def test_send_otp_and_otp_grant(client, server):
    email, token = otp_user(client, server)
    assert_user_token(token, server)
    # The password is used once: a second grant is refused (no outstanding OTP, code 83).
    with pytest.raises(ConcurError) as caught:
        client.otp_grant(server.client_id, server.oauth2_secret, email, server.otp)
    assert caught.value.concur_code == 83
    client.send_otp(
        server.client_id, server.oauth2_secret, email,
        name="Py Test", company="Example Ltd", link="https://partner.example/otp",
    )
    with pytest.raises(ConcurError) as caught:
        client.otp_grant(server.client_id, server.oauth2_secret, email, "000000")
    assert caught.value.concur_code == 85
    assert_quotes_none(caught.value, "000000", server.oauth2_secret)
    with pytest.raises(ConcurError) as caught:
        client.send_otp(server.client_id, server.oauth2_secret, "no-at-sign")
    assert caught.value.concur_code == 81


def test_revoke_connections_kills_the_users_refresh_tokens(client, server):
    _, mine = otp_user(client, server)
    _, other = otp_user(client, server)
    assert client.revoke_connections(mine.access_token, base_url=mine.geolocation) is None
    with pytest.raises(UnauthorizedError) as caught:
        client.refresh_grant(server.client_id, server.oauth2_secret, mine.refresh_token)
    assert caught.value.concur_code == 108
    # Another user's connection is untouched.
    client.refresh_grant(server.client_id, server.oauth2_secret, other.refresh_token)
    # An application's token cannot revoke a user's connections.
    app = client.client_credentials_grant(server.client_id, server.oauth2_secret)
    with pytest.raises(UnauthorizedError) as caught:
        client.revoke_connections(app.access_token)
    assert caught.value.status_code == 401 and caught.value.oauth_error == "invalid_token"
    assert_quotes_none(caught.value, app.access_token)


def test_exchange_legacy_refresh_token(client, server):
    legacy = concur_native.native_token(
        server.consumer_key, server.login_id, server.password, **server.kwargs()
    )
    app = client.client_credentials_grant(server.client_id, server.oauth2_secret)
    exchange = client.exchange_legacy_refresh_token(
        app.access_token, server.consumer_key, legacy.refresh_token, server.oauth2_secret
    )
    assert isinstance(exchange, LegacyExchange)
    assert exchange.created_at.tzinfo is datetime.timezone.utc
    assert exchange.expires_at - exchange.created_at == datetime.timedelta(days=180)
    assert "openid" in exchange.scopes and isinstance(exchange.scopes, list)
    assert json.loads(exchange.context)["ptype"] == "user"
    assert exchange.correlation_id
    shown = repr(exchange)
    assert shown.startswith("LegacyExchange(refresh_token='***'")
    assert_quotes_none(exchange, exchange.refresh_token, legacy.refresh_token)
    with pytest.raises(TypeError):
        pickle.dumps(exchange)
    assert copy.copy(exchange) is exchange
    # The new refresh token is a current one.
    token = client.refresh_grant(server.client_id, server.oauth2_secret, exchange.refresh_token)
    assert token.principal_type == "user"
    # An administrator's legacy token (the first account's) can become a company token;
    # another user's cannot.
    company = client.exchange_legacy_refresh_token(
        app.access_token, server.consumer_key, legacy.refresh_token, server.oauth2_secret,
        company=True,
    )
    assert json.loads(company.context)["ptype"] == "company"
    other = concur_native.native_token(
        server.consumer_key, server.accounts[2]["login_id"], server.accounts[2]["password"],
        **server.kwargs(),
    )
    with pytest.raises(ConcurError) as caught:
        client.exchange_legacy_refresh_token(
            app.access_token, server.consumer_key, other.refresh_token, server.oauth2_secret,
            company=True,
        )
    assert caught.value.status_code == 400
    # Refusals: a user's token is not the application's; a wrong key; a dead legacy token.
    user = password(client, server)
    with pytest.raises(UnauthorizedError) as caught:
        client.exchange_legacy_refresh_token(
            user.access_token, server.consumer_key, legacy.refresh_token, server.oauth2_secret
        )
    assert caught.value.status_code == 401
    assert_quotes_none(caught.value, user.access_token, legacy.refresh_token, server.oauth2_secret)
    for key, token in (("other-key", legacy.refresh_token), (server.consumer_key, "R_dead")):
        with pytest.raises(ConcurError) as caught:
            client.exchange_legacy_refresh_token(app.access_token, key, token, server.oauth2_secret)
        assert caught.value.status_code == 400
        assert_quotes_none(caught.value, token, server.oauth2_secret)


# --- code 16 and geolocations ------------------------------------------------------------


def test_code_16_is_followed_to_the_users_data_centre(client, server):
    token = client.password_grant(
        server.client_id, server.oauth2_secret, server.eu_username, server.eu_password
    )
    assert token.geolocation == server.second_base_url
    # The refresh belongs there; sent to the first data centre, it is followed again.
    refreshed = client.refresh_grant(server.client_id, server.oauth2_secret, token.refresh_token)
    assert refreshed.geolocation == server.second_base_url
    email = server.eu_username
    # The one-time password's send is followed there too.
    client.send_otp(server.client_id, server.oauth2_secret, email)
    # The grant sent to the first data centre is followed.
    by_otp = client.otp_grant(server.client_id, server.oauth2_secret, email, server.otp)
    assert by_otp.geolocation == server.second_base_url


def test_an_untrusted_data_centre_is_refused_and_nothing_goes_there(server, listener):
    for scenario in (f"geo16-http-{listener.port}", f"geo-token-http-{listener.port}"):
        with pytest.raises(ProtocolError) as caught:
            password(at(server, server.scenario(scenario)), server)
        error = caught.value
        assert f"127.0.0.1:{listener.port}" in str(error), str(error)
        assert error.correlation_id
        assert_quotes_none(error, server.password, server.oauth2_secret)
    for name in ("evil.example", "concursolutions.com.evil.example"):
        with pytest.raises(ProtocolError, match="evil.example"):
            password(at(server, server.scenario(f"geo16-name-{name}")), server)
    assert listener.seen() == 0


def test_trusted_hosts_extend_the_list(server):
    # A token's geolocation is checked, never visited: no name is looked up here.
    scenario = server.scenario("geo-token-name-concur.partner.example")
    with pytest.raises(ProtocolError, match="concur.partner.example"):
        password(at(server, scenario), server)
    trusting = at(server, scenario, trusted_hosts=["Concur.Partner.Example"])
    assert password(trusting, server).geolocation == "https://concur.partner.example"


def test_a_trusted_host_is_followed(server):
    # localhost is loopback, and the call went to loopback: trusted without asking.
    port = server.base_url.rsplit(":", 1)[1]
    client = at(server, server.scenario(f"geo-token-name-localhost:{port}"))
    assert password(client, server).geolocation == f"https://localhost:{port}"


# --- every error class, with Concur's code -----------------------------------------------


@pytest.mark.parametrize(
    "scenario, cls, status, code, oauth_error",
    [
        ("error-5", UnauthorizedError, 400, 5, "invalid_grant"),
        ("error-14", UnauthorizedError, 400, 14, "invalid_grant"),
        ("error-59", UnauthorizedError, 403, 59, "access_denied"),
        ("error-61", UnauthorizedError, 401, 61, "invalid_client"),
        ("error-108", UnauthorizedError, 400, 108, "invalid_grant"),
        ("error-51", HTTPStatusError, 400, 51, "invalid_request"),
        ("status-503", HTTPStatusError, 503, None, "server_error"),
        ("json-500", HTTPStatusError, 500, None, None),
        ("html", ProtocolError, None, None, None),
        ("garbage", ProtocolError, None, None, None),
    ],
)
def test_error_classes(server, scenario, cls, status, code, oauth_error):
    client = at(server, server.scenario(scenario), retries=0)
    with pytest.raises(cls) as caught:
        password(client, server)
    error = caught.value
    assert type(error) is cls, type(error)
    if status is not None:
        assert error.status_code == status
    assert (error.concur_code, error.oauth_error) == (code, oauth_error)
    assert error.correlation_id
    assert_quotes_none(error, server.password, server.oauth2_secret)
    # The attributes survive pickling (multiprocessing, logging handlers).
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), again.concur_code, again.oauth_error, again.correlation_id) == (
        cls, code, oauth_error, error.correlation_id,
    )


def test_wrong_credentials_are_unauthorized_with_code_5(client, server):
    with pytest.raises(UnauthorizedError) as caught:
        client.password_grant(server.client_id, server.oauth2_secret, server.login_id, "Wrong-Pw-71")
    assert caught.value.concur_code == 5 and caught.value.message == "Incorrect Credentials. Please Retry"
    with pytest.raises(UnauthorizedError) as caught:
        client.client_credentials_grant(server.client_id, "Wrong-Secret-72")
    assert caught.value.concur_code == 64 and caught.value.status_code == 401
    assert_quotes_none(caught.value, "Wrong-Secret-72")


def test_transport_errors(server):
    with pytest.raises(ConcurTimeoutError):
        password(at(server, server.scenario("slow-headers-3000"), timeout=0.3), server)
    with pytest.raises(ConcurConnectionError) as caught:
        password(at(server, "https://127.0.0.1:1"), server)
    assert not isinstance(caught.value, TLSError)
    with pytest.raises(TLSError):
        password(Client(base_url=server.base_url, timeout=10), server)


def test_retries_and_correlation_id_reach_the_core(server):
    tag = uuid.uuid4().hex[:8]
    with pytest.raises(HTTPStatusError) as caught:
        password(at(server, server.scenario(f"retry-503-1-0-a{tag}"), retries=0), server)
    assert caught.value.status_code == 503
    token = password(at(server, server.scenario(f"retry-503-1-0-b{tag}")), server)
    assert token.access_token
    fixed = at(server, server.base_url, correlation_id="py-corr-0001")
    assert password(fixed, server).correlation_id == "py-corr-0001"
    with pytest.raises(UnauthorizedError) as caught:
        fixed.password_grant(server.client_id, server.oauth2_secret, server.login_id, "nope")
    assert caught.value.correlation_id == "py-corr-0001"


# --- bad arguments: typed errors, nothing sent -------------------------------------------

LONE = "Hunter2-Secret\udc80"


def _calls(c: Client, s):
    """Every method with one bad argument at a time: (call, what is bad)."""
    cid, sec = s.client_id, s.oauth2_secret
    good = {
        "password_grant": (cid, sec, "user@example.com", "pw"),
        "company_grant": (cid, sec, "company", "request-token"),
        "refresh_grant": (cid, sec, "refresh-token"),
        "client_credentials_grant": (cid, sec),
        "authorization_code_grant": (cid, sec, "code", "https://a/cb"),
        "send_otp": (cid, sec, "user@example.com"),
        "otp_grant": (cid, sec, "user@example.com", "123456"),
        "revoke_connections": ("access-token",),
        "exchange_legacy_refresh_token": ("app-token", "old-key", "old-refresh", sec),
    }
    for name, args in good.items():
        method = getattr(c, name)
        for i in range(len(args)):
            for bad in (None, 42, b"bytes", "nul\x00inside", LONE, ""):
                yield (lambda m=method, a=args, i=i, b=bad: m(*a[:i], b, *a[i + 1:])), (name, i, bad)


def test_bad_arguments_are_typed_errors_and_send_nothing(server, listener):
    client = Client(base_url=listener.url, timeout=5)
    count = 0
    for call, what in _calls(client, server):
        with pytest.raises((TypeError, InvalidArgumentError)) as caught:
            call()
        error = caught.value
        bad = what[2]
        if isinstance(bad, str):
            assert isinstance(error, InvalidArgumentError), what
            assert error.__cause__ is None and error.__context__ is None, what
        else:
            assert isinstance(error, TypeError), what
        assert_quotes_none(error, "Hunter2", server.oauth2_secret)
        count += 1
    assert count > 100
    # Keywords too: a scope with a control character, a bad base_url, a str as scopes.
    with pytest.raises(InvalidArgumentError):
        client.password_grant(server.client_id, server.oauth2_secret, "u@x", "p", scope="a\nb")
    with pytest.raises(InvalidArgumentError):
        client.password_grant(server.client_id, server.oauth2_secret, "u@x", "p", base_url="http://example.com")
    with pytest.raises(TypeError):
        client.password_grant(server.client_id, server.oauth2_secret, "u@x", "p", "openid")  # keyword-only
    with pytest.raises(TypeError):
        client.exchange_legacy_refresh_token("a", "k", "r", "s", company="yes")
    with pytest.raises(InvalidArgumentError):
        client.send_otp(server.client_id, server.oauth2_secret, "u@x", name="a\x00b")
    with pytest.raises(TypeError):
        concur_native.oauth2_authorize_url("cid", "https://a/cb", scopes="openid")
    for bad in (LONE, "a b", "", None):
        with pytest.raises((TypeError, InvalidArgumentError)):
            concur_native.oauth2_authorize_url("cid", "https://a/cb", scopes=["openid", bad])
    with pytest.raises(InvalidArgumentError) as caught:
        concur_native.parse_oauth2_callback("https://a/cb?code=" + LONE)
    assert_quotes_none(caught.value, "Hunter2")
    assert listener.seen() == 0


def test_client_options_are_checked(server):
    with pytest.raises(InvalidArgumentError):
        Client(retries=-1)
    with pytest.raises(InvalidArgumentError):
        Client(retries=11)
    with pytest.raises(InvalidArgumentError):
        Client(correlation_id="not\nprintable")
    with pytest.raises(TypeError):
        Client(trusted_hosts="concur.example.com")  # a str is not a list of hosts
    with pytest.raises(InvalidArgumentError):
        Client(trusted_hosts=[LONE])
    Client(trusted_hosts=["concur.example.com"], retries=0, correlation_id="abc")


# --- the objects ---------------------------------------------------------------------------


def test_tokens_are_immutable_and_never_pickled(client, server):
    token = password(client, server)
    with pytest.raises(AttributeError):
        token.access_token = "x"
    with pytest.raises(TypeError, match="secrets"):
        pickle.dumps(token)
    assert copy.copy(token) is token and copy.deepcopy(token) is token


def test_help_covers_the_current_api():
    for thing in (
        Client.password_grant, Client.company_grant, Client.refresh_grant,
        Client.client_credentials_grant, Client.authorization_code_grant, Client.send_otp,
        Client.otp_grant, Client.revoke_connections, Client.exchange_legacy_refresh_token,
        concur_native.oauth2_authorize_url, concur_native.parse_oauth2_callback,
        OAuth2Token, LegacyExchange, OAuth2Token.geolocation, OAuth2Token.subject,
    ):
        assert thing.__doc__ and len(thing.__doc__) > 20, thing
    assert "trusted_hosts" in Client.__doc__
    assert "base_url=None" in (Client.password_grant.__text_signature__ or "")
    assert "concur_code" in ConcurError.__doc__


def test_gil_is_released_during_grants(server):
    client = at(server, server.scenario("slow-headers-1000"))
    results = []

    def work():
        results.append(password(client, server).access_token)

    threads = [threading.Thread(target=work) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(results)) == 8
    assert time.monotonic() - started < 4.0


# --- the examples --------------------------------------------------------------------------


def _example(name, server, **env):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "examples" / name
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_")}
    base.update(
        CONCUR_CLIENT_ID=server.client_id, CONCUR_CLIENT_SECRET=server.oauth2_secret,
        CONCUR_USERNAME=server.login_id, CONCUR_PASSWORD=server.password,
        CONCUR_BASE_URL=server.base_url, CONCUR_CA_FILE=server.ca_file,
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, str(path)], env=base, capture_output=True, text=True, timeout=60
    )


def test_the_oauth2_examples_run(server):
    out = _example("oauth2_password.py", server)
    assert out.returncode == 0, out.stderr
    assert f"Geolocation:     {server.base_url}" in out.stdout
    out = _example("oauth2_password.py", server, CONCUR_PASSWORD="Wrong-Pw-93")
    assert out.returncode == 1 and "code 5" in out.stderr
    assert "Wrong-Pw-93" not in out.stderr + out.stdout

    out = _example("oauth2_refresh.py", server)
    assert out.returncode == 0, out.stderr
    assert "rotated: True" in out.stdout and "dead now: code 108" in out.stdout

    step1 = _example("oauth2_authorize_url.py", server, CONCUR_AUTHORIZE_BASE_URL=server.plain_base_url)
    assert step1.returncode == 0, step1.stderr
    url, state = step1.stdout.strip(), step1.stderr.strip().removeprefix("state: ")
    callback = server.approve_oauth2(url.split("?", 1)[1])
    step2 = _example(
        "oauth2_authorize_url.py", server, CONCUR_CALLBACK_URL=callback, CONCUR_CALLBACK_STATE=state
    )
    assert step2.returncode == 0, step2.stderr
    assert "scope 'openid user.read'" in step2.stdout
    forged = _example(
        "oauth2_authorize_url.py", server, CONCUR_CALLBACK_URL=callback, CONCUR_CALLBACK_STATE="x"
    )
    assert forged.returncode == 1 and "INVALID_ARGUMENT" in forged.stderr


def test_the_stubs_cover_the_module():
    import ast
    from pathlib import Path

    stub = Path(concur_native.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text())
    declared = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            declared[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
        elif isinstance(node, ast.FunctionDef):
            declared[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            declared[node.target.id] = None
    native = concur_native._native
    for name in dir(native):
        if name.startswith("__") and name != "__version__":
            continue
        assert name in declared, f"{name} is missing from _native.pyi"
        value = getattr(native, name)
        if isinstance(value, type):
            public = {m for m in vars(value) if not m.startswith("_")}
            assert public <= declared[name], f"{name}: {public - declared[name]} not in the stub"
    for name in concur_native.__all__:
        assert hasattr(concur_native, name)
