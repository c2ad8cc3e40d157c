"""``nndl train``: build a network, train it, save it.

With no options it trains the book's chapter 3 network ([784, 100, 10], sigmoid,
cross-entropy, η = 0.5, λ = 5.0, mini-batches of 10) on MNIST and saves ``model.npz``.
Settings come from, in order of precedence: the command line, a ``--preset``, the
defaults below.  ``--resume CHECKPOINT`` continues a run from its checkpoint with the
settings stored in it.

What is learned (``--task``) is classification for images; for a CSV table it is
inferred from the label column(s) unless given: classification, binary (one sigmoid
output), multilabel (one sigmoid per label column), regression (linear outputs); and
``reconstruction`` trains an autoencoder on any data (the target is the input).
"""
from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy

from nndl import io
from nndl.cli.common import (check_writable, data_setting, info, make_from_registry, print_json, say,
                             stored_settings)
from nndl.costs import get_cost
from nndl.errors import NndlError
from nndl.layers.data_init import initialize_from_data
from nndl.models import model_for_task
from nndl.registry import normalize
from nndl.trainer import Trainer

#: The optimizers that take --momentum (as their ``mu``).
MOMENTUM_OPTIMIZERS = ("momentum", "nesterov", "rmsprop", "cauchy_backprop", "adaptive_gains")
#: The optimizers meant for full batches (a note says so when mini-batches are smaller).
FULL_BATCH_OPTIMIZERS = ("adaptive_gains", "quickprop")
#: The optimizers that evaluate the cost themselves: without --batch-size they take the whole training set.
COST_OPTIMIZERS = ("annealing", "cauchy", "cauchy_backprop", "newton", "levenberg_marquardt", "lbfgs")
#: The defaults when neither the command line nor a preset says otherwise.
DEFAULTS = {
    "data": "mnist", "label": None, "task": None, "layers": None, "net": None, "activation": "sigmoid",
    "cost": None, "init": "default", "optimizer": "sgd", "eta": None, "momentum": None,
    "lmbda": 0.0, "l1": 0.0, "dropout": 0.0, "epochs": 10, "batch_size": 10, "train_size": None,
    "early_stop": None, "monitor": None, "schedule": None, "seed": 0, "batch_norm": False, "max_norm": None,
    "preprocess": None, "clip_norm": None, "clip_value": None, "grad_noise": None, "expand": False, "augment": None,
    "monitor_training": False, "monitor_test": False, "threads": "auto",
    "workers": "auto", "init_from": None, "freeze": 0, "replace_head": None, "order": None, "adversarial": None,
}
#: What ``--resume`` lets the command line change: how long and how the run goes, not what it trains.
RESUME_MAY_CHANGE = ("epochs", "threads", "workers")
#: Where the model goes without ``--out`` (a resumed run: where its first run put it).
DEFAULT_OUT = "model.npz"
#: What the decay schedules count, for --help and for their errors.
SCHEDULE_UNITS = ("cosine(T), one_cycle(T,max_eta) and inverse_time(λ) count mini-batch steps (a whole run is "
                  "epochs × examples / batch size of them); add unit=epoch or unit=step to choose, e.g. "
                  "cosine(30, unit=epoch)")
#: The default network when the user names neither --layers, --net nor --preset.
DEFAULT_HIDDEN, DEFAULT_ETA, DEFAULT_LMBDA = 100, 0.5, 5.0
#: SGD's default η for linear outputs under the quadratic cost (0.5 diverges there: a linear
#: output's step grows with the number of hidden units feeding it).
DEFAULT_ETA_LINEAR = 0.05


