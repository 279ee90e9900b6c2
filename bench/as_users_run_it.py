"""Imported by every benchmark before ``tests.conftest``: the daemons it starts run as
users run theirs, without the tests' slow-callback watch. That watch puts the event
loop in asyncio's debug mode, which records a stack at every ``call_soon``, future and
task: about twice the engine's CPU (an exec's daemon CPU 9.7 → 4.0 ms), so every
Baleine figure measured with it was pessimistic (before 2026-12-05, all but build.py's)."""

import os

os.environ.setdefault("BALEINE_LOOP_THRESHOLD", "0")
