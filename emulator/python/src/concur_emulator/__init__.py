"""Drive concur-emulator, a local SAP Concur OAuth 2 emulator, from Python tests.

    from concur_emulator import Emulator

    with Emulator() as emulator:
        company = emulator.add_company()
        # ... connect it with any HTTP client, trusting emulator.ca_file ...
        emulator.advance(3600)          # the virtual clock: the access token is now expired
        print(emulator.journal())       # every request, secrets replaced by digests

`Emulator` starts the `concur-emulator` program this package installed (no Rust needed), reads
the one JSON line it prints, and calls its control API (`/_emulator/...`) with the standard
library only. With pytest, the `concur_emulator` fixture (see `concur_emulator.pytest_plugin`)
gives each test a reset emulator.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from importlib import metadata
from typing import Any, Dict, List, Mapping, NoReturn, Optional, Sequence

__all__ = ["BINARY_ENV", "Emulator", "EmulatorError", "find_binary", "__version__"]

try:
    __version__ = metadata.version("concur-emulator")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
    __version__ = "0+unknown"

#: The environment variable that names the program to start instead of the bundled one.
BINARY_ENV = "CONCUR_EMULATOR_BINARY"

_EXE = "concur-emulator" + (sysconfig.get_config_var("EXE") or "")


class EmulatorError(Exception):
    """The emulator did not start, or a control API call failed.

    `status` is the HTTP status of a failed control call (None when the program did not
    start), `message` the emulator's explanation.
    """

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message if status is None else f"{status}: {message}")
        self.status = status
        self.message = message


def find_binary() -> str:
    """The path of the `concur-emulator` program: `$CONCUR_EMULATOR_BINARY`, else the one this
    package's wheel installed (the environment's scripts folder, the user scheme's, or the
    `bin` folder of a `pip install --target`), else one on PATH."""
    override = os.environ.get(BINARY_ENV)
    if override:
        if not os.path.isfile(override):
            raise EmulatorError(f"{BINARY_ENV}={override!r} is not a file")
        return override
    candidates = [os.path.join(sysconfig.get_path("scripts"), _EXE)]
    if sys.version_info >= (3, 10):
        user_scheme = sysconfig.get_preferred_scheme("user")
    elif os.name == "nt":
        user_scheme = "nt_user"
    elif sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    else:
        user_scheme = "posix_user"
    candidates.append(os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), _EXE))
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates.append(os.path.join(package_root, "bin", _EXE))
    for path in candidates:
        if os.path.isfile(path):
            return path
    on_path = shutil.which(_EXE)
    if on_path:
        return on_path
    raise EmulatorError(
        f"cannot find the {_EXE} program (looked in {', '.join(candidates)} and on PATH): "
        f"reinstall concur-emulator, or set {BINARY_ENV}"
    )


def _flags(
    port: Optional[int],
    seed: Optional[str],
    access_lifetime: Optional[int],
    refresh_lifetime: Optional[int],
    rotate: Optional[str],
    ca_out: Optional[str],
) -> List[str]:
    flags: List[str] = []
    for name, value in (
        ("--port", port),
        ("--seed", seed),
        ("--access-lifetime", access_lifetime),
        ("--refresh-lifetime", refresh_lifetime),
        ("--rotate", rotate),
        ("--ca-out", ca_out),
    ):
        if value is not None:
            flags += [name, str(value)]
    return flags


class Emulator:
    """One running `concur-emulator` process and its control API.

    Arguments map to the program's flags (`concur-emulator --help`); `args` adds any others.
    `seed` is a path to a seed file, or a dict written to a temporary one. The process starts
    on `start()` or `with Emulator() as emulator:` and stops on `stop()` or at the end of the
    `with` block; it also ends by itself when this Python process does (its standard input
    closes).

    After start, `info` is the program's JSON line as a dict, and `base_url`,
    `second_base_url`, `plain_base_url`, `ca_file`, `admin_url` name what a test needs.
    """

    def __init__(
        self,
        *args: str,
        binary: Optional[str] = None,
        port: Optional[int] = None,
        seed: "str | os.PathLike[str] | Mapping[str, Any] | None" = None,
        access_lifetime: Optional[int] = None,
        refresh_lifetime: Optional[int] = None,
        rotate: Optional[str] = None,
        ca_out: "str | os.PathLike[str] | None" = None,
        startup_timeout: float = 30.0,
    ) -> None:
        self._binary = binary
        self._seed_file: Optional[str] = None
        if isinstance(seed, Mapping):
            handle, self._seed_file = tempfile.mkstemp(prefix="concur-emulator-seed-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as f:
                json.dump(dict(seed), f)
            seed_path: Optional[str] = self._seed_file
        else:
            seed_path = None if seed is None else os.fspath(seed)
        ca_path = None if ca_out is None else os.fspath(ca_out)
        self._argv = _flags(port, seed_path, access_lifetime, refresh_lifetime, rotate, ca_path)
        self._argv += list(args)
        self._startup_timeout = startup_timeout
        self._process: Optional[subprocess.Popen[str]] = None
        self._stderr: Optional[Any] = None
        self._context: Optional[ssl.SSLContext] = None
        self._opener: Optional[urllib.request.OpenerDirector] = None
        self.info: Dict[str, Any] = {}

    # -- the process ------------------------------------------------------------------------

    def start(self) -> "Emulator":
        """Starts the program and waits for its JSON line; raises EmulatorError with the
        program's own message (a bad flag, a port in use, ...) when it does not start."""
        if self._process is not None:
            raise EmulatorError("this emulator is already started")
        binary = self._binary or find_binary()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
        process = subprocess.Popen(
            [binary, "--exit-on-stdin-eof", *self._argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._process = process
        line: List[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self._startup_timeout)
        if not line or not line[0].strip():
            why = "did not print its JSON line in time" if not line else "exited"
            self._fail(f"{binary} {why}")
        try:
            info = json.loads(line[0])
        except ValueError:
            self._fail(f"{binary} printed no JSON line: {line[0][:200]!r}")
        self.info = info
        self._context = ssl.create_default_context(cafile=info["ca_file"])
        self._opener = urllib.request.build_opener(
            # The control API is on loopback: never through a proxy the environment names.
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPSHandler(context=self._context),
        )
        return self

    def stop(self) -> None:
        """Stops the program (closes its standard input, then kills it if it lingers)."""
        process, self._process = self._process, None
        if process is not None:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            finally:
                if process.stdout is not None:
                    process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._seed_file is not None:
            try:
                os.unlink(self._seed_file)
            except OSError:
                pass
            self._seed_file = None

    def _fail(self, what: str) -> NoReturn:
        """Ends a start that failed: kills the process, raises with what it said on stderr."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        message = ""
        if self._stderr is not None:
            self._stderr.seek(0)
            message = self._stderr.read().strip()
        self.stop()
        raise EmulatorError(f"{what}: {message or 'no message on stderr'}")

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the program is started and still running."""
        return self._process is not None and self._process.poll() is None

    # -- what a test needs ------------------------------------------------------------------

    def _field(self, name: str) -> Any:
        if not self.info:
            raise EmulatorError("the emulator is not started")
        return self.info[name]

    @property
    def base_url(self) -> str:
        """Data centre 1 (HTTPS): the base URL to give a Concur client."""
        return str(self._field("base_url"))

    @property
    def second_base_url(self) -> str:
        """Data centre 2 (HTTPS): where geolocation sends users whose home it is."""
        return str(self._field("second_base_url"))

    @property
    def plain_base_url(self) -> str:
        """The same endpoints over plain HTTP (loopback only)."""
        return str(self._field("plain_base_url"))

    @property
    def ca_file(self) -> str:
        """The PEM file of the CA to trust for the HTTPS base URLs."""
        return str(self._field("ca_file"))

    @property
    def admin_url(self) -> str:
        """The control API's base URL (`{base_url}/_emulator`)."""
        return str(self.info.get("admin_url") or self.base_url.rstrip("/") + "/_emulator")

    @property
    def client_id(self) -> str:
        """The seeded oauth2/v0 app's client ID."""
        return str(self._field("oauth2_client_id"))

    @property
    def client_secret(self) -> str:
        """The seeded oauth2/v0 app's client secret."""
        return str(self._field("oauth2_client_secret"))

    def ssl_context(self) -> ssl.SSLContext:
        """An SSL context that trusts the emulator's CA (and nothing else)."""
        if self._context is None:
            raise EmulatorError("the emulator is not started")
        return self._context

    # -- the control API --------------------------------------------------------------------

    def call(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Any:
        """Calls the control API (`path` under `/_emulator/`) and returns its JSON answer;
        raises EmulatorError with the emulator's message for a 4xx or 5xx."""
        if self._opener is None:
            raise EmulatorError("the emulator is not started")
        data = None if body is None else json.dumps(dict(body)).encode()
        request = urllib.request.Request(
            self.admin_url + "/" + path.lstrip("/"),
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=30) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                message = json.loads(text).get("message", text)
            except (ValueError, AttributeError):
                message = text
            raise EmulatorError(str(message), e.code) from None
        return json.loads(text) if text.strip() else None

    def _object(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        answer = self.call(method, path, body)
        if not isinstance(answer, dict):
            raise EmulatorError(f"{path}: the emulator answered no JSON object")
        return answer

    def _array(self, method: str, path: str, body: Optional[Mapping[str, Any]] = None) -> List[Dict[str, Any]]:
        answer = self.call(method, path, body)
        if not isinstance(answer, list):
            raise EmulatorError(f"{path}: the emulator answered no JSON array")
        return answer

    def health(self) -> Dict[str, Any]:
        """`{status, name, version, now}`."""
        return self._object("GET", "health")

    def reset(self) -> None:
        """Back to the start state: apps, companies, users, tokens, faults, clock, journal."""
        self.call("POST", "reset")

    def add_app(
        self,
        client_id: Optional[str] = None,
        client_secret: Optional[str] = None,
        grants: Optional[Sequence[str]] = None,
        scopes: Optional[Sequence[str]] = None,
    ) -> Dict[str, Any]:
        """Registers an oauth2/v0 app; returns `{client_id, client_secret, grants, scopes}`."""
        return self._object("POST", "apps", _present(client_id=client_id, client_secret=client_secret,
                                                  grants=_list(grants), scopes=_list(scopes)))

    def apps(self) -> List[Dict[str, Any]]:
        """Every app the emulator knows."""
        return self._array("GET", "apps")

    def delete_app(self, client_id: str) -> None:
        """Forgets an app."""
        self.call("DELETE", "apps/" + _segment(client_id))

    def add_company(self, id: Optional[str] = None, name: Optional[str] = None) -> Dict[str, Any]:
        """Creates a company; returns `{id, name, request_token, request_token_expires_at, ...}`:
        connect it with the company grant (its ID and request token)."""
        return self._object("POST", "companies", _present(id=id, name=name))

    def new_request_token(self, company_id: str) -> Dict[str, Any]:
        """A new request token for a company: `{id, request_token, expires_at}`."""
        return self._object("POST", f"companies/{_segment(company_id)}/request-tokens", {})

    def companies(self) -> List[Dict[str, Any]]:
        """Every company (without request tokens)."""
        return self._array("GET", "companies")

    def delete_company(self, company_id: str) -> None:
        """Forgets a company."""
        self.call("DELETE", "companies/" + _segment(company_id))

    def add_user(
        self,
        login: str,
        password: str,
        data_centre: Optional[int] = None,
        locked: Optional[bool] = None,
        disabled: Optional[bool] = None,
    ) -> Dict[str, Any]:
        """Creates (or replaces) a user for the password grant: `{login, sub, data_centre, ...}`."""
        return self._object("POST", "users", _present(login=login, password=password,
                                                   data_centre=data_centre, locked=locked,
                                                   disabled=disabled))

    def users(self) -> List[Dict[str, Any]]:
        """Every user."""
        return self._array("GET", "users")

    def delete_user(self, login: str) -> None:
        """Forgets a user."""
        self.call("DELETE", "users/" + _segment(login))

    def add_consumer_key(self, key: str, secret: str) -> Dict[str, Any]:
        """Registers a legacy (Native Flow) consumer key."""
        return self._object("POST", "consumer-keys", {"key": key, "secret": secret})

    def revoke(self, refresh_token: Optional[str] = None, connection: Optional[str] = None) -> None:
        """Revokes one refresh token, or a whole connection (`connection`: a user's or
        company's subject, or a login): its refresh tokens then get Concur's code 108."""
        self.call("POST", "revoke", _present(refresh_token=refresh_token, connection=connection))

    def expire(
        self,
        access_token: Optional[str] = None,
        refresh_token: Optional[str] = None,
        all: bool = False,
    ) -> None:
        """Expires one access token, one refresh token, or (`all=True`) every token now."""
        body = _present(access_token=access_token, refresh_token=refresh_token)
        if all:
            body["all"] = True
        self.call("POST", "expire", body)

    def lifetimes(self) -> Dict[str, Any]:
        """`{access, refresh, request_token}` in seconds."""
        return self._object("GET", "lifetimes")

    def set_lifetimes(
        self,
        access: Optional[int] = None,
        refresh: Optional[int] = None,
        request_token: Optional[int] = None,
    ) -> Dict[str, Any]:
        """Sets token lifetimes (seconds) for tokens handed out from now on."""
        return self._object("PUT", "lifetimes", _present(access=access, refresh=refresh,
                                                      request_token=request_token))

    def rotation(self) -> str:
        """The refresh token rotation mode: `always`, `never` or `sometimes`."""
        return str(self._object("GET", "rotation")["mode"])

    def set_rotation(self, mode: str) -> None:
        """Sets the rotation mode: `always`, `never` or `sometimes` (every other refresh)."""
        self.call("PUT", "rotation", {"mode": mode})

    def fault(self, endpoint: str, kind: str, count: int = 1, **params: Any) -> Dict[str, Any]:
        """Queues a fault for the next `count` requests to `endpoint` (a path, `"token"` or
        `"*"`): `kind` is `status` (`status=`, `code=`: Concur's body for it), `rate-limit`
        (`retry_after=`), `latency` (`ms=`), `drop` (close the connection) or `malformed`."""
        return self._object("POST", "faults", {"endpoint": endpoint, "kind": kind, "count": count,
                                            **params})

    def faults(self) -> List[Dict[str, Any]]:
        """The faults still queued."""
        return self._array("GET", "faults")

    def clear_faults(self) -> None:
        """Drops every queued fault."""
        self.call("DELETE", "faults")

    def clock(self) -> Dict[str, Any]:
        """The virtual clock: `{now, iso, offset}` (`now` in Unix seconds)."""
        return self._object("GET", "clock")

    def advance(self, seconds: int) -> Dict[str, Any]:
        """Moves the virtual clock forward: every expiry (access token, request token, refresh
        token) and every date in answers follows it. Returns the new clock."""
        return self._object("POST", "clock/advance", {"seconds": int(seconds)})

    def journal(self, since: Optional[int] = None) -> List[Dict[str, Any]]:
        """Every request the emulator answered (control calls excluded), oldest first, each
        secret (password, client secret, token, code, Authorization) shown only as a digest;
        with `since`, only the entries whose `seq` is greater."""
        return self._array("GET", "journal" if since is None else f"journal?since={int(since)}")

    def clear_journal(self) -> None:
        """Empties the journal."""
        self.call("DELETE", "journal")

    def refresh_tokens(self) -> List[Dict[str, Any]]:
        """Each refresh token handed out: `{digest, family, subject, uses, state, ...}`."""
        return self._array("GET", "refresh-tokens")


def _present(**fields: Any) -> Dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


def _list(values: Optional[Sequence[str]]) -> Optional[List[str]]:
    return None if values is None else list(values)


def _segment(value: str) -> str:
    return urllib.parse.quote(value, safe="")
