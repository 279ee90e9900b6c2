"""Access control of the registry server: htpasswd (bcrypt) users, per-repository
rules, and an optional Bearer token service.

Rules are ``SUBJECT:REPOSITORY-GLOB:ACTIONS``: SUBJECT is a user name, ``+`` (any
authenticated user) or ``*`` (anyone, anonymous included); ACTIONS is a comma
list of ``pull``, ``push``, ``delete`` or ``*``. With users and no rules,
authenticated users may do everything and anonymous users nothing.

Without the token service, clients authenticate with Basic credentials on every
request. With it, the registry answers ``401`` with a ``Bearer`` challenge naming
the realm (this server's ``/token``), the service and the scope; the token
endpoint checks the credentials (if any) and grants the subset of the requested
actions the rules allow, in an HS256-signed JWT that the registry verifies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass

SERVICE = "baleine-registry"
TOKEN_TTL = 300
ACTIONS = ("pull", "push", "delete")


@dataclass(frozen=True)
class Rule:
    subject: str
    pattern: str
    actions: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> "Rule":
        """``SUBJECT:GLOB:ACTIONS``; ValueError when malformed."""
        parts = text.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise ValueError(f"invalid access rule {text!r}: expected SUBJECT:REPOSITORY:ACTIONS")
        actions = {a.strip() for a in parts[2].split(",") if a.strip()}
        if "*" in actions:
            actions = set(ACTIONS)
        bad = actions - set(ACTIONS)
        if bad or not actions:
            raise ValueError(f"invalid access rule {text!r}: unknown action {', '.join(sorted(bad)) or '(none)'}")
        return cls(parts[0], parts[1], frozenset(actions))

    def applies(self, user: str | None, repo: str) -> bool:
        if self.subject == "*" or (self.subject == "+" and user) or (user and self.subject == user):
            return fnmatch.fnmatchcase(repo, self.pattern)
        return False


class Htpasswd:
    """Users of an htpasswd file (bcrypt hashes only, as distribution requires).

    The file is re-read when it changes; successful checks are remembered so bcrypt
    (deliberately slow) runs once per credential, not once per request.
    """

    def __init__(self, path: str) -> None:
        try:
            import bcrypt  # noqa: F401 - fail at start, not at the first login
        except ImportError:
            raise SystemExit("htpasswd authentication needs the 'bcrypt' package") from None
        self.path = path
        self._mtime = -1.0
        self._users: dict[str, bytes] = {}
        self._ok: set[str] = set()
        self._load()

    def _load(self) -> None:
        st = os.stat(self.path)
        if st.st_mtime == self._mtime:
            return
        users: dict[str, bytes] = {}
        with open(self.path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#") or ":" not in line:
                    continue
                user, _, hashed = line.partition(":")
                users[user] = hashed.encode()
        self._users, self._mtime, self._ok = users, st.st_mtime, set()

    def check(self, user: str, password: str) -> bool:
        """Blocking (bcrypt): run in a thread."""
        import bcrypt

        self._load()
        key = hashlib.sha256(f"{user}\0{password}".encode()).hexdigest()
        if key in self._ok:
            return True
        hashed = self._users.get(user)
        if hashed is None or not hashed.startswith((b"$2a$", b"$2b$", b"$2y$")):
            return False
        try:
            ok = bcrypt.checkpw(password.encode(), hashed)
        except ValueError:
            return False
        if ok:
            self._ok.add(key)
        return ok


def hash_password(password: str, cost: int = 10) -> str:
    import bcrypt

    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Tokens:
    """HS256 JWTs issued and verified by this server (the key lives in the root)."""

    def __init__(self, key: bytes) -> None:
        self.key = key

    @classmethod
    def for_root(cls, root: str) -> "Tokens":
        path = os.path.join(root, "token.key")
        try:
            with open(path, "rb") as f:
                key = f.read()
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key)
        return cls(key)

    def issue(self, subject: str, access: list[dict[str, object]], ttl: int = TOKEN_TTL) -> str:
        now = int(time.time())
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = _b64(json.dumps({"iss": SERVICE, "sub": subject, "aud": SERVICE, "iat": now, "nbf": now - 5,
                                  "exp": now + ttl, "jti": secrets.token_hex(8), "access": access}).encode())
        sig = hmac.new(self.key, f"{header}.{claims}".encode(), hashlib.sha256).digest()
        return f"{header}.{claims}.{_b64(sig)}"

    def verify(self, token: str) -> dict[str, object] | None:
        """The claims of a valid, unexpired token for this service; None otherwise."""
        try:
            header, claims, sig = token.split(".")
            want = hmac.new(self.key, f"{header}.{claims}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(want, _unb64(sig)):
                return None
            doc = json.loads(_unb64(claims))
        except (ValueError, binascii.Error):
            return None
        now = time.time()
        if not isinstance(doc, dict) or doc.get("aud") != SERVICE or float(doc.get("exp", 0)) < now or \
                float(doc.get("nbf", 0)) > now + 30:
            return None
        return doc


@dataclass
class Identity:
    """Who a request comes from: ``user`` (None for anonymous), and for a Bearer token
    the access it grants (None when not authenticated by token)."""

    user: str | None
    token_access: list[dict[str, object]] | None = None
    bad_credentials: bool = False


class Access:
    """The access policy of one server (see module docstring)."""

    def __init__(self, users: Htpasswd | None, rules: list[Rule], tokens: Tokens | None) -> None:
        self.users = users
        self.tokens = tokens
        if users is not None and not rules:
            rules = [Rule("+", "*", frozenset(ACTIONS))]
        self.rules = rules
        self.enabled = users is not None or tokens is not None or bool(rules)

    def allowed_actions(self, user: str | None, repo: str) -> set[str]:
        if not self.enabled:
            return set(ACTIONS)
        out: set[str] = set()
        for r in self.rules:
            if r.applies(user, repo):
                out |= r.actions
        return out

    async def identify(self, authorization: str | None) -> Identity:
        """Who sent a request, from its ``Authorization`` header."""
        if not authorization:
            return Identity(None)
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "basic" and self.users is not None:
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                return Identity(None, bad_credentials=True)
            if await asyncio.to_thread(self.users.check, user, password):
                return Identity(user)
            return Identity(None, bad_credentials=True)
        if scheme == "bearer" and self.tokens is not None:
            claims = self.tokens.verify(value.strip())
            if claims is None:
                return Identity(None, bad_credentials=True)
            access = claims.get("access")
            return Identity(str(claims.get("sub") or "") or None, access if isinstance(access, list) else [])
        return Identity(None, bad_credentials=True)

    def permits(self, ident: Identity, repo: str, action: str) -> bool:
        if not self.enabled:
            return True
        if ident.token_access is not None:
            for a in ident.token_access:
                if isinstance(a, dict) and a.get("type") == "repository" and a.get("name") == repo and \
                        action in (a.get("actions") or []):
                    return True
            return False
        if self.tokens is not None and ident.user is None:
            # Token mode: anonymous requests need a token too (possibly an anonymous one).
            return False
        return action in self.allowed_actions(ident.user, repo)

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, object]]:
        """The access a token for ``user`` gets for the requested scopes."""
        out: list[dict[str, object]] = []
        for sc in scopes:
            for one in sc.split(" "):
                parts = one.split(":")
                if len(parts) < 3:
                    continue
                kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
                if kind == "repository":
                    allowed = self.allowed_actions(user, name)
                    wanted = set(ACTIONS) if "*" in actions else set(actions)
                    granted = sorted(allowed & wanted)
                    out.append({"type": "repository", "name": name, "actions": granted})
                elif kind == "registry" and name == "catalog" and user:
                    out.append({"type": "registry", "name": "catalog", "actions": ["*"]})
        return out
