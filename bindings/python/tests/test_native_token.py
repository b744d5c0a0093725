"""concur_native against the project's loopback HTTPS test server."""

from __future__ import annotations

import copy
import datetime
import pickle
import socket
import threading
import time

import pytest

import concur_native
from concur_native import (
    ConcurConnectionError,
    ConcurError,
    ConcurTimeoutError,
    HTTPStatusError,
    InvalidArgumentError,
    ProtocolError,
    TLSError,
    UnauthorizedError,
)


def fetch(server, base_url=None, **extra):
    return concur_native.native_token(
        server.consumer_key, server.login_id, server.password, **server.kwargs(base_url, **extra)
    )


def test_success_xml(server):
    token = fetch(server)
    assert token.token.startswith("0_")
    assert token.refresh_token.startswith("R_")
    assert token.instance_url == server.base_url + "/"
    assert token.expires_at.tzinfo is datetime.timezone.utc
    # The server issues tokens for a year.
    remaining = token.expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=364) < remaining < datetime.timedelta(days=366)
    parsed = datetime.datetime.strptime(token.expiration_date, "%m/%d/%Y %I:%M:%S %p")
    assert parsed.replace(tzinfo=datetime.timezone.utc) == token.expires_at


def test_success_json_and_casing(server):
    for name in ("json", "casing", "gzip", "chunked"):
        token = fetch(server, server.scenario(name))
        assert token.token.startswith("0_"), name
        assert token.expires_at is not None, name


def test_every_account_including_empty_password_and_utf8(server):
    for account in server.accounts:
        password = account["password"] or None
        token = concur_native.native_token(
            server.consumer_key, account["login_id"], password, **server.kwargs()
        )
        assert token.token


def test_unreadable_date_and_missing_fields(server):
    token = fetch(server, server.scenario("bad-date"))
    assert token.expiration_date == "sometime next year"
    assert token.expires_at is None
    legacy = fetch(server, server.scenario("legacy"))
    assert legacy.refresh_token is None and legacy.instance_url is None


def test_plain_http_to_loopback(server):
    assert fetch(server, server.plain_base_url).token


def test_unauthorized(server):
    with pytest.raises(UnauthorizedError) as info:
        concur_native.native_token(
            server.consumer_key, server.login_id, "wrong-password-xyzzy", **server.kwargs()
        )
    e = info.value
    assert isinstance(e, ConcurError)
    assert (e.code, e.status_code) == ("UNAUTHORIZED", 401)
    assert e.message == "Invalid login ID or password."
    assert e.error_id == "ERR-401-0001"
    assert "xyzzy" not in str(e) and "xyzzy" not in repr(e)


def test_wrong_consumer_key(server):
    with pytest.raises(UnauthorizedError) as info:
        concur_native.native_token("wrong-key", server.login_id, server.password, **server.kwargs())
    assert info.value.status_code == 403


def test_http_status(server):
    with pytest.raises(HTTPStatusError) as info:
        fetch(server, server.scenario("status-503"))
    assert (info.value.status_code, info.value.code) == (503, "HTTP_STATUS")
    assert info.value.error_id == "ERR-503-0001"
    with pytest.raises(HTTPStatusError) as info:
        fetch(server, server.scenario("redirect-1"))
    assert info.value.status_code == 302


def test_timeout_is_also_builtin_timeout_error(server):
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        fetch(server, server.scenario("slow-headers-3000"), timeout=0.3)
    assert isinstance(info.value, ConcurTimeoutError)
    assert info.value.code == "TIMEOUT"
    assert time.monotonic() - started < 2.5


def test_connect_is_also_builtin_connection_error(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConnectionError) as info:
        fetch(server, f"https://127.0.0.1:{port}")
    assert isinstance(info.value, ConcurConnectionError)
    assert info.value.code == "CONNECT"


def test_tls(server):
    with pytest.raises(TLSError) as info:
        concur_native.native_token(
            server.consumer_key, server.login_id, server.password,
            base_url=server.base_url, timeout=10.0,
        )
    assert "certificate" in str(info.value)
    assert isinstance(info.value, ConnectionError)


