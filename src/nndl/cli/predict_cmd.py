"""``nndl predict MODEL IMAGE...``: classify your own digit images.

Each image goes through MNIST's own preprocessing (ink white on black, cropped, fitted
in 20×20 keeping its aspect ratio, centred by centre of mass in 28×28) and then through
the model's stored preprocessing, if any.

An image that cannot be read (not an image, blank, too big) does not stop the others:
it gets one ``nndl predict: error: ...`` line on stderr and the rest are classified.
Exit status: 0 if every image was classified; 1 if some could not be read (the others
were classified); 2 if none could be read, or the model or an option is bad.
"""
from __future__ import annotations

import sys

import numpy

from nndl import io
from nndl.cli.common import print_json
from nndl.ensemble import normalize
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("predict", help="classify PNG/JPEG digit images with a saved model",
                              description="Print the predicted digit and the top-3 probabilities for each image.")
    p.add_argument("model", help="a model saved by nndl train (.npz)")
    p.add_argument("images", nargs="+", help="PNG or JPEG files, one digit each")
    p.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=run)


def _read_images(paths) -> tuple[list, list]:
    """Prepare each image file; return (the paths that worked, their inputs), and print one line
    on stderr for each that did not."""
    from nndl.data.images import load_digit_image

    good, inputs = [], []
    for path in paths:
        try:
            inputs.append(load_digit_image(path))
        except NndlError as exc:
            print(f"nndl predict: error: {exc}", file=sys.stderr)
            continue
        good.append(path)
    return good, inputs


def run(args) -> int:
    network = io.load(args.model)
    if int(numpy.prod(network.input_shape)) != 784:
        raise NndlError(f"{args.model} expects inputs of shape {network.input_shape}, but images are "
                        f"preprocessed to 28x28 MNIST digits")
    paths, inputs = _read_images(args.images)
    if not paths:
        return 2
    x = numpy.stack(inputs)
    if network.preprocessor is not None:
        x = network.preprocessor.transform(x)
    probs = normalize(network.predict_proba(x))   # softmax as it is; sigmoid outputs scaled to sum to 1
    names = network.class_names or [str(i) for i in range(network.num_classes)]
    top = max(1, min(args.top, len(names)))
    for path, p in zip(paths, probs):
        order = numpy.argsort(-p, kind="stable")[:top]
        if args.json:
            print_json({"image": path, "prediction": names[order[0]],
                        "top": [{"class": names[i], "probability": float(p[i])} for i in order]})
        else:
            shown = ", ".join(f"{names[i]}: {100 * p[i]:.1f}%" for i in order)
            print(f"{path}: {names[order[0]]}  ({shown})")
    return 0 if len(paths) == len(args.images) else 1
