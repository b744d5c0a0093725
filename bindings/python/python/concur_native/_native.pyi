"""Type stubs for the compiled module concur_native._native."""

import datetime
import os

from ._errors import ConcurError
from typing import Any, Awaitable, Literal, Callable, Mapping, Optional, Protocol, Sequence, Tuple, Union, final

__all__ = [
    "native_token",
    "authorization_url",
    "parse_callback",
    "oauth2_authorize_url",
    "parse_oauth2_callback",
    "_panic_for_tests",
    "_empty_call_for_tests",
    "_spawn",
    "_wait_for_refreshes",
    "_Ticket",
    "Token",
    "Client",
    "OAuth2Token",
    "LegacyExchange",
    "TokenManager",
    "RefreshEvent",
    "ManagerStatus",
    "TokenVault",
    "ConnectionInfo",
    "ConnectionIterator",
    "KeepAliveReport",
    "ConnectionManager",
    "__version__",
    "DEFAULT_BASE_URL",
]

__version__: str
DEFAULT_BASE_URL: str

@final
class Token:
    """An access token and what came with it. Immutable; repr() masks the secrets."""
    def __copy__(self) -> Token:
        """Immutable: the same object."""
    def __deepcopy__(self, memo: Any) -> Token:
        """Immutable: the same object."""

    @property
    def token(self) -> str: ...
    @property
    def refresh_token(self) -> Optional[str]: ...
    @property
    def expiration_date(self) -> Optional[str]: ...
    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        """None when Concur's text is unreadable or out of datetime's range; never raises."""
    @property
    def instance_url(self) -> Optional[str]: ...

@final
class OAuth2Token:
    """A token of the current API (oauth2/v0). Immutable; repr() masks the secrets; not picklable."""
    def __copy__(self) -> OAuth2Token:
        """Immutable: the same object."""
    def __deepcopy__(self, memo: Any) -> OAuth2Token:
        """Immutable: the same object."""

    @property
    def access_token(self) -> str: ...
    @property
    def token_type(self) -> str: ...
    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        """Aware UTC; None when the answer gave no usable expires_in."""
    @property
    def refresh_token(self) -> Optional[str]:
        """After a refresh, the one to store (Concur may rotate it)."""
    @property
    def refresh_expires_at(self) -> Optional[datetime.datetime]: ...
    @property
    def scope(self) -> Optional[str]: ...
    @property
    def geolocation(self) -> Optional[str]:
        """The user's data centre (checked to be trusted): send refreshes and later calls there."""
    @property
    def id_token(self) -> Optional[str]: ...
    @property
    def subject(self) -> Optional[str]:
        """The id_token's sub claim, read without verifying its signature."""
    @property
    def principal_type(self) -> Optional[str]:
        """The id_token's concur.type claim ("user", "company"), read without verifying it."""
    @property
    def correlation_id(self) -> Optional[str]: ...

@final
class LegacyExchange:
    """A current refresh token for a legacy one. Immutable; repr() masks it; not picklable."""
    def __copy__(self) -> LegacyExchange:
        """Immutable: the same object."""
    def __deepcopy__(self, memo: Any) -> LegacyExchange:
        """Immutable: the same object."""

    @property
    def refresh_token(self) -> str: ...
    @property
    def created_at(self) -> Optional[datetime.datetime]: ...
    @property
    def expires_at(self) -> Optional[datetime.datetime]: ...
    @property
    def scopes(self) -> list[str]: ...
    @property
    def context(self) -> Optional[str]: ...
    @property
    def correlation_id(self) -> Optional[str]: ...

def native_token(
    consumer_key: str,
    login_id: str,
    password: Optional[str],
    *,
    base_url: Optional[str] = None,
    timeout: Optional[float] = 30.0,
    ca_file: Optional[Union[str, os.PathLike[str]]] = None,
    proxy: Optional[str] = None,
    user_agent_suffix: Optional[str] = None,
    proxy_from_env: bool = True,
    trust_store: Literal["mozilla", "os", "both"] = "mozilla",
) -> Token:
    """Obtain an access token with Concur's Native Flow."""

