"""``nndl train``: build a network, train it, save it.

With no options it trains the book's chapter 3 network ([784, 100, 10], sigmoid,
cross-entropy, η = 0.5, λ = 5.0, mini-batches of 10) on MNIST and saves ``model.npz``.
Settings come from, in order of precedence: the command line, a ``--preset``, the
defaults below.  ``--resume CHECKPOINT`` continues a run from its checkpoint with the
settings stored in it.
"""
from __future__ import annotations

import time

import numpy

from nndl import io
from nndl.cli.common import info, make_from_registry, print_json
from nndl.errors import NndlError
from nndl.trainer import Trainer

#: The defaults when neither the command line nor a preset says otherwise.
DEFAULTS = {
    "data": "mnist", "label": None, "layers": None, "net": None, "activation": "sigmoid",
    "cost": "cross_entropy", "init": "default", "optimizer": "sgd", "eta": None, "momentum": None,
    "lmbda": 0.0, "l1": 0.0, "dropout": 0.0, "epochs": 10, "batch_size": 10, "train_size": None,
    "early_stop": None, "schedule": None, "seed": 0, "batch_norm": False, "max_norm": None,
    "preprocess": None, "clip_norm": None, "grad_noise": None, "expand": False, "augment": None,
    "monitor_training": False, "monitor_test": False, "threads": "auto",
    "workers": "auto",
}
#: The default network when the user names neither --layers, --net nor --preset.
DEFAULT_HIDDEN, DEFAULT_ETA, DEFAULT_LMBDA = 100, 0.5, 5.0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "train", help="train a network and save it",
        description="Train a network (by default the book's [784,100,10] on MNIST) and save it as .npz.")
    d = p.add_argument_group("data")
    d.add_argument("--data", help="'mnist' (default), a folder of IDX files in MNIST's layout, or a CSV file")
    d.add_argument("--label", help="CSV: the name of the label column (default: label/class/species/target or the last)")
    d.add_argument("--train-size", type=int, help="use only the first N training examples")
    d.add_argument("--preprocess", help="fit on the training data and store with the model: mean, standardize, "
                                        "pca(K), pca_whiten(K), zca")
    d.add_argument("--expand", action="store_true", default=None,
                   help="the book's expanded MNIST: each image and its four one-pixel shifts (5x the data)")
    d.add_argument("--augment", help="random augmentation per mini-batch, e.g. 'shift(2)', 'rotate(10)', 'elastic'")
    a = p.add_argument_group("network")
    a.add_argument("--layers", help="dense layer sizes, input first, e.g. 784,30,10")
    a.add_argument("--net", help="layer spec, e.g. \"conv(20,5) relu pool(2) dense(100) relu softmax(10)\"")
    a.add_argument("--preset", help="named settings (see --list-presets); explicit options override it")
    a.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    a.add_argument("--activation", help="hidden activation for --layers: sigmoid, tanh, relu, leaky_relu, linear")
    a.add_argument("--cost", help="quadratic, cross_entropy (default) or log_likelihood (softmax output)")
    a.add_argument("--init", help="weights: default (N(0,1/n_in)), large (N(0,1)), lecun, glorot_normal, "
                                  "glorot_uniform, he, orthogonal")
    a.add_argument("--batch-norm", action="store_true", default=None, help="batch normalization after hidden layers")
    a.add_argument("--dropout", type=float, help="dropout probability after every hidden layer of --layers")
    t = p.add_argument_group("training")
    t.add_argument("--optimizer", help="sgd (default), momentum, nesterov, adagrad, adadelta, rmsprop, adam, rprop")
    t.add_argument("--eta", type=float, help="learning rate η (default 0.5 for sgd, the optimizer's own otherwise)")
    t.add_argument("--momentum", type=float, help="momentum coefficient μ (with sgd: momentum SGD)")
    t.add_argument("--epochs", type=int, help="number of epochs (default 10)")
    t.add_argument("--batch-size", type=int, help="mini-batch size (default 10)")
    t.add_argument("--lmbda", type=float, help="L2 regularization λ (the book's; default 5.0 for the default net)")
    t.add_argument("--l1", type=float, help="L1 regularization λ")
    t.add_argument("--max-norm", type=float, help="max-norm constraint c on each unit's incoming weights")
    t.add_argument("--clip-norm", type=float, help="clip the global gradient norm to this value")
    t.add_argument("--grad-noise", type=float, help="annealed Gaussian gradient noise η (σ² = η/(1+t)^0.55)")
    t.add_argument("--schedule", "--lr-schedule", dest="schedule",
                   help="learning-rate schedule: plateau(N) (the book's: halve after N epochs without "
                        "improvement, stop at η/128), step(N,γ), exponential(γ), inverse_time(λ), cosine(T), "
                        "one_cycle(T,max_eta)")
    t.add_argument("--early-stop", type=int, metavar="N", help="stop after N epochs without validation improvement "
                                                              "(the best weights are kept)")
    t.add_argument("--seed", type=int, help="seed for weights, shuffling, dropout and data splits (default 0)")
    t.add_argument("--threads", help="BLAS threads: auto (default) or a number")
    t.add_argument("--workers", help="cut each mini-batch into this many parts trained at once on threads: "
                                     "auto (default: one per BLAS thread when the network allows) or a number "
                                     "(1: one piece)")
    o = p.add_argument_group("output")
    o.add_argument("--out", default="model.npz", help="where to save the model (default model.npz)")
    o.add_argument("--checkpoint", help="write a checkpoint here after every epoch")
    o.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    o.add_argument("--monitor-training", action="store_true", default=None,
                   help="measure cost and accuracy on the whole training set each epoch")
    o.add_argument("--monitor-test", action="store_true", default=None,
                   help="also measure the test data after every epoch (the book's network.py does)")
    o.add_argument("--json", action="store_true", help="one JSON object per epoch on stdout, and a last one")
    o.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=run)


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
    if not (args.preset or settings["layers"] or settings["net"]):
        # The book's chapter 3 network, unless the user asked for something else.
        settings["lmbda"] = explicit.get("lmbda", DEFAULT_LMBDA)
    if settings["eta"] is None and settings["optimizer"] in ("sgd", "momentum", "nesterov"):
        settings["eta"] = DEFAULT_ETA
    return settings


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


