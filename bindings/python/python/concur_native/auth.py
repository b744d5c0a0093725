"""Adapters that put a ``TokenManager``'s access token on the requests of the two common HTTP
libraries, one line each:

    >>> from concur_native.auth import BearerAuth, HTTPXAuth
    >>> requests.get(url, auth=BearerAuth(manager))            # requests
    >>> httpx.Client(auth=HTTPXAuth(manager)).get(url)         # httpx (sync or async)

Each sets ``Authorization: Bearer {manager.access_token()}``; when the answer is a 401 it calls
``manager.invalidate()`` and sends the request once more with the manager's token. Neither
library is a dependency: each class is built on first use, importing only its own library, and
importing ``concur_native`` (or this module) imports neither.

``HTTPXAuth`` also serves ``httpx.AsyncClient``: there it awaits
``manager.access_token_async()`` (a cached token at once, a refresh on the library's threads,
never blocking the event loop); a manager without that method is asked ``access_token()``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BearerAuth", "HTTPXAuth"]


def _bearer(manager: Any) -> str:
    return f"Bearer {manager.access_token()}"


async def _bearer_async(manager: Any) -> str:
    access_token_async = getattr(manager, "access_token_async", None)
    if access_token_async is None:
        return _bearer(manager)
    return f"Bearer {await access_token_async()}"


def _requests_class() -> type:
    import requests.auth

    class BearerAuth(requests.auth.AuthBase):
        """A ``requests`` auth: ``requests.get(url, auth=BearerAuth(manager))``. On a 401 the
        manager's token is invalidated and the request is sent once more."""

        def __init__(self, manager: Any) -> None:
            self.manager = manager

        def __call__(self, request):
            request.headers["Authorization"] = _bearer(self.manager)
            request.register_hook("response", self._retry_on_401)
            return request

        def _retry_on_401(self, response, **kwargs):
            if response.status_code != 401 or getattr(response.request, "_concur_retried", False):
                return response
            self.manager.invalidate()
            response.content  # read the body, so that the connection can be reused
            response.close()
            retry = response.request.copy()
            retry.headers["Authorization"] = _bearer(self.manager)
            retry._concur_retried = True  # once: a second 401 is the answer
            again = response.connection.send(retry, **kwargs)
            again.history.append(response)
            again.request = retry
            return again

        def __eq__(self, other: object) -> bool:
            return isinstance(other, BearerAuth) and other.manager is self.manager

        def __hash__(self) -> int:
            return id(self.manager)

        def __repr__(self) -> str:
            return f"BearerAuth({self.manager!r})"

    BearerAuth.__module__ = __name__
    return BearerAuth


def _httpx_class() -> type:
    import httpx

    class HTTPXAuth(httpx.Auth):
        """An ``httpx`` auth for ``httpx.Client`` and ``httpx.AsyncClient``:
        ``httpx.Client(auth=HTTPXAuth(manager))``. On a 401 the manager's token is invalidated
        and the request is sent once more."""

        def __init__(self, manager: Any) -> None:
            self.manager = manager

        def auth_flow(self, request):
            request.headers["Authorization"] = _bearer(self.manager)
            response = yield request
            if response.status_code == 401:
                self.manager.invalidate()
                request.headers["Authorization"] = _bearer(self.manager)
                yield request

        async def async_auth_flow(self, request):
            request.headers["Authorization"] = await _bearer_async(self.manager)
            response = yield request
            if response.status_code == 401:
                self.manager.invalidate()
                request.headers["Authorization"] = await _bearer_async(self.manager)
                yield request

        def __repr__(self) -> str:
            return f"HTTPXAuth({self.manager!r})"

    HTTPXAuth.__module__ = __name__
    return HTTPXAuth


_builders = {"BearerAuth": _requests_class, "HTTPXAuth": _httpx_class}


def __getattr__(name: str) -> type:
    """Builds ``BearerAuth`` or ``HTTPXAuth`` on first use (PEP 562), importing its library then
    and not before."""
    build = _builders.get(name)
    if build is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    cls = build()
    globals()[name] = cls
    return cls


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
