"""``baleine.cli.usage.Parser``: its own fast path returns exactly what argparse
returns, and falls back to argparse (docker's messages and exit codes) for the rest.

Random command lines over each declaration's flags, values, look-alikes (``-1``,
``-``, ``--``, abbreviations, ``-e=x``, ``-h``, ``--help``) are parsed both ways: the
fast path (``Parser._parse``) either declines or gives argparse's namespace, and
``Parser.parse_args`` gives argparse's result or argparse's error, byte for byte.
A subprocess checks that the common command lines need neither argparse nor re.
"""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from baleine.cli.build import build_parser as cli_build_parser
from baleine.cli.context import CLIError
from baleine.cli.usage import REMAINDER, SUPPRESS, Parser, _Fallback

ROOT = Path(__file__).resolve().parents[2]


def exec_parser() -> Parser:
    p = Parser("exec", "[OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container")
    p.add_argument("-d", "--detach", action="store_true", help="Detached mode")
    p.add_argument("-i", "--interactive", action="store_true", help="Keep STDIN open")
    p.add_argument("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    p.add_argument("-u", "--user", default="", help="Username or UID")
    p.add_argument("-e", "--env", action="append", default=[], help="Set environment variables")
    p.add_argument("--privileged", action="store_true", help="Give extended privileges")
    p.add_argument("--detach-keys", help="Override the key sequence for detaching a container")
    p.add_argument("container")
    p.add_argument("command", nargs=REMAINDER)
    return p


def run_parser() -> Parser:
    p = Parser("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container")
    p.add_argument("-h", "--hostname", help="Container host name")
    p.add_argument("-d", "--detach", action="store_true", help="Run in background")
    p.add_argument("--rm", action="store_true", help="Remove when it exits")
    p.add_argument("-p", "--publish", action="append", default=[], help="Publish a port")
    p.add_argument("--name", help="Assign a name to the container")
    p.add_argument("-c", "--cpu-shares", type=int, default=0, help="CPU shares")
    p.add_argument("--restart", choices=["no", "always"], default="no", help="Restart policy")
    p.add_argument("image", help=SUPPRESS)
    p.add_argument("args", nargs=REMAINDER, help=SUPPRESS)
    return p


def stop_parser() -> Parser:
    p = Parser("stop", "[OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers")
    p.add_argument("-s", "--signal", help="Signal to send to the container")
    p.add_argument("-t", "--time", type=int, help="Seconds to wait before killing the container")
    p.add_argument("containers", nargs="+", metavar="CONTAINER")
    return p


def ps_parser() -> Parser:
    p = Parser("ps", "[OPTIONS]", "List containers")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers")
    p.add_argument("-q", "--quiet", action="store_true", help="Only display container IDs")
    p.add_argument("-f", "--filter", action="append", default=[], help="Filter output")
    p.add_argument("-n", "--last", type=int, default=-1, help="Show n last created containers")
    p.add_argument("-v", "--verbose", action="count", help="More")
    p.add_argument("--format", help="Format output using a custom template")
    return p


def volume_parser() -> Parser:
    p = Parser("volume create", "[OPTIONS] [VOLUME]", "Create a volume")
    p.add_argument("--name", help=SUPPRESS)
    p.add_argument("--label", action="append", default=[], help="Set metadata for a volume")
    p.add_argument("volume", nargs="?", metavar="VOLUME")
    return p


def stats_parser() -> Parser:
    p = Parser("stats", "[OPTIONS] [CONTAINER...]", "Display a live stream")
    p.add_argument("-a", "--all", action="store_true", help="Show all containers")
    p.add_argument("--no-stream", action="store_true", help="Only pull the first result")
    p.add_argument("containers", nargs="*", metavar="CONTAINER")
    return p


def optional_value_parser() -> Parser:
    """``baleine build``'s flags, with ``--rm`` as an optional-value long flag (nargs="?":
    how docker's ``--flag[=value]`` booleans may be declared)."""
    p = Parser("build", "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile")
    p.add_argument("path", nargs="?")
    p.add_argument("-t", "--tag", action="append", default=[], help="Name and optionally a tag")
    p.add_argument("-f", "--file", default="", help="Name of the Dockerfile")
    p.add_argument("--build-arg", action="append", default=[], help="Set build-time variables")
    p.add_argument("--target", default="", help="Set the target build stage to build")
    p.add_argument("--no-cache", action="store_true", help="Do not use cache")
    p.add_argument("--pull", action="store_true", help="Always attempt to pull")
    p.add_argument("--label", action="append", default=[], help="Set metadata for an image")
    p.add_argument("-q", "--quiet", action="store_true", help="Suppress the build output")
    p.add_argument("--iidfile", default="", help="Write the image ID to the file")
    p.add_argument("--network", default="", help="Set the networking mode")
    p.add_argument("--platform", default="", help="Set platform")
    p.add_argument("--rm", default="true", nargs="?", const="true", help="Remove intermediate containers")
    p.add_argument("--force-rm", action="store_true", help="Always remove intermediate containers")
    p.add_argument("-c", "--cpu-shares", type=int, default=0, help="CPU shares (relative weight)")
    return p


COMMON = ["-h", "--help", "--", "-", "", "-1", "-x", "--bogus", "--bogus=1", "a b", "-a b", "x"]
CASES: dict[str, tuple[Callable[[], Parser], list[str]]] = {
    "exec": (exec_parser, ["-i", "-t", "-it", "-ti", "-itd", "-d", "-u", "root", "-uroot", "--user", "--user=",
                           "--user=root", "-e", "A=1", "-eA=1", "-e=A", "--env=B", "--privileged",
                           "--privileged=1", "--detach-keys", "ctrl-a", "--detach", "--det", "-iu", "c", "sh",
                           "-c", "true"]),
    "run": (run_parser, ["-h", "host", "-hhost", "-d", "--rm", "-p", "80:80", "-p80", "--publish=1:1", "--name",
                         "n", "--name=n", "-c", "5", "-c", "x", "-c5", "--cpu-shares=-3", "--restart", "always",
                         "--restart=maybe", "--restart=no", "busybox", "echo", "-n", "hi", "-dp", "1:1"]),
    "stop": (stop_parser, ["-t", "0", "-t", "x", "--time=3", "-t0", "-s", "KILL", "--signal", "TERM", "c1", "c2",
                           "-t", "-5"]),
    "ps": (ps_parser, ["-a", "-q", "-aq", "-qa", "-f", "status=exited", "--filter", "name=x", "-n", "3",
                       "-n", "-1", "-n3", "--last=2", "-v", "-vv", "--format", "{{.ID}}", "--format={{.ID}}",
                       "--quiet", "--all", "-qn2"]),
    "volume": (volume_parser, ["--name", "v", "--name=v", "--label", "a=b", "v1", "v2", "--label=x"]),
    "build-optional-value": (optional_value_parser, [
        "--rm", "--rm", "--rm=false", "--rm=true", "--rm=", "--rm", "false", "--force-rm", "-t", "app:1", "-tapp",
        "--tag=a", "-f", "Dockerfile", "-fx", "--file=y", "--build-arg", "A=1", "--build-arg=B", "--no-cache", "-q",
        "-qt", "v", "--target", "base", "--label", "a=b", "--network", "host", "--network=none", "--pull",
        "--iidfile", "id.txt", "--platform", "linux/amd64", "-c", "2", ".", "ctx", "-", "--r", "--rm=1"]),
    "build": (cli_build_parser, ["--rm=false", "--rm=true", "--rm", "false", "--force-rm", "-t", "app:1", "-tapp",
                                 "--tag=a", "-f", "Dockerfile", "--file=y", "--build-arg", "A=1", "--no-cache", "-q",
                                 "-qt", "v", "--target", "base", "--label", "a=b", "--network=none", "--pull",
                                 "--iidfile", "id.txt", "--platform", "linux/amd64", "--progress=plain", "-m", "1g",
                                 "--cpu-shares=2", "--cache-from", "img", "--secret", "id=s", ".", "ctx", "-"]),
    "stats": (stats_parser, ["-a", "--no-stream", "c1", "c2", "--no-s"]),
}


def outcome(fn: Callable[[], object]) -> tuple[str, object]:
    try:
        return "ok", vars(fn())
    except CLIError as exc:
        return "error", (exc.message, exc.code)
    except Exception as exc:  # noqa: BLE001 - both paths must fail alike
        return "crash", repr(exc)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_agrees_with_argparse(name: str) -> None:
    make, tokens = CASES[name]
    rng = random.Random(name)
    pool = tokens + COMMON
    lines = [[]] + [[t] for t in pool] + [rng.choices(pool, k=rng.randint(2, 7)) for _ in range(1500)]
    fast_taken = 0
    for argv in lines:
        expected = outcome(lambda: make().argparser().parse_args(list(argv)))
        try:
            fast = vars(make()._parse(list(argv)))
        except _Fallback:
            pass
        else:
            fast_taken += 1
            assert ("ok", fast) == expected, argv
        assert outcome(lambda: make().parse_args(list(argv))) == expected, argv
    assert fast_taken >= 40  # the fast path is really used (most random lines are errors)


@pytest.mark.parametrize(("make", "argv"), [
    (exec_parser, ["-it", "c", "sh", "-c", "echo -n"]),
    (exec_parser, ["c", "true"]),
    (run_parser, ["--rm", "-d", "--name=x", "-p", "80:80", "busybox", "sleep", "-1"]),
    (stop_parser, ["-t", "0", "a", "b"]),
    (ps_parser, ["-aq", "--filter", "status=exited"]),
    (ps_parser, []),
    (optional_value_parser, ["--rm", "-t", "app", "--rm=false", "--force-rm", "."]),
    (cli_build_parser, ["-q", "-t", "app:1", "."]),
    (cli_build_parser, ["--rm=true", "-t", "app", "--rm=false", "--force-rm", "."]),
    (cli_build_parser, ["-t", "a", "-f", "ctx/Dockerfile", "--build-arg", "A=1", "--no-cache", "--label", "x=y",
                        "--network", "host", "--pull", "--iidfile", "id", "--platform", "linux/amd64",
                        "--target", "base", "ctx", "--rm=true"]),
])
def test_common_command_lines_take_the_fast_path(make: Callable[[], Parser], argv: list[str]) -> None:
    p = make()
    assert vars(p._parse(list(argv))) == vars(p.argparser().parse_args(list(argv)))


def test_help_and_errors_are_argparse_s(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CLIError) as help_:
        exec_parser().parse_args(["--help"])
    assert help_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("\nUsage:  baleine exec [OPTIONS] CONTAINER COMMAND [ARG...]\n")
    assert "  -u, --user string" in out
    with pytest.raises(CLIError) as bad:
        ps_parser().parse_args(["--bogus"])
    assert (bad.value.code, bad.value.message.splitlines()[0]) == (125, "unknown flag: --bogus")
    with pytest.raises(CLIError) as missing:
        stop_parser().parse_args([])
    assert missing.value.code == 1
    assert missing.value.message.startswith("baleine: 'baleine stop' requires at least 1 argument")
    with pytest.raises(CLIError) as empty:
        ps_parser().parse_args([""])  # docker: "accepts no arguments" (not a crash)
    assert empty.value.code == 1 and "'baleine ps' accepts no arguments" in empty.value.message


def test_parser_attributes_reach_argparse() -> None:
    p = ps_parser()
    assert "Options:" in p.format_help()
    group = p.add_mutually_exclusive_group()  # builds the argparse parser; later declarations go there
    group.add_argument("--x", action="store_true")
    assert vars(p.parse_args(["--x"]))["x"] is True


def test_hot_commands_import_neither_argparse_nor_re(tmp_path: Path) -> None:
    """The everyday commands, run for real against a socket where no daemon answers
    (parsing done, the request fails): none of these modules gets imported."""
    host = f"unix://{tmp_path}/none.sock"
    # -IS as install.sh's launcher runs the CLI: without site, whose imports would hide ours.
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from baleine.cli.main import main\n"
        "for argv in (['ps', '-q'], ['exec', '-d', '-e', 'A=1', 'c', 'true'], ['run', '--rm', '-d', 'busybox', 'true'],"
        " ['stop', '-t', '0', 'c'], ['start', 'c'], ['rm', '-f', 'c'], ['logs', '-f', 'c'], ['version']):\n"
        f"    assert main(['-H', '{host}', *argv]) != 0, argv\n"
        "print(sorted(m for m in ('argparse', 're', 'json', 'typing', 'subprocess', 'dataclasses', 'platform',"
        " 'contextlib', 'importlib', 'warnings', 'collections') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-IS", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "[]", out.stderr


def test_commands_without_output_import_no_formatting(tmp_path: Path) -> None:
    """``version``, ``ps -q``, ``exec``, ``stop``, ``start``, ``rm`` and ``inspect`` (its
    JSON: ``cli/indentjson.py``) run for real against a socket where no daemon answers:
    neither the template engine, the table formatting, the run module nor json is
    imported (each costs the command's start-up; issue 13)."""
    host = f"unix://{tmp_path}/none.sock"
    banned = ("baleine.gotemplate", "baleine.cli.formatting", "baleine.cli.run", "baleine.cli.system", "json")
    for argv in (["version"], ["ps", "-q"], ["exec", "c", "true"], ["stop", "c"], ["start", "c"], ["rm", "c"],
                 ["inspect", "c"]):
        code = (
            "import sys\n"
            f"sys.path.insert(0, {str(ROOT)!r})\n"
            "from baleine.cli.main import main\n"
            f"assert main(['-H', '{host}', *{argv!r}]) != 0\n"
            f"print(sorted(m for m in {banned!r} if m in sys.modules))\n"
        )
        out = subprocess.run([sys.executable, "-IS", "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        allowed = ["baleine.cli.system"] if argv[0] == "inspect" else []  # `inspect` lives there (any object)
        assert out.stdout.splitlines()[-1] == repr(allowed), (argv, out.stdout, out.stderr)


def test_cached_build_imports_neither_argparse_nor_re(tmp_path: Path) -> None:
    """``baleine build`` of a context whose tar is cached (a no-change rebuild), run
    for real against a socket where no daemon answers: parsing, the context and the
    request's parameters need neither argparse, re, json nor tarfile."""
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY src/ /src/\n")
    (ctx / "src" / "a.sh").write_text("echo a\n")
    host = f"unix://{tmp_path}/none.sock"
    argv = ["build", "-q", "-t", "app:1", "--rm", "--build-arg", "A=1", "--label", "x=y", str(ctx)]
    env = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    code = (
        "import sys\n"
        "import baleine.client.context_cache as cache\n"
        "cache.RACY_NS = -(1 << 62)  # store even a tree written a moment ago\n"
        "from baleine.cli.main import main\n"
        f"assert main(['-H', '{host}', *{argv!r}]) != 0\n"
        "print(sorted(m for m in ('argparse', 're', 'json', 'tarfile', 'tempfile', 'typing', 'subprocess')"
        " if m in sys.modules))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                           check=True)
    assert "tarfile" in first.stdout  # the first build wrote the tar (and stored it)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.splitlines()[-1] == "[]", out.stderr
