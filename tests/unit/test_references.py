"""Unit tests for baleine.rules.references.

PARSE_REFERENCE was observed from distribution/reference's ParseNormalizedNamed
(with go-digest validation) run under Go's regexp engine: domain, path, tag,
digest, or the exact error text.
"""

from __future__ import annotations

import dataclasses

import pytest

from baleine.rules import references
from baleine.rules.errors import InvalidParameter
from baleine.rules.references import (
    Reference,
    is_digest,
    is_identifier,
    parse,
    parse_docker_ref,
    parse_repository_tag,
    split_docker_domain,
    validate_digest,
    validate_tag,
)

H = "a" * 64
SHA = "sha256:" + H
D = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"

# fmt: off
PARSE_REFERENCE = [
    ('busybox', ('docker.io', 'library/busybox', None, None), None),
    ('Busybox', None, 'invalid reference format: repository name (library/Busybox) must be lowercase'),
    ('busybox:latest', ('docker.io', 'library/busybox', 'latest', None), None),
    ('busybox:Latest', ('docker.io', 'library/busybox', 'Latest', None), None),
    ('busybox:latest@sha256:' + 'a' * 64, ('docker.io', 'library/busybox', 'latest', 'sha256:' + 'a' * 64), None),
    ('a' * 64, None, 'invalid repository name (' + 'a' * 64 + '), cannot specify 64-byte hexadecimal strings'),
    ('docker.io/' + 'a' * 64, ('docker.io', 'library/' + 'a' * 64, None, None), None),
    ('localhost', ('docker.io', 'library/localhost', None, None), None),
    ('localhost/x', ('localhost', 'x', None, None), None),
    ('localhost:5000/x', ('localhost:5000', 'x', None, None), None),
    ('LOCALHOST/x', ('LOCALHOST', 'x', None, None), None),
    ('index.docker.io/foo', ('docker.io', 'library/foo', None, None), None),
    ('index.docker.io/foo/bar', ('docker.io', 'foo/bar', None, None), None),
    ('docker.io/foo', ('docker.io', 'library/foo', None, None), None),
    ('docker.io/library/foo/bar', ('docker.io', 'library/foo/bar', None, None), None),
    ('Foo/bar', ('Foo', 'bar', None, None), None),
    ('FOO/bar', ('FOO', 'bar', None, None), None),
    ('foo/Bar', None, 'invalid reference format: repository name (foo/Bar) must be lowercase'),
    ('', None, 'invalid reference format'),
    (':justtag', None, 'invalid reference format'),
    ('@sha256:' + 'a' * 64, None, 'invalid reference format'),
    ('[fc00::1]:5000/docker', ('[fc00::1]:5000', 'docker', None, None), None),
    ('[fc00::1]', None, 'invalid reference format'),
    ('[fc00::1]:5000', None, 'invalid reference format'),
    ('fc00::1:5000/debian', None, 'invalid reference format'),
    ('[fe80::1%eth0]:5000/debian', None, 'invalid reference format'),
    ('[2001:db8:3:4::192.0.2.33]:5000/debian', None, 'invalid reference format'),
    ('busybox@sha256:' + 'a' * 40, None, 'invalid checksum digest format'),
    ('busybox@sha256:' + 'a' * 31, None, 'invalid reference format'),
    ('busybox@md5:' + 'a' * 32, None, 'unsupported digest algorithm'),
    ('busybox@sha512:' + 'a' * 128, ('docker.io', 'library/busybox', None, 'sha512:' + 'a' * 128), None),
    ('busybox@sha384:' + 'a' * 96, ('docker.io', 'library/busybox', None, 'sha384:' + 'a' * 96), None),
    ('busybox@sha256:' + 'A' * 64, None, 'invalid checksum digest format'),
    ('busybox@SHA256:' + 'a' * 64, None, 'invalid reference format: repository name (library/busybox@SHA256) must be lowercase'),
    ('busybox@sha256+b64:' + 'a' * 64, None, 'unsupported digest algorithm'),
    ('busybox@sha-256:' + 'a' * 64, None, 'invalid reference format'),
    ('busybox@1sha:' + 'a' * 64, None, 'invalid reference format'),
    ('x@sha256:' + 'a' * 64 + '0', None, 'invalid checksum digest format'),
    ('x@sha256:' + 'g' * 64, None, 'invalid reference format'),
    ('a' * 247, ('docker.io', 'library/' + 'a' * 247, None, None), None),
    ('a' * 248, None, 'repository name must not be more than 255 characters'),
    ('a/' * 127 + 'a', ('docker.io', 'a/' * 127 + 'a', None, None), None),
    ('a/' * 128 + 'a', None, 'repository name must not be more than 255 characters'),
    ('a/' * 128 + 'a:tag', None, 'repository name must not be more than 255 characters'),
    ('docker.io/' + 'a' * 255, None, 'repository name must not be more than 255 characters'),
    ('docker.io/' + 'a' * 256, None, 'repository name must not be more than 255 characters'),
    ('x:' + 't' * 128, ('docker.io', 'library/x', 't' * 128, None), None),
    ('x:' + 't' * 129, None, 'invalid reference format'),
    ('x:-t', None, 'invalid reference format'),
    ('x:.t', None, 'invalid reference format'),
    ('x:_t', ('docker.io', 'library/x', '_t', None), None),
    ('x:t.-_', ('docker.io', 'library/x', 't.-_', None), None),
    ('https://github.com/docker/docker', None, 'invalid reference format'),
    ('-docker', None, 'invalid reference format'),
    ('docker-', None, 'invalid reference format'),
    ('docker/', None, 'invalid reference format'),
    ('docker//x', None, 'invalid reference format'),
    ('a..b', None, 'invalid reference format'),
    ('a__b', ('docker.io', 'library/a__b', None, None), None),
    ('a___b', None, 'invalid reference format'),
    ('a_.b', None, 'invalid reference format'),
    ('a-.b', None, 'invalid reference format'),
    ('a---b', ('docker.io', 'library/a---b', None, None), None),
    ('a.b.c/d', ('a.b.c', 'd', None, None), None),
    ('a:b:c', None, 'invalid reference format'),
    ('a@b', None, 'invalid reference format'),
    ('192.168.0.1', ('docker.io', 'library/192.168.0.1', None, None), None),
    ('192.168.0.1:80', ('docker.io', 'library/192.168.0.1', '80', None), None),
    ('192.168.0.1:8/debian', ('192.168.0.1:8', 'debian', None, None), None),
    ('test_com/foo', ('docker.io', 'test_com/foo', None, None), None),
    ('test.com:8080/foo', ('test.com:8080', 'foo', None, None), None),
    ('xn--n3h.com/foo', ('xn--n3h.com', 'foo', None, None), None),
    ('127.0.0.1:5000/library/debian', ('127.0.0.1:5000', 'library/debian', None, None), None),
    ('foo/foo_bar.com:8080', ('docker.io', 'foo/foo_bar.com', '8080', None), None),
    ('sub-dom1.foo.com/bar/baz/quux:some-long-tag', ('sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag', None), None),
    ('b.gcr.io/test.example.com/my-app:test.example.com', ('b.gcr.io', 'test.example.com/my-app', 'test.example.com', None), None),
    ('a-/b.c/d', None, 'invalid reference format'),
    ('-a.b/c', None, 'invalid reference format'),
    ('a.b-/c', None, 'invalid reference format'),
    ('host:port/x', None, 'invalid reference format'),
    ('host:/x', None, 'invalid reference format'),
    ('host:5000', ('docker.io', 'library/host', '5000', None), None),
    ('sha256:' + 'a' * 64, ('docker.io', 'library/sha256', 'a' * 64, None), None),
    ('ubuntu:24.04', ('docker.io', 'library/ubuntu', '24.04', None), None),
    ('ubuntu:', None, 'invalid reference format'),
    ('ubuntu@', None, 'invalid reference format'),
    ('ubuntu:tag@', None, 'invalid reference format'),
    ('UBUNTU', None, 'invalid reference format: repository name (library/UBUNTU) must be lowercase'),
    ('ubuntu\n', None, 'invalid reference format'),
    ('ubuntü', None, 'invalid reference format'),
    ('ÉX/y', None, 'invalid reference format'),
    ('ex/É', None, 'invalid reference format: repository name (ex/É) must be lowercase'),
    ('Busybox@sha256:' + 'a' * 64, None, 'invalid reference format: repository name (library/Busybox@sha256) must be lowercase'),
    ('x/y:Tag', ('docker.io', 'x/y', 'Tag', None), None),
    ('x/Y:tag', None, 'invalid reference format: repository name (x/Y) must be lowercase'),
    ('a.b/C', None, 'invalid reference format: repository name (C) must be lowercase'),
    ('a.b/c/D:tag', None, 'invalid reference format: repository name (c/D) must be lowercase'),
    ('localhost/UP', None, 'invalid reference format: repository name (UP) must be lowercase'),
    ('index.docker.io/' + 'a' * 64, ('docker.io', 'library/' + 'a' * 64, None, None), None),
    ('x:tag:tag', None, 'invalid reference format'),
    ('x@sha256:' + 'a' * 64 + '@sha256:' + 'a' * 64, None, 'invalid reference format'),
]
# fmt: on


