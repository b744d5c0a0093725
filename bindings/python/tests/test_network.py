"""proxy_from_env and trust_store: the environment's proxy carries a call to a name only it
knows, a SOCKS proxy there is refused by name unless proxy_from_env=False, and the OS trust
store is read from SSL_CERT_FILE. Each client that reads the environment runs in a child
Python, so this process's environment is never changed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import concur_native
from concur_native import InvalidArgumentError

STEERING = (
    "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY",
    "no_proxy", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
)

CHILD = """
import json, sys
import concur_native
kwargs, account = json.loads(sys.argv[1]), json.loads(sys.argv[2])
try:
    if kwargs.pop("one_shot", False):
        concur_native.native_token(*account, **kwargs)
    else:
        client = concur_native.Client(**kwargs)
        if account:
            client.native_token(*account)
    print("RESULT ok")
except concur_native.ConcurError as e:
    print("RESULT", type(e).__name__, e)
"""


def _child(env: dict, kwargs: dict, account: list | None) -> str:
    child_env = {k: v for k, v in os.environ.items() if k not in STEERING}
    child_env.update(env)
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kwargs), json.dumps(account)],
        env=child_env, capture_output=True, text=True, timeout=60,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return line[len("RESULT "):]
    raise AssertionError(f"no result: {out.stdout}{out.stderr}")


def _account(server) -> list:
    return [server.consumer_key, server.login_id, server.password]


def _proxy_only_base(server) -> str:
    # concur.test resolves nowhere but in the test server's CONNECT proxy.
    return f"https://concur.test:{server.info['port']}/s/legacy"


def test_the_environment_proxy_carries_the_call(server):
    kwargs = {"base_url": _proxy_only_base(server), "ca_file": server.ca_file, "timeout": 10.0}
    env = {"HTTPS_PROXY": server.info["proxy_url"]}
    assert _child(env, kwargs, _account(server)) == "ok"


def test_proxy_from_env_false_reads_no_variable(server):
    env = {"HTTPS_PROXY": "socks5://me:Socks-Secret-9@127.0.0.1:1080"}
    kwargs = {"base_url": _proxy_only_base(server), "ca_file": server.ca_file}
    refused = _child(env, kwargs, None)
    assert refused.startswith("InvalidArgumentError "), refused
    assert "HTTPS_PROXY" in refused and "SOCKS" in refused
    assert "Socks-Secret-9" not in refused
    assert _child(env, {**kwargs, "proxy_from_env": False}, None) == "ok"


@pytest.mark.parametrize(
    "store, expected", [("os", "ok"), ("both", "ok"), ("mozilla", "TLSError")]
)
def test_trust_store_reads_the_os_store(server, store, expected):
    # No ca_file: the test CA is only in the OS store the child's SSL_CERT_FILE names.
    kwargs = {"base_url": server.base_url, "trust_store": store, "timeout": 10.0}
    result = _child({"SSL_CERT_FILE": server.ca_file}, kwargs, _account(server))
    assert result.split(" ")[0] == expected, result


def test_native_token_takes_both_options(server):
    # The one-shot call: the environment's proxy, its off switch and the OS store, as above.
    base = {"base_url": _proxy_only_base(server), "ca_file": server.ca_file, "timeout": 10.0}
    one_shot = {**base, "one_shot": True}
    assert _child({"HTTPS_PROXY": server.info["proxy_url"]}, one_shot, _account(server)) == "ok"
    socks = {"HTTPS_PROXY": "socks5://127.0.0.1:1080"}
    assert _child(socks, one_shot, _account(server)).startswith("InvalidArgumentError ")
    direct = {**one_shot, "proxy_from_env": False, "proxy": server.info["proxy_url"]}
    assert _child(socks, direct, _account(server)) == "ok"
    trusting = {"base_url": server.base_url, "timeout": 10.0, "one_shot": True}
    env = {"SSL_CERT_FILE": server.ca_file}
    assert _child(env, {**trusting, "trust_store": "os"}, _account(server)) == "ok"
    refused = _child(env, {**trusting, "trust_store": "mozilla"}, _account(server))
    assert refused.startswith("TLSError"), refused


def test_an_unknown_trust_store_is_an_invalid_argument():
    for bad in ("system", "", "mozilla "):
        with pytest.raises(InvalidArgumentError, match="trust store"):
            concur_native.Client(trust_store=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="trust store"):
            concur_native.native_token("k", "u", "p", trust_store=bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        concur_native.Client(trust_store=None)  # type: ignore[arg-type]