def default_cost(task: str, train) -> str:
    """The cost of a task unless --cost says otherwise: the book's cross-entropy for classes and
    for reconstructing data in [0, 1] (MNIST's pixels), the quadratic cost for quantities."""
    if task == "regression" or (task == "reconstruction" and not (train.x.min() >= 0 and train.x.max() <= 1)):
        return "quadratic"
    return "cross_entropy"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a network and save it",
        description="Train a network (by default the book's [784,100,10] on MNIST) and save it as .npz.")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p, output: bool = True) -> None:
    """The options of ``nndl train`` (``nndl cv`` takes them too, without the output group's model files)."""
    d = p.add_argument_group("data")
    d.add_argument("--data", help="'mnist' (default), a folder of IDX files in MNIST's layout, a CSV file, or a "
                                  ".txt file (a character model: see --seq-length)")
    d.add_argument("--seq-length", type=int, help="text: characters per training sequence (default 64)")
    d.add_argument("--label", help="CSV: the label column, or columns a,b,c (default: label/class/species/target "
                                   "or the last)")
    d.add_argument("--task", help="classification, binary, multilabel, regression (CSV: inferred from the label "
                                  "column if not given) or reconstruction (an autoencoder: the target is the input)")
    d.add_argument("--train-size", type=int, help="use only the first N training examples")
    d.add_argument("--preprocess", help="fit on the training data and store with the model: mean, standardize, "
                                        "pca(K), pca_whiten(K), zca")
    d.add_argument("--expand", action="store_true", default=None,
                   help="the book's expanded MNIST: each image and its four one-pixel shifts (5x the data)")
    d.add_argument("--augment", help="random augmentation per mini-batch, e.g. 'shift(2)', 'rotate(10)', 'elastic'")
    a = p.add_argument_group("network")
    a.add_argument("--layers", help="dense layer sizes, input first, e.g. 784,30,10")
    a.add_argument("--net", help="layer spec, e.g. \"conv(20,5) relu pool(2) dense(100) relu softmax(10)\"; "
                                 "also maxout(units,pieces), rbf(units,kernel=gaussian|ricker) (centres by k-means "
                                 "on the training data; solve_output=true: the softmax above starts at the "
                                 "least-squares solution), prelu, rrelu, hard_tanh, vanilla_dropout(p), kmaxpool(k)")
    a.add_argument("--preset", help="named settings (see --list-presets); explicit options override it")
    if output:      # nndl cv cross-validates supervised networks only
        a.add_argument("--model", metavar="KIND(OPTIONS)",
                       help="a model that learns without labels or generates data, e.g. \"rbm(500, k=1)\", "
                       "\"dbn(500,500,2000)\", \"autoencoder(500, corruption=0.3)\", \"vae(400, latent=20)\", "
                       "\"gan(conditional=true)\", \"sparse_coding(256, lmbda=0.1)\" (a wrong option prints "
                       "the kind's usage); with --data, --epochs, --eta, --batch-size, --seed, --out")
    a.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    a.add_argument("--activation", help="hidden activation for --layers: sigmoid, tanh, relu, leaky_relu, "
                                        "hard_tanh, linear")
    a.add_argument("--cost", help="quadratic, cross_entropy or log_likelihood (softmax output); default "
                                  "cross_entropy, quadratic for regression and reconstruction; margins (linear "
                                  "outputs): hinge and logistic (two classes, labels ±1), multiclass_hinge (svm, "
                                  "Weston-Watkins), crammer_singer; regression: l1, huber")
    a.add_argument("--init", help="weights: default (N(0,1/n_in)), large (N(0,1)), lecun, glorot_normal, "
                                  "glorot_uniform, he, orthogonal, small (0.01·N(0,1)), sparse (15 non-zero "
                                  "incoming weights per unit), relu_bias (he, biases 0.01)")
    a.add_argument("--batch-norm", action="store_true", default=None, help="batch normalization after hidden layers")
    a.add_argument("--dropout", type=float, help="dropout probability after every hidden layer of --layers")
    a.add_argument("--init-from", metavar="MODEL", help="transfer learning: start from the network (weights, "
                                                        "cost) of a trained model file instead of --layers/--net")
    a.add_argument("--freeze", type=int, metavar="N", help="with --init-from: keep the weights of the first N layers "
                                                           "that hold weights (dense, conv, batch norm) unchanged")
    a.add_argument("--replace-head", type=int, metavar="K", help="with --init-from: replace the dense output layer "
                                                                 "by a new one of K neurons (same activation)")
    t = p.add_argument_group("training")
    t.add_argument("--optimizer", help="sgd (default), momentum, nesterov, adagrad, adadelta, rmsprop (with "
                                       "--momentum: RMSprop with momentum), adam, rprop; full batch (--batch-size "
                                       "the training set): adaptive_gains (per-weight gains, +0.05 while the "
                                       "gradient's sign agrees with the last step, x0.95 otherwise, in [0.1, 10]; "
                                       "with --momentum), quickprop (Fahlman's secant steps); evaluating the cost "
                                       "themselves, on the whole training set unless --batch-size is given: "
                                       "annealing (Boltzmann training), cauchy (Cauchy training), cauchy_backprop "
                                       "(backprop with --momentum plus Cauchy steps), newton (exact Hessian, small "
                                       "nets), levenberg_marquardt (--cost quadratic), lbfgs (SciPy's L-BFGS-B). "
                                       "Other hyper-parameters as NAME(key=value, ...), e.g. "
                                       "'annealing(t0=0.05, moves=200)'")
    t.add_argument("--eta", type=float, help="learning rate η (default 0.5 for sgd, the optimizer's own otherwise)")
    t.add_argument("--momentum", type=float, help="momentum coefficient μ (with sgd: momentum SGD; also for "
                                                  "nesterov, rmsprop, adaptive_gains)")
    t.add_argument("--epochs", type=int, help="number of epochs (default 10)")
    t.add_argument("--batch-size", type=int, help="mini-batch size (default 10)")
    t.add_argument("--lmbda", type=float, help="L2 regularization λ (the book's; default 5.0 for the default net)")
    t.add_argument("--l1", type=float, help="L1 regularization λ")
    t.add_argument("--max-norm", type=float, help="max-norm constraint c on each unit's incoming weights")
    t.add_argument("--clip-norm", type=float, help="clip the global gradient norm to this value")
    t.add_argument("--clip-value", type=float, help="clip every gradient entry to [-v, v]")
    t.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="text: stop before an epoch would end past this many seconds of training")
    t.add_argument("--grad-noise", type=float, help="annealed Gaussian gradient noise η (σ² = η/(1+t)^0.55)")
    t.add_argument("--schedule", "--lr-schedule", dest="schedule",
                   help="learning-rate schedule: plateau(N) (the book's: halve η after N epochs without "
                        "improvement, stop at η/128); step_decay(N,γ) and exponential(γ) count epochs; "
                        f"{SCHEDULE_UNITS}")
    t.add_argument("--adversarial", metavar="SPEC",
                   help="adversarial training: 'fgsm(EPS, alpha=A)' (Goodfellow et al.: A·C(x) + (1−A)·C(x + EPS "
                        "sign ∇ₓC)) or 'pgd(EPS, steps=K, step=S, alpha=0, ramp=EPOCHS)' (Madry et al.)")
    t.add_argument("--early-stop", type=int, metavar="N", help="stop after N epochs without validation improvement "
                                                              "(the best weights are kept)")
    t.add_argument("--monitor", metavar="FIGURE", help="what 'improvement' means for --early-stop, the kept weights "
                                                       "and plateau(N): validation_accuracy (default for classifiers), "
                                                       "validation_mse (regression), validation_cost, ...")
    t.add_argument("--order", help="the order of the training examples in each epoch: shuffle (default: "
                                   "reshuffled every epoch), fixed (the same order every epoch, no shuffling), "
                                   "loss:MODEL (curriculum: easy to hard by each example's cost under the trained "
                                   "MODEL, every epoch)")
    t.add_argument("--seed", type=int, help="seed for weights, shuffling, dropout and data splits (default 0)")
    t.add_argument("--threads", help="BLAS threads: auto (default: one for matrix products under a GFLOP, which "
                                     "is every net of the book, robust when other programs run; conv nets still "
                                     "use every core through --workers) or a number")
    t.add_argument("--workers", help="cut each mini-batch into this many parts trained at once on threads: "
                                     "auto (default: one per BLAS thread when the network allows) or a number "
                                     "(1: one piece)")
    if not output:
        return
    o = p.add_argument_group("output")
    o.add_argument("--out", help="where to save the model (default model.npz; with --resume, the first run's)")
    o.add_argument("--checkpoint", help="write a checkpoint here after every epoch (with --resume: by default the "
                                        "checkpoint resumed from)")
    o.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in CHECKPOINT with its settings; only --epochs (to extend it), "
                        "--threads and --workers may change")
    o.add_argument("--monitor-training", action="store_true", default=None,
                   help="measure cost and accuracy on the whole training set each epoch")
    o.add_argument("--monitor-test", action="store_true", default=None,
                   help="also measure the test data after every epoch (the book's network.py does)")
    o.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout, and a last one")
    o.add_argument("--serve", type=int, metavar="PORT", help="a live view of this run at http://127.0.0.1:PORT/live "
                                                               "(0: any free port) while it trains")
    o.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")


