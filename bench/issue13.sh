#!/usr/bin/env bash
# Every row of issue 13 in one run, each benchmark printing Baleine's figure beside
# Docker's and the ratio when a Docker engine answers on /var/run/docker.sock (Debian's
# docker.io started by hand: benchmarks only, tests never need it) and docker-compose
# is installed. Daemon roots live under /var/lib/baleine-bench (see each script).
#
# Usage: bench/issue13.sh [N]   (N: runs per latency figure, default 30)
set -euo pipefail
cd "$(dirname "$0")"
py=${PYTHON:-/opt/baleine/bin/python}
n=${1:-30}
step() { echo; echo "== $*"; }
step "run --rm and exec (baleine CLI, docker CLI against Baleine, Docker)"; "$py" run_exec.py -n "$n"
step "CLI start-up against the same daemon (baleine CLI / docker CLI)"; "$py" cli_startup.py -n "$n"
step "density: 100 idle containers (monitor PSS, daemon RSS, ps -q, GET /containers/json)"; "$py" density.py -n 100
step "builds (cold, no change, code change)"; "$py" build.py --rounds 5
step "no-change rebuild, $n runs"; "$py" build.py --no-change "$n"
step "published port vs direct"; "$py" network.py
step "compose up/down of 8 services (docker-compose 1.29 against Docker)"; "$py" compose.py -n 3
