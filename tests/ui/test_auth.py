"""The dashboard's session and CSRF tokens (pure logic of baleine/ui/auth.py)."""

from __future__ import annotations

import time

import pytest

from baleine.ui import auth as auth_mod
from baleine.ui.auth import Auth


@pytest.fixture
def auth() -> Auth:
    return Auth(login_token="t" * 43, key=b"k" * 64, secure=False)


def test_a_new_session_is_valid_and_its_csrf_token_is_bound_to_it(auth: Auth) -> None:
    cookie, csrf = auth.new_session()
    nonce = auth.session_nonce(cookie)
    assert nonce is not None and auth.csrf_of(nonce) == csrf
    other_cookie, other_csrf = auth.new_session()
    assert other_csrf != csrf and auth.session_nonce(other_cookie) != nonce


@pytest.mark.parametrize("mangle", [
    lambda c: c[:-1] + ("0" if c[-1] != "0" else "1"),  # signature
    lambda c: "x" + c,  # nonce
    lambda c: c.replace(".", ".9", 1),  # expiry pushed out
    lambda c: c.rsplit(".", 1)[0],  # no signature
    lambda c: "",
])
def test_a_tampered_session_is_refused(auth: Auth, mangle) -> None:  # noqa: ANN001 - a lambda
    cookie, _ = auth.new_session()
    assert auth.session_nonce(mangle(cookie)) is None


def test_another_key_does_not_accept_the_session(auth: Auth) -> None:
    cookie, _ = auth.new_session()
    assert Auth(login_token=auth.login_token, key=b"j" * 64, secure=False).session_nonce(cookie) is None


def test_an_expired_session_is_refused(auth: Auth, monkeypatch: pytest.MonkeyPatch) -> None:
    cookie, _ = auth.new_session()
    later = time.time() + auth_mod.SESSION_SECONDS + 1
    monkeypatch.setattr(auth_mod.time, "time", lambda: later)
    assert auth.session_nonce(cookie) is None


def test_the_login_token_is_compared_whole(auth: Auth) -> None:
    assert auth.token_ok("t" * 43)
    assert not auth.token_ok("t" * 42) and not auth.token_ok("t" * 44) and not auth.token_ok("")