# -- settings ---------------------------------------------------------------------------------
def resolve_settings(args) -> dict:
    """Merge the command line over the preset over the defaults."""
    settings = dict(DEFAULTS)
    if args.preset:
        from nndl.presets import get_preset

        settings.update({k: v for k, v in get_preset(args.preset).items() if k in DEFAULTS})
        settings["preset"] = args.preset
    explicit = {k: getattr(args, k) for k in DEFAULTS if getattr(args, k, None) is not None}
    settings.update(explicit)
    settings["data"] = data_setting(settings["data"])
    if not (args.preset or settings["layers"] or settings["net"]):
        # The book's chapter 3 network, unless the user asked for something else.
        settings["lmbda"] = explicit.get("lmbda", DEFAULT_LMBDA)
    settings["optimizer"] = normalize(settings["optimizer"])
    return settings


def optimizer_call(s: dict):
    """``--optimizer NAME`` or ``NAME(key=value, ...)`` (the hyper-parameters of the optimizer's
    docstring, e.g. ``annealing(t0=0.05, moves=200)``): (name, {key: value})."""
    from nndl.registry import parse_call

    call = parse_call(s["optimizer"], "--optimizer")
    if call.args:
        raise NndlError(f"--optimizer {s['optimizer']!r}: name its hyper-parameters, like "
                        f"{call.name}(eta=0.1)")
    return call.name, call.kwargs


