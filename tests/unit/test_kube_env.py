"""kubelet/env.py: the container environment and command line rules (pure logic
over a real in-memory registry)."""

from __future__ import annotations

from baleine.kube.kubelet.env import command_line, expand


def test_expand_rules() -> None:
    env = {"A": "1", "B": "two"}
    assert expand("$(A)-$(B)", env) == "1-two"
    assert expand("$(C)", env) == "$(C)"
    assert expand("$$(A)", env) == "$(A)"
    assert expand("$$", env) == "$"
    assert expand("a$", env) == "a$"
    assert expand("$(A", env) == "$(A"
    assert expand("$x", env) == "$x"


def test_command_line() -> None:
    image = {"Entrypoint": ["/ep"], "Cmd": ["c1"]}
    assert command_line({}, image) == (["/ep"], ["c1"])
    assert command_line({"command": ["sh"]}, image) == (["sh"], [])
    assert command_line({"args": ["x"]}, image) == (["/ep"], ["x"])
    assert command_line({"command": ["sh"], "args": ["-c", "echo $(X)"], "env": [{"name": "X", "value": "y"}]},
                        image) == (["sh"], ["-c", "echo y"])
