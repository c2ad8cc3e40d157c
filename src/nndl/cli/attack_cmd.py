"""``nndl attack MODEL --method fgsm|pgd|fooling --eps E [--steps K] [--target C] --out DIR``.

Attacks a saved classifier in pixel space, through its stored preprocessing, on a data split (the
model's own data, test split, by default); writes ``DIR/attack.json`` (accuracy, error and mean
confidence clean and under attack, the attack's settings, wall time) and ``DIR/attack.png`` (clean
images, perturbations, adversarial images).  ``--method fooling`` starts from noise instead and
drives it to ``--target`` (``DIR/fooling.json``, ``DIR/fooling.png``).  Every bad value is one line
before any work.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy

from nndl import io
from nndl.cli.common import check_writable, print_json, say
from nndl.errors import NndlError


def register(subparsers) -> None:
    p = subparsers.add_parser("attack", help="adversarial examples against a saved classifier (FGSM, PGD, fooling)",
                              description="Attack a saved classifier in pixel space: accuracy and confidence under "
                                          "attack as JSON, and a grid of clean / perturbation / adversarial images.")
    p.add_argument("model", help="a classifier saved by nndl train (.npz)")
    add_attack_options(p)
    p.add_argument("--confidence", type=float, default=0.99, help="fooling: stop an image at this output (0.99)")
    p.add_argument("--examples", type=int, help="attack only the first N examples of the split (default all; "
                                                "fooling: how many images, default 10)")
    p.add_argument("--data", help="'mnist', an IDX folder or a CSV file (default: the model's training data)")
    p.add_argument("--split", default="test", choices=["test", "validation", "train"], help="default test")
    p.add_argument("--out", required=True, help="folder for attack.json and attack.png (made if missing)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.set_defaults(func=run)


def add_attack_options(p) -> None:
    """The attack's options, shared with ``nndl robustness``."""
    p.add_argument("--method", default="fgsm", choices=["fgsm", "pgd", "fooling"], help="default fgsm")
    p.add_argument("--eps", type=float, default=0.25, help="ε: L∞ per pixel, or the L2 radius (default 0.25)")
    p.add_argument("--steps", type=int, help="PGD steps K (default 40), fooling steps (default 200)")
    p.add_argument("--step", type=float, help="step size α (PGD default 2.5 ε / K; fooling 0.01)")
    p.add_argument("--norm", default="linf", choices=["linf", "l2"], help="PGD's ball (default linf)")
    p.add_argument("--target", help="a targeted attack towards this class (index or class name)")
    p.add_argument("--no-random-start", action="store_true", help="PGD from x itself instead of a random point")
    p.add_argument("--low", type=float, default=0.0, help="the pixel range's low end (default 0)")
    p.add_argument("--high", type=float, default=1.0, help="the pixel range's high end (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seeds PGD's random starts and the fooling noise")
    p.add_argument("--batch-size", type=int, default=500, help="examples attacked at once (default 500)")


def target_class(text, network, path: str):
    """``--target`` as a class index: a number, or one of the model's class names; one line if neither."""
    if text is None:
        return None
    names = network.class_names or []
    if str(text) in names:
        return names.index(str(text))
    try:
        value = int(str(text))
    except ValueError:
        raise NndlError(f"--target {text!r} is neither a class index nor one of {path}'s class names"
                        + (f" ({', '.join(names[:20])})" if names else "")) from None
    if not 0 <= value < network.num_classes:
        raise NndlError(f"--target {value} is not one of {path}'s classes 0..{network.num_classes - 1}")
    return value


def make_attack(args, target):
    from nndl.adversarial import Attack

    if args.batch_size < 1:
        raise NndlError(f"--batch-size must be at least 1, got {args.batch_size}")
    return Attack(args.method, args.eps, args.steps, args.step, args.norm, target, not args.no_random_start,
                  args.low, args.high)


def pixels_of(network, args, path: str):
    """The model's classifier in pixel space and the raw examples of the split, checked against the range."""
    from nndl.adversarial import PixelClassifier
    from nndl.cli.evaluate_cmd import load_eval_split

    model = PixelClassifier(network, args.low, args.high, path)
    part, _ = load_eval_split(network, args.data, None, args.split, path)
    x, y = numpy.asarray(part.x), numpy.asarray(part.y)
    if getattr(args, "examples", None) is not None:
        if args.examples < 1:
            raise NndlError(f"--examples must be at least 1, got {args.examples}")
        x, y = x[:args.examples], y[:args.examples]
    lo, hi = float(x.min()), float(x.max())
    if lo < args.low or hi > args.high:
        raise NndlError(f"{part.name} ({args.split}) holds values {lo:g}..{hi:g}, outside the pixel range "
                        f"[{args.low:g}, {args.high:g}]; give --low and --high")
    if y.dtype.kind not in "iu" or y.ndim != 1:
        raise NndlError(f"{part.name} has no class labels to attack")
    return model, part, x, y