def complete_settings(s: dict, train) -> None:
    """What the data decide: the cost of the task, and η when none is given (the book's 0.5 for
    SGD, 0.05 under a linear output's quadratic cost; else the optimizer's own)."""
    s["cost"] = get_cost(s["cost"] or default_cost(s["task"], train)).name
    if s["eta"] is None and optimizer_call(s)[0] in ("sgd", "momentum", "nesterov"):
        linear = s["cost"] in ("quadratic", "l1", "huber") and s["task"] in ("regression", "reconstruction")
        s["eta"] = DEFAULT_ETA_LINEAR if linear else DEFAULT_ETA


def _check_settings(s: dict) -> None:
    for key in ("epochs", "batch_size"):
        if int(s[key]) < 1:
            raise NndlError(f"--{key.replace('_', '-')} must be at least 1, got {s[key]}")
    if s["eta"] is not None and not s["eta"] > 0:
        raise NndlError(f"--eta must be positive, got {s['eta']}")
    for key in ("lmbda", "l1"):
        if s[key] < 0:
            raise NndlError(f"--{key} must be ≥ 0, got {s[key]}")
    if not 0 <= s["dropout"] < 1:
        raise NndlError(f"--dropout must be in [0, 1), got {s['dropout']}")
    if s["train_size"] is not None and s["train_size"] < 1:
        raise NndlError(f"--train-size must be at least 1, got {s['train_size']}")
    if s["layers"] and s["net"]:
        raise NndlError("give either --layers or --net, not both")
    if s["task"] is not None:
        s["task"] = model_for_task(s["task"]).task
    if s["schedule"]:
        _schedule(s["schedule"])            # a bad schedule is one line before the data are read
    name, options = optimizer_call(s)
    if options:
        from nndl.optim import get_optimizer

        get_optimizer(name, **options)      # and so are bad hyper-parameters
    if s.get("order"):
        from nndl import curriculum

        curriculum.from_text(s["order"])    # and so is a bad --order
        if s["order"].strip().lower().startswith("loss") and (s["expand"] or s["augment"]):
            raise NndlError("--order loss:MODEL orders the training examples as they are; it does not go with "
                            "--expand or --augment")
    if s.get("adversarial"):
        from nndl.adversarial.training import parse_objective

        parse_objective(s["adversarial"])   # so is a bad --adversarial


def resumed_settings(args, stored: dict) -> dict:
    """The settings of a checkpoint's run, for ``--resume``: the command line may extend the run
    (``--epochs``) and change how it runs (``--threads``, ``--workers``), nothing else — another
    value for any other option is a one-line error."""
    s = dict(stored)
    s.setdefault("workers", 1)              # checkpoints from before --workers trained in one piece
    for key, value in DEFAULTS.items():
        s.setdefault(key, value)
    given = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key, None) is not None}
    if args.preset:
        given["preset"] = args.preset
    for key, value in given.items():
        if key in RESUME_MAY_CHANGE:
            s[key] = value
        elif not _same_setting(key, value, s.get(key)):
            option = "--" + key.replace("_", "-")
            raise NndlError(f"{_stored_text(key, value)}: the run in {args.resume} was trained with "
                            f"{_stored_text(key, s.get(key))}; a resumed run keeps its checkpoint's settings "
                            f"(only --epochs, --threads and --workers may change; leave {option} out)")
    return s


def _same_setting(key: str, given, stored) -> bool:
    """Whether a command-line value means the stored setting (``SGD`` is ``sgd``, ``0.50`` is 0.5)."""
    if stored is None:
        return False
    try:
        if key == "optimizer":
            return normalize(given) == stored
        if key == "cost":
            return get_cost(given).name == stored
        if key == "task":
            return model_for_task(given).task == stored
        if key == "layers":
            return _layer_sizes(given) == _layer_sizes(stored)
        if key == "data":
            return data_setting(given) == data_setting(stored)
        if isinstance(stored, (int, float)) and not isinstance(stored, bool):
            return float(given) == float(stored)
    except (NndlError, TypeError, ValueError):
        return False
    return str(given).strip() == str(stored).strip()


def _stored_text(key: str, stored) -> str:
    """How a stored setting reads in a message: ``--eta 0.5``, ``no --batch-norm``."""
    option = "--" + key.replace("_", "-")
    if stored is None or stored is False:
        return f"no {option}"
    return option if stored is True else f"{option} {stored}"


# -- data ---------------------------------------------------------------------------------------
def load_splits(s: dict):
    """The data named by the settings as DataSplits, plus a fitted preprocessor (or None)."""
    from nndl.data import load_data

    data_task = None if s["task"] in (None, "reconstruction") else s["task"]
    splits = load_data(s["data"], label=s["label"], seed=s["seed"], standardize=s["preprocess"] is None,
                       task=data_task)
    if s["task"] is None:
        s["task"] = splits.task
    elif data_task is not None and splits.task != data_task:
        raise NndlError(f"--task {data_task}: {s['data']} holds {splits.task} data")
    preprocessor = splits.preprocessor
    if s["train_size"] is not None:
        if s["train_size"] > len(splits.train):
            raise NndlError(f"--train-size {s['train_size']} is more than the {len(splits.train)} training examples")
        splits.train = splits.train.subset(s["train_size"])
    if s["preprocess"]:
        from nndl.preprocessing import PREPROCESSORS

        preprocessor = make_from_registry(PREPROCESSORS, s["preprocess"], "preprocessing")
        preprocessor.fit(splits.train.x)
        for key, part in splits.parts():
            setattr(splits, key, part.with_x(preprocessor.transform(part.x)))
    return splits, preprocessor