@pytest.mark.parametrize(("text", "expected", "error"), PARSE_REFERENCE)
def test_parse_matches_distribution_reference(text, expected, error):
    if error is None:
        ref = parse(text)
        assert (ref.domain, ref.path, ref.tag, ref.digest) == expected
    else:
        with pytest.raises(InvalidParameter) as exc:
            parse(text)
        assert str(exc.value) == error
        assert exc.value.status == 400


# TestParseRepositoryInfo from distribution/reference: every spelling of a
# repository gives the same familiar name, full name, domain and path.
REPOSITORY_INFO = [
    # (path, familiar, full, ambiguous spelling or None, domain)
    ("fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"),
    ("library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"),
    ("nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", None, "docker.io"),
    ("other/library", "other/library", "docker.io/other/library", None, "docker.io"),
    ("private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", None, "127.0.0.1:8000"),
    ("privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", None, "127.0.0.1:8000"),
    ("private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", None, "example.com"),
    ("privatebase", "example.com/privatebase", "example.com/privatebase", None, "example.com"),
    ("private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", None, "example.com:8000"),
    ("privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", None, "example.com:8000"),
    ("library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
     "index.docker.io/library/ubuntu-12.04-base", "docker.io"),
    ("library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"),
    ("library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", None, "docker.io"),
    ("store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", None, "docker.io"),
    ("bar", "Foo/bar", "Foo/bar", None, "Foo"),
    ("bar", "FOO/bar", "FOO/bar", None, "FOO"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("spelling", "path", "familiar", "full", "domain"),
    [
        (spelling, path, familiar, full, domain)
        for path, familiar, full, ambiguous, domain in REPOSITORY_INFO
        for spelling in (familiar, full, ambiguous)
        if spelling is not None
    ],
)
def test_repository_info(spelling, path, familiar, full, domain):
    ref = parse(spelling)
    assert ref.familiar_name == familiar
    assert ref.name == full
    assert str(ref) == full
    assert ref.domain == domain
    assert ref.path == path


@pytest.mark.parametrize(
    ("text", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox", "busybox"),
        ("busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
        (f"busybox:latest@{D}", f"docker.io/library/busybox:latest@{D}", f"busybox:latest@{D}"),
        ("foo/bar:v1", "docker.io/foo/bar:v1", "foo/bar:v1"),
        ("docker.io/foo/bar", "docker.io/foo/bar", "foo/bar"),
        ("index.docker.io/library/redis:7", "docker.io/library/redis:7", "redis:7"),
        ("localhost:5000/x", "localhost:5000/x", "localhost:5000/x"),
        ("localhost/x:y", "localhost/x:y", "localhost/x:y"),
        ("quay.io/coreos/etcd:v3", "quay.io/coreos/etcd:v3", "quay.io/coreos/etcd:v3"),
        ("[::1]:5000/repo:tag", "[::1]:5000/repo:tag", "[::1]:5000/repo:tag"),
        ("docker.io/library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"),
    ],
)
def test_str_and_familiar(text, full, familiar):
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert parse(str(ref)) == ref
    assert parse(ref.familiar()) == ref


def test_tag_and_digest_both_kept():
    ref = parse(f"busybox:latest@{D}")
    assert (ref.tag, ref.digest) == ("latest", D)
    assert str(ref) == f"docker.io/library/busybox:latest@{D}"
    assert ref.familiar() == f"busybox:latest@{D}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1", "docker.io/library/busybox:1"),
        (f"busybox@{D}", f"docker.io/library/busybox@{D}"),
        (f"busybox:1@{D}", f"docker.io/library/busybox:1@{D}"),
        ("localhost:5000/x", "localhost:5000/x:latest"),
    ],
)
def test_with_default_tag(text, expected):
    ref = parse(text).with_default_tag()
    assert str(ref) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1", "docker.io/library/busybox:1"),
        (f"busybox@{D}", f"docker.io/library/busybox@{D}"),
        (f"busybox:1@{D}", f"docker.io/library/busybox@{D}"),  # digest wins
    ],
)
def test_docker_ref(text, expected):
    assert str(parse(text).docker_ref()) == expected
    assert str(parse_docker_ref(text)) == expected


