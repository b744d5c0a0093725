"""The binding's guards: no PanicException, no value-carrying UnicodeEncodeError, no exception
from reading expires_at, and the core's refusals of hostile answers as seen from Python."""

from __future__ import annotations

import http.server
import threading

import pytest

import concur_native
from concur_native import ConcurError, InternalError, InvalidArgumentError, ProtocolError

SECRET = "Hunter2-Secret\udc80"


def test_a_panic_is_an_internal_error_not_a_panic_exception():
    with pytest.raises(InternalError) as caught:
        concur_native._native._panic_for_tests()
    error = caught.value
    assert isinstance(error, ConcurError) and isinstance(error, Exception)
    assert error.code == "INTERNAL"
    assert "bug" in str(error)
    assert "tests ask for" not in str(error)


def _assert_quotes_nothing(error: BaseException) -> None:
    assert isinstance(error, InvalidArgumentError), type(error)
    assert not hasattr(error, "object")
    assert error.__cause__ is None and error.__context__ is None
    for text in (str(error), repr(error), repr(error.args), repr(vars(error))):
        assert "Hunter2" not in text, text
    assert "surrogate" in str(error)


def test_strings_that_are_not_unicode_are_invalid_arguments_quoting_nothing(server):
    calls = [
        lambda: concur_native.native_token(
            server.consumer_key, server.login_id, SECRET, **server.kwargs()
        ),
        lambda: concur_native.native_token(
            server.consumer_key, SECRET, "pw", **server.kwargs()
        ),
        lambda: concur_native.Client(proxy="http://u:" + SECRET + "@127.0.0.1:1"),
        lambda: concur_native.Client(**server.kwargs()).refresh_token(
            server.consumer_key, SECRET, "R_x"
        ),
        lambda: concur_native.Client(**server.kwargs()).exchange_code(
            server.consumer_key, server.client_secret, SECRET
        ),
        lambda: concur_native.Client(**server.kwargs()).revoke_token(SECRET, "t"),
        lambda: concur_native.parse_callback("https://p/cb?code=" + SECRET),
        lambda: concur_native.authorization_url("k", "https://p/cb", state=SECRET),
        lambda: concur_native.authorization_url("k", "https://p/cb", scopes=["A", SECRET]),
    ]
    for call in calls:
        with pytest.raises(InvalidArgumentError) as caught:
            call()
        _assert_quotes_nothing(caught.value)


def test_other_types_are_still_type_errors(server):
    with pytest.raises(TypeError):
        concur_native.native_token(server.consumer_key, server.login_id, 1234, **server.kwargs())


class _Answers(http.server.BaseHTTPRequestHandler):
    """Plain HTTP on loopback: each path answers one fixed document."""

    bodies = {
        "/year0/net2/oauth2/accesstoken.ashx": (
            200,
            b"<Access_Token><Token>abc</Token><Expiration_date>1/1/0000 12:00:00 AM"
            b"</Expiration_date></Access_Token>",
        ),
        "/controls/net2/oauth2/accesstoken.ashx": (
            200,
            b'{"Access_Token":{"Token":"abc","Expiration_date":"6/1/2030\\u0000\\u001b[31m 8:00:00 AM"}}',
        ),
        "/twice/net2/oauth2/accesstoken.ashx": (
            200,
            b"<Access_Token><token>first</token><Token>second</Token></Access_Token>",
        ),
        "/revoke-error/net2/oauth2/revoketoken.ashx": (
            200,
            b"<Error><Message>Invalid token: not revoked</Message></Error>",
        ),
    }

    def _answer(self):
        status, body = self.bodies.get(self.path.split("?")[0], (404, b""))
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def answers():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_year_0_expiry_reads_as_none(answers):
    token = concur_native.native_token("k", "u", "p", base_url=answers + "/year0", timeout=10)
    assert token.expiration_date == "1/1/0000 12:00:00 AM"
    assert token.expires_at is None


def test_an_expiry_with_control_characters_is_absent(answers):
    token = concur_native.native_token("k", "u", "p", base_url=answers + "/controls", timeout=10)
    assert token.expiration_date is None and token.expires_at is None


def test_a_field_named_twice_is_refused(answers):
    with pytest.raises(ProtocolError, match="twice"):
        concur_native.native_token("k", "u", "p", base_url=answers + "/twice", timeout=10)


def test_a_revocation_answered_with_an_error_document_fails(answers):
    client = concur_native.Client(base_url=answers + "/revoke-error", timeout=10)
    with pytest.raises(ProtocolError) as caught:
        client.revoke_token("admin", "victim")
    assert caught.value.message == "Invalid token: not revoked"
