"""asyncio for concur_native: ``AsyncClient``, whose methods are coroutines, and the machinery
under it and under ``TokenManager.access_token_async``.

Each call runs on the library's own threads (Rust threads, started on demand, at most 64 at
once, later calls queued), never on the event loop's thread; its outcome comes back to the loop
with ``loop.call_soon_threadsafe``. Cancelling the awaiting task raises ``CancelledError`` at
once: a call still queued is never sent, a call already sent has its outcome dropped unread.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Literal, Optional, Sequence, TypeVar, Union

from . import _native
from ._native import Client, LegacyExchange, OAuth2Token, Token, TokenManager, TokenVault

__all__ = ["AsyncClient"]

_T = TypeVar("_T")


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    # On the loop's thread. A cancelled future keeps its CancelledError; the value is dropped.
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def call(func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Runs ``func(*args, **kwargs)`` (a method of the compiled module) on the library's threads
    and awaits its outcome without blocking the running loop."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:
        # On a library thread, with the GIL.
        try:
            loop.call_soon_threadsafe(_settle, future, ok, value)
        except RuntimeError:
            pass  # the loop is closed: nobody awaits the outcome any more

    ticket = _native._spawn(func, args, kwargs, deliver)
    try:
        return await future
    except asyncio.CancelledError:
        ticket.cancel()
        raise


async def manager_access_token(manager: TokenManager) -> str:
    """``TokenManager.access_token_async``: the token in memory at once, else a refresh on the
    library's threads."""
    cached = manager._cached_access_token()
    if cached is not None:
        return cached
    return await call(manager.access_token)


async def vault_access_token(vault: TokenVault, id: str) -> str:
    """``TokenVault.access_token_async``: the token in memory at once, else the call on the
    library's threads."""
    cached = vault._cached_access_token(id)
    if cached is not None:
        return cached
    return await call(vault.access_token, id)


class AsyncClient:
    """The asyncio twin of ``Client``, as ``httpx.AsyncClient`` is of ``httpx.Client``: the same
    options and methods, each a coroutine to ``await``, raising the same exceptions.

        >>> client = concur_native.AsyncClient(timeout=10)
        >>> token = await client.password_grant(client_id, secret, username, password)

    The calls run on the library's threads and never block the event loop; many may be under
    way at once over the client's shared connections. Cancelling a task that awaits one raises
    ``CancelledError`` at once: a call not yet started is never sent, one already sent has its
    result dropped (its secrets wiped). ``client.sync`` is the underlying ``Client``: share it
    with a ``TokenManager``.
    """

    __slots__ = ("_client",)

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        timeout: Optional[float] = 30.0,
        ca_file: Optional[Union[str, os.PathLike[str]]] = None,
        proxy: Optional[str] = None,
        user_agent_suffix: Optional[str] = None,
        trusted_hosts: Sequence[str] = (),
        retries: Optional[int] = None,
        correlation_id: Optional[str] = None,
        proxy_from_env: bool = True,
        trust_store: Literal["mozilla", "os", "both"] = "mozilla",
    ) -> None:
        self._client = Client(
            base_url=base_url,
            timeout=timeout,
            ca_file=ca_file,
            proxy=proxy,
            user_agent_suffix=user_agent_suffix,
            trusted_hosts=list(trusted_hosts),
            retries=retries,
            correlation_id=correlation_id,
            proxy_from_env=proxy_from_env,
            trust_store=trust_store,
        )

    @property
    def sync(self) -> Client:
        """The ``Client`` this one runs its calls with (for a ``TokenManager``, say)."""
        return self._client

    def __repr__(self) -> str:
        return f"Async{self._client!r}"

    async def native_token(self, consumer_key: str, login_id: str, password: Optional[str]) -> Token:
        """``Client.native_token``, awaited."""
        return await call(self._client.native_token, consumer_key, login_id, password)

    async def refresh_token(self, client_id: str, client_secret: str, refresh_token: str) -> Token:
        """``Client.refresh_token``, awaited."""
        return await call(self._client.refresh_token, client_id, client_secret, refresh_token)

    async def exchange_code(self, client_id: str, client_secret: str, code: str) -> Token:
        """``Client.exchange_code``, awaited."""
        return await call(self._client.exchange_code, client_id, client_secret, code)

    async def revoke_token(self, admin_access_token: str, token: str) -> None:
        """``Client.revoke_token``, awaited."""
        await call(self._client.revoke_token, admin_access_token, token)

    async def revoke_user_tokens(self, admin_access_token: str, consumer_key: str, login_id: str) -> None:
        """``Client.revoke_user_tokens``, awaited."""
        await call(self._client.revoke_user_tokens, admin_access_token, consumer_key, login_id)

    async def password_grant(
        self,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """``Client.password_grant``, awaited."""
        return await call(
            self._client.password_grant,
            client_id,
            client_secret,
            username,
            password,
            scope=scope,
            base_url=base_url,
        )

    async def company_grant(
        self,
        client_id: str,
        client_secret: str,
        company_id: str,
        request_token: str,
        *,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """``Client.company_grant``, awaited."""
        return await call(
            self._client.company_grant, client_id, client_secret, company_id, request_token, base_url=base_url
        )

    async def refresh_grant(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """``Client.refresh_grant``, awaited."""
        return await call(
            self._client.refresh_grant, client_id, client_secret, refresh_token, scope=scope, base_url=base_url
        )

    async def client_credentials_grant(
        self, client_id: str, client_secret: str, *, base_url: Optional[str] = None
    ) -> OAuth2Token:
        """``Client.client_credentials_grant``, awaited."""
        return await call(self._client.client_credentials_grant, client_id, client_secret, base_url=base_url)

    async def authorization_code_grant(
        self,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        *,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """``Client.authorization_code_grant``, awaited."""
        return await call(
            self._client.authorization_code_grant, client_id, client_secret, code, redirect_uri, base_url=base_url
        )

    async def send_otp(
        self,
        client_id: str,
        client_secret: str,
        email: str,
        *,
        name: Optional[str] = None,
        company: Optional[str] = None,
        link: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> None:
        """``Client.send_otp``, awaited."""
        await call(
            self._client.send_otp,
            client_id,
            client_secret,
            email,
            name=name,
            company=company,
            link=link,
            base_url=base_url,
        )

    async def otp_grant(
        self,
        client_id: str,
        client_secret: str,
        email: str,
        otp: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """``Client.otp_grant``, awaited."""
        return await call(
            self._client.otp_grant, client_id, client_secret, email, otp, scope=scope, base_url=base_url
        )

    async def revoke_connections(self, access_token: str, *, base_url: Optional[str] = None) -> None:
        """``Client.revoke_connections``, awaited."""
        await call(self._client.revoke_connections, access_token, base_url=base_url)

    async def exchange_legacy_refresh_token(
        self,
        app_access_token: str,
        old_consumer_key: str,
        old_refresh_token: str,
        client_secret: str,
        *,
        company: bool = False,
        base_url: Optional[str] = None,
    ) -> LegacyExchange:
        """``Client.exchange_legacy_refresh_token``, awaited."""
        return await call(
            self._client.exchange_legacy_refresh_token,
            app_access_token,
            old_consumer_key,
            old_refresh_token,
            client_secret,
            company=company,
            base_url=base_url,
        )

