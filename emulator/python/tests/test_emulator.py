"""The installed concur-emulator package as a user's test suite meets it: the `concur_emulator`
fixture from the pytest11 entry point (no conftest.py here), plain `urllib` calls to the
emulator (no library of ours), concur_native where it is installed, and `Emulator` on its own.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Tuple

import pytest

from concur_emulator import BINARY_ENV, Emulator, EmulatorError, find_binary


def post_form(emulator: Emulator, path: str, fields: Dict[str, str],
              base_url: str = "") -> Tuple[int, Dict[str, Any]]:
    """POSTs a form with urllib, trusting only the emulator's CA; (status, JSON body)."""
    context = ssl.create_default_context(cafile=emulator.ca_file)
    request = urllib.request.Request((base_url or emulator.base_url) + path,
                                     data=urllib.parse.urlencode(fields).encode(), method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=30) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:  # a fault's answer may be no JSON at all
            return e.code, {"body": text.decode(errors="replace"),
                            "retry_after": e.headers.get("Retry-After")}


def get(emulator: Emulator, path: str, token: str) -> int:
    """GETs a protected API path with a bearer token; the status."""
    context = ssl.create_default_context(cafile=emulator.ca_file)
    request = urllib.request.Request(emulator.base_url + path,
                                     headers={"Authorization": f"Bearer {token}"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    try:
        with opener.open(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as e:
        return e.code


def company_grant(emulator: Emulator, company: Dict[str, Any]) -> Tuple[int, Dict[str, Any]]:
    return post_form(emulator, "/oauth2/v0/token", {
        "grant_type": "password", "credtype": "authtoken",
        "client_id": emulator.client_id, "client_secret": emulator.client_secret,
        "username": company["id"], "password": company["request_token"],
    })


def refresh_grant(emulator: Emulator, refresh_token: str) -> Tuple[int, Dict[str, Any]]:
    return post_form(emulator, "/oauth2/v0/token", {
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": emulator.client_id, "client_secret": emulator.client_secret,
    })


def test_the_fixture_is_a_started_emulator_from_the_entry_point(concur_emulator: Emulator,
                                                                 pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("concur_emulator")
    assert concur_emulator.running
    assert concur_emulator.base_url.startswith("https://127.0.0.1:")
    assert concur_emulator.admin_url == concur_emulator.base_url + "/_emulator"
    assert os.path.isfile(concur_emulator.ca_file)
    health = concur_emulator.health()
    assert health["status"] == "ok"
    assert health["version"] == concur_emulator.info["version"]


def test_the_bundled_program_is_the_wheels(concur_emulator: Emulator) -> None:
    """No Rust at run time: the program is the one pip put in this environment's scripts."""
    if os.environ.get(BINARY_ENV):
        pytest.skip("CONCUR_EMULATOR_BINARY names another program")
    binary = find_binary()
    assert os.path.dirname(binary) == os.path.dirname(sys.executable)
    out = subprocess.run([sys.executable, "-m", "concur_emulator", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "/_emulator/" in out


def test_a_company_connects_expires_and_is_revoked_with_urllib(concur_emulator: Emulator) -> None:
    company = concur_emulator.add_company(name="Test Company")
    assert company["name"] == "Test Company"
    status, token = company_grant(concur_emulator, company)
    assert status == 200, token
    assert token["token_type"] == "Bearer"
    assert int(token["expires_in"]) == 3600  # a string, as Concur sends it
    assert {"access_token", "refresh_token", "id_token", "geolocation"} <= token.keys()
    identity = "/profile/identity/v4.1/Users"
    assert get(concur_emulator, identity, token["access_token"]) == 200

    # An hour on the virtual clock: the access token is expired, the refresh token is not.
    concur_emulator.advance(3600)
    assert get(concur_emulator, identity, token["access_token"]) == 401
    status, refreshed = refresh_grant(concur_emulator, token["refresh_token"])
    assert status == 200, refreshed
    assert refreshed["refresh_token"] != token["refresh_token"]  # rotated (the default)
    # The rotated-away refresh token is spent: Concur's code 108.
    status, again = refresh_grant(concur_emulator, token["refresh_token"])
    assert (status, again.get("code")) == (400, 108), again

    concur_emulator.revoke(refresh_token=refreshed["refresh_token"])
    status, revoked = refresh_grant(concur_emulator, refreshed["refresh_token"])
    assert (status, revoked.get("code")) == (400, 108), revoked

    states = [t["state"] for t in concur_emulator.refresh_tokens()]
    assert states == ["rotated", "revoked"], states
    assert all(t["uses"] <= 1 for t in concur_emulator.refresh_tokens())


def test_expire_now(concur_emulator: Emulator) -> None:
    status, token = company_grant(concur_emulator, concur_emulator.add_company())
    assert status == 200
    concur_emulator.expire(access_token=token["access_token"])
    assert get(concur_emulator, "/profile/identity/v4.1/Users", token["access_token"]) == 401
    concur_emulator.expire(refresh_token=token["refresh_token"])
    status, answer = refresh_grant(concur_emulator, token["refresh_token"])
    assert (status, answer.get("code")) == (400, 108)


def test_the_journal_shows_requests_with_secrets_digested(concur_emulator: Emulator) -> None:
    company = concur_emulator.add_company()
    status, token = company_grant(concur_emulator, company)
    assert status == 200
    journal = concur_emulator.journal()
    assert [(e["method"], e["path"], e["grant"], e["status"]) for e in journal] == [
        ("POST", "/oauth2/v0/token", "password", 200)]
    text = json.dumps(journal)
    for secret in (company["request_token"], concur_emulator.client_secret):
        assert secret not in text
    assert journal[0]["form"]["password"].startswith("sha256:")
    assert journal[0]["form"]["client_secret"].startswith("sha256:")
    assert journal[0]["form"]["username"] == company["id"]
    # A test reads only its own requests: since=SEQ, or clear the journal.
    assert concur_emulator.journal(since=journal[-1]["seq"]) == []
    concur_emulator.clear_journal()
    assert concur_emulator.journal() == []


def test_each_test_starts_from_a_reset_emulator(concur_emulator: Emulator) -> None:
    # The tests above made companies, tokens and journal entries, and moved the clock.
    assert concur_emulator.journal() == []
    assert concur_emulator.refresh_tokens() == []
    assert concur_emulator.clock()["offset"] == 0


def test_faults_hit_the_next_n_requests(concur_emulator: Emulator) -> None:
    company = concur_emulator.add_company()
    concur_emulator.fault("token", "rate-limit", count=2, retry_after=7)
    assert len(concur_emulator.faults()) == 1
    for _ in range(2):
        status, answer = company_grant(concur_emulator, company)
        assert (status, answer.get("retry_after")) == (429, "7"), answer
    status, token = company_grant(concur_emulator, company)
    assert status == 200, token
    assert concur_emulator.faults() == []


def test_users_lifetimes_and_rotation(concur_emulator: Emulator) -> None:
    user = concur_emulator.add_user("ada@example.com", "correct horse")
    assert user["login"] == "ada@example.com"
    concur_emulator.set_lifetimes(access=60)
    concur_emulator.set_rotation("never")
    assert concur_emulator.rotation() == "never"
    status, token = post_form(concur_emulator, "/oauth2/v0/token", {
        "grant_type": "password", "username": "ada@example.com", "password": "correct horse",
        "client_id": concur_emulator.client_id, "client_secret": concur_emulator.client_secret,
    })
    assert status == 200, token
    assert int(token["expires_in"]) == 60
    status, refreshed = refresh_grant(concur_emulator, token["refresh_token"])
    assert status == 200
    assert refreshed["refresh_token"] == token["refresh_token"]
    status, wrong = post_form(concur_emulator, "/oauth2/v0/token", {
        "grant_type": "password", "username": "ada@example.com", "password": "wrong",
        "client_id": concur_emulator.client_id, "client_secret": concur_emulator.client_secret,
    })
    assert status == 401 or wrong.get("code") == 5, (status, wrong)


def test_bad_control_input_is_an_error_with_the_emulators_message(concur_emulator: Emulator) -> None:
    with pytest.raises(EmulatorError) as caught:
        concur_emulator.call("POST", "clock/advance", {"seconds": "soon"})
    assert caught.value.status == 400
    assert "seconds" in caught.value.message
    with pytest.raises(EmulatorError) as caught:
        concur_emulator.set_rotation("often")
    assert caught.value.status == 400
    with pytest.raises(EmulatorError) as caught:
        concur_emulator.revoke(refresh_token="never-issued")
    assert caught.value.status == 404
    assert concur_emulator.health()["status"] == "ok"


def test_concur_native_connects_a_company_too(concur_emulator: Emulator) -> None:
    native = pytest.importorskip("concur_native")
    company = concur_emulator.add_company()
    client = native.Client(base_url=concur_emulator.base_url, ca_file=concur_emulator.ca_file,
                           timeout=10)
    token = client.company_grant(concur_emulator.client_id, concur_emulator.client_secret,
                                 company["id"], company["request_token"])
    assert token.principal_type == "company"
    concur_emulator.advance(3600)
    assert get(concur_emulator, "/profile/identity/v4.1/Users", token.access_token) == 401
    refreshed = client.refresh_grant(concur_emulator.client_id, concur_emulator.client_secret,
                                     token.refresh_token)
    assert get(concur_emulator, "/profile/identity/v4.1/Users", refreshed.access_token) == 200
    concur_emulator.revoke(connection=token.subject)
    with pytest.raises(native.ConcurError):
        client.refresh_grant(concur_emulator.client_id, concur_emulator.client_secret,
                             refreshed.refresh_token)
    grants = [(e["grant"], e["status"]) for e in concur_emulator.journal()
              if e["path"] == "/oauth2/v0/token"]
    assert grants == [("password", 200), ("refresh_token", 200), ("refresh_token", 400)]


def test_an_emulator_of_ones_own_with_flags_and_a_seed() -> None:
    seed = {"companies": [{"id": "6f0d8e4c-0000-4000-8000-000000000001", "name": "Seeded"}]}
    with Emulator(rotate="never", access_lifetime=120, seed=seed) as emulator:
        assert emulator.rotation() == "never"
        assert emulator.lifetimes()["access"] == 120
        ids = [c["id"] for c in emulator.companies()]
        assert "6f0d8e4c-0000-4000-8000-000000000001" in ids
        process = emulator._process
    assert not emulator.running
    assert process is not None and process.returncode is not None


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(EmulatorError) as caught:
            with Emulator(port=port):
                pass
    assert "in use" in str(caught.value)


def test_a_bad_flag_is_a_clear_error() -> None:
    with pytest.raises(EmulatorError) as caught:
        with Emulator("--no-such-flag"):
            pass
    assert "--no-such-flag" in str(caught.value)


def test_the_plugins_flags_reach_the_program(tmp_path: pathlib.Path) -> None:
    """The ini setting and the command-line option both pass flags; concur_emulator_session
    is not reset (a session fixture's company survives), concur_emulator is."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nconcur_emulator_args = --rotate never\n")
    (tmp_path / "test_inner.py").write_text(
        "import pytest\n"
        "@pytest.fixture(scope='session')\n"
        "def acme(concur_emulator_session):\n"
        "    return concur_emulator_session.add_company(name='Acme')\n"
        "def test_flags(concur_emulator_session, acme):\n"
        "    assert concur_emulator_session.rotation() == 'never'\n"
        "    assert concur_emulator_session.lifetimes()['access'] == 60\n"
        "    assert acme['id'] in [c['id'] for c in concur_emulator_session.companies()]\n"
        "def test_reset(acme, concur_emulator):\n"
        "    assert acme['id'] not in [c['id'] for c in concur_emulator.companies()]\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--concur-emulator-arg=--access-lifetime 60", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
