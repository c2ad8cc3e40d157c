"""``nndl predict MODEL IMAGE...``: classify your own digit images.

Each image goes through MNIST's own preprocessing (ink white on black, cropped, fitted
in 20×20 keeping its aspect ratio, centred by centre of mass in 28×28) and then through
the model's stored preprocessing, if any.
"""
from __future__ import annotations

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


def run(args) -> int:
    from nndl.data.images import load_digit_images

    network = io.load(args.model)
    if int(numpy.prod(network.input_shape)) != 784:
        raise NndlError(f"{args.model} expects inputs of shape {network.input_shape}, but images are "
                        f"preprocessed to 28x28 MNIST digits")
    x = load_digit_images(args.images)
    if network.preprocessor is not None:
        x = network.preprocessor.transform(x)
    probs = normalize(network.predict_proba(x))   # softmax as it is; sigmoid outputs scaled to sum to 1
    names = network.class_names or [str(i) for i in range(network.num_classes)]
    top = max(1, min(args.top, len(names)))
    for path, p in zip(args.images, probs):
        order = numpy.argsort(-p, kind="stable")[:top]
        if args.json:
            print_json({"image": path, "prediction": names[order[0]],
                        "top": [{"class": names[i], "probability": float(p[i])} for i in order]})
        else:
            shown = ", ".join(f"{names[i]}: {100 * p[i]:.1f}%" for i in order)
            print(f"{path}: {names[order[0]]}  ({shown})")
    return 0
