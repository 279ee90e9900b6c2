#!/usr/bin/env python3
"""Median wall time of the ``baleine`` CLI's everyday commands, against the docker CLI.

Starts its own daemon on a temporary data root under /var/lib/baleine-bench, loads
busybox from ../shared/images, starts 100 idle containers, and times N runs of each
command with the ``baleine`` CLI of this checkout, started the way install.sh installs
it (the ``-IS`` launcher of ``baleine/cli/launcher.py``, written to a temporary
directory and pointing at the checkout) and, when the docker CLI is installed, the
docker CLI talking to the same daemon (``DOCKER_HOST``). The checkout is byte-compiled first. The floor is ``python -I -S -c pass`` (the interpreter alone) and
``python -c pass`` (with site). Ratios are baleine / docker CLI.

Usage: bench/cli_startup.py [-n 30]

Figures (this machine, 2 cores shared with 7 other sessions: noisy; medians of 40
interleaved runs, ms wall / CPU, 100 idle containers, docker CLI 28.2 against the same
Baleine daemon; "before" is main with install.sh's first -IS launcher, "pip wrapper"
this checkout run by pip's console-script wrapper):

    python -I -S -c pass        6.9 / 6.7     python -c pass   9.3 / 9.0
    command              baleine       before        pip wrapper   docker        baleine/docker (wall, CPU)
    version            12.9 / 11.0   13.4 / 11.7   19.6 / 17.7   14.7 / 14.1    0.88x  0.78x
    ps -q              19.8 / 12.9   21.0 / 13.5   26.8 / 19.4   21.3 / 17.5    0.93x  0.74x
    inspect            15.4 / 13.0   22.4 / 20.0   22.5 / 20.1   17.2 / 16.4    0.89x  0.79x
    exec C true        62.1 / 12.7   62.5 / 12.7   69.6 / 19.9   64.9 / 16.9    0.96x  0.75x
    run --rm ... true 114.3 / 15.8  113.6 / 16.9  120.5 / 26.0  117.6 / 22.9    0.97x  0.69x

    Earlier (pip's console-script wrapper, `python -m`): CPU of `ps -q` 38.6 -> 22.6 ms,
    `version` 44.5 -> 23.1 ms with the fast parser. The hot commands import no argparse,
    re, enum, json, typing, contextlib, importlib, template engine or table formatting
    (tests/unit/test_cli_usage_parser.py); what is left of `version` above the bare
    interpreter is ~2.5 ms of the CLI's own modules and the request.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from baleine.cli.launcher import path_entries, script  # noqa: E402
import as_users_run_it  # noqa: E402,F401 - before tests.conftest: no loop debug mode
from tests.conftest import BUSYBOX_TAR, DOCKER, destroy_daemon, new_daemon  # noqa: E402


# pip's console-script wrapper, as pip 23 writes it for ``[project.scripts]``.
PIP_WRAPPER = """#!{python}
# -*- coding: utf-8 -*-
import re
import sys
from baleine.cli.main import main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(main())
"""


def timed_together(commands: dict[str, list[str]], envs: dict[str, dict[str, str]],
                   n: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of ``n`` runs of each command, interleaved (one of
    each in turn, after one warm-up each) so that the machine's load weighs on all of
    them alike; CPU is the command's own user+system time, which the other sessions'
    load hardly changes. Exits when one fails."""
    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    for i in range(n + 1):
        for key, argv in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            # cwd "/": the same for every command (and no checkout there to shadow a package).
            r = subprocess.run(argv, env=envs[key], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd="/")
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            if i:
                times[key].append((wall, cpu))
            if r.returncode != 0:
                raise SystemExit(f"{' '.join(argv)} failed: {r.stderr.decode()}")
    return {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30)
    ap.add_argument("--containers", type=int, default=100, help="idle containers listed by ps -q")
    ap.add_argument("--root-parent", default="/var/lib/baleine-bench",
                    help="where the daemon's temporary root goes (/var/lib is where a daemon lives)")
    ap.add_argument("--baseline", help="another checkout of baleine (say, the previous commit's "
                                       "`git archive` unpacked) timed in the same runs, for before/after figures")
    args = ap.parse_args()
    n = args.n
    py = sys.executable
    trees = {"baleine": REPO} | ({"before": Path(args.baseline).resolve()} if args.baseline else {})
    # The checkouts' .pyc files, as an installed package has them (PYTHONDONTWRITEBYTECODE
    # would otherwise make every run compile the CLI's modules again).
    for tree in trees.values():
        subprocess.run([py, "-m", "compileall", "-q", str(tree / "baleine")], check=True, stdout=subprocess.DEVNULL)
    base_env = dict(os.environ)
    floor = timed_together({"python -I -S -c pass": [py, "-I", "-S", "-c", "pass"],
                            "python -c pass": [py, "-c", "pass"]},
                           {"python -I -S -c pass": base_env, "python -c pass": base_env}, n)
    launchers = Path(tempfile.mkdtemp(prefix="cli-launchers-"))
    for name, tree in trees.items():
        # The same text as install.sh's, the package found in the tree (-I: PYTHONPATH is ignored).
        (launchers / name).write_text(script(py, path_entries(str(tree))))
        (launchers / name).chmod(0o755)
    # pip's console-script wrapper (what `pip install` users run), on this checkout.
    (launchers / "pip wrapper").write_text(PIP_WRAPPER.format(python=py))
    (launchers / "pip wrapper").chmod(0o755)
    d = new_daemon(prefix="bench-", parent=args.root_parent)
    rows: list[tuple[str, dict[str, float]]] = []
    try:
        d.ok("load", "-i", str(BUSYBOX_TAR))
        for i in range(args.containers):
            d.ok("run", "-d", "--name", f"bench-idle-{i}", "busybox", "sleep", "3600")
        envs = {name: d.env() for name in trees}
        envs["pip wrapper"] = dict(d.env(), PYTHONPATH=str(REPO))
        docker = shutil.which(DOCKER)
        if docker:
            envs["docker"] = d.env()
        cases = {
            "version": ["version"],
            f"ps -q ({args.containers} containers)": ["ps", "-q"],
            "inspect": ["inspect", "bench-idle-0"],
            "exec C true": ["exec", "bench-idle-0", "true"],
            "run --rm busybox true": ["run", "--rm", "busybox", "true"],
        }
        for name, argv in cases.items():
            commands = {key: [docker if key == "docker" else str(launchers / key)] + argv for key in envs}
            rows.append((name, timed_together(commands, envs, n)))
    finally:
        destroy_daemon(d)
        shutil.rmtree(launchers, ignore_errors=True)
    print(f"median of {n} interleaved runs, ms: wall / CPU (user+system of the command)")
    for name, (wall, cpu) in floor.items():
        print(f"  {name:30s} {wall * 1000:6.1f} /{cpu * 1000:5.1f}")
    columns = list(rows[0][1]) if rows else []
    print(f"  {'command':30s}" + "".join(f" {c:>13s}" for c in columns)
          + ("   baleine/docker (wall, CPU)" if "docker" in columns else ""))
    for name, t in rows:
        line = f"  {name:30s}" + "".join(f" {t[c][0] * 1000:6.1f} /{t[c][1] * 1000:5.1f}" for c in columns)
        if "docker" in t:
            line += f"   {t['baleine'][0] / t['docker'][0]:5.2f}x {t['baleine'][1] / t['docker'][1]:5.2f}x"
        print(line)

if __name__ == "__main__":
    main()
