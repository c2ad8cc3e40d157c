"""``nndl sample MODEL``: text from a character model trained by ``nndl train --data FILE.txt``.

    nndl sample model.npz --length 500 --temperature 0.8 --prime "ROMEO:"

Prints the prime and the characters drawn after it (see :mod:`nndl.sampling`).
"""
from __future__ import annotations

import sys

from nndl import io
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="generate text from a character model",
                              description="Generate text from a character model saved by nndl train --data FILE.txt.")
    p.add_argument("model", help="a character model (.npz)")
    p.add_argument("--length", type=int, default=300, help="characters to draw (default 300)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="τ > 0: below 1 more likely characters, above 1 more random (default 1)")
    p.add_argument("--prime", default="", help="text to start from (default: a newline)")
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


def run(args) -> int:
    from nndl.sampling import sample

    if not args.temperature > 0:
        raise NndlError(f"--temperature must be a positive number (1 samples the model's own distribution), got "
                        f"{args.temperature}")
    network = io.load(args.model)
    vocabulary = vocabulary_of(network, args.model)
    text = sample(network, vocabulary, args.length, args.temperature, args.prime, args.seed)
    sys.stdout.write(text + ("" if text.endswith("\n") else "\n"))
    return 0
