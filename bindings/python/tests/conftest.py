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
        # The current API (oauth2/v0).
        self.client_id: str = info["oauth2_client_id"]
        self.oauth2_secret: str = info["oauth2_client_secret"]
        self.second_base_url: str = info["second_base_url"]
        self.evil_base_url: str = info["evil_base_url"]
        self.company_id: str = info["company_id"]
        self.request_token: str = info["request_token"]
        self.otp: str = info["otp"]
        self.eu_username: str = info["eu_username"]
        self.eu_password: str = info["eu_password"]
        self.locked_username: str = info["locked_username"]

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

    def approve_oauth2(self, query: str) -> str:
        """The callback URL the server's /oauth2/v0/authorize sends the browser to."""
        import http.client
        from urllib.parse import urlsplit

        plain = urlsplit(self.plain_base_url)
        connection = http.client.HTTPConnection(plain.hostname, plain.port, timeout=10)
        try:
            connection.request("GET", f"/oauth2/v0/authorize?{query}")
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


class Listener:
    """A loopback TCP listener that accepts connections, remembers who made them, and answers
    nothing: a call pointed at it that sends anything is seen here."""

    def __init__(self) -> None:
        import socket
        import threading

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._peers: list = []
        self._probes: set = set()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, peer = self._socket.accept()
            except OSError:
                return
            self._peers.append(peer)
            connection.close()

    def seen(self) -> int:
        """How many connections (other than its own probes) arrived before now. Connects once
        itself and waits until that probe is accepted: the accept queue is first come, first
        served, so every earlier connection has been counted by then."""
        import socket
        import time

        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as probe:
            me = probe.getsockname()
        self._probes.add(me)
        deadline = time.monotonic() + 5
        while me not in self._peers:
            assert time.monotonic() < deadline, "the listener stopped accepting"
            time.sleep(0.01)
        return sum(1 for peer in self._peers if peer not in self._probes)

    def close(self) -> None:
        import socket

        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()


@pytest.fixture()
def listener() -> Iterator[Listener]:
    """A loopback address that records whether anything connected to it."""
    watched = Listener()
    yield watched
    watched.close()


@pytest.fixture(scope="module")
def redis_url():
    """A redis-server of the test module's own, on a free loopback port, without persistence."""
    import shutil
    import socket
    import time

    binary = shutil.which("redis-server")
    assert binary, "redis-server is needed (Debian package redis-server)"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/"
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def postgres_url():
    """A PostgreSQL of the test module's own (initdb + postgres on a free loopback port, fsync
    off), run as nobody when the tests run as root (both programs refuse root); its database
    `postgres` is the URL's."""
    import glob
    import shutil
    import socket
    import tempfile
    import time

    def program(name: str) -> str:
        found = shutil.which(name) or (sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [None])[-1]
        assert found, f"{name} is needed (Debian package postgresql)"
        return found

    root = os.geteuid() == 0
    demote = (lambda: (os.setgid(65534), os.setuid(65534))) if root else None
    # Under /tmp itself: nobody cannot enter pytest's root-owned temporary folders.
    base = Path(tempfile.mkdtemp(prefix="concur-pg-"))
    os.chmod(base, 0o700)
    if root:
        os.chown(base, 65534, 65534)
    data = base / "data"
    initdb = subprocess.run(
        [program("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale",
         "--no-sync"],
        cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=demote,
    )
    assert initdb.returncode == 0, initdb.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [program("postgres"), "-D", str(data), "-p", str(port), "-k", str(base), "-c", "listen_addresses=127.0.0.1",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        cwd=base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=demote,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None, "postgres exited"
            assert time.monotonic() < deadline, "postgres did not start"
            time.sleep(0.05)
    yield f"postgres://postgres@127.0.0.1:{port}/postgres"
    process.send_signal(2)  # fast shutdown
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(base, ignore_errors=True)