def feature_columns(s: dict) -> list[str] | None:
    """For a CSV table, the names of its feature columns — every column but the label(s) — stored with
    the model so that ``nndl predict MODEL rows.csv`` takes them by name; None for images.

    Without ``--label``, and with no column of a usual label name, the last column is the label:
    that is said in one line, for it may well be a feature."""
    path = Path(str(s["data"]))
    if path.suffix.lower() != ".csv":
        return None
    header = csv_header(path)
    labels = label_columns(header, s["label"])
    if not s["label"] and not usual_label(header):
        info(f"{path.name}: no column is named label, class, species or target, so the last one, {labels[0]!r}, "
             f"is the label (--label NAME to choose)")
    return [name for name in header if name not in labels]


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file that the loader has read already (so it is a readable table)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [cell.strip() for cell in next(csv.reader(f))]


def label_columns(header: list[str], label: str | None) -> list[str]:
    """The label column(s), as the CSV loader takes them: ``--label a,b``, else the first column with a
    usual label name (label, class, species, target), else the last column."""
    if label:
        return [name.strip() for name in str(label).split(",")]
    return [usual_label(header) or header[-1]]


def usual_label(header: list[str]) -> str | None:
    """The first column named label, class, species or target (any case), or None."""
    from nndl.data.csv_table import LABEL_NAMES

    lower = [name.lower() for name in header]
    for name in LABEL_NAMES:
        if name in lower:
            return header[lower.index(name)]
    return None


# -- network ------------------------------------------------------------------------------------
def output_size(task: str, train) -> int:
    """How many output neurons the task needs for these data."""
    if task == "reconstruction":
        return int(numpy.prod(train.x.shape[1:]))
    if task == "binary":
        return 1
    if task in ("regression", "multilabel"):
        return 1 if train.y.ndim == 1 else int(train.y.shape[1])
    return train.num_classes


def output_activation(task: str, cost: str, hidden: str) -> str:
    """The output layer's σ: softmax under log-likelihood, sigmoid for the cross-entropy and for
    yes/no outputs, linear for quantities (and for the scores of the margin costs)."""
    needed = get_cost(cost).output_activation
    if needed:
        return needed
    if cost == "log_likelihood":
        return "softmax"
    if task in ("binary", "multilabel") or cost == "cross_entropy":
        return "sigmoid"
    if task in ("regression", "reconstruction"):
        return "linear"
    return hidden


def build_network(s: dict, train):
    """The network of the settings, for examples shaped like ``train``'s."""
    from nndl.initializers import get_initializer
    from nndl.layers import ActivationLayer, Dense, Dropout
    from nndl.network import Network

    task, cost = s["task"], s["cost"]
    features, outputs = int(numpy.prod(train.x.shape[1:])), output_size(task, train)
    if s["net"]:
        from nndl.spec import parse_spec

        image_shape = getattr(train, "image_shape", None)
        input_shape = tuple(image_shape) if image_shape and any(
            tok in s["net"] for tok in ("conv", "pool")) else (features,)
        layers = parse_spec(s["net"], input_shape)
        if s["init"] != "default":   # --init applies to every layer whose spec names no init of its own
            for layer in layers:
                if getattr(layer, "init", None) is not None and layer.init.name == "default":
                    layer.init = get_initializer(s["init"])
        net = Network(layers, input_shape, cost=cost, seed=s["seed"])
        if net.num_classes != outputs:
            raise NndlError(f"the network has {net.num_classes} outputs but the {task} task on these data "
                            f"needs {outputs}")
        return net
    sizes = _layer_sizes(s["layers"]) if s["layers"] else [features, DEFAULT_HIDDEN, outputs]
    if sizes[0] != features:
        raise NndlError(f"--layers starts with {sizes[0]} inputs but the data have {features} features")
    if sizes[-1] != outputs:
        needs = f"the data have {outputs} classes" if task == "classification" else \
            f"the {task} task on these data needs {outputs}"
        raise NndlError(f"--layers ends with {sizes[-1]} outputs but {needs}")
    out = output_activation(task, cost, s["activation"])
    layers = []
    for n in sizes[1:-1]:
        if s["batch_norm"]:
            from nndl.layers.batchnorm import BatchNorm

            layers += [Dense(n, activation="linear", init=s["init"], use_bias=False), BatchNorm(),
                       ActivationLayer(s["activation"])]
        else:
            layers.append(Dense(n, activation=s["activation"], init=s["init"]))
        if s["dropout"]:
            layers.append(Dropout(s["dropout"]))
    layers.append(Dense(sizes[-1], activation=out, init=s["init"]))
    return Network(layers, (sizes[0],), cost=cost, seed=s["seed"])