# -- data ---------------------------------------------------------------------------------------
def load_splits(s: dict):
    """The data named by the settings as DataSplits, plus a fitted preprocessor (or None)."""
    from nndl.data import load_data

    splits = load_data(s["data"], label=s["label"], seed=s["seed"], standardize=s["preprocess"] is None)
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


# -- network ------------------------------------------------------------------------------------
def build_network(s: dict, train):
    """The network of the settings, for examples shaped like ``train``'s."""
    from nndl.initializers import get_initializer
    from nndl.layers import ActivationLayer, Dense, Dropout
    from nndl.network import Network

    features, classes = int(numpy.prod(train.x.shape[1:])), train.num_classes
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
        net = Network(layers, input_shape, cost=s["cost"], seed=s["seed"])
        if net.num_classes != classes:
            raise NndlError(f"the network has {net.num_classes} outputs but the data have {classes} classes")
        return net
    sizes = [int(v) for v in s["layers"].split(",")] if s["layers"] else [features, DEFAULT_HIDDEN, classes]
    if sizes[0] != features:
        raise NndlError(f"--layers starts with {sizes[0]} inputs but the data have {features} features")
    if sizes[-1] != classes:
        raise NndlError(f"--layers ends with {sizes[-1]} outputs but the data have {classes} classes")
    if not s["batch_norm"]:
        return Network.from_sizes(sizes, activation=s["activation"], cost=s["cost"], init=s["init"],
                                  dropout=s["dropout"], seed=s["seed"])
    from nndl.layers.batchnorm import BatchNorm

    layers = []
    for n in sizes[1:-1]:
        layers += [Dense(n, activation="linear", init=s["init"], use_bias=False), BatchNorm(),
                   ActivationLayer(s["activation"])]
        if s["dropout"]:
            layers.append(Dropout(s["dropout"]))
    out = "softmax" if s["cost"] in ("log_likelihood", "nll") else "sigmoid"
    layers.append(Dense(sizes[-1], activation=out, init=s["init"]))
    return Network(layers, (sizes[0],), cost=s["cost"], seed=s["seed"])


