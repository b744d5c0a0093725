"""The one-line adapters of concur_native.auth against a local HTTP API that checks the bearer
token: requests' BearerAuth and httpx's HTTPXAuth (sync and async) put the manager's token on
each request, answer a 401 by invalidating it and sending once more (once only), and neither
library is imported until its adapter is asked for."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import requests

from concur_native import Client, TokenManager
from concur_native.auth import BearerAuth, HTTPXAuth


class Api:
    """A loopback HTTP API: answers 401 to the first `refusals` requests, then 200 to a request
    whose Authorization is `Bearer {valid()}` (401 otherwise); records every Authorization."""

    def __init__(self, valid) -> None:
        self.valid = valid
        self.refusals = 0
        self.seen: list = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                header = self.headers.get("Authorization")
                api.seen.append(header)
                if api.refusals > 0:
                    api.refusals -= 1
                    status = 401
                else:
                    status = 200 if header == f"Bearer {api.valid()}" else 401
                body = b"ok" if status == 200 else b"refused"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/expenses"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Spy:
    """A manager as the adapters see it, counting invalidations."""

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager
        self.invalidated = 0
        self.sync_calls = 0
        self.async_calls = 0

    def access_token(self) -> str:
        self.sync_calls += 1
        return self.manager.access_token()

    async def access_token_async(self) -> str:
        self.async_calls += 1
        return await self.manager.access_token_async()

    def invalidate(self) -> None:
        self.invalidated += 1
        self.manager.invalidate()


@pytest.fixture()
def spy(server):
    client = Client(base_url=server.base_url, ca_file=server.ca_file, timeout=10.0)
    return Spy(TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials"))


@pytest.fixture()
def api(spy):
    served = Api(spy.manager.access_token)
    yield served
    served.close()


# The API is on loopback: trust_env=False keeps requests and httpx from sending it through a
# proxy the environment names (HTTP_PROXY, ALL_PROXY), and httpx from loading the CA files
# SSL_CERT_FILE/SSL_CERT_DIR name, which need not exist: what a run inherits must not matter.
def get_with_requests(api, spy):
    with requests.Session() as http:
        http.trust_env = False
        return http.get(api.url, auth=BearerAuth(spy), timeout=10)


def get_with_httpx(api, spy):
    with httpx.Client(auth=HTTPXAuth(spy), timeout=10, trust_env=False) as http:
        return http.get(api.url)


def get_with_httpx_async(api, spy):
    async def get():
        async with httpx.AsyncClient(auth=HTTPXAuth(spy), timeout=10, trust_env=False) as http:
            return await http.get(api.url)

    return asyncio.run(get())


GETS = [get_with_requests, get_with_httpx, get_with_httpx_async]


def test_httpx_async_awaits_the_manager_off_the_loop(api, spy):
    response = get_with_httpx_async(api, spy)
    assert response.status_code == 200
    assert spy.async_calls == 1 and spy.sync_calls == 0, "access_token_async(), never the blocking call"


@pytest.mark.parametrize("get", GETS)
def test_the_bearer_token_is_sent(api, spy, get):
    response = get(api, spy)
    assert response.status_code == 200
    assert api.seen == [f"Bearer {spy.manager.access_token()}"]
    assert spy.invalidated == 0


@pytest.mark.parametrize("get", GETS)
def test_a_401_invalidates_and_sends_once_more(api, spy, get):
    api.refusals = 1
    response = get(api, spy)
    assert response.status_code == 200
    assert len(api.seen) == 2 and api.seen[0].startswith("Bearer ")
    assert api.seen[1] == f"Bearer {spy.manager.access_token()}", "the manager's token after invalidate()"
    assert spy.invalidated == 1
    assert [r.status_code for r in response.history] == [401]


@pytest.mark.parametrize("get", GETS)
def test_a_second_401_is_the_answer(api, spy, get):
    api.refusals = 5
    response = get(api, spy)
    assert response.status_code == 401
    assert len(api.seen) == 2, "sent once more, not again"
    assert spy.invalidated == 1


def test_neither_library_is_imported_before_its_adapter_is_asked_for():
    script = (
        "import sys, concur_native, concur_native.auth\n"
        "assert 'requests' not in sys.modules and 'httpx' not in sys.modules\n"
        "from concur_native.auth import BearerAuth\n"
        "assert 'requests' in sys.modules and 'httpx' not in sys.modules\n"
        "import requests.auth\n"
        "assert issubclass(BearerAuth, requests.auth.AuthBase)\n"
        "from concur_native.auth import HTTPXAuth\n"
        "import httpx\n"
        "assert issubclass(HTTPXAuth, httpx.Auth)\n"
        "try:\n"
        "    from concur_native.auth import Nothing\n"
        "except ImportError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('an unknown name was found')\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