def _layer_sizes(text: str) -> list[int]:
    """``"784,30,10"`` as [784, 30, 10]; one line naming the bad entry otherwise."""
    parts = [p.strip() for p in str(text).split(",")]
    sizes = []
    for k, part in enumerate(parts, start=1):
        if not part.isdigit() or int(part) < 1:
            raise NndlError(f"--layers {text!r}: entry {k} ({part!r}) is not a positive whole number; "
                            f"write sizes like 784,30,10")
        sizes.append(int(part))
    if len(sizes) < 2:
        raise NndlError(f"--layers {text!r} needs at least an input and an output size, like 784,10")
    return sizes


# -- model and trainer ----------------------------------------------------------------------------
def build_model(s: dict, network):
    """The model of the settings' task around ``network``: its optimizer, penalties and constraints."""
    from nndl.optim import L1, L2, get_optimizer

    name, options = optimizer_call(s)
    if name == "sgd" and s["momentum"]:
        name = "momentum"
    kwargs = dict(options)
    if s["eta"] is not None:
        kwargs["eta"] = s["eta"]
    if s["momentum"] is not None:
        if name not in MOMENTUM_OPTIMIZERS:
            raise NndlError(f"--momentum goes with the sgd, {', '.join(MOMENTUM_OPTIMIZERS[:-1])} or "
                            f"{MOMENTUM_OPTIMIZERS[-1]} optimizer, not {name}")
        kwargs["mu"] = s["momentum"]
    if s["clip_norm"] is not None:
        kwargs["clip_norm"] = s["clip_norm"]
    if s["clip_value"] is not None:
        kwargs["clip_value"] = s["clip_value"]
    if s["grad_noise"] is not None:
        kwargs.update(noise=s["grad_noise"], seed=s["seed"])
    if name in COST_OPTIMIZERS:
        kwargs["seed"] = s["seed"]                 # the random searches draw from the run's seed
    optimizer = get_optimizer(name, **kwargs)
    regularizers = [L2(s["lmbda"])] if s["lmbda"] else []
    if s["l1"]:
        regularizers.append(L1(s["l1"]))
    constraints = []
    if s["max_norm"] is not None:
        from nndl.optim.constraints import MaxNorm

        constraints.append(MaxNorm(s["max_norm"]))
    model = model_for_task(s["task"])(network, optimizer, regularizers, constraints)
    if s.get("adversarial"):
        from nndl.adversarial.training import adversarial_model

        model = adversarial_model(s["adversarial"], model)
    return model


def monitored(s: dict, model) -> str:
    """The figure early stopping and the kept weights follow."""
    if s["monitor"]:
        return s["monitor"]
    return f"validation_{model.metrics[0].name}" if model.metrics else "validation_cost"


def build_trainer(s: dict, model, quiet: bool, callbacks=(), splits=None) -> Trainer:
    """The trainer of the settings, with its callbacks in order: monitoring, the best weights and
    early stopping, the schedule, gradient norms (and dead units for ReLU nets), the divergence guard,
    then ``callbacks`` (JSON lines, checkpoints: a diverged epoch is neither printed nor checkpointed)."""
    from nndl.callbacks import DeadUnits, DivergenceGuard, EarlyStopping, Evaluate, GradientNorms, \
        LearningRateSchedule

    before = []
    if s["monitor_training"]:
        before.append(Evaluate(prefix="training"))
    if s["monitor_test"] and splits is not None and splits.test is not None:
        before.append(Evaluate(splits.test, prefix="test"))
    if splits is None or splits.validation is not None:
        before.append(EarlyStopping(monitored(s, model), patience=s["early_stop"], restore_best=True))
    elif s["early_stop"]:
        raise NndlError("--early-stop needs validation data, and these data have no validation part")
    if s["schedule"]:
        before.append(LearningRateSchedule(_schedule(s["schedule"]), monitor=monitored(s, model)))
    before.append(GradientNorms())
    if any(getattr(getattr(layer, "activation", None), "name", None) == "relu" for _, layer in model.network.leaves()):
        before.append(DeadUnits())
    before.append(DivergenceGuard())
    threads, workers = _count(s["threads"], "--threads"), _count(s["workers"], "--workers")
    order = None
    if s.get("order") and splits is not None:
        from nndl import curriculum

        order = curriculum.from_text(s["order"], splits.train, s["task"], model.network.preprocessor)
    return Trainer(s["batch_size"], before + list(callbacks), seed=s["seed"], threads=threads, workers=workers,
                   verbose=not quiet, order=order)


