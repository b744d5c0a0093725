"""asyncio: AsyncClient's calls run on the library's threads while the event loop goes on (a
ticker keeps ticking while 50 slow calls are all in flight, and they all succeed); a cancelled
task raises CancelledError at once, a queued call that was cancelled is never sent, a call in
flight is left behind; errors are the sync API's classes; TokenManager.access_token_async;
timeout=None."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

import concur_native
from concur_native import AsyncClient, Client, InvalidArgumentError, TokenManager, UnauthorizedError

# The library's threads: at most this many calls run at once (bindings/python/src/pool.rs).
POOL_THREADS = 64


class Holder:
    """A loopback listener that accepts connections and holds them open, answering nothing,
    until released: a call sent to it stays in flight. `accepted` is set at the first one."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(256)  # a whole pool's worth of connections at once
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.accepted = threading.Event()
        self.connections: list = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()

    def still_open(self, connection: socket.socket) -> bool:
        """Whether the client has not closed this connection (no EOF waiting to be read)."""
        connection.setblocking(False)
        try:
            return connection.recv(65536, socket.MSG_PEEK) != b""
        except BlockingIOError:
            return True

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self._socket.close()


async def until(condition) -> None:
    """Waits for a condition that the test's own steps make true; 60 s only to end a broken run."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while not condition():
        assert loop.time() < deadline, "the awaited condition never came"
        await asyncio.sleep(0.005)


@pytest.fixture()
def holder():
    held = Holder()
    yield held
    held.close()


def test_the_loop_keeps_running_during_50_concurrent_calls(server):
    client = AsyncClient(base_url=server.scenario("slow-headers-400"), ca_file=server.ca_file, timeout=20)
    in_flight = 0
    ticks_with_all_in_flight = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks_with_all_in_flight
        while not done:
            if in_flight == 50:
                ticks_with_all_in_flight += 1
            await asyncio.sleep(0.005)

    async def one() -> str:
        nonlocal in_flight
        in_flight += 1
        token = await client.password_grant(server.client_id, server.oauth2_secret, server.login_id, server.password)
        in_flight -= 1
        return token.access_token

    async def main() -> list:
        nonlocal done
        ticking = asyncio.create_task(ticker())
        tokens = await asyncio.gather(*(one() for _ in range(50)))
        done = True
        await ticking
        return tokens

    tokens = asyncio.run(main())
    assert len(set(tokens)) == 50, "every call succeeded with its own token"
    # Blocking calls would hold the loop while each runs: the ticker could never run while
    # all 50 were under way at once.
    assert ticks_with_all_in_flight >= 5, ticks_with_all_in_flight


def test_errors_are_the_sync_api_classes(server):
    client = AsyncClient(base_url=server.base_url, ca_file=server.ca_file, timeout=10)

    async def main() -> None:
        with pytest.raises(UnauthorizedError) as refused:
            await client.password_grant(server.client_id, server.oauth2_secret, server.login_id, "wrong")
        assert refused.value.concur_code is not None
        with pytest.raises(InvalidArgumentError):
            await client.password_grant("", server.oauth2_secret, server.login_id, server.password)

    asyncio.run(main())
    with pytest.raises(InvalidArgumentError):
        AsyncClient(timeout=-1)


def test_cancelling_an_in_flight_call_raises_at_once(server, holder):
    client = AsyncClient(base_url=holder.url, timeout=30)

    async def main() -> None:
        task = asyncio.create_task(client.client_credentials_grant("id", "secret"))
        await until(holder.accepted.is_set)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The call is still under way (the listener holds its connection open): the task did
        # not wait for it.
        assert holder.still_open(holder.connections[0])

    asyncio.run(main())


def test_a_cancelled_queued_call_is_never_sent(server, holder, listener):
    client = AsyncClient(base_url=holder.url, timeout=30)
    watched = AsyncClient(base_url=listener.url, timeout=10)

    async def main() -> None:
        # Every thread of the library busy with a held call: the next calls wait in the queue.
        busy = [asyncio.create_task(client.client_credentials_grant("id", "secret")) for _ in range(POOL_THREADS)]
        await until(lambda: len(holder.connections) == POOL_THREADS)
        cancelled = asyncio.create_task(watched.client_credentials_grant("id", "secret"))
        control = asyncio.create_task(watched.client_credentials_grant("id", "secret"))
        await asyncio.sleep(0.05)  # both submitted and queued
        assert not cancelled.done() and not control.done()
        cancelled.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        for connection in holder.connections:  # the held calls end, the queue moves on
            connection.close()
        await asyncio.gather(*busy, return_exceptions=True)
        with pytest.raises(concur_native.ConcurError):
            await control  # queued behind the cancelled one, sent, refused by the listener

    asyncio.run(main())
    assert listener.seen() == 1, "only the control call was sent"


def test_the_manager_awaits_a_refresh_off_the_loop(server):
    client = Client(base_url=server.base_url, ca_file=server.ca_file, timeout=10)
    manager = TokenManager(client, server.client_id, server.oauth2_secret, grant="client_credentials")

    async def main() -> tuple:
        first = await manager.access_token_async()  # a grant, on the library's threads
        second = await manager.access_token_async()  # from memory
        return first, second

    first, second = asyncio.run(main())
    assert first == second == manager.access_token()


def test_async_client_shares_a_client_with_a_manager(server):
    client = AsyncClient(base_url=server.base_url, ca_file=server.ca_file, timeout=10)
    manager = TokenManager(client.sync, server.client_id, server.oauth2_secret, grant="client_credentials")
    assert manager.access_token()
    assert repr(client).startswith("AsyncClient")


def test_timeout_none_is_the_longest_deadline(server):
    # None is accepted everywhere a timeout is (httpx's spelling of "no timeout"): the core's
    # longest deadline, an hour; a call under it works.
    client = Client(base_url=server.base_url, ca_file=server.ca_file, timeout=None)
    token = client.client_credentials_grant(server.client_id, server.oauth2_secret)
    assert token.access_token
    token = concur_native.native_token(
        server.consumer_key, server.login_id, server.password, base_url=server.base_url, ca_file=server.ca_file, timeout=None
    )
    assert token.token
    assert AsyncClient(timeout=None).sync is not None
    with pytest.raises(InvalidArgumentError):
        Client(timeout=0)
