#!/usr/bin/env python3
"""The network step of a container start, with and without the sandbox pool.

Makes a bridge of its own (tagged like a daemon's, removed at the end) and times,
in this process and as the daemon's worker thread would run them:

- ``plumb``: ``bridge.plumb`` of one link (what a start costs without a pooled sandbox);
- ``finish``: ``pool.finish`` of a member made beforehand (what a start costs with one);
- ``make``: making a member (the background refill's cost, off the start's path).

Usage: bench/sandbox_pool.py [-n 30]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from baleine.engine.networks import bridge, netns, pool  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=30)
    args = ap.parse_args()
    tag = "b" + secrets.token_hex(4)[:7]
    br = f"blb-{tag}"
    ns_dir = tempfile.mkdtemp(prefix="pool-bench-", dir="/run")
    bridge.ensure_bridge(br, IPv4Interface("10.231.0.1/24"), 1500, f"baleine:{tag}:net:bench")
    times: dict[str, list[float]] = {"plumb": [], "finish": [], "make": []}
    try:
        for i in range(args.n):
            addr = IPv4Interface(f"10.231.0.{10 + i % 200}/24")

            def link(host_if: str) -> bridge.Link:
                return bridge.Link("eth0", host_if, br, addr, "02:42:0a:e7:00:0a", 1500,
                                   IPv4Address("10.231.0.1"), f"baleine:{tag}:ctr:bench")

            path = os.path.join(ns_dir, f"c{i}")
            t0 = time.perf_counter()
            one = link("veth" + secrets.token_hex(4)[:7])
            bridge.plumb(path, [one])
            times["plumb"].append(time.perf_counter() - t0)
            netns.remove(path)
            bridge.delete_link(one.host_if)

            t0 = time.perf_counter()
            sb = pool.make(ns_dir, br, 1500, tag)
            times["make"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            pool.finish(sb, path, link(sb.host_if))
            times["finish"].append(time.perf_counter() - t0)
            netns.remove(path)
            bridge.delete_link(sb.host_if)
    finally:
        bridge.delete_link(br)
        for name in os.listdir(ns_dir):
            netns.remove(os.path.join(ns_dir, name))
        os.rmdir(ns_dir)
    print(f"median of {args.n}")
    for k, v in times.items():
        print(f"  {k:8s} {statistics.median(v) * 1000:7.2f} ms")
    print(f"  saved on a start: {(statistics.median(times['plumb']) - statistics.median(times['finish'])) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