def _schedule(text: str):
    """The schedule of ``--schedule``; its errors say what the schedules count."""
    from nndl.optim import SCHEDULES

    try:
        return make_from_registry(SCHEDULES, text, "schedule")
    except NndlError as exc:
        if "unit=epoch" in str(exc):
            raise
        raise NndlError(f"{exc} ({SCHEDULE_UNITS})") from None


def _count(value, option: str):
    """'auto' (or None), or a whole number ≥ 1 from the command line."""
    if value in (None, "auto"):
        return value
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise NndlError(f"{option} must be 'auto' or a whole number ≥ 1, got {value!r}")
    return count


def training_source(s: dict, train, network):
    """The batch source: the training arrays, or expanded/augmented views of them."""
    if not (s["expand"] or s["augment"]):
        return train
    from nndl.augment import make_source

    return make_source(train, network, expand=s["expand"], augment=s["augment"])


# -- the command ----------------------------------------------------------------------------------
def run(args) -> int:
    if args.list_presets:
        from nndl.presets import PRESETS

        for name, preset in PRESETS.items():
            print(f"{name:<16} {preset.get('description', '')}\n{'':<16} --net \"{preset.get('net', '')}\"")
        return 0
    from nndl.data.text import is_text_file

    if getattr(args, "model", None):
        from nndl.cli.model_train import run_model

        return run_model(args)
    if args.data and is_text_file(args.data):
        from nndl.cli.text_train import run_text

        return run_text(args)
    for option in ("seq_length", "time_limit"):
        if getattr(args, option) is not None:
            raise NndlError(f"--{option.replace('_', '-')} is for a text corpus (--data FILE.txt)")
    quiet = args.quiet or args.json
    try:
        s, trainer, splits, source, metadata = prepare(args, quiet)
    except KeyboardInterrupt:
        info("nndl train: interrupted before training began; nothing saved")
        return 130
    start = time.perf_counter()
    try:
        if not quiet:
            say(_data_line(s, splits, source))
            say(trainer.model.network.summary())
        history = trainer.fit(trainer.model, source, s["epochs"], validation_data=splits.validation,
                              test_data=splits.test)
    except KeyboardInterrupt:
        return save_interrupted(args, trainer, metadata, time.perf_counter() - start)
    final = dict(history.final, seconds_total=time.perf_counter() - start, model=str(args.out))
    metadata.update({k: v for k, v in final.items() if k != "model"})
    io.save(trainer.model.network, args.out, metadata)
    if args.json:
        print_json(dict(final, final=True))
    else:
        _report(final)
        say(f"saved {args.out}")
    return 0


def prepare(args, quiet: bool):
    """Everything before the first step, each problem one line: the settings (of the checkpoint with
    ``--resume``), the outputs checked, the data, network, model and trainer.  Returns (settings,
    trainer, splits, batch source, the metadata to save)."""
    if args.resume:
        network, state = io.read_checkpoint(args.resume)
        s = resumed_settings(args, stored_settings(network, args.resume))
        _check_settings(s)
    else:
        s = resolve_settings(args)
        _check_settings(s)
    from nndl.transfer import Transfer, freeze

    transfer = None if args.resume else Transfer.from_settings(s)
    args.out = args.out or s.get("out") or DEFAULT_OUT
    given = "--checkpoint" if args.checkpoint else "--resume"
    args.checkpoint = args.checkpoint or args.resume
    check_outputs(args, given)
    s["out"] = str(Path(args.out).expanduser().resolve())
    splits, preprocessor = load_splits(s)
    if splits.note and not quiet and not args.resume:
        info(splits.note)
    name = optimizer_call(s)[0]
    if name in COST_OPTIMIZERS and getattr(args, "batch_size", None) is None and not args.resume:
        s["batch_size"] = len(splits.train)        # a method that evaluates the cost: the whole training set
    if not args.resume:
        s["features"] = feature_columns(s)
        network = new_network(s, splits, preprocessor, transfer)
    freeze(network, s.get("freeze") or 0)
    model = build_model(s, network)
    if name in FULL_BATCH_OPTIMIZERS + COST_OPTIMIZERS and s["batch_size"] < len(splits.train) and not quiet:
        why = "the cost it evaluates changes" if name in COST_OPTIMIZERS else "the gradient's signs flip"
        info(f"nndl train: note: {name} is a full-batch method; with mini-batches of {s['batch_size']} "
             f"{why} from batch to batch (--batch-size {len(splits.train)} for full batches)")
    metadata = {"settings": s}
    callbacks = []
    if args.json:
        from nndl.callbacks import JSONLines

        callbacks.append(JSONLines())
    if getattr(args, "serve", None) is not None:
        from nndl.serve.training import LiveView

        callbacks.append(LiveView(args.serve))
    if args.checkpoint:
        from nndl.callbacks import Checkpoint

        callbacks.append(Checkpoint(args.checkpoint, metadata))
    trainer = build_trainer(s, model, quiet, callbacks, splits)
    trainer.model = model
    trainer.check_workers(network)
    if args.resume:
        io.restore(trainer, model, state)
    return s, trainer, splits, training_source(s, splits.train, network), metadata


