"""The Neural Turing Machine: head operations (:mod:`.addressing`), the machine and its BPTT
(:mod:`.machine`), the model, its cost and its file format (:mod:`.model`)."""
from nndl.models.ntm.machine import TuringMachine
from nndl.models.ntm.model import NTM, load, save

__all__ = ["NTM", "TuringMachine", "load", "save"]
