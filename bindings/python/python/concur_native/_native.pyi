"""Type stubs for the compiled module concur_native._native."""

import datetime
import os
from typing import Optional, Sequence, Tuple, Union, final

__version__: str
DEFAULT_BASE_URL: str

@final
class Token:
    """An access token and what came with it. Immutable; repr() masks the secrets."""

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

def native_token(
    consumer_key: str,
    login_id: str,
    password: Optional[str],
    *,
    base_url: Optional[str] = None,
    timeout: float = 30.0,
    ca_file: Optional[Union[str, os.PathLike[str]]] = None,
    proxy: Optional[str] = None,
    user_agent_suffix: Optional[str] = None,
) -> Token:
    """Obtain an access token with Concur's Native Flow."""

@final
class Client:
    """A reusable client: options checked once, connections kept, safe across threads."""

    def __init__(
        self,
        *,
        base_url: Optional[str] = None,
        timeout: float = 30.0,
        ca_file: Optional[Union[str, os.PathLike[str]]] = None,
        proxy: Optional[str] = None,
        user_agent_suffix: Optional[str] = None,
    ) -> None: ...
    def native_token(self, consumer_key: str, login_id: str, password: Optional[str]) -> Token: ...
    def refresh_token(self, client_id: str, client_secret: str, refresh_token: str) -> Token: ...
    def exchange_code(self, client_id: str, client_secret: str, code: str) -> Token: ...
    def revoke_token(self, admin_access_token: str, token: str) -> None: ...
    def revoke_user_tokens(
        self, admin_access_token: str, consumer_key: str, login_id: str
    ) -> None: ...

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

def _panic_for_tests() -> None:
    """Panics inside the binding's guard, for the test suite: raises InternalError."""