# -- trainer ------------------------------------------------------------------------------------
def build_trainer(s: dict, network, quiet: bool, callbacks=()) -> Trainer:
    from nndl.optim import SCHEDULES, L1, L2, get_optimizer

    name = s["optimizer"]
    if name == "sgd" and s["momentum"]:
        name = "momentum"
    kwargs = {}
    if s["eta"] is not None:
        kwargs["eta"] = s["eta"]
    if s["momentum"] is not None and name in ("momentum", "nesterov"):
        kwargs["mu"] = s["momentum"]
    if s["clip_norm"] is not None:
        kwargs["clip_norm"] = s["clip_norm"]
    if s["grad_noise"] is not None:
        kwargs.update(noise=s["grad_noise"], seed=s["seed"])
    optimizer = get_optimizer(name, **kwargs)
    regularizers = [L2(s["lmbda"])] if s["lmbda"] else []
    if s["l1"]:
        regularizers.append(L1(s["l1"]))
    constraints = []
    if s["max_norm"] is not None:
        from nndl.optim.constraints import MaxNorm

        constraints.append(MaxNorm(s["max_norm"]))
    schedule = make_from_registry(SCHEDULES, s["schedule"], "schedule") if s["schedule"] else None
    threads, workers = _count(s["threads"], "--threads"), _count(s["workers"], "--workers")
    return Trainer(network, optimizer, regularizers=regularizers, constraints=constraints, schedule=schedule,
                   batch_size=s["batch_size"], early_stopping=s["early_stop"], restore_best=True,
                   monitor_training=s["monitor_training"], monitor_test=s["monitor_test"], seed=s["seed"], threads=threads,
                   workers=workers, progress=None if not quiet else False, verbose=not quiet, callbacks=callbacks)


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
EPOCH_KEYS = ("epoch", "eta", "training_cost", "training_accuracy", "validation_cost", "validation_accuracy",
              "test_cost", "test_accuracy", "seconds", "eval_seconds", "gradient_norms")


def run(args) -> int:
    if args.list_presets:
        from nndl.presets import PRESETS

        for name, preset in PRESETS.items():
            print(f"{name:<16} {preset.get('description', '')}\n{'':<16} --net \"{preset.get('net', '')}\"")
        return 0
    quiet = args.quiet or args.json
    if args.resume:
        network, state, opt_arrays, best = io.read_checkpoint(args.resume)
        s = dict(network.metadata["settings"])
        s.setdefault("workers", 1)              # checkpoints from before --workers trained in one piece
        if args.epochs is not None:
            s["epochs"] = args.epochs
    else:
        s = resolve_settings(args)
        _check_settings(s)
    splits, preprocessor = load_splits(s)
    if not args.resume:
        network = build_network(s, splits.train)
        network.preprocessor = preprocessor
        network.class_names = splits.train.class_names
    metadata = {"settings": s}
    callbacks = []
    if args.json:
        callbacks.append(lambda trainer, record: print_json({k: record[k] for k in EPOCH_KEYS if k in record}))
    if args.checkpoint:
        callbacks.append(lambda trainer, record: io.save_checkpoint(trainer, args.checkpoint, metadata))
    trainer = build_trainer(s, network, quiet, callbacks)
    if args.resume:
        io.restore_trainer(trainer, state, opt_arrays, best)
    if not quiet:
        info(f"training on {len(splits.train)} examples of {splits.train.name}; validation "
             f"{len(splits.validation) if splits.validation else 0}, test {len(splits.test) if splits.test else 0}")
        info(network.summary())
    start = time.perf_counter()
    history = trainer.fit(training_source(s, splits.train, network), s["epochs"],
                          validation_data=splits.validation, test_data=splits.test)
    final = dict(history.final, seconds_total=time.perf_counter() - start, model=str(args.out))
    metadata.update({k: v for k, v in final.items() if k != "model"})
    io.save(network, args.out, metadata)
    if args.json:
        print_json(dict(final, final=True))
    elif "test_accuracy" in final:
        info(f"test accuracy {100 * final['test_accuracy']:.2f}%"
             + (f" (weights of epoch {final['best_epoch']}, best validation accuracy "
                f"{100 * final['best_validation_accuracy']:.2f}%)" if "best_epoch" in final else ""))
        info(f"saved {args.out}")
    return 0