def out_folder(text) -> Path:
    out = Path(text).expanduser()
    if out.exists() and not out.is_dir():
        raise NndlError(f"--out {out}: is a file; name a folder")
    if not out.parent.is_dir():
        raise NndlError(f"--out {out}: the folder {out.parent} does not exist")
    out.mkdir(exist_ok=True)
    check_writable(out / "attack.json", "--out")
    return out


def run(args) -> int:
    from nndl.adversarial.pixels import check_classifier

    if args.method == "fooling":
        return run_fooling(args)
    network = io.load(args.model)
    check_classifier(network, args.model)
    attack = make_attack(args, target_class(args.target, network, args.model))
    out = out_folder(args.out)
    model, part, x, y = pixels_of(network, args, args.model)
    attack.check(model, x.shape[1:])
    start = time.perf_counter()
    figures, x_adv, clean, adv = attack.evaluate(model, x, y, args.batch_size, args.seed)
    seconds = time.perf_counter() - start
    figures = {"model": args.model, "data": part.name, "split": args.split, **figures, "seconds": seconds}
    from nndl.adversarial.report import attack_grid, write_json

    write_json(out / "attack.json", figures)
    title = (f"{Path(args.model).name}: {attack.method.upper()} {attack.norm} ε={attack.eps:g}"
             + (f", {attack.steps} steps" if attack.method == "pgd" else "")
             + f" — accuracy {100 * figures['clean_accuracy']:.1f}% → {100 * figures['adversarial_accuracy']:.1f}%")
    attack_grid(out / "attack.png", x, x_adv, y, clean, adv, title, network.input_shape, args.low, args.high)
    if args.json:
        print_json(figures)
    else:
        say(f"{args.model} on {part.name}, {len(y)} examples, {attack}: accuracy "
            f"{100 * figures['clean_accuracy']:.2f}% clean, {100 * figures['adversarial_accuracy']:.2f}% under attack "
            f"(mean confidence {figures['adversarial_mean_confidence']:.3f}); {seconds:.1f} s; wrote {out}/attack.json, "
            f"attack.png")
    return 0


def run_fooling(args) -> int:
    from nndl import validation
    from nndl.adversarial import PixelClassifier, fooling_images
    from nndl.adversarial.pixels import check_classifier
    from nndl.adversarial.report import image_row, write_json

    network = io.load(args.model)
    check_classifier(network, args.model)
    target = target_class(args.target, network, args.model)
    if target is None:
        raise NndlError("--method fooling needs --target CLASS, the class to drive the noise to")
    steps = validation.whole("--steps", 200 if args.steps is None else args.steps, low=1)
    step = validation.number("--step", 0.01 if args.step is None else args.step, low=0.0, low_open=True)
    confidence = validation.number("--confidence", args.confidence, 0.0, 1.0, low_open=True)
    n = validation.whole("--examples", 10 if args.examples is None else args.examples, low=1, high=100_000)
    out = out_folder(args.out)
    model = PixelClassifier(network, args.low, args.high, args.model)
    start = time.perf_counter()
    x, p, taken = fooling_images(model, target, n, steps, step, confidence, numpy.random.default_rng(args.seed))
    seconds = time.perf_counter() - start
    figures = {"model": args.model, "method": "fooling", "target": target, "images": n, "steps": steps, "step": step,
               "confidence_goal": confidence, "mean_target_output": float(p.mean()),
               "reached": float((p >= confidence).mean()), "mean_steps": float(taken.mean()), "seconds": seconds}
    write_json(out / "fooling.json", figures)
    image_row(out / "fooling.png", x[:10], [f"{v:.3f}" for v in p[:10]],
              f"{Path(args.model).name}: noise → class {target}", network.input_shape, args.low, args.high)
    if args.json:
        print_json(figures)
    else:
        say(f"{n} fooling images for class {target}: mean output {figures['mean_target_output']:.3f}, "
            f"{100 * figures['reached']:.0f}% reached {confidence:g}; {seconds:.1f} s; wrote {out}/fooling.json, "
            f"fooling.png")
    return 0
