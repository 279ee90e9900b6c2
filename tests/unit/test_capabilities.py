"""Docker's capability rules (moby oci/caps)."""

from __future__ import annotations

import pytest

from baleine.engine.runtime import capabilities as caps
from baleine.rules.errors import InvalidParameter


def test_default_set_is_dockers():
    assert caps.tweak([], [], False) == list(caps.DEFAULT_CAPABILITIES)
    assert len(caps.DEFAULT_CAPABILITIES) == 14
    assert "CAP_SYS_ADMIN" not in caps.DEFAULT_CAPABILITIES


def test_full_list_is_indexed_by_number():
    assert caps.ALL_CAPABILITIES[0] == "CAP_CHOWN"
    assert caps.ALL_CAPABILITIES[21] == "CAP_SYS_ADMIN"
    assert caps.ALL_CAPABILITIES[40] == "CAP_CHECKPOINT_RESTORE"


def test_add_accepts_any_spelling():
    out = caps.tweak(["net_admin", "CAP_SYS_PTRACE", "Sys_Time"], [], False)
    assert out[:14] == list(caps.DEFAULT_CAPABILITIES)
    assert out[14:] == ["CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME"]


def test_drop_removes_from_defaults():
    out = caps.tweak([], ["chown", "CAP_NET_RAW"], False)
    assert "CAP_CHOWN" not in out and "CAP_NET_RAW" not in out
    assert len(out) == 12


def test_drop_all_keeps_only_added():
    assert caps.tweak(["chown", "kill"], ["ALL"], False) == ["CAP_CHOWN", "CAP_KILL"]
    assert caps.tweak([], ["all"], False) == []


def test_add_all_minus_drops():
    out = caps.tweak(["ALL"], ["SYS_ADMIN"], False)
    assert "CAP_SYS_ADMIN" not in out
    assert set(out) == set(caps.all_capabilities()) - {"CAP_SYS_ADMIN"}


def test_add_all_wins_over_drop_all():
    assert caps.tweak(["ALL"], ["ALL"], False) == caps.all_capabilities()


def test_added_and_dropped_is_kept_like_docker():
    # moby drops from the defaults, then appends the additions.
    out = caps.tweak(["NET_ADMIN"], ["NET_ADMIN"], False)
    assert "CAP_NET_ADMIN" in out
    out = caps.tweak(["CHOWN"], ["CHOWN"], False)
    assert out.count("CAP_CHOWN") == 1


def test_privileged_gets_everything_available():
    assert caps.tweak(["foo"], ["ALL"], True) == caps.all_capabilities()
    assert "CAP_SYS_ADMIN" in caps.all_capabilities()


def test_unknown_capability_wording():
    with pytest.raises(InvalidParameter) as e:
        caps.tweak(["foo"], [], False)
    assert str(e.value) == 'unknown capability: "CAP_FOO"'
    with pytest.raises(InvalidParameter):
        caps.tweak([], ["CAP_NOPE"], False)


def test_unavailable_capability_is_refused(monkeypatch):
    known = dict(caps.known_capabilities())
    known["CAP_SYS_RESOURCE"] = False
    monkeypatch.setattr(caps, "known_capabilities", lambda: known)
    with pytest.raises(InvalidParameter) as e:
        caps.tweak(["SYS_RESOURCE"], [], False)
    assert "not available in the current environment" in str(e.value)
    assert "CAP_SYS_RESOURCE" not in caps.all_capabilities()


def test_known_capabilities_follow_the_daemons_own_set(monkeypatch):
    caps.known_capabilities.cache_clear()
    try:
        monkeypatch.setattr(caps, "_effective_mask", lambda: (1 << 41) - 1 - (1 << 24))
        monkeypatch.setattr(caps, "_last_cap", lambda: 40)
        known = caps.known_capabilities()
        assert known["CAP_SYS_RESOURCE"] is False
        assert known["CAP_SYS_ADMIN"] is True
        monkeypatch.setattr(caps, "_last_cap", lambda: 37)
        caps.known_capabilities.cache_clear()
        assert "CAP_BPF" not in caps.known_capabilities()
    finally:
        caps.known_capabilities.cache_clear()
