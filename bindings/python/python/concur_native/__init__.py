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
"""

from ._errors import (
    ConcurConnectionError,
    ConcurError,
    ConcurTimeoutError,
    HTTPStatusError,
    InternalError,
    InvalidArgumentError,
    ProtocolError,
    TLSError,
    UnauthorizedError,
)
from ._native import (
    DEFAULT_BASE_URL,
    Client,
    Token,
    __version__,
    authorization_url,
    native_token,
    parse_callback,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "Client",
    "ConcurConnectionError",
    "ConcurError",
    "ConcurTimeoutError",
    "HTTPStatusError",
    "InternalError",
    "InvalidArgumentError",
    "ProtocolError",
    "TLSError",
    "Token",
    "UnauthorizedError",
    "__version__",
    "authorization_url",
    "native_token",
    "parse_callback",
]
