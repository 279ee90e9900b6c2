"""The node agent (kubelet) of Baleine's cluster: runs the pods bound to this node
as Baleine containers, through ``ctx.backends`` only.

Modules: ``agent`` (scheduling onto this node, admission, one worker per pod,
orphans), ``pods`` (the pod worker), ``sandbox`` (the pod network and the pause
container), ``pause`` (the sandbox image, made in-process), ``config`` (a pod's
container as a create body), ``pull`` (imagePullPolicy), ``status`` (the pod status as kubelet reports it),
``backoff`` (crash-loop back-off), ``admission`` (requests against allocatable),
``names`` (container names and labels).
"""

from __future__ import annotations

from ..manager import NOTHING, Component, Context


async def start(ctx: Context) -> Component:
    """The agent, started; nothing without an engine."""
    if ctx.backends is None or ctx.backends.containers is None:
        return NOTHING
    from .agent import Agent

    agent = Agent(ctx)
    await agent.start()
    return agent
