"""``nndl sample MODEL``: text from a character model, or examples from a generative model.

    nndl sample model.npz --length 500 --temperature 0.8 --prime "ROMEO:"
    nndl sample gan.npz --n 64 [--label 3] --out grid.png [--npz samples.npz]

A character model (trained by ``nndl train --data FILE.txt``) prints the prime and the
characters drawn after it (see :mod:`nndl.sampling`).  A generative model (``nndl train --model``:
an RBM, a deep belief net, a GAN, a VAE, ...) draws ``--n`` examples, of class ``--label`` if it is
conditional, and writes them as a grid of images (PNG) and/or as an array (.npz).
"""
from __future__ import annotations

import sys

from nndl import io
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="generate text from a character model or images from a generative one",
                              description="Generate text from a character model saved by nndl train --data FILE.txt, "
                                          "or examples from a generative model saved by nndl train --model.")
    p.add_argument("model", help="a character model or a generative model (.npz)")
    t = p.add_argument_group("character models")
    t.add_argument("--length", type=int, default=None, help="characters to draw (default 300)")
    t.add_argument("--temperature", type=float, default=None,
                   help="τ > 0: below 1 more likely characters, above 1 more random (default 1)")
    t.add_argument("--prime", default=None, help="text to start from (default: a newline)")
    g = p.add_argument_group("generative models")
    g.add_argument("--n", type=int, default=None, help="examples to draw (default 64)")
    g.add_argument("--label", type=int, default=None, help="the class to draw (a conditional model)")
    g.add_argument("--out", help="write the examples as a grid of images to this PNG")
    g.add_argument("--npz", help="write the examples as an array 'x' to this .npz")
    p.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    p.set_defaults(func=run)


def vocabulary_of(network, path):
    """The vocabulary stored with a character model; one line if there is none."""
    from nndl.data.text import Vocabulary

    text = getattr(network, "metadata", {}).get("text")
    chars = text.get("vocabulary") if isinstance(text, dict) else None
    if not isinstance(chars, list) or network.input_kind != "int":
        raise NndlError(f"{path} is not a character model (no vocabulary stored with it; train one with "
                        f"nndl train --data FILE.txt)")
    try:
        vocabulary = Vocabulary(chars)
    except NndlError as exc:
        raise NndlError(f"{path}: the stored vocabulary is broken ({exc})") from None
    if network.output_shape[-1] != len(vocabulary):
        raise NndlError(f"{path}: the network has {network.output_shape[-1]} outputs but its vocabulary "
                        f"{len(vocabulary)} characters")
    return vocabulary


def _refuse(args, names: tuple, kind: str) -> None:
    given = [f"--{name}" for name in names if getattr(args, name) is not None]
    if given:
        raise NndlError(f"{args.model} is {kind}; {', '.join(given)} {'is' if len(given) == 1 else 'are'} for the "
                        f"other kind of model")


def run(args) -> int:
    from nndl.models import composite

    kind = composite.read_kind(args.model)
    if kind is not None:
        return run_generative(args)
    _refuse(args, ("n", "label", "out", "npz"), "a network, not a generative model (nndl train --model)")
    return run_text(args)


def run_text(args) -> int:
    from nndl.sampling import sample

    temperature = 1.0 if args.temperature is None else args.temperature
    if not temperature > 0:
        raise NndlError(f"--temperature must be a positive number (1 samples the model's own distribution), got "
                        f"{temperature}")
    network = io.load(args.model)
    vocabulary = vocabulary_of(network, args.model)
    length = 300 if args.length is None else args.length
    text = sample(network, vocabulary, length, temperature, args.prime or "", args.seed)
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 0


def run_generative(args) -> int:
    import numpy

    from nndl import validation
    from nndl.cli.common import check_writable, say
    from nndl.models import generative

    _refuse(args, ("length", "temperature", "prime"), "a generative model, not a character model")
    n = validation.whole("--n", 64 if args.n is None else args.n, low=1, high=100_000)
    if not (args.out or args.npz):
        raise NndlError("say where the examples go: --out grid.png and/or --npz samples.npz")
    for option, path in (("--out", args.out), ("--npz", args.npz)):
        if path:
            check_writable(path, option)
    model = generative.load(args.model)
    label = model.check_label(args.label, str(args.model))
    x = model.sample(n, numpy.random.default_rng(args.seed), label)
    if args.out:
        from nndl.image_grid import save_png, tile

        if model.image_shape is None:
            raise NndlError(f"{args.model}: a {model.kind} of {model.example_shape} values draws no images; use --npz")
        save_png(tile(x, model.image_shape), args.out)
        say(f"wrote {n} samples of the {model.kind} to {args.out}")
    if args.npz:
        from nndl.io import _write_npz
        from pathlib import Path

        _write_npz(Path(args.npz), {"x": numpy.asarray(x, dtype=numpy.float32)})
        say(f"wrote {n} samples of the {model.kind} to {args.npz}")
    return 0
