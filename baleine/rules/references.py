"""Docker image references: ``[domain/]path[:tag][@digest]``, parsed and normalised.

This mirrors github.com/distribution/reference (``ParseNormalizedNamed`` and the
grammar of ``regexp.go``) and github.com/opencontainers/go-digest (digest
validation), so that Baleine accepts, rejects and prints exactly the names Docker
does:

* ``busybox``                 → ``docker.io/library/busybox``
* ``index.docker.io/foo/bar`` → ``docker.io/foo/bar``
* ``localhost:5000/x``        → domain ``localhost:5000``, path ``x``
* the first ``/``-separated component is a domain when it contains ``.`` or
  ``:``, is ``localhost``, or has an uppercase letter; otherwise it is part of
  a Docker Hub path.

Every error is an :class:`~baleine.rules.errors.InvalidParameter` whose message
is Docker's (``invalid reference format``, ``invalid reference format:
repository name (library/Busybox) must be lowercase``, ...).

The grammar (from distribution/reference)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain '/'] path-component ['/' path-component]*
    domain           := host [':' port-number]
    host             := domain-name | IPv4address | \\[ IPv6address \\]
    domain-name      := domain-component ['.' domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" hex   (hex: 32 or more hex digits)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from baleine.rules.errors import InvalidParameter

__all__ = [
    "DEFAULT_DOMAIN",
    "DEFAULT_TAG",
    "LEGACY_DEFAULT_DOMAIN",
    "NAME_TOTAL_LENGTH_MAX",
    "OFFICIAL_REPO_PREFIX",
    "Reference",
    "is_digest",
    "is_identifier",
    "parse",
    "parse_docker_ref",
    "parse_repository_tag",
    "split_docker_domain",
    "validate_digest",
    "validate_tag",
]

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
#: Maximum length of the path (the name without its domain), as
#: ``RepositoryNameTotalLengthMax`` in distribution/reference.
NAME_TOTAL_LENGTH_MAX = 255

_LOCALHOST = "localhost"

# Error messages, verbatim from distribution/reference and go-digest.
ERR_REFERENCE_INVALID_FORMAT = "invalid reference format"
ERR_TAG_INVALID_FORMAT = "invalid tag format"
ERR_DIGEST_INVALID_FORMAT = "invalid digest format"
ERR_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_CHECKSUM_INVALID_FORMAT = "invalid checksum digest format"
ERR_DIGEST_UNSUPPORTED = "unsupported digest algorithm"

# --- grammar (regexp.go), spelled with explicit ASCII classes: Go's \w and
# [[:xdigit:]] are ASCII-only while Python's \w is Unicode. Patterns are used
# with fullmatch (Go anchors with ^...$, where $ never matches before a "\n").
_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_DOMAIN_NAME_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_OPTIONAL_PORT = r"(?::[0-9]+)?"
_TAG = r"[0-9A-Za-z_][0-9A-Za-z_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}"
_IDENTIFIER = r"[a-f0-9]{64}"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = _DOMAIN_NAME_COMPONENT + r"(?:\." + _DOMAIN_NAME_COMPONENT + r")*"
_HOST = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")"
_DOMAIN_AND_PORT = _HOST + _OPTIONAL_PORT
_PATH_COMPONENT = _ALPHANUMERIC + r"(?:" + _SEPARATOR + _ALPHANUMERIC + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME
_ANCHORED_NAME = r"(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")"
_REFERENCE = r"(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?"

# go-digest: algorithms compiled into dockerd, with their encoded form.
_DIGEST_ALGORITHMS = {
    "sha256": r"[a-f0-9]{64}",
    "sha384": r"[a-f0-9]{96}",
    "sha512": r"[a-f0-9]{128}",
}
_GO_DIGEST_ANCHORED = r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+"

# Compiled lazily: the CLI imports this module and start-up time matters.
_compiled: dict[str, re.Pattern[str]] = {}


def _rx(pattern: str) -> re.Pattern[str]:
    rx = _compiled.get(pattern)
    if rx is None:
        rx = _compiled[pattern] = re.compile(pattern)
    return rx


@dataclass(frozen=True, slots=True)
class Reference:
    """A parsed, normalised image reference.

    ``domain`` and ``path`` are always set (``docker.io`` / ``library/busybox``
    for ``busybox``); ``tag`` and ``digest`` are ``None`` when absent. Docker
    allows both at once (``busybox:1.36@sha256:...``); :meth:`docker_ref` drops
    the tag in that case, as the daemon does when it resolves an image.
    Instances are only built by :func:`parse` and the ``with_*`` methods, which
    validate every field.
    """

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """Fully qualified repository name, e.g. ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """Name as Docker shows it: ``busybox``, ``foo/bar``, ``quay.io/x/y``.

        ``docker.io/`` is dropped, and so is ``library/`` when what follows it
        has no further ``/`` (``docker.io/library/foo/bar`` stays ``library/foo/bar``).
        """
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX):
            rest = path[len(OFFICIAL_REPO_PREFIX) :]
            if "/" not in rest:
                return rest
        return path

    def _suffix(self) -> str:
        out = ""
        if self.tag is not None:
            out += ":" + self.tag
        if self.digest is not None:
            out += "@" + self.digest
        return out

    def __str__(self) -> str:
        """Full string: ``docker.io/library/busybox:latest@sha256:...``."""
        return self.name + self._suffix()

    def familiar(self) -> str:
        """The string Docker prints (``FamiliarString``): ``busybox:latest``."""
        return self.familiar_name + self._suffix()

    @property
    def is_name_only(self) -> bool:
        """True when the reference has neither tag nor digest."""
        return self.tag is None and self.digest is None

    def with_default_tag(self) -> Reference:
        """Add ``:latest`` when there is neither tag nor digest (``TagNameOnly``)."""
        if self.is_name_only:
            return Reference(self.domain, self.path, DEFAULT_TAG, None)
        return self

    def docker_ref(self) -> Reference:
        """The reference the daemon resolves (``ParseDockerRef``).

        Tag and digest together → the digest alone; a bare name → ``:latest``;
        otherwise unchanged.
        """
        if self.digest is not None:
            return Reference(self.domain, self.path, None, self.digest)
        return self.with_default_tag()

    def trim(self) -> Reference:
        """The repository alone, without tag or digest (``TrimNamed``)."""
        return Reference(self.domain, self.path, None, None)

    def with_tag(self, tag: str) -> Reference:
        """Replace the tag, keeping any digest (``WithTag``).

        Raises InvalidParameter("invalid tag format") when ``tag`` does not
        match ``[\\w][\\w.-]{0,127}``.
        """
        validate_tag(tag)
        return Reference(self.domain, self.path, tag, self.digest)

    def with_digest(self, digest: str) -> Reference:
        """Replace the digest, keeping any tag (``WithDigest``).

        Raises InvalidParameter("invalid digest format") when ``digest`` does not
        match the reference grammar's digest production.
        """
        if not _rx(_DIGEST).fullmatch(digest):
            raise InvalidParameter(ERR_DIGEST_INVALID_FORMAT)
        return Reference(self.domain, self.path, self.tag, digest)


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else raise InvalidParameter("invalid tag format")."""
    if not _rx(_TAG).fullmatch(tag):
        raise InvalidParameter(ERR_TAG_INVALID_FORMAT)
    return tag


def _digest_error(s: str) -> str | None:
    """go-digest ``Digest.Validate``: the error message, or None when valid."""
    i = s.find(":")
    if i <= 0 or i + 1 == len(s):
        return ERR_CHECKSUM_INVALID_FORMAT
    algorithm, encoded = s[:i], s[i + 1 :]
    encoded_pattern = _DIGEST_ALGORITHMS.get(algorithm)
    if encoded_pattern is None:
        if not _rx(_GO_DIGEST_ANCHORED).fullmatch(s):
            return ERR_CHECKSUM_INVALID_FORMAT
        return ERR_DIGEST_UNSUPPORTED
    if not _rx(encoded_pattern).fullmatch(encoded):
        return ERR_CHECKSUM_INVALID_FORMAT
    return None


def validate_digest(s: str) -> str:
    """Return ``s`` if it is a valid digest, as go-digest's ``digest.Parse``.

    Supported algorithms are sha256, sha384 and sha512 with lowercase hex of
    64, 96 and 128 digits. Raises InvalidParameter with go-digest's message:
    "invalid checksum digest format" or "unsupported digest algorithm".
    """
    err = _digest_error(s)
    if err is not None:
        raise InvalidParameter(err)
    return s


def is_digest(s: str) -> bool:
    """True when ``s`` is a valid digest such as ``sha256:<64 lowercase hex>``."""
    return _digest_error(s) is None


def is_identifier(s: str) -> bool:
    """True when ``s`` is a bare 64-hex image identifier (a sha256 without prefix)."""
    return _rx(_IDENTIFIER).fullmatch(s) is not None


def split_docker_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into (domain, remainder) as Docker does (``splitDockerDomain``).

    The remainder keeps any ``:tag``/``@digest``. No validation happens here.
    ``busybox`` → (docker.io, library/busybox); ``foo/bar`` → (docker.io, foo/bar);
    ``index.docker.io/x`` → (docker.io, library/x); ``localhost/x``,
    ``a.b/x``, ``host:5000/x`` and ``Upper/x`` keep their first component as domain.
    """
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        # A single component ("ubuntu", "ubuntu:latest") is never a domain,
        # even "localhost" or "example.com": otherwise "name:tag" would read
        # as "host:port".
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == _LOCALHOST:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain.lower() != maybe_domain:
        # Namespaces are lowercase, so an uppercase first component can only
        # be a hostname.
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def _parse_canonical(s: str) -> Reference:
    """distribution/reference ``Parse`` for a string that starts with a domain."""
    if s == "":
        raise InvalidParameter(ERR_NAME_EMPTY)
    m = _rx(_REFERENCE).fullmatch(s)
    if m is None:
        lowered = s.lower()
        if lowered != s and _rx(_REFERENCE).fullmatch(lowered):
            raise InvalidParameter(ERR_NAME_CONTAINS_UPPERCASE)
        raise InvalidParameter(ERR_REFERENCE_INVALID_FORMAT)
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    nm = _rx(_ANCHORED_NAME).fullmatch(name)
    assert nm is not None  # name matched the same grammar just above
    domain, path = nm.group(1) or "", nm.group(2)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(ERR_NAME_TOO_LONG)
    if digest is not None:
        validate_digest(digest)
    return Reference(domain, path, tag, digest)