@pytest.mark.parametrize(
    "scenario",
    [
        "html", "garbage", "empty", "no-token", "entity-bomb", "huge", "short-body",
        # faults real networks make: a reset or a TLS close without close_notify in the
        # middle of the body, a truncated gzip body
        "reset-mid-body", "cut-no-close-notify", "gzip-truncated",
    ],
)
def test_protocol(server, scenario):
    with pytest.raises(ProtocolError) as info:
        fetch(server, server.scenario(scenario))
    assert info.value.code == "PROTOCOL"


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("", "user", "pw"), {}),
        (("key", "", "pw"), {}),
        (("key", "a:b", "pw"), {}),
        (("key", "us\0er", "pw"), {}),
        (("key", "user", "p\0w"), {}),
        (("k\0ey", "user", "pw"), {}),
        (("key", "user", "pw"), {"base_url": "http://example.com"}),
        (("key", "user", "pw"), {"base_url": "https://x.example\0/"}),
        (("key", "user", "pw"), {"timeout": 0}),
        (("key", "user", "pw"), {"timeout": -1}),
        (("key", "user", "pw"), {"timeout": float("nan")}),
        (("key", "user", "pw"), {"timeout": float("inf")}),
        (("key", "user", "pw"), {"ca_file": "/nonexistent.pem"}),
        (("key", "user", "pw"), {"proxy": "::not a url::"}),
    ],
)
def test_invalid_arguments_raise_value_errors(args, kwargs):
    with pytest.raises(InvalidArgumentError) as info:
        concur_native.native_token(*args, **kwargs)
    assert isinstance(info.value, ValueError)
    assert info.value.code == "INVALID_ARGUMENT"
    assert "pw" not in str(info.value)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((None, "user", "pw"), {}),
        (("key", None, "pw"), {}),
        ((1, "user", "pw"), {}),
        (("key", b"user", "pw"), {}),
        (("key", "user", 12), {}),
        (("key", "user", "pw"), {"timeout": "soon"}),
        (("key", "user", "pw"), {"base_url": 5}),
        (("key", "user"), {}),
        (("key", "user", "pw"), {"unknown": 1}),
    ],
)
def test_wrong_types_raise_type_errors(args, kwargs):
    with pytest.raises(TypeError):
        concur_native.native_token(*args, **kwargs)


def test_threads_run_in_parallel_with_the_gil_released(server):
    # Eight calls to a server that waits 1 s before answering: in parallel ~1 s, serial 8 s.
    results, errors = [], []

    def work():
        try:
            results.append(fetch(server, server.scenario("slow-headers-1000")))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert not errors, errors
    assert len({t.token for t in results}) == 8
    assert elapsed < 4.0, f"8 slow calls took {elapsed:.1f} s: the GIL was held"


def test_many_concurrent_calls(server):
    tokens = []
    lock = threading.Lock()

    def work():
        for _ in range(5):
            t = fetch(server).token
            with lock:
                tokens.append(t)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 40


def test_secrets_absent_from_repr_and_messages(server):
    token = fetch(server)
    shown = repr(token)
    assert token.token not in shown and token.refresh_token not in shown
    assert "***" in shown and token.expiration_date in shown
    for scenario in ("status-500", "html", "error-200"):
        with pytest.raises(ConcurError) as info:
            concur_native.native_token(
                server.consumer_key, server.login_id, "hunter2-secret",
                **server.kwargs(server.scenario(scenario)),
            )
        for text in (str(info.value), repr(info.value), repr(info.value.args)):
            assert "hunter2-secret" not in text


def test_token_is_immutable_and_not_picklable(server):
    token = fetch(server)
    with pytest.raises(AttributeError):
        token.token = "x"
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(token)
    assert copy.copy(token) is token and copy.deepcopy(token) is token


def test_errors_pickle_with_their_attributes(server):
    with pytest.raises(UnauthorizedError) as info:
        concur_native.native_token(server.consumer_key, server.login_id, "bad", **server.kwargs())
    clone = pickle.loads(pickle.dumps(info.value))
    assert type(clone) is UnauthorizedError
    assert (clone.status_code, clone.message, clone.error_id) == (
        401, info.value.message, info.value.error_id
    )


def test_module_metadata():
    assert concur_native.__version__.count(".") == 2
    assert concur_native.DEFAULT_BASE_URL == "https://www.concursolutions.com"
    assert concur_native.native_token.__doc__
    assert "Native Flow" in concur_native.__doc__
