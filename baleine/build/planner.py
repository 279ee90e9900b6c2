"""Planning a build: which stages the target needs, the numbered steps, and cache keys.

Pure with respect to the file system: it reads the parsed Dockerfile
(:class:`BuildFile`) and the build's options only. A :class:`Planner` settles
the global ARGs (``meta_args``), the target stage, the stages it depends on
(base stages, ``COPY --from`` and ``RUN --mount=from`` sources, transitively)
and the steps to run; :func:`cache_key` makes a step's key from the state it
starts from and what the step reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..rules.errors import InvalidParameter
from .cache import digest
from .instructions import (ArgInstr, BuildFile, CopyInstr, EnvInstr, Instruction, KeyValue, LabelInstr, RunInstr,
                           Stage)
from .parser import Node
from .state import platform_args

CACHE_VERSION = "baleine-build-v1"

#: ``expand(word, env, where)``: one word with variables expanded (errors name ``where``).
Expand = Callable[[str, dict[str, str], Any], str]


def cache_key(state_id: str, *parts: Any) -> str:
    """The cache key of a step from the state ``state_id`` doing ``parts``."""
    return digest(CACHE_VERSION, state_id, *parts)


@dataclass
class Step:
    """One numbered step: an instruction of a stage (``instr`` None for its FROM)."""

    number: int
    instr: Instruction | None
    text: str
    stage: Stage


class Planner:
    """The plan of one build of ``bf`` with ``build_args``, ``target_name`` and ``labels``.

    ``expand`` expands a word; ``used_args`` collects the build args the
    Dockerfile declares (for the "not consumed" warning). :meth:`meta_args`
    must run first: it sets ``meta``, the global ARGs.
    """

    def __init__(self, bf: BuildFile, build_args: dict[str, str | None], target_name: str,
                 labels: dict[str, str], expand: Expand, used_args: set[str]) -> None:
        self.bf = bf
        self.build_args = build_args
        self.target_name = target_name
        self.labels = labels
        self.expand = expand
        self.used_args = used_args
        self.meta: dict[str, str | None] = {}

    def meta_args(self) -> dict[str, str | None]:
        """Global ARGs (before the first FROM), build args overriding defaults."""
        values: dict[str, str | None] = {}
        env = dict(platform_args())
        bf = self.bf
        for instr in bf.meta_args:
            for decl in instr.args:
                self.used_args.add(decl.key)
                if decl.key in self.build_args and self.build_args[decl.key] is not None:
                    value: str | None = self.build_args[decl.key]
                elif decl.default is not None:
                    value = self.expand(decl.default, env, instr)
                else:
                    value = None
                values[decl.key] = value
                if value is not None:
                    env[decl.key] = value
        self.meta = values
        return values

    def meta_env(self) -> dict[str, str]:
        """The variables FROM lines see: platform ARGs and the global ARGs with a value."""
        env = dict(platform_args())
        env.update({k: v for k, v in self.meta.items() if v is not None})
        return env

    def target(self) -> Stage:
        """The stage to build: ``--target``, else the last one."""
        bf = self.bf
        if not self.target_name:
            return bf.stages[-1]
        for st in bf.stages:
            if st.name == self.target_name.lower():
                return st
        raise InvalidParameter(f"failed to reach build target {self.target_name} in Dockerfile")

    def stage_ref(self, name: str, before: int) -> Stage | None:
        """The stage a FROM/--from value names (by name or index), or None for an image."""
        bf = self.bf
        low = name.lower()
        for st in bf.stages[:before]:
            if st.name and st.name == low:
                return st
        if name.isdigit():
            idx = int(name)
            if idx < before:
                return bf.stages[idx]
            raise InvalidParameter(f"invalid from flag value {name}: refers to current or future build stage")
        for st in bf.stages[before:]:
            if st.name and st.name == low:
                raise InvalidParameter(f"invalid from flag value {name}: refers to current or future build stage")
        return None

    def base_name(self, st: Stage) -> str:
        """A stage's FROM value, expanded with the global ARGs."""
        return self.expand(st.base, self.meta_env(), st.node)

    def needed(self, target: Stage) -> list[Stage]:
        """The target and every stage it depends on, in Dockerfile order."""
        bf = self.bf
        deps: dict[int, set[int]] = {}
        for st in bf.stages:
            d: set[int] = set()
            base = self.stage_ref(self.base_name(st), st.index)
            if base is not None:
                d.add(base.index)
            env = self.meta_env()
            for instr in st.instructions:
                if isinstance(instr, ArgInstr):
                    for decl in instr.args:
                        v = self.build_args.get(decl.key)
                        if v is None:
                            v = decl.default if decl.default is not None else self.meta.get(decl.key)
                        if v is not None:
                            env[decl.key] = v
                elif isinstance(instr, EnvInstr):
                    for kv in instr.pairs:
                        with contextlib.suppress(InvalidParameter):
                            env[kv.key] = self.expand(kv.value, env, instr)
                elif isinstance(instr, CopyInstr) and instr.from_:
                    ref = self.expand(instr.from_, env, instr)
                    src = self.stage_ref(ref, st.index)
                    if src is not None:
                        d.add(src.index)
                elif isinstance(instr, RunInstr):
                    for m in instr.mounts:
                        if m.from_:
                            src = self.stage_ref(m.from_, st.index)
                            if src is not None:
                                d.add(src.index)
            deps[st.index] = d
        needed: set[int] = set()
        todo = [target.index]
        while todo:
            i = todo.pop()
            if i in needed:
                continue
            needed.add(i)
            todo.extend(deps[i])
        return [st for st in bf.stages if st.index in needed]

    def plan(self, needed: list[Stage], target: Stage) -> list[Step]:
        """The numbered steps of the needed stages (FROM first), with ``--label``s as a
        final LABEL of the target."""
        steps: list[Step] = []
        for st in needed:
            steps.append(Step(0, None, st.node.original.strip(), st))
            for instr in st.instructions:
                steps.append(Step(0, instr, instr.original, st))
            if st is target and self.labels:
                line = "LABEL " + " ".join(f'"{k}"="{v}"' for k, v in sorted(self.labels.items()))
                node = Node("LABEL", [], line, start_line=0, end_line=0)
                instr = LabelInstr(node, [KeyValue(k, v) for k, v in sorted(self.labels.items())])
                instr.node.original = line
                steps.append(Step(0, instr, line, st))
        for i, s in enumerate(steps, 1):
            s.number = i
        return steps
