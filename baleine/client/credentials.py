"""Credentials in docker's ``config.json`` (``$DOCKER_CONFIG/config.json`` or
``~/.docker/config.json``), with credential helpers.

Resolution order for a registry, as the docker CLI does it: ``credHelpers[host]``,
then ``credsStore``, then the ``auths`` entry (``auth`` = base64 ``user:password``,
or ``identitytoken``). A helper is the program ``docker-credential-<name>``
speaking the docker-credential-helpers protocol (``get``/``store``/``erase`` with
JSON on stdin/stdout). Standard library only.
"""

from __future__ import annotations

import os

# The CLI reads config.json on every exec and attached run (detachKeys): what only
# logins, helpers and writes need is imported where it is used. Annotations only here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..rules.registryauth import AuthConfig

#: What a credential helper calls the username of an identity token.
TOKEN_USERNAME = "<token>"


class CredentialsError(Exception):
    """A credential helper failed or config.json could not be read or written."""


def config_dir() -> str:
    return os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def config_path() -> str:
    return os.path.join(config_dir(), "config.json")


def load_config(path: str | None = None) -> dict[str, Any]:
    """The parsed config.json ({} when absent); CredentialsError when unreadable."""
    path = path or config_path()
    try:
        with open(path) as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CredentialsError(f"loading config file {path}: {exc.strerror}") from None
    if not raw.strip():
        return {}
    from .transport import json_loads

    try:
        doc = json_loads(raw)
    except ValueError as exc:
        raise CredentialsError(f"loading config file {path}: {exc}") from None
    return doc if isinstance(doc, dict) else {}


def save_config(doc: dict[str, Any], path: str | None = None) -> None:
    """Write config.json atomically, readable by its owner only (it holds secrets)."""
    import json
    import tempfile

    path = path or config_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="config.json", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f, indent="\t")
            f.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _helper_for(doc: dict[str, Any], key: str) -> str:
    from ..rules.registryauth import INDEX_SERVER

    helpers = doc.get("credHelpers") or {}
    host = key if key != INDEX_SERVER else "docker.io"
    for k in (key, host, "https://" + host):
        if k in helpers:
            return str(helpers[k])
    return str(doc.get("credsStore") or "")


def _run_helper(helper: str, action: str, data: str) -> str:
    import subprocess

    prog = f"docker-credential-{helper}"
    try:
        p = subprocess.run([prog, action], input=data, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise CredentialsError(f"error getting credentials - err: exec: \"{prog}\": executable file not found "
                               "in $PATH, out: ``") from None
    except subprocess.TimeoutExpired:
        raise CredentialsError(f"{prog} {action}: timed out") from None
    if p.returncode != 0:
        out = (p.stdout or p.stderr).strip()
        if "credentials not found" in out.lower():
            return ""
        verb = {"get": "getting", "store": "storing", "erase": "erasing"}.get(action, action)
        raise CredentialsError(f"error {verb} credentials - err: exit status {p.returncode}, out: `{out}`")
    return p.stdout


def get(server: str, path: str | None = None) -> AuthConfig:
    """Credentials for a registry host or server address (empty AuthConfig if none).

    The returned ``server_address`` is the config key (``https://index.docker.io/v1/``
    for Docker Hub, ``host[:port]`` otherwise).
    """
    import json

    from ..rules.registryauth import AuthConfig, config_key

    key = config_key(server)
    doc = load_config(path)
    helper = _helper_for(doc, key)
    if helper:
        out = _run_helper(helper, "get", key)
        if out.strip():
            try:
                creds = json.loads(out)
            except ValueError:
                raise CredentialsError(f"docker-credential-{helper} get: invalid output") from None
            user, secret = str(creds.get("Username", "")), str(creds.get("Secret", ""))
            if user == TOKEN_USERNAME:
                return AuthConfig(server_address=key, identity_token=secret)
            return AuthConfig(user, secret, key)
        return AuthConfig(server_address=key)
    auths = doc.get("auths") or {}
    for k in _candidates(key):
        if k in auths:
            entry = AuthConfig.from_dict(auths[k])
            entry.server_address = key
            return entry
    return AuthConfig(server_address=key)


def _candidates(key: str) -> list[str]:
    from ..rules.registryauth import INDEX_SERVER

    if key == INDEX_SERVER:
        return [INDEX_SERVER, "https://index.docker.io/v1", "index.docker.io", "docker.io"]
    return [key, "https://" + key, "http://" + key, "https://" + key + "/v1/", "http://" + key + "/v1/"]


def store(auth: AuthConfig, path: str | None = None) -> str:
    """Save credentials for ``auth.server_address``; return where ("file" or the helper name)."""
    import base64
    import json

    from ..rules.registryauth import config_key

    key = config_key(auth.server_address)
    doc = load_config(path)
    helper = _helper_for(doc, key)
    auths = doc.setdefault("auths", {})
    if helper:
        user, secret = (TOKEN_USERNAME, auth.identity_token) if auth.identity_token else (auth.username, auth.password)
        _run_helper(helper, "store", json.dumps({"ServerURL": key, "Username": user, "Secret": secret}))
        auths[key] = {}
        save_config(doc, path)
        return helper
    entry: dict[str, str] = {}
    if auth.identity_token:
        entry["auth"] = base64.b64encode(f"{auth.username}:".encode()).decode()
        entry["identitytoken"] = auth.identity_token
    else:
        entry["auth"] = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
    auths[key] = entry
    save_config(doc, path)
    return "file"


def erase(server: str, path: str | None = None) -> bool:
    """Forget credentials for a server; True if there were any."""
    from ..rules.registryauth import config_key

    key = config_key(server)
    doc = load_config(path)
    helper = _helper_for(doc, key)
    auths = doc.get("auths") or {}
    found = False
    for k in _candidates(key):
        if k in auths:
            del auths[k]
            found = True
    if helper:
        try:
            _run_helper(helper, "erase", key)
            found = True
        except CredentialsError:
            pass
    if found:
        save_config(doc, path)
    return found
