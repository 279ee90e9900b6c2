"""The build steps, one module per kind of instruction.

A step is ``async def step(b, state, instr, step) -> (new state, cached)``: it
expands the instruction with the state's variables, looks its cache key up
(``b.key``/``b.lookup``), and on a miss does the work (in worker threads when
it blocks) and records the result (``b.history``, ``b.add_layer``,
``b.record``). ``b`` is the running build (:class:`..builder.BuildRun`), which
orchestrates stages and dispatches to these modules:

* :mod:`.metadata`: ENV, LABEL, CMD, ARG... (config only, an empty layer);
* :mod:`.workdir`: WORKDIR (a layer only when the directory must be made);
* :mod:`.copy`: COPY and ADD; :mod:`.run`: RUN and its ``--mount``s;
* :mod:`.sources`: other stages' and images' root filesystems as read-only views.
"""
