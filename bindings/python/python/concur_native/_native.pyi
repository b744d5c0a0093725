"""Type stubs for the compiled module concur_native._native."""

import datetime
import os
from typing import Optional, Union, final

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
    def expires_at(self) -> Optional[datetime.datetime]: ...
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
