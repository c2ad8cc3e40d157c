"""``nndl gradcheck --net SPEC``: check every parameter's backprop gradient against finite differences."""
from __future__ import annotations

import numpy

from nndl.cli.common import print_json
from nndl.errors import NndlError
from nndl.gradcheck import THRESHOLD, check_gradients


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gradcheck", help="check backprop against finite differences",
        description="Build a network in float64, run it on random data and compare each parameter tensor's "
                    "backprop gradient with central differences. Exit status 1 if any relative error "
                    "exceeds the threshold.")
    p.add_argument("--net", default="dense(8) tanh dense(6) sigmoid softmax(4)",
                   help="layer spec (as for nndl train --net)")
    p.add_argument("--input-shape", help="shape of one example, e.g. 12 or 1,8,8 "
                                         "(default: 1,8,8 for conv/pool specs, else 12)")
    p.add_argument("--cost", default="log_likelihood", help="quadratic, cross_entropy or log_likelihood")
    p.add_argument("--batch", type=int, default=4, help="examples in the random batch (default 4)")
    p.add_argument("--lmbda", type=float, default=0.0, help="include an L2 term")
    p.add_argument("--l1", type=float, default=0.0, help="include an L1 term")
    p.add_argument("--eps", type=float, default=1e-6, help="finite-difference step (default 1e-6)")
    p.add_argument("--threshold", type=float, default=THRESHOLD, help=f"largest relative error (default {THRESHOLD:g})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object per tensor, then a summary")
    p.set_defaults(func=run)


def _input_shape(text: str | None, spec: str) -> tuple:
    if not text:
        return (1, 8, 8) if ("conv" in spec or "pool" in spec) else (12,)
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise NndlError(f"--input-shape {text!r} must be comma-separated integers, e.g. 1,8,8") from None
    if not shape or min(shape) < 1:
        raise NndlError(f"--input-shape {text!r} must be positive integers")
    return shape


def build_network(spec: str, input_shape, cost: str, seed: int):
    from nndl.network import Network
    from nndl.spec import parse_spec

    layers = parse_spec(spec, input_shape)
    return Network(layers, input_shape, cost=cost, seed=seed, dtype=numpy.float64)


def check_network(network, batch: int, seed: int, regularizers=(), eps: float = 1e-6) -> dict[str, float]:
    """Relative errors per tensor for ``network`` on a random batch (inputs N(0,1), random labels)."""
    if batch < 2:
        raise NndlError(f"--batch must be at least 2 (batch norm needs it), got {batch}")
    rng = numpy.random.default_rng(seed)
    x = rng.standard_normal((batch,) + network.input_shape)
    y = rng.integers(0, network.num_classes, batch)
    return check_gradients(network, x, y, regularizers=regularizers, eps=eps)


def report(errors: dict[str, float], threshold: float, as_json: bool) -> int:
    """Print one line per tensor; return 0 if every error is within ``threshold``, else 1."""
    failed = [name for name, e in errors.items() if not e <= threshold]
    for name, e in errors.items():
        if as_json:
            print_json({"tensor": name, "relative_error": e, "ok": e <= threshold})
        else:
            print(f"{name:<24} {e:.3e}  {'ok' if e <= threshold else 'FAIL'}")
    if as_json:
        print_json({"tensors": len(errors), "failed": failed, "threshold": threshold, "ok": not failed})
    else:
        print(f"{len(errors) - len(failed)} of {len(errors)} tensors within {threshold:g}"
              + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def run(args) -> int:
    from nndl.optim import L1, L2

    network = build_network(args.net, _input_shape(args.input_shape, args.net), args.cost, args.seed)
    regularizers = ([L2(args.lmbda)] if args.lmbda else []) + ([L1(args.l1)] if args.l1 else [])
    errors = check_network(network, args.batch, args.seed, regularizers, args.eps)
    return report(errors, args.threshold, args.json)
