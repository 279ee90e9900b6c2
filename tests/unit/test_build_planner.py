"""The build planner: which stages a target needs, the numbered steps, global ARGs."""

from __future__ import annotations

import pytest

from baleine.build.instructions import load
from baleine.build.planner import Planner, cache_key
from baleine.build.shell import Lex
from baleine.rules.errors import InvalidParameter

DOCKERFILE = """\
ARG BASE=busybox
ARG TAG
FROM $BASE AS one
RUN echo one
FROM scratch AS two
COPY --from=one /x /x
FROM busybox AS unused
RUN echo unused
FROM two AS three
ARG SRC=one
RUN --mount=type=bind,from=one,target=/m true
COPY --from=${SRC} /y /y
"""


def _planner(text: str = DOCKERFILE, build_args: dict[str, str | None] | None = None, target: str = "",
             labels: dict[str, str] | None = None) -> Planner:
    lex = Lex()
    used: set[str] = set()
    p = Planner(load(text), build_args or {}, target, labels or {},
                lambda word, env, where=None: lex.process_word(word, env), used)
    p.meta_args()
    return p


def test_global_args_and_base_names() -> None:
    p = _planner(build_args={"BASE": "alpine", "OTHER": "x"})
    assert p.meta == {"BASE": "alpine", "TAG": None}
    assert p.used_args == {"BASE", "TAG"}
    assert p.base_name(p.bf.stages[0]) == "alpine"
    assert p.meta_env()["BASE"] == "alpine" and "TAG" not in p.meta_env()


def test_needed_stages_follow_bases_copy_from_and_mounts() -> None:
    p = _planner()
    assert [s.name for s in p.needed(p.target())] == ["one", "two", "three"]
    assert [s.name for s in p.needed(_planner(target="two").target())] == ["one", "two"]
    assert [s.name for s in p.needed(_planner(target="UNUSED").target())] == ["unused"]


def test_unknown_target() -> None:
    with pytest.raises(InvalidParameter, match="failed to reach build target nope"):
        _planner(target="nope").target()


def test_stage_refs() -> None:
    p = _planner()
    assert p.stage_ref("ONE", 3).name == "one"
    assert p.stage_ref("0", 1).name == "one"
    assert p.stage_ref("busybox", 3) is None  # an image
    with pytest.raises(InvalidParameter, match="current or future build stage"):
        p.stage_ref("3", 3)
    with pytest.raises(InvalidParameter, match="current or future build stage"):
        p.stage_ref("three", 1)


def test_plan_numbers_steps_and_appends_labels_to_the_target() -> None:
    p = _planner(target="two", labels={"b": "2", "a": "1"})
    steps = p.plan(p.needed(p.target()), p.target())
    assert [s.number for s in steps] == list(range(1, 6))
    assert [s.text for s in steps] == ["FROM $BASE AS one", "RUN echo one", "FROM scratch AS two",
                                       "COPY --from=one /x /x", 'LABEL "a"="1" "b"="2"']
    assert steps[0].instr is None and steps[2].instr is None
    assert steps[-1].stage.name == "two"


def test_cache_keys_depend_on_state_and_parts() -> None:
    assert cache_key("sha256:a", "RUN", ["x"]) == cache_key("sha256:a", "RUN", ["x"])
    assert cache_key("sha256:a", "RUN", ["x"]) != cache_key("sha256:b", "RUN", ["x"])
    assert cache_key("sha256:a", "RUN", ["x"]) != cache_key("sha256:a", "RUN", ["y"])