def parse(s: str) -> Reference:
    """Parse a reference the way ``docker pull``/``run``/``tag`` do (``ParseNormalizedNamed``).

    Familiar names are expanded (``busybox`` → ``docker.io/library/busybox``);
    no default tag is added (see :meth:`Reference.with_default_tag`).
    Raises InvalidParameter with Docker's message:

    * ``invalid repository name (<s>), cannot specify 64-byte hexadecimal strings``
      for a bare 64-hex string (that is an image ID, not a name);
    * ``invalid reference format: repository name (<path>) must be lowercase``;
    * ``invalid reference format`` for anything off-grammar (including ``""``);
    * ``repository name must not be more than 255 characters`` (path length);
    * ``invalid checksum digest format`` / ``unsupported digest algorithm``.
    """
    if not isinstance(s, str):
        raise InvalidParameter(ERR_REFERENCE_INVALID_FORMAT)
    if is_identifier(s):
        raise InvalidParameter(f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = split_docker_domain(s)
    # The lowercase check looks at everything before the first ":", which for
    # "name@sha256:..." includes "@sha256"; Docker's message does the same.
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidParameter(f"{ERR_REFERENCE_INVALID_FORMAT}: repository name ({remote}) must be lowercase")
    return _parse_canonical(domain + "/" + remainder)


def parse_docker_ref(s: str) -> Reference:
    """:func:`parse` then :meth:`Reference.docker_ref` (``ParseDockerRef``)."""
    return parse(s).docker_ref()


def parse_repository_tag(s: str) -> tuple[str, str | None]:
    """Split ``repo[:tag]`` or ``repo@digest`` syntactically, without validation.

    Same contract as docker-py's ``utils.parse_repository_tag``: the part after
    the last ``@`` is returned as the "tag" (it is a digest; the API's ``tag``
    query parameter accepts either); otherwise the part after the last ``:``
    when it contains no ``/`` (so ``localhost:5000/img`` has no tag).

    ``busybox:1.36`` → ("busybox", "1.36"); ``host:5000/x`` → ("host:5000/x", None);
    ``x@sha256:ab..`` → ("x", "sha256:ab..").
    """
    repo, sep, digest = s.rpartition("@")
    if sep:
        return repo, digest
    repo, sep, tag = s.rpartition(":")
    if sep and "/" not in tag:
        return repo, tag
    return s, None
