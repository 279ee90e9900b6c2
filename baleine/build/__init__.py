"""Dockerfile builds: the parser (``parser``, ``instructions``), Docker's shell-word
expansion (``shell``), ``.dockerignore`` matching (``dockerignore``) — all pure —
the planner (``planner``: stages, dependencies, steps, cache keys) and the
builder with its persistent cache (``builder`` orchestrates, one module per kind
of step under ``steps``, ``state``, ``cache``, ``context``, ``fsops``,
``executor``, ``metadata``; ``failedrun`` keeps a failed RUN's container). The engine wires ``builder.Builder.for_engine`` as
``engine.builder``; ``api/build.py`` and ``cli/build.py`` are its surfaces."""
