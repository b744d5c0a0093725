"""SAP Concur OAuth 2 access tokens with Concur's Native Flow.

    >>> import os, concur_native
    >>> token = concur_native.native_token(
    ...     "my-consumer-key", "user@example.com", os.environ["CONCUR_PASSWORD"])
    >>> headers = {"Authorization": f"OAuth {token.token}"}

``native_token`` returns a ``Token`` (``token``, ``refresh_token``, ``expiration_date``,
``expires_at``, ``instance_url``) or raises a ``ConcurError`` subclass. The work is done by
a Rust core shared with the C library and the Node package: TLS only, redirects never
followed, answers capped at 64 KiB, credentials wiped from memory after use and never quoted
in an error.

A ``Client`` keeps connections alive between calls and adds the Native Flow's companions:
``refresh_token``, ``exchange_code`` (the Web, App Center and Auto-Connect flows) and
``revoke_token`` / ``revoke_user_tokens``. ``authorization_url`` and ``parse_callback`` are the
Web flow's two local steps.

Concur's current Authentication API (oauth2/v0) is on the same ``Client``:
``password_grant``, ``company_grant``, ``refresh_grant``, ``client_credentials_grant``,
``authorization_code_grant``, ``send_otp`` / ``otp_grant`` return an ``OAuth2Token``
(``access_token``, ``expires_at``, ``refresh_token``, ``geolocation``, …);
``revoke_connections`` and ``exchange_legacy_refresh_token`` complete it, and
``oauth2_authorize_url`` / ``parse_oauth2_callback`` are the authorization-code flow's local
steps:

    >>> client = concur_native.Client(timeout=10)
    >>> token = client.password_grant(client_id, os.environ["CONCUR_CLIENT_SECRET"],
    ...                               "user@example.com", os.environ["CONCUR_PASSWORD"])
    >>> token = client.refresh_grant(client_id, secret, token.refresh_token,
    ...                              base_url=token.geolocation)  # store the new refresh token

A ``TokenManager`` keeps one valid access token for every thread (and, through a file or
Redis store, every process or machine), refreshed once shortly before it expires:

    >>> manager = concur_native.TokenManager(client, client_id, secret,
    ...     refresh_token=stored_refresh_token, geolocation=stored_geolocation,
    ...     store="/var/lib/app/concur-token.json")
    >>> headers = {"Authorization": f"Bearer {manager.access_token()}"}

Inside ``margin`` (300 s) of expiry callers keep the current token while one refresh runs on a
library thread; below ``floor`` (30 s) they wait for it. ``store_key=`` seals the store,
``on_event=`` receives a ``RefreshEvent`` per attempt (every event is also logged on the
``concur_native.manager`` logger) and ``manager.status()`` returns a ``ManagerStatus``.

A ``TokenVault`` keeps many connections (every company's, every user's) in one store named
by URL, each with the manager's guarantees, and sweeps them from a daily cron:

    >>> vault = concur_native.TokenVault(client, client_id, secret, store="sqlite:///var/lib/app/vault.db")
    >>> vault.add(company_uuid, company_id=company_uuid, request_token=request_token)
    >>> headers = {"Authorization": f"Bearer {vault.access_token(company_uuid)}"}
    >>> report = vault.keep_alive()          # in the cron: refreshed, fresh, dead, failed

``vault.manager(id)`` is one connection shaped like a ``TokenManager`` (for the auth adapters).

For asyncio, ``AsyncClient`` has the same methods as ``Client``, each a coroutine, and
``await manager.access_token_async()`` never blocks the event loop:

    >>> client = concur_native.AsyncClient(timeout=10)
    >>> token = await client.client_credentials_grant(client_id, secret)

``concur_native.auth`` adapts it to requests (``BearerAuth``) and httpx (``HTTPXAuth``), neither
of which this package needs or imports.

Errors of the current API carry ``concur_code``, ``oauth_error``, ``geolocation`` and
``correlation_id``.
"""

from ._errors import (
    ConcurConnectionError,
    ConcurError,
    ConcurTimeoutError,
    HTTPStatusError,
    InternalError,
    InvalidArgumentError,
    NotBuiltInError,
    UnknownConnectionError,
    ProtocolError,
    StoreError,
    TLSError,
    UnauthorizedError,
)
import atexit as _atexit

from ._aio import AsyncClient
from ._native import _wait_for_refreshes
from ._native import (
    DEFAULT_BASE_URL,
    Client,
    LegacyExchange,
    ConnectionInfo,
    ConnectionIterator,
    ConnectionManager,
    KeepAliveReport,
    ManagerStatus,
    OAuth2Token,
    RefreshEvent,
    Token,
    TokenManager,
    TokenVault,
    __version__,
    authorization_url,
    native_token,
    oauth2_authorize_url,
    parse_callback,
    parse_oauth2_callback,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "AsyncClient",
    "Client",
    "ConnectionInfo",
    "ConnectionIterator",
    "ConnectionManager",
    "ConcurConnectionError",
    "ConcurError",
    "ConcurTimeoutError",
    "HTTPStatusError",
    "InternalError",
    "InvalidArgumentError",
    "KeepAliveReport",
    "LegacyExchange",
    "ManagerStatus",
    "NotBuiltInError",
    "UnknownConnectionError",
    "OAuth2Token",
    "ProtocolError",
    "RefreshEvent",
    "StoreError",
    "TLSError",
    "Token",
    "TokenManager",
    "TokenVault",
    "UnauthorizedError",
    "__version__",
    "authorization_url",
    "native_token",
    "oauth2_authorize_url",
    "parse_callback",
    "parse_oauth2_callback",
]

# A process that ends in the middle of a refresh ahead may lose the refresh token Concur just
# rotated: at exit, wait for any still running (the client's default deadline and a little).
_atexit.register(_wait_for_refreshes, 35.0)
