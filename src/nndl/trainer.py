"""The training loop: epochs of shuffled mini-batches, monitoring, early stopping.

One step, for a mini-batch of m examples (chapter 1's ``update_mini_batch``):

1. ``network.backprop(x, y)`` — gradients of the mini-batch mean cost in ``p.grad``;
2. each regularizer adds ∂R/∂w to the weight gradients (L2, L1, ...);
3. ``optimizer.step(params)`` moves the parameters (w → w − η ∇C for plain SGD);
4. each constraint projects the parameters back (max-norm, ...).

Around it: a reshuffle per epoch from the trainer's seeded generator, the learning-rate
schedule, per-epoch monitoring into a :class:`~nndl.history.History`, early stopping
with "no improvement in n epochs" that restores the best weights, a stop with a clear
message if the cost becomes NaN or infinite, and a progress bar.
"""
from __future__ import annotations

import math
import sys
import time
from contextlib import nullcontext

import numpy

from nndl.backend import auto_threads, blas_threads, to_device
from nndl.batches import ArrayBatches
from nndl.errors import NndlError
from nndl.history import History
from nndl.optim import SGD, get_schedule
from nndl.parallel import DataParallel, can_split, worth_splitting


class TrainingDiverged(NndlError):
    """The cost became NaN or infinite."""


def _as_xy(data, what):
    """Accept a Dataset-like object (``.x``, ``.y``) or an ``(x, y)`` pair."""
    if data is None:
        return None
    if hasattr(data, "x") and hasattr(data, "y"):
        return data.x, data.y
    try:
        x, y = data
    except (TypeError, ValueError):
        raise NndlError(f"{what} must be a Dataset or an (x, y) pair") from None
    return x, y


