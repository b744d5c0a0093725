"""Type stubs for concur_native.auth, whose classes are built on first use (PEP 562), so that
importing the module imports neither requests nor httpx."""

from typing import Any, AsyncGenerator, Generator, Protocol

import httpx
import requests  # type: ignore[import-untyped, unused-ignore]
import requests.auth  # type: ignore[import-untyped, unused-ignore]

__all__ = ["BearerAuth", "HTTPXAuth"]

class _Manager(Protocol):
    """What the adapters ask of a manager: a ``TokenManager`` or anything shaped like it."""

    def access_token(self) -> str: ...
    def invalidate(self) -> None: ...

class BearerAuth(requests.auth.AuthBase):  # type: ignore[misc, unused-ignore]
    """A requests auth putting ``Bearer {manager.access_token()}`` on each request; a 401 is
    answered by ``manager.invalidate()`` and one more try."""

    manager: _Manager
    def __init__(self, manager: _Manager) -> None: ...
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...
    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response: ...
    def __eq__(self, other: object) -> bool: ...
    def __hash__(self) -> int: ...

class HTTPXAuth(httpx.Auth):
    """An httpx auth for ``httpx.Client`` and ``httpx.AsyncClient``; with ``AsyncClient`` it
    awaits ``manager.access_token_async()`` when the manager has it."""

    manager: _Manager
    def __init__(self, manager: _Manager) -> None: ...
    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]: ...
    def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]: ...
