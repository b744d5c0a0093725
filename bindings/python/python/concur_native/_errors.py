"""The exceptions of concur_native: one root, one class per error class of the core."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Type


class ConcurError(Exception):
    """Root of every error this package raises.

    ``str(error)`` is a one-line explanation. ``code`` names the class (``"UNAUTHORIZED"``,
    ``"TIMEOUT"``, … the same strings as the Node package). ``status_code`` is the HTTP status
    when an answer arrived; ``message`` and ``error_id`` are the ``Message`` and ``Id`` of
    Concur's error document when the answer was one (for the current API, ``message`` is the
    ``error_description``). The current API's JSON errors also fill ``concur_code`` (Concur's
    numeric ``code``: 5 wrong credentials, 16 the user lives in another data centre, 108 a bad
    or expired refresh token, …), ``oauth_error`` (``"invalid_grant"``, …) and
    ``geolocation`` (as Concur sent it; never followed by this value alone).
    ``correlation_id`` is the exchange's ``concur-correlationid``, which Concur support asks
    for. None of them ever holds a password, secret, code or token.
    """

    code: str = "ERROR"

    def __init__(
        self,
        text: str,
        *,
        status_code: Optional[int] = None,
        message: Optional[str] = None,
        error_id: Optional[str] = None,
        concur_code: Optional[int] = None,
        oauth_error: Optional[str] = None,
        geolocation: Optional[str] = None,
        correlation_id: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.message = message
        self.error_id = error_id
        self.concur_code = concur_code
        self.oauth_error = oauth_error
        self.geolocation = geolocation
        self.correlation_id = correlation_id

    def __reduce__(self) -> Tuple[Callable[..., ConcurError], Tuple[Any, ...]]:
        """Keeps the attributes across pickling (multiprocessing, logging)."""
        kwargs: Dict[str, Any] = {
            "status_code": self.status_code,
            "message": self.message,
            "error_id": self.error_id,
            "concur_code": self.concur_code,
            "oauth_error": self.oauth_error,
            "geolocation": self.geolocation,
            "correlation_id": self.correlation_id,
        }
        return (_rebuild, (type(self), str(self), kwargs))


def _rebuild(cls: Type[ConcurError], text: str, kwargs: Dict[str, Any]) -> ConcurError:
    return cls(text, **kwargs)


class InvalidArgumentError(ConcurError, ValueError):
    """An argument or option was unusable; nothing was sent."""

    code = "INVALID_ARGUMENT"


class UnauthorizedError(ConcurError):
    """Concur refused the credentials, the consumer key or client, or a refresh token (HTTP
    401/403, or the current API's ``invalid_grant``/``invalid_client``: see ``concur_code``)."""

    code = "UNAUTHORIZED"


class HTTPStatusError(ConcurError):
    """Concur answered with another HTTP status: 5xx, a redirect (never followed), 404, 429, …"""

    code = "HTTP_STATUS"


class ConcurTimeoutError(ConcurError, TimeoutError):
    """The exchange did not finish within the timeout."""

    code = "TIMEOUT"


class ConcurConnectionError(ConcurError, ConnectionError):
    """No connection could be made to the host or the proxy."""

    code = "CONNECT"


class TLSError(ConcurConnectionError):
    """The TLS handshake failed: untrusted or wrong-host certificate, old protocol, …"""

    code = "TLS"


class ProtocolError(ConcurError):
    """The answer was not a usable token document: malformed, too large, truncated, …"""

    code = "PROTOCOL"


class StoreError(ConcurError):
    """A ``TokenManager``'s store could not be read or written: an unreadable or unwritable
    file, an unreachable Redis server, a stored document that is not a token, a ``save`` callback
    that raised (then the ``__cause__``). The token is not handed out when its save failed, and
    the stored token is never lost."""

    code = "STORE"


class NotBuiltInError(ConcurError):
    """The call needs an optional part of the Rust core (a Cargo feature, named in the message)
    that this build was compiled without; nothing was sent. The wheels have every part built in
    (the Redis store), so only a source build with features turned off raises it."""

    code = "NOT_BUILT_IN"


class UnknownConnectionError(ConcurError):
    """A ``TokenVault`` holds no connection by that ID (never added, or removed); nothing was
    sent."""

    code = "UNKNOWN_CONNECTION"


class InternalError(ConcurError):
    """A bug in concur-native was caught (a Rust panic); please report it. Never raised for
    anything a caller or a server did. Without this class a bug would surface as pyo3's
    ``PanicException``, a ``BaseException`` that ``except Exception`` does not catch."""

    code = "INTERNAL"
