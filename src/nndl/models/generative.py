"""The model kinds that learn from the data alone and generate data, and what they share.

Each kind lives in its own module of :mod:`nndl.models` (listed in :data:`KINDS`) and defines a
class derived from :class:`GenerativeModel`; it says

* how it is built from the command line: ``nndl train --model "rbm(500, k=1)"`` calls the kind's
  :meth:`GenerativeModel.from_command` with the call's arguments (checked by
  :func:`nndl.registry.call_with`, so a wrong option is one line that shows the right usage),
  then :meth:`GenerativeModel.fit_command` with the data and the command's options;
* how it is stored: :meth:`GenerativeModel.parts` gives its config, networks and arrays for a
  composite file (:mod:`nndl.models.composite`), :meth:`GenerativeModel.from_parts` builds it back;
* how it generates: :meth:`GenerativeModel.sample` draws ``n`` examples (rows of values in [0, 1]
  for MNIST's pixels) from a seeded generator, of one class if the model is ``conditional``.

``nndl sample MODEL --n 64 [--label 3] --out grid.png`` loads any of them through :func:`load`.
"""
from __future__ import annotations

import importlib

import numpy

from nndl.errors import NndlError

#: Kind name (as in ``--model NAME(...)`` and in the file) → the module that defines it.
KINDS = {
    "autoencoder": "nndl.models.autoencoders",
    "stacked_autoencoder": "nndl.models.autoencoders",
    "sparse_coding": "nndl.models.sparse_coding",
    "rbm": "nndl.models.rbm",
    "dbn": "nndl.models.dbn",
    "gan": "nndl.models.gan",
    "vae": "nndl.models.vae",
}


class GenerativeModel:
    """What every generative or unsupervised model kind offers the commands.

    Subclasses set :attr:`kind` (a key of :data:`KINDS`) and implement the methods below that
    apply to them; a method that does not apply raises a one-line NndlError (a sparse coder
    does not sample, say).
    """

    kind = "generative"
    #: True if :meth:`sample` takes a class label (a conditional GAN, a label-clamped DBN).
    conditional = False
    #: The number of classes a conditional model generates, else None.
    classes: int | None = None
    #: The shape of one example, e.g. ``(784,)``, and of an image for grids, e.g. ``(28, 28)``.
    example_shape: tuple = (784,)
    image_shape: tuple | None = (28, 28)

    # -- the command line -----------------------------------------------------------------------
    @classmethod
    def from_command(cls, *args, **kwargs):
        """The untrained model of ``--model KIND(args...)``; the kind's own signature is its usage."""
        raise NndlError(f"{cls.kind} cannot be trained from the command line yet")

    def fit_command(self, splits, options) -> dict:
        """Train on ``splits`` (DataSplits) with the command's ``options`` (epochs, eta, batch_size, seed,
        json, quiet, ...); returns the final figures (a dict of JSON values) to print and store."""
        raise NndlError(f"{self.kind} cannot be trained from the command line yet")

    # -- the file ---------------------------------------------------------------------------------
    def parts(self) -> tuple[dict, dict, dict]:
        """``(config, networks, arrays)``: JSON values, named Networks and named arrays to store."""
        raise NotImplementedError

    @classmethod
    def from_parts(cls, composite):
        """The model stored in ``composite`` (:class:`nndl.models.composite.Composite`); its shapes are
        checked against its config with ``composite.array_of``."""
        raise NotImplementedError

    def save(self, path, metadata: dict | None = None):
        from nndl.models import composite

        config, networks, arrays = self.parts()
        return composite.save(path, self.kind, config, networks, arrays, metadata)

    # -- generating -------------------------------------------------------------------------------
    def sample(self, n: int, rng: numpy.random.Generator, label: int | None = None) -> numpy.ndarray:
        """``n`` examples drawn from the model, shape ``(n,) + example_shape``, host float32."""
        raise NndlError(f"a {self.kind} does not generate examples")

    def check_label(self, label, where: str) -> int | None:
        """``label`` if this model can generate that class; one line otherwise."""
        if label is None:
            return None
        if not self.conditional:
            raise NndlError(f"{where}: --label needs a conditional model; this {self.kind} was trained without "
                            f"labels")
        if isinstance(label, bool) or not isinstance(label, (int, numpy.integer)) or \
                not 0 <= int(label) < int(self.classes):
            raise NndlError(f"{where}: --label must be a class 0..{int(self.classes) - 1}, got {label}")
        return int(label)


def epoch_reporter(options: dict, line, extra=None):
    """The per-epoch report of ``nndl train --model``: each record (with ``extra(record)``'s keys added)
    as one JSON line with ``--json``, else the text ``line(record)``, nothing with ``--quiet``."""
    from nndl.cli.common import print_json, say

    def report(record):
        if extra is not None:
            record = dict(record, **extra(record))
        if options.get("json"):
            print_json(record)
        elif not options.get("quiet"):
            say(line(record))
    return report


def kind_class(name: str):
    """The :class:`GenerativeModel` subclass of kind ``name``; one line if nndl has no such kind."""
    from nndl.registry import normalize

    key = normalize(name)
    if key not in KINDS:
        raise NndlError(f"unknown model kind {name!r}; choose one of {', '.join(sorted(KINDS))}")
    try:
        module = importlib.import_module(KINDS[key])
    except ModuleNotFoundError as exc:
        if exc.name == KINDS[key]:
            raise NndlError(f"the model kind {key!r} is not built yet") from None
        raise
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, GenerativeModel) and value.kind == key:
            return value
    raise NndlError(f"the module {KINDS[key]} defines no model of kind {key!r}")


def load(path, kinds: tuple | None = None, dtype=None):
    """The generative model stored at ``path`` (any kind of :data:`KINDS`, or one of ``kinds``)."""
    from nndl.models import composite

    from nndl.layers.base import allocation_budget

    stored = composite.load(path, kinds, dtype)
    if stored.kind not in KINDS:
        raise NndlError(f"{path} holds a model of kind {stored.kind!r}, which this nndl does not know")
    try:
        with allocation_budget(2 * stored.held + 1024):      # the fresh model, before the stored parts replace it
            model = kind_class(stored.kind).from_parts(stored)
    except NndlError as exc:
        text = str(exc)
        raise NndlError(text if text.startswith(str(path)) else f"{path}: {text}") from None
    model.metadata = stored.metadata
    return model
