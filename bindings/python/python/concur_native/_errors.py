"""The exceptions of concur_native: one root, one class per error class of the core."""

from __future__ import annotations

from typing import Optional


class ConcurError(Exception):
    """Root of every error this package raises.

    ``str(error)`` is a one-line explanation. ``code`` names the class (``"UNAUTHORIZED"``,
    ``"TIMEOUT"``, … the same strings as the Node package). ``status_code`` is the HTTP status
    when an answer arrived; ``message`` and ``error_id`` are the ``Message`` and ``Id`` of
    Concur's error document when the answer was one. None of them ever holds the password or
    the token.
    """

    code: str = "ERROR"

    def __init__(
        self,
        text: str,
        *,
        status_code: Optional[int] = None,
        message: Optional[str] = None,
        error_id: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.status_code = status_code
        self.message = message
        self.error_id = error_id

    def __reduce__(self):  # keep the attributes across pickling (multiprocessing, logging)
        kwargs = {
            "status_code": self.status_code,
            "message": self.message,
            "error_id": self.error_id,
        }
        return (_rebuild, (type(self), str(self), kwargs))


def _rebuild(cls, text, kwargs):
    return cls(text, **kwargs)


class InvalidArgumentError(ConcurError, ValueError):
    """An argument or option was unusable; nothing was sent."""

    code = "INVALID_ARGUMENT"


class UnauthorizedError(ConcurError):
    """Concur refused the credentials or the consumer key (HTTP 401/403)."""

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


class InternalError(ConcurError):
    """A bug in concur-native was caught (a Rust panic); please report it. Never raised for
    anything a caller or a server did. Without this class a bug would surface as pyo3's
    ``PanicException``, a ``BaseException`` that ``except Exception`` does not catch."""

    code = "INTERNAL"