def new_network(s: dict, splits, preprocessor, transfer=None):
    """The network to train on ``splits``: built from the settings, or adapted from ``--init-from``'s
    model (``transfer``); it keeps the data's preprocessing and class names.  Fills in the settings the
    data decide (:func:`complete_settings`)."""
    complete_settings(s, splits.train)
    if transfer:
        network = transfer.network(s, splits.train, output_size(s["task"], splits.train))
    else:
        network = build_network(s, splits.train)
        # RBF centres by k-means (and an RBF network's output by least squares): before the first step
        initialize_from_data(network, splits.train.x,
                             labels=splits.train.y if s["task"] == "classification" else None)
    network.preprocessor = preprocessor
    network.target_preprocessor = splits.target_preprocessor
    network.class_names = splits.train.class_names
    return network


def save_interrupted(args, trainer, metadata: dict, seconds: float) -> int:
    """Ctrl-C during training: save the model as a finished run would — with the weights of the best
    finished epoch — to ``--out`` and say so in one line; exit status 130.  Nothing is written if no
    epoch finished, or if every finished epoch diverged."""
    from nndl.callbacks import DivergenceGuard, EarlyStopping

    done = len(trainer.history)
    early = next((cb for cb in trainer.callbacks if isinstance(cb, EarlyStopping)), None)
    guard = next((cb for cb in trainer.callbacks if isinstance(cb, DivergenceGuard)), None)
    if early is None or early.best_state is None:
        why = "before the first epoch finished" if not done else "with no validation data to pick the weights by"
        info(f"nndl train: interrupted {why}; nothing saved")
        return 130
    if guard is not None and 0 < done <= guard.diverged:
        info(f"nndl train: interrupted after {done} epoch(s), every one diverged ({guard.reason}); nothing saved")
        return 130
    trainer.model.network.set_state(early.best_state)
    final = {"best_epoch": early.best_epoch, f"best_{early.monitor}": early.best, "stop_reason": "interrupted",
             "epochs": done, "seconds_total": seconds}
    metadata.update(final)
    io.save(trainer.model.network, args.out, metadata)
    if args.json:
        print_json(dict(final, model=str(args.out), final=True))
    info(f"nndl train: interrupted after {done} finished epoch(s); saved the weights of epoch {early.best_epoch} "
         f"(best {_figure(early.monitor, early.best)}) to {args.out}")
    return 130


def _data_line(s: dict, splits, source) -> str:
    """``training on 50000 examples of mnist (training) (classification); validation 10000, test 10000``:
    the examples an epoch goes through (5× the images with ``--expand``)."""
    expanded = f" ({len(splits.train)} images and their one-pixel shifts)" if s["expand"] else ""
    return (f"training on {len(source)} examples{expanded} of {splits.train.name} ({s['task']}); validation "
            f"{len(splits.validation) if splits.validation else 0}, test {len(splits.test) if splits.test else 0}")


def check_outputs(args, checkpoint_option: str = "--checkpoint") -> None:
    """One line, before any data are read, if ``--out`` or the checkpoint cannot be written (named
    by ``checkpoint_option``: a resumed run writes its checkpoints back to ``--resume``'s file)."""
    out = check_writable(args.out, "--out")
    if args.checkpoint:
        checkpoint = check_writable(args.checkpoint, checkpoint_option)
        if checkpoint.resolve() == out.resolve():
            raise NndlError(f"{checkpoint_option} {checkpoint} and --out name the same file; the model would "
                            f"overwrite the checkpoint to resume from")


def _report(final: dict) -> None:
    """Why training stopped if it stopped early, then the test figures, with the epoch whose weights
    were kept."""
    best = [k for k in final if k.startswith("best_") and k != "best_epoch"]
    epoch = final.get("best_epoch") if best else None
    reason = final.get("stop_reason", "epochs")
    if reason != "epochs":
        kept = f"the weights of epoch {epoch} (best {_figure(best[0][5:], final[best[0]])})" if epoch else \
            "the last weights"
        say(f"stopped early: {reason}; kept {kept}")
    figures = [_figure(k[5:], v) for k, v in final.items() if k.startswith("test_") and k != "test_cost"]
    if figures:
        kept = f" (weights of epoch {epoch}, best {_figure(best[0][5:], final[best[0]])})" if epoch else ""
        say("test " + ", ".join(figures) + kept)


def _figure(name: str, value: float) -> str:
    """``accuracy 97.80%`` or ``r2 0.4712``."""
    label = name.replace("_", " ")
    return f"{label} {100 * value:.2f}%" if name.endswith("accuracy") else f"{label} {value:.4g}"