class Trainer:
    """Trains a :class:`~nndl.network.Network` by mini-batch gradient descent.

    Parameters
    ----------
    network : Network
    optimizer : Optimizer, optional
        Default ``SGD(eta=0.1)``.
    regularizers : list of Regularizer
        Penalties added to the cost and gradient (``L2(lmbda)``, ``L1(lmbda)``).
    constraints : list
        Objects with ``apply(params)``, run after every step (e.g. max-norm).
    schedule : Schedule, optional
        Learning-rate schedule (per step and/or per epoch).
    batch_size : int
        Mini-batch size m.
    early_stopping : int, optional
        Stop when validation accuracy has not improved for this many epochs.
    restore_best : bool, optional
        Restore the weights of the best validation epoch when training ends
        (default: True when ``early_stopping`` is set).
    monitor_training : bool
        Measure cost and accuracy on the whole training set after each epoch
        (otherwise ``training_cost`` is the running mean over the epoch's mini-batches).
    monitor_test : bool
        Also measure the test data after every epoch (as the book's network.py prints);
        the final test figures are always measured.
    seed : int, optional
        Seeds the shuffling (default: the network's seed).
    threads : "auto", int or None
        BLAS threads while training (``"auto"``: one for small products).
    workers : "auto" or int
        Cut each mini-batch into this many parts that backpropagate at the same time on
        threads, each with a one-thread BLAS (:mod:`nndl.parallel`); 1: one piece.
        ``"auto"``: as many parts as BLAS threads for a conv net that can split (no batch
        normalization) when the mini-batch has at least 8 examples per part.
    progress : bool, optional
        A progress bar per epoch (default: when stderr is a terminal).
    verbose : bool
        One line per epoch on stderr when there is no progress bar.
    callbacks : list
        Callables ``f(trainer, record)`` run after each epoch (JSON lines, checkpoints).
    gradient_norm_every : int
        Sample the per-layer gradient norms every this many steps (0: never).
    """

    def __init__(self, network, optimizer=None, regularizers=(), constraints=(), schedule=None, batch_size=10,
                 early_stopping=None, restore_best=None, monitor_training=False, monitor_test=False, seed=None, threads="auto",
                 workers="auto", progress=None, verbose=True, callbacks=(), gradient_norm_every=10, batch_hook=None):
        if int(batch_size) < 1:
            raise NndlError(f"batch size must be at least 1, got {batch_size}")
        if early_stopping is not None and int(early_stopping) < 1:
            raise NndlError(f"early stopping needs a patience of at least 1 epoch, got {early_stopping}")
        self.network = network
        self.optimizer = optimizer if optimizer is not None else SGD(0.1)
        self.regularizers = list(regularizers)
        self.constraints = list(constraints)
        self.schedule = get_schedule(schedule)
        self.batch_size = int(batch_size)
        self.early_stopping = None if early_stopping is None else int(early_stopping)
        self.restore_best = (self.early_stopping is not None) if restore_best is None else bool(restore_best)
        self.monitor_training = bool(monitor_training)
        self.monitor_test = bool(monitor_test)
        self.rng = numpy.random.default_rng(network.seed if seed is None else seed)
        self.threads = threads
        if workers != "auto" and not (isinstance(workers, int) and workers >= 1):
            raise NndlError(f"workers must be 'auto' or a whole number ≥ 1, got {workers!r}")
        if workers != "auto" and workers > 1 and not can_split(network):
            whole = next(layer for layer in network.layers if not layer.splits_over_batch)
            raise NndlError(f"this network cannot cut its mini-batches into parts: its {whole.type} layer "
                            f"needs the whole batch; use workers=1")
        self.workers = workers
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.verbose = bool(verbose)
        self.callbacks = list(callbacks)
        self.gradient_norm_every = int(gradient_norm_every)
        self.batch_hook = batch_hook
        self.history = History()
        self.epoch = 0                   # epochs completed
        self.eta0 = self.optimizer.eta
        self.best_accuracy = None
        self.best_weights = None
        self.epochs_without_improvement = 0
        self.stop_reason = None

    # -- the loop -------------------------------------------------------------------------
    def fit(self, training_data, epochs: int, validation_data=None, test_data=None) -> History:
        """Train for up to ``epochs`` epochs (counting epochs already done); return the history."""
        if int(epochs) < 0:
            raise NndlError(f"epochs must be ≥ 0, got {epochs}")
        net = self.network
        source = training_data if hasattr(training_data, "batch") else ArrayBatches(
            *self._checked(training_data, "training data"), dtype=net.dtype)
        validation = self._checked(validation_data, "validation data")
        test = self._checked(test_data, "test data")
        n = len(source)
        threads = auto_threads(net.forward_flops(self.batch_size)) if self.threads == "auto" else self.threads
        workers = self.batch_parts(threads)
        self.stop_reason = None
        with blas_threads(threads), DataParallel(net, workers) if workers > 1 else nullcontext() as parallel:
            backprop = net.backprop if parallel is None else parallel.backprop
            while self.epoch < int(epochs) and self.stop_reason is None:
                with blas_threads(1) if parallel is not None else nullcontext():
                    record = self._train_epoch(source, n, int(epochs), backprop)
                self._monitor(record, source, validation, test if self.monitor_test else None)
                self.history.append(record)
                self._end_of_epoch(record)
                for callback in self.callbacks:
                    callback(self, record)
            if self.restore_best and self.best_weights is not None:
                net.set_state(self.best_weights)
            if test is not None:
                cost, acc = net.evaluate(*test)
                self.history.final.update(test_cost=cost, test_accuracy=acc)
        best = self.history.best()
        if best is not None:
            self.history.final.update(best_epoch=best["epoch"], best_validation_accuracy=best["validation_accuracy"])
        self.history.final["stop_reason"] = self.stop_reason or "epochs"
        return self.history

    def batch_parts(self, threads) -> int:
        """The number of parts each mini-batch is cut into (see ``workers``)."""
        if self.workers != "auto":
            return int(self.workers)
        if threads is None or threads < 2 or self.batch_size < 8 * threads or not worth_splitting(self.network):
            return 1
        return int(threads)

    def _train_epoch(self, source, n, epochs, backprop) -> dict:
        net, m = self.network, self.batch_size
        params = net.params
        layers_with_params = [layer for layer in net.layers if layer.params]
        grad_norm_sums = numpy.zeros(len(layers_with_params))
        grad_norm_count = 0
        order = to_device(self.rng.permutation(n))
        # A last mini-batch of a single example is merged into the one before it (batch
        # statistics need at least two examples); otherwise the last batch is just smaller.
        n_batches = max(1, n // m) if n % m == 1 and m > 1 else (n + m - 1) // m
        bar = self._progress_bar(n_batches, epochs)
        start = time.perf_counter()
        total_cost = 0.0
        for k in range(n_batches):
            if self.schedule.per_step:
                self.optimizer.eta = self.schedule.at_step(self.optimizer.t, self.eta0)
            x, labels = source.batch(order[k * m:(k + 1) * m if k < n_batches - 1 else n], self.rng)
            y = net.one_hot(labels)
            a = backprop(x, y)
            batch_cost = net.cost.fn(a, y)
            if not math.isfinite(batch_cost):
                raise TrainingDiverged(
                    f"the cost became {batch_cost} in epoch {self.epoch + 1}, mini-batch {k + 1}; "
                    f"training stopped — try a smaller learning rate than eta={self.optimizer.eta:g}")
            total_cost += batch_cost * len(x)
            for reg in self.regularizers:
                reg.add_gradient(params, n)
            if self.gradient_norm_every and k % self.gradient_norm_every == 0:
                grad_norm_sums += [math.sqrt(sum(float((p.grad * p.grad).sum()) for p in layer.params))
                                   for layer in layers_with_params]
                grad_norm_count += 1
            self.optimizer.step(params)
            for constraint in self.constraints:
                constraint.apply(params)
            if self.batch_hook is not None:
                self.batch_hook(self, k)
            if bar is not None and (k % 50 == 49 or k == n_batches - 1):
                bar.update(k + 1 - bar.n)
                bar.set_postfix_str(f"cost {total_cost / min(n, (k + 1) * m):.4f}", refresh=False)
        if bar is not None:
            bar.close()
        self.epoch += 1
        reg_cost = sum(reg.cost(params, n) for reg in self.regularizers)
        record = {"epoch": self.epoch, "eta": self.optimizer.eta, "training_cost": total_cost / n + reg_cost,
                  "seconds": time.perf_counter() - start}
        if grad_norm_count:
            record["gradient_norms"] = {
                f"{net.layers.index(layer) + 1}:{layer.type}": s / grad_norm_count
                for layer, s in zip(layers_with_params, grad_norm_sums)}
        return record

    def _monitor(self, record, source, validation, test) -> None:
        start = time.perf_counter()
        net = self.network
        reg_cost = sum(reg.cost(net.params, len(source)) for reg in self.regularizers)
        if self.monitor_training and isinstance(source, ArrayBatches):
            cost, acc = net.evaluate(source.x, source.y)
            record.update(training_cost=cost + reg_cost, training_accuracy=acc)
        if validation is not None:
            cost, acc = net.evaluate(*validation)
            record.update(validation_cost=cost + reg_cost, validation_accuracy=acc)
        if test is not None:
            cost, acc = net.evaluate(*test)
            record.update(test_cost=cost + reg_cost, test_accuracy=acc)
        record["eval_seconds"] = time.perf_counter() - start

    def _end_of_epoch(self, record) -> None:
        """Early stopping, best weights and the per-epoch schedule."""
        acc = record.get("validation_accuracy")
        if acc is not None:
            if self.best_accuracy is None or acc > self.best_accuracy:
                self.best_accuracy, self.epochs_without_improvement = acc, 0
                if self.restore_best:
                    self.best_weights = self.network.get_state()
            else:
                self.epochs_without_improvement += 1
            if self.early_stopping is not None and self.epochs_without_improvement >= self.early_stopping:
                self.stop_reason = f"no improvement in {self.early_stopping} epochs"
        eta = self.schedule.at_epoch_end(self.epoch, self.optimizer.eta, acc)
        if eta is None:
            self.stop_reason = self.stop_reason or "learning rate schedule finished"
        else:
            self.optimizer.eta = eta
        if self.verbose:
            self._print_epoch(record)

    # -- helpers ------------------------------------------------------------------------------
    def _checked(self, data, what):
        xy = _as_xy(data, what)
        if xy is None:
            return None
        x, y = xy
        if len(x) != len(y):
            raise NndlError(f"{what}: {len(x)} examples but {len(y)} labels")
        if len(x) == 0:
            raise NndlError(f"{what} are empty")
        self.network.check_input(x, what)
        y = numpy.asarray(y)
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise NndlError(f"{what}: labels must be a 1-D array of class indices, got shape {y.shape} "
                            f"of {y.dtype}")
        if y.min() < 0 or y.max() >= self.network.num_classes:
            raise NndlError(f"{what}: labels range over {y.min()}..{y.max()} but the network has "
                            f"{self.network.num_classes} outputs")
        return self.network.as_input(x), y

    def _progress_bar(self, total, epochs):
        if not self.progress:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=f"epoch {self.epoch + 1}/{epochs}", unit="batch", leave=False,
                    file=sys.stderr, mininterval=0.5)

    @staticmethod
    def _print_epoch(record) -> None:
        parts = [f"epoch {record['epoch']}", f"eta {record['eta']:.4g}", f"training cost {record['training_cost']:.4f}"]
        if "training_accuracy" in record:
            parts.append(f"training accuracy {100 * record['training_accuracy']:.2f}%")
        if "validation_accuracy" in record:
            parts.append(f"validation accuracy {100 * record['validation_accuracy']:.2f}%")
        parts.append(f"{record['seconds']:.1f} s")
        print(", ".join(parts), file=sys.stderr)

