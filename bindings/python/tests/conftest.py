"""Starts the project's loopback HTTPS test server (tests/server) once for the session.

The server binary comes from CONCUR_TEST_SERVER when set (the test script sets it), otherwise
from `cargo run` in the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]


def _command() -> list[str]:
    binary = os.environ.get("CONCUR_TEST_SERVER")
    if binary:
        return [binary, "--exit-on-stdin-eof"]
    return [
        "cargo", "run", "--quiet", "--manifest-path", str(REPO / "Cargo.toml"),
        "-p", "concur-test-server", "--", "--exit-on-stdin-eof",
    ]


class Server:
    def __init__(self, info: dict) -> None:
        self.info = info
        self.base_url: str = info["base_url"]
        self.plain_base_url: str = info["plain_base_url"]
        self.ca_file: str = info["ca_file"]
        self.consumer_key: str = info["consumer_key"]
        self.client_secret: str = info["client_secret"]
        self.login_id: str = info["login_id"]
        self.password: str = info["password"]
        self.accounts: list[dict] = info["accounts"]

    def scenario(self, name: str) -> str:
        return f"{self.base_url}/s/{name}"

    def approve(self, query: str) -> str:
        """The callback URL the server's Login.aspx sends the browser to."""
        import http.client
        from urllib.parse import urlsplit

        plain = urlsplit(self.plain_base_url)
        connection = http.client.HTTPConnection(plain.hostname, plain.port, timeout=10)
        try:
            connection.request("GET", f"/net2/oauth2/Login.aspx?{query}")
            response = connection.getresponse()
            response.read()
            assert response.status == 302, response.status
            return response.getheader("Location")
        finally:
            connection.close()

    def kwargs(self, base_url: str | None = None, **extra) -> dict:
        options = {"base_url": base_url or self.base_url, "ca_file": self.ca_file, "timeout": 10.0}
        options.update(extra)
        return options


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    process = subprocess.Popen(
        _command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdin is not None
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("the test server did not start")
    yield Server(json.loads(line))
    process.stdin.close()  # the server exits when its stdin closes
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()