@final
class Client:
    """A reusable client: options checked once, connections kept, safe across threads."""

    def __new__(
        cls,
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
    ) -> Client: ...
    def native_token(self, consumer_key: str, login_id: str, password: Optional[str]) -> Token: ...
    def refresh_token(self, client_id: str, client_secret: str, refresh_token: str) -> Token: ...
    def exchange_code(self, client_id: str, client_secret: str, code: str) -> Token: ...
    def revoke_token(self, admin_access_token: str, token: str) -> None: ...
    def revoke_user_tokens(
        self, admin_access_token: str, consumer_key: str, login_id: str
    ) -> None: ...
    def password_grant(
        self,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """Current API: a user's token for username and password; code 16 followed when trusted."""
    def company_grant(
        self,
        client_id: str,
        client_secret: str,
        company_id: str,
        request_token: str,
        *,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """Current API: a company token for App Center's company ID and request token."""
    def refresh_grant(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """Current API: refresh at the token's geolocation; store the returned refresh token."""
    def client_credentials_grant(
        self, client_id: str, client_secret: str, *, base_url: Optional[str] = None
    ) -> OAuth2Token:
        """Current API: the application's own token (no refresh token)."""
    def authorization_code_grant(
        self,
        client_id: str,
        client_secret: str,
        code: str,
        redirect_uri: str,
        *,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """Current API: trade a callback's code (single-use) for a token."""
    def send_otp(
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
        """Current API: email the user a one-time password for otp_grant."""
    def otp_grant(
        self,
        client_id: str,
        client_secret: str,
        email: str,
        otp: str,
        *,
        scope: Optional[str] = None,
        base_url: Optional[str] = None,
    ) -> OAuth2Token:
        """Current API: a user's token for the one-time password send_otp emailed."""
    def revoke_connections(self, access_token: str, *, base_url: Optional[str] = None) -> None:
        """Current API: revoke every refresh token the user gave the application."""
    def exchange_legacy_refresh_token(
        self,
        app_access_token: str,
        old_consumer_key: str,
        old_refresh_token: str,
        client_secret: str,
        *,
        company: bool = False,
        base_url: Optional[str] = None,
    ) -> LegacyExchange:
        """Current API: a current refresh token for a legacy one."""

_StoreKey = Union[bytes, bytearray, str]

class _CallbackStore(Protocol):
    """Your own storage for a TokenManager: one document, as bytes (sealed with store_key)."""
    def load(self) -> Optional[bytes]:
        """The document saved last, or None when nothing is stored yet."""
    def save(self, document: bytes) -> object:
        """Keeps the document (replacing the one before)."""

@final
class TokenManager:
    """One valid access token for every thread (and, through a file or Redis store, every
    process or machine), refreshed once shortly before it expires. Not picklable."""

    def __new__(
        cls,
        client: Client,
        client_id: str,
        client_secret: str,
        *,
        refresh_token: Optional[str] = None,
        geolocation: Optional[str] = None,
        grant: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        company_id: Optional[str] = None,
        request_token: Optional[str] = None,
        store: Union[None, str, os.PathLike[str], _CallbackStore] = None,
        redis_key: Optional[str] = None,
        margin: float = 300.0,
        floor: Optional[float] = None,
        store_key: Union[None, _StoreKey, Sequence[_StoreKey]] = None,
        require_sealed: bool = False,
        on_event: Optional[Callable[[RefreshEvent], object]] = None,
    ) -> TokenManager:
        """margin: refresh ahead this long before expiry (s); floor: the least validity handed
        out (s, default 30, below margin); store_key: seal the store (32 bytes or base64, or a
        list: the first seals, all open); on_event: called with each RefreshEvent."""
    def access_token(self) -> str:
        """Valid for at least the margin; the GIL is released while it waits."""
    def access_token_async(self) -> Awaitable[str]:
        """The same for asyncio: the token in memory at once, else refreshed on the library's threads."""
    def _cached_access_token(self) -> Optional[str]: ...
    def token(self) -> OAuth2Token:
        """The whole OAuth2Token behind access_token() (expiry, geolocation, refresh token)."""
    def invalidate(self) -> None:
        """Forget the token held in memory (after an API call answered 401)."""
    def status(self) -> ManagerStatus:
        """A snapshot for operators; never waits, holds no secret."""

@final
class RefreshEvent:
    """One refresh attempt of a TokenManager (given to on_event, logged on the
    concur_native.manager logger). Immutable; holds no secret; str() is a one-line text."""

    @property
    def outcome(self) -> str:
        """"refreshed", "from_store", "failed" (tried again at retry_at), "dead", or "expiring"
        (a TokenVault's horizon warning)."""
    @property
    def trigger(self) -> str:
        """"absent", "ahead", "expired", "invalidated" or "keep_alive"."""
    @property
    def grant(self) -> Optional[str]:
        """"refresh_token", "password", "client_credentials", or None when nothing was sent."""
    @property
    def duration(self) -> float:
        """Seconds the attempt took, store included."""
    @property
    def at(self) -> datetime.datetime:
        """When the attempt ended (aware UTC)."""
    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        """The new access token's expiry (aware UTC), on success."""
    @property
    def refresh_expires_at(self) -> Optional[datetime.datetime]:
        """The new refresh token's expiry (aware UTC), when Concur said it."""
    @property
    def error(self) -> Optional[ConcurError]:
        """On failure, the ConcurError a caller would have been raised."""
    @property
    def failures(self) -> int:
        """Failures in a row, this one included (0 on success)."""
    @property
    def retry_at(self) -> Optional[datetime.datetime]:
        """When the next attempt may start, after a failure tried again."""
    @property
    def connection(self) -> Optional[str]:
        """The connection of a keeper of several; None for a TokenManager."""
    @property
    def horizon(self) -> Optional[datetime.timedelta]:
        """For an "expiring" warning (a TokenVault's), the horizon the refresh token came within."""

@final
class ManagerStatus:
    """Where a TokenManager stands (manager.status()). Immutable; holds no secret."""

    @property
    def state(self) -> str:
        """"active", "failing" or "dead"."""
    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        """The access token's expiry (aware UTC), when one is held."""
    @property
    def refresh_expires_at(self) -> Optional[datetime.datetime]:
        """The refresh token's expiry (aware UTC), when known."""
    @property
    def last_refresh(self) -> Optional[datetime.datetime]:
        """When the last successful refresh (or read from the store) ended."""
    @property
    def last_error(self) -> Optional[ConcurError]:
        """The last failure, until a refresh succeeds."""
    @property
    def failures(self) -> int:
        """Failures in a row."""
    @property
    def next_attempt(self) -> Optional[datetime.datetime]:
        """When the next attempt may start, while failing."""
    @property
    def refresh_count(self) -> int:
        """Refreshes that obtained a new token here."""
    @property
    def refreshing(self) -> bool:
        """Whether a refresh is running now."""

def authorization_url(
    client_id: str,
    redirect_uri: str,
    *,
    scopes: Sequence[str] = ...,
    state: Optional[str] = None,
    base_url: Optional[str] = None,
) -> Tuple[str, str]:
    """Build the Web flow's Login URL; returns (url, state)."""

def parse_callback(callback_url: str, expected_state: Optional[str] = None) -> str:
    """Return the code of a Web-flow or App Center callback URL."""

def oauth2_authorize_url(
    client_id: str,
    redirect_uri: str,
    *,
    scopes: Sequence[str] = ...,
    state: Optional[str] = None,
    base_url: Optional[str] = None,
) -> Tuple[str, str]:
    """Build the current API's authorize URL; returns (url, state)."""

def parse_oauth2_callback(
    url: str, expected_state: Optional[str] = None
) -> Tuple[str, Optional[str]]:
    """Return (code, geolocation) of an authorization-code callback URL."""

def _panic_for_tests() -> None:
    """Panics inside the binding's guard, for the test suite: raises InternalError."""

def _empty_call_for_tests(pooled: bool) -> None:
    """An empty call through the pool (True) or on this thread (False), for the benchmark."""

def _wait_for_refreshes(timeout: float) -> bool:
    """Waits (GIL released, at most timeout seconds) until no refresh ahead runs: the atexit hook."""

@final
class _Ticket:
    """The handle of an asyncio call on the library's threads."""

    def cancel(self) -> None: ...

def _spawn(
    func: Callable[..., Any],
    args: Tuple[Any, ...],
    kwargs: Optional[Mapping[str, Any]],
    deliver: Callable[[bool, Any], object],
) -> _Ticket:
    """Runs func(*args, **kwargs) on the library's threads; deliver(ok, value) gets the outcome."""

_Duration = Union[float, int, datetime.timedelta]

@final
class TokenVault:
    """Many Concur connections (companies, users, the application) kept alive in one store:
    the TokenManager's guarantees per connection. Not picklable."""

    def __new__(
        cls,
        client: Client,
        client_id: str,
        client_secret: str,
        *,
        store: Optional[str] = None,
        margin: float = 300.0,
        floor: Optional[float] = None,
        store_key: Union[None, _StoreKey, Sequence[_StoreKey]] = None,
        require_sealed: bool = False,
        on_event: Optional[Callable[[RefreshEvent], object]] = None,
        cache_capacity: Optional[int] = None,
        horizons: Optional[Sequence[_Duration]] = None,
    ) -> TokenVault:
        """store: "memory:" (default), "sqlite:///path", "redis://...", "postgres://..."; the
        other options as TokenManager's; cache_capacity: connections held in memory; horizons:
        when to warn before a refresh token's expiry (default 30 and 7 days)."""
    def add(
        self,
        id: str,
        *,
        refresh_token: Optional[str] = None,
        geolocation: Optional[str] = None,
        company_id: Optional[str] = None,
        request_token: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        code: Optional[str] = None,
        redirect_uri: Optional[str] = None,
        client_credentials: bool = False,
        replace: bool = False,
    ) -> OAuth2Token:
        """Adds connection id from one start (a refresh token, a company grant, a password
        grant, an authorization code, or client credentials); stored before it returns."""
    def access_token(self, id: str) -> str:
        """Connection id's access token, valid for at least the floor; the GIL is released while it waits."""
    def access_token_async(self, id: str) -> Awaitable[str]:
        """The same for asyncio: the token in memory at once, else on the library's threads."""
    def _cached_access_token(self, id: str) -> Optional[str]: ...
    def token(self, id: str) -> OAuth2Token:
        """Connection id's whole OAuth2Token."""
    def invalidate(self, id: str) -> None:
        """Forget connection id's access token (after an API call answered 401)."""
    def remove(self, id: str, revoke: bool = False) -> None:
        """Remove connection id (revoke=True: Concur revokes it first)."""
    def connection(self, id: str) -> ConnectionInfo:
        """Connection id as an operator sees it; no secret."""
    def connections(self) -> ConnectionIterator:
        """Every connection in ID order, read a page at a time."""
    def status(self, id: str) -> ManagerStatus:
        """Connection id's engine in this process."""
    def keep_alive(self, within: Optional[_Duration] = None, concurrency: int = 8) -> KeepAliveReport:
        """Refresh every connection whose refresh token expires within `within` (default 30 days)."""
    def manager(self, id: str) -> ConnectionManager:
        """Connection id shaped like a TokenManager (for the auth adapters)."""

@final
class ConnectionInfo:
    """One connection as an operator sees it. Immutable; holds no secret."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str:
        """"company", "user" or "app"."""
    @property
    def subject(self) -> Optional[str]: ...
    @property
    def geolocation(self) -> Optional[str]: ...
    @property
    def expires_at(self) -> Optional[datetime.datetime]: ...
    @property
    def refresh_expires_at(self) -> Optional[datetime.datetime]: ...
    @property
    def last_refresh(self) -> Optional[datetime.datetime]: ...
    @property
    def state(self) -> str:
        """"active", "expiring", "failing" or "dead"."""
    @property
    def concur_code(self) -> Optional[int]: ...
    @property
    def failures(self) -> int: ...
    @property
    def horizon(self) -> Optional[datetime.timedelta]: ...
    @property
    def added_at(self) -> Optional[datetime.datetime]: ...

@final
class ConnectionIterator:
    """vault.connections(): ConnectionInfo objects, a page of the store at a time."""

    def __iter__(self) -> ConnectionIterator: ...
    def __next__(self) -> ConnectionInfo: ...

@final
class KeepAliveReport:
    """What one keep_alive() did; true when nothing died or failed."""

    @property
    def checked(self) -> int: ...
    @property
    def refreshed(self) -> int: ...
    @property
    def fresh(self) -> int: ...
    @property
    def dead(self) -> list[Tuple[str, Optional[int]]]: ...
    @property
    def failed(self) -> list[Tuple[str, ConcurError]]: ...
    def __bool__(self) -> bool: ...

@final
class ConnectionManager:
    """One connection of a TokenVault shaped like a TokenManager. Not picklable."""

    @property
    def id(self) -> str: ...
    @property
    def vault(self) -> TokenVault: ...
    def access_token(self) -> str: ...
    def access_token_async(self) -> Awaitable[str]: ...
    def token(self) -> OAuth2Token: ...
    def invalidate(self) -> None: ...
    def status(self) -> ManagerStatus: ...