def test_is_name_only_and_trim():
    assert parse("busybox").is_name_only
    assert not parse("busybox:1").is_name_only
    assert not parse(f"busybox@{D}").is_name_only
    assert parse(f"busybox:1@{D}").trim() == parse("busybox")


def test_with_tag():
    ref = parse(f"example.com:8000/foo@{D}")
    assert str(ref.with_tag("TAG5")) == f"example.com:8000/foo:TAG5@{D}"
    assert str(parse("foo:a").with_tag("b")) == "docker.io/library/foo:b"
    for bad in ["", "-foo", ".x", "a" * 129, "a b", "a:b", "é"]:
        with pytest.raises(InvalidParameter, match=r"^invalid tag format$"):
            ref.with_tag(bad)
    assert ref.with_tag("a" * 128).tag == "a" * 128


def test_with_digest():
    ref = parse("test.com/foo:tag")
    short = "sha256:1234567890098765432112345667890098765"
    assert str(ref.with_digest(short)) == f"test.com/foo:tag@{short}"
    assert parse("foo").with_digest(D).digest == D
    for bad in ["foo", "sha256:abc", "sha256", ":" + H, "1sha:" + H]:
        with pytest.raises(InvalidParameter, match=r"^invalid digest format$"):
            ref.with_digest(bad)


