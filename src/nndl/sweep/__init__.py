"""Hyper-parameter sweeps on Optuna: search spaces over ``nndl train``'s options (:mod:`.space`), trials
that train through ``nndl train``'s own functions (:mod:`.objective`), storages with a heartbeat
(:mod:`.storage`), the worker loop (:mod:`.runner`), and the results (:mod:`.show`)."""