def test_reference_is_frozen_and_hashable():
    ref = parse("busybox:1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.tag = "2"  # type: ignore[misc]
    assert ref == Reference("docker.io", "library/busybox", "1", None)
    assert len({ref, parse("docker.io/library/busybox:1"), parse("busybox:2")}) == 2


@pytest.mark.parametrize("value", [None, 1, b"busybox"])
def test_parse_rejects_non_strings(value):
    with pytest.raises(InvalidParameter, match=r"^invalid reference format$"):
        parse(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("foo/Bar:tag", "invalid reference format: repository name (foo/Bar) must be lowercase"),
        ("localhost:5000/Foo", "invalid reference format: repository name (Foo) must be lowercase"),
        (H, f"invalid repository name ({H}), cannot specify 64-byte hexadecimal strings"),
        ("", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("busybox::x", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busybox@sha256:" + "a" * 63 + "0" * 2, "invalid checksum digest format"),
        ("busybox@md5:" + "a" * 32, "unsupported digest algorithm"),
        ("a" * 248, "repository name must not be more than 255 characters"),
    ],
)
def test_docker_error_messages(name, message):
    with pytest.raises(InvalidParameter) as exc:
        parse(name)
    assert str(exc.value) == message


def test_path_length_limit_boundaries():
    assert len(parse("a" * 247).path) == 255
    assert len(parse("example.com/" + "a" * 255).path) == 255
    with pytest.raises(InvalidParameter, match="255 characters"):
        parse("example.com/" + "a" * 256)
    # The domain does not count.
    assert parse("a" * 60 + ".com/" + "b" * 255).domain == "a" * 60 + ".com"


def test_tag_length_limit():
    assert parse("x:" + "t" * 128).tag == "t" * 128
    with pytest.raises(InvalidParameter, match=r"^invalid reference format$"):
        parse("x:" + "t" * 129)


# ------------------------------------------------------- split_docker_domain


@pytest.mark.parametrize(
    ("name", "domain", "remainder"),
    [
        ("test.com/foo", "test.com", "foo"),
        ("test_com/foo", "docker.io", "test_com/foo"),
        ("docker/migrator", "docker.io", "docker/migrator"),
        ("test.com:8080/foo", "test.com:8080", "foo"),
        ("test-com:8080/foo", "test-com:8080", "foo"),
        ("foo", "docker.io", "library/foo"),
        ("foo:tag", "docker.io", "library/foo:tag"),
        ("localhost", "docker.io", "library/localhost"),
        ("example.com", "docker.io", "library/example.com"),
        ("localhost/foo", "localhost", "foo"),
        ("localhost:5000/foo/bar", "localhost:5000", "foo/bar"),
        ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
        ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
        ("docker.io/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo", "docker.io", "library/foo"),
        ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ("index.docker.io/foo", "docker.io", "library/foo"),
        ("index.docker.io/foo/bar", "docker.io", "foo/bar"),
        ("Foo/bar", "Foo", "bar"),
        ("[::1]/x", "[::1]", "x"),
        ("a:b/c", "a:b", "c"),
        ("", "docker.io", "library/"),
        ("/x", "docker.io", "/x"),
    ],
)
def test_split_docker_domain(name, domain, remainder):
    assert split_docker_domain(name) == (domain, remainder)


# ------------------------------------------------------ parse_repository_tag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", ("busybox", None)),
        ("busybox:1.36", ("busybox", "1.36")),
        ("busybox:latest", ("busybox", "latest")),
        ("localhost:5000/img", ("localhost:5000/img", None)),
        ("localhost:5000/img:v2", ("localhost:5000/img", "v2")),
        ("root:tag", ("root", "tag")),
        ("url:5000/repo", ("url:5000/repo", None)),
        ("url:5000/repo:tag", ("url:5000/repo", "tag")),
        (f"x@{D}", ("x", D)),
        (f"x:t@{D}", ("x:t", D)),
        (f"url:5000/repo@{D}", ("url:5000/repo", D)),
        ("", ("", None)),
        ("a:", ("a", "")),
    ],
)
def test_parse_repository_tag(text, expected):
    assert parse_repository_tag(text) == expected


# ------------------------------------------------------------------- digests


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("sha256:" + H, None),
        ("sha384:" + "f" * 96, None),
        ("sha512:" + "f" * 128, None),
        ("sha256:" + "A" * 64, "invalid checksum digest format"),
        ("sha256:" + "a" * 63, "invalid checksum digest format"),
        ("sha256:" + "a" * 65, "invalid checksum digest format"),
        ("sha384:" + "f" * 64, "invalid checksum digest format"),
        ("sha256:", "invalid checksum digest format"),
        (":" + H, "invalid checksum digest format"),
        (H, "invalid checksum digest format"),
        ("", "invalid checksum digest format"),
        ("md5:" + "a" * 32, "unsupported digest algorithm"),
        ("sha256+b64:" + H, "unsupported digest algorithm"),
        ("SHA256:" + H, "invalid checksum digest format"),
        ("md5:a b", "invalid checksum digest format"),
    ],
)
def test_validate_digest(text, error):
    if error is None:
        assert validate_digest(text) == text
        assert is_digest(text)
    else:
        assert not is_digest(text)
        with pytest.raises(InvalidParameter) as exc:
            validate_digest(text)
        assert str(exc.value) == error


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (H, True),
        ("0123456789abcdef" * 4, True),
        ("A" * 64, False),
        ("a" * 63, False),
        ("a" * 65, False),
        ("sha256:" + H, False),
    ],
)
def test_is_identifier(text, expected):
    assert is_identifier(text) is expected


@pytest.mark.parametrize("tag", ["latest", "1.36", "v1.2.3-rc.1", "_x", "A", "a" * 128, "x__y--z..w"])
def test_validate_tag_accepts(tag):
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a" * 129, "a/b", "a:b", "a@b", "é", "a\n"])
def test_validate_tag_rejects(tag):
    with pytest.raises(InvalidParameter, match=r"^invalid tag format$"):
        validate_tag(tag)


def test_unicode_word_characters_are_not_tags():
    # Go's \w is ASCII; Python's is not. "é" must not pass as a tag character.
    with pytest.raises(InvalidParameter):
        parse("busybox:caf\u00e9")


def test_trailing_newline_is_rejected():
    # Go's $ does not match before a final newline; Python's does.
    for text in ["busybox\n", "busybox:tag\n", f"busybox@{D}\n"]:
        with pytest.raises(InvalidParameter):
            parse(text)


def test_pathological_inputs_are_fast():
    import time

    for text in ["a" + "-" * 5000 + "!", "a." * 3000 + "!", "a__" * 3000 + "_", "[" + ":" * 5000 + "/x"]:
        start = time.perf_counter()
        with pytest.raises(InvalidParameter):
            parse(text)
        assert time.perf_counter() - start < 0.5


def test_constants():
    assert references.DEFAULT_DOMAIN == "docker.io"
    assert references.LEGACY_DEFAULT_DOMAIN == "index.docker.io"
    assert references.OFFICIAL_REPO_PREFIX == "library/"
    assert references.DEFAULT_TAG == "latest"
    assert references.NAME_TOTAL_LENGTH_MAX == 255
