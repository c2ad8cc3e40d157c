"""Deep belief nets: RBMs stacked greedily, fine-tuned by backpropagation, and dreaming digits.

Greedy layer-wise pretraining (Hinton, Osindero & Teh 2006): train an RBM on the pixels; its hidden
probabilities p(h¹|v) are the data of the next RBM, and so on.  With ``labels`` the top RBM models the
penultimate features joined with the one-hot label, [h^{L−1}; y], the label units one softmax group,
so that it learns the joint distribution of features and classes.

Generation (:meth:`DBN.sample`): alternating Gibbs sampling in the top RBM (with the label units
clamped to the class asked for), then one top-down pass through the lower RBMs' generative
weights, p(hˡ⁻¹ = 1 | hˡ) = σ(bˡ + hˡ Wˡᵀ), sampling the hidden layers and keeping the pixel
probabilities of the last step.

Fine-tuning (:meth:`DBN.finetune`): the recognition weights become an nndl :class:`~nndl.network.Network`
classifier, Dense sigmoid layers with W = Wˡᵀ and b = cˡ (the top layer reading only the features:
the label rows of its W dropped), topped by a softmax layer over the 10 classes.  With labels the softmax
starts as the top RBM's own p(y | h^L) ∝ exp(b_y + h^L W_yᵀ); without, from small random weights.  Then
backpropagation of the log-likelihood cost with momentum SGD (:class:`nndl.trainer.Trainer`).
The generative RBMs are kept as they were pretrained: samples come from them, classes from the
fine-tuned network.
"""
from __future__ import annotations

import time

import numpy

from nndl import validation
from nndl.backend import FLOAT, to_device, to_numpy
from nndl.errors import NndlError
from nndl.models.generative import GenerativeModel, epoch_reporter
from nndl.models.rbm import RBM

CLASSES = 10


class DBN(GenerativeModel):
    """A deep belief net of RBMs with hidden ``sizes`` over ``n_visible`` pixels.

    Parameters
    ----------
    sizes : sequence of int
        Hidden units per RBM, bottom to top (Hinton et al. 2006: 500, 500, 2000).
    labels : bool
        The top RBM also models a one-hot label (a label-clamped generator, ``nndl sample --label``).
    k : int
        CD-k steps of each RBM's pretraining.
    """

    kind = "dbn"

    def __init__(self, sizes, n_visible: int = 784, labels: bool = True, k: int = 1, seed: int = 0,
                 weight_cost: float = 2e-4):
        sizes = list(sizes)
        if not sizes:
            raise NndlError("dbn: give the hidden units of at least one RBM, e.g. dbn(500, 500, 2000)")
        self.sizes = [validation.whole("dbn hidden units", s, low=1, high=20_000) for s in sizes]
        self.n_visible = validation.whole("dbn visible units", n_visible, low=1)
        self.labels = validation.boolean("dbn labels", labels)
        self.conditional = self.labels
        self.classes = CLASSES if self.labels else None
        self.seed = validation.seed("dbn seed", seed)
        below = [self.n_visible] + self.sizes[:-1]
        self.rbms = []
        for i, (n_in, n_out) in enumerate(zip(below, self.sizes)):
            top = i == len(self.sizes) - 1
            extra = CLASSES if top and self.labels else 0
            self.rbms.append(RBM(n_in + extra, n_out, k=k, labels=extra, seed=self.seed + i,
                                 weight_cost=weight_cost))
        self.network = None
        self.sample_steps = 1000
        self.metadata = {}

    @property
    def k(self) -> int:
        return self.rbms[0].k

    # -- the command line ------------------------------------------------------------------------
    @classmethod
    def from_command(cls, *sizes: int, labels: bool = True, k: int = 1, finetune_epochs: int = 30,
                     finetune_eta: float = 0.1, dropout: float = 0.0, input_dropout: float = 0.0, seed: int = 0):
        """``dbn(500, 500, 2000, labels=true, k=1, finetune_epochs=30, finetune_eta=0.1, dropout=0,
        input_dropout=0)``; ``--epochs`` and ``--eta`` are each RBM's pretraining epochs and learning rate,
        fine-tuning has its own (and its dropout on the hidden layers and on the pixels)."""
        if not sizes:
            sizes = (500, 500, 2000)
        model = cls(sizes, labels=labels, k=k, seed=seed)
        model.finetune_epochs = validation.whole("dbn finetune_epochs", finetune_epochs, low=0)
        model.finetune_eta = validation.number("dbn finetune_eta", finetune_eta, low=0, low_open=True)
        model.finetune_dropout = (validation.number("dbn dropout", dropout, 0.0, 1.0, high_open=True),
                                  validation.number("dbn input_dropout", input_dropout, 0.0, 1.0, high_open=True))
        return model

    # -- pretraining -----------------------------------------------------------------------------
    def one_hot(self, y) -> numpy.ndarray:
        y = numpy.asarray(y)
        if y.ndim != 1 or y.size == 0 or y.min() < 0 or y.max() >= CLASSES:
            raise NndlError(f"dbn: labels must be classes 0..{CLASSES - 1}")
        out = numpy.zeros((len(y), CLASSES), dtype=numpy.float32)
        out[numpy.arange(len(y)), y] = 1
        return out

    def features_below(self, x, layer: int) -> numpy.ndarray:
        """The data of RBM ``layer``: x passed up through the RBMs below it, p(hˡ | hˡ⁻¹) at each."""
        for rbm in self.rbms[:layer]:
            x = rbm.transform(x)
        return x

    def pretrain(self, x, y=None, epochs=10, eta: float = 0.1, batch_size: int = 100,
                 held_out=None, on_epoch=None, after_layer=None) -> list:
        """Greedy layer-wise training, each RBM on the features of the one below for ``epochs`` epochs (one
        number, or one per RBM); ``after_layer(rbm)`` runs when each RBM is trained."""
        epochs = list(epochs) if isinstance(epochs, (list, tuple)) else [epochs] * len(self.rbms)
        if len(epochs) != len(self.rbms):
            raise NndlError(f"dbn: {len(epochs)} epoch counts for {len(self.rbms)} RBMs")
        if self.labels and y is None:
            raise NndlError("dbn: a DBN with labels needs the labels of its training data")
        self.rbms[0].check_data(x, "dbn training data")
        history = []
        data, held = x, held_out
        for i, rbm in enumerate(self.rbms):
            top = i == len(self.rbms) - 1
            visible = numpy.hstack([data, self.one_hot(y)]) if top and self.labels else data
            vheld = None
            if held is not None and not (top and self.labels):
                vheld = held

            def report(record, i=i):
                record = dict(record, layer=i + 1, phase="pretrain")
                history.append(record)
                if on_epoch is not None:
                    on_epoch(record)

            rbm.fit(visible, epochs[i], eta, batch_size, held_out=vheld, on_epoch=report)
            if after_layer is not None:
                after_layer(rbm)
            if not top:
                data = rbm.transform(data)
                held = None if held is None else rbm.transform(held)
        return history

    # -- fine-tuning -----------------------------------------------------------------------------
    def classifier(self, seed: int = 0, dropout: float = 0.0, input_dropout: float = 0.0):
        """The recognition weights as an nndl Network: Dense sigmoid layers (W = Wˡᵀ, b = cˡ) and a softmax.

        ``dropout`` > 0 puts a Dropout layer after each hidden layer and ``input_dropout`` one on the pixels
        (Srivastava et al. 2014 fine-tune this DBN with 0.5 and 0.2)."""
        from nndl.layers import Dense
        from nndl.layers.dropout import interleave_dropout
        from nndl.network import Network

        dense = [Dense(size, "sigmoid") for size in self.sizes] + [Dense(CLASSES, "softmax")]
        net = Network(interleave_dropout(dense, dropout, input_dropout), (self.n_visible,), cost="log_likelihood",
                      seed=seed)
        for layer, rbm in zip(dense, self.rbms):
            n_in = layer.W.value.shape[1]
            layer.W.value[...] = to_device(to_numpy(rbm.W)[:n_in].T)
            layer.b.value[...] = to_device(to_numpy(rbm.c))
        top, softmax = self.rbms[-1], dense[-1]
        if self.labels:
            softmax.W.value[...] = to_device(to_numpy(top.W)[-CLASSES:])
            softmax.b.value[...] = to_device(to_numpy(top.b)[-CLASSES:])
        else:
            rng = numpy.random.default_rng([seed, 3])
            softmax.W.value[...] = to_device(rng.normal(0, 0.01, softmax.W.value.shape).astype(FLOAT))
            softmax.b.value[...] = 0
        return net

    def finetune(self, train, validation_data=None, test=None, epochs: int = 30, eta: float = 0.1,
                 momentum: float = 0.9, batch_size: int = 100, on_epoch=None, seed: int = 0,
                 network=None):
        """Backpropagation through :meth:`classifier` (or ``network``); returns the trainer's History."""
        from nndl.callbacks import LambdaCallback
        from nndl.models import Classifier
        from nndl.optim import Momentum
        from nndl.trainer import Trainer

        net = self.classifier(seed, *getattr(self, "finetune_dropout", (0.0, 0.0))) if network is None else network
        callbacks = [] if on_epoch is None else \
            [LambdaCallback(on_epoch_end=lambda trainer, epoch, record: on_epoch(dict(record, phase="finetune")))]
        trainer = Trainer(batch_size=batch_size, callbacks=callbacks, seed=seed, threads=None, verbose=False)
        history = trainer.fit(Classifier(net, Momentum(eta=eta, mu=momentum)), train, epochs,
                              validation_data=validation_data, test_data=test)
        self.network = net
        return history

    # -- generating ------------------------------------------------------------------------------
    def sample(self, n, rng, label=None):
        """``n`` dreamed images: Gibbs sampling in the top RBM for :attr:`sample_steps` steps (label units
        clamped to ``label``, or free: the chain picks a class), then a top-down pass of the lower RBMs."""
        label = self.check_label(label, "dbn")
        top = self.rbms[-1]
        with numpy.errstate(all="ignore"):
            p = 1.0 / (1.0 + numpy.exp(-to_numpy(top.b)))
            start = (rng.random((n, top.n_visible)) < p).astype(top.dtype)
            clamp = None
            if self.labels:
                start[:, -CLASSES:] = 0
                classes = rng.integers(0, CLASSES, n) if label is None else numpy.full(n, label)
                start[numpy.arange(n), top.n_visible - CLASSES + classes] = 1
                if label is not None:
                    clamp = numpy.zeros(top.n_visible, dtype=bool)
                    clamp[-CLASSES:] = True
            mean = top.gibbs(to_device(start), self.sample_steps, clamp=clamp, rng=rng)
            h = mean[:, :top.n_visible - (CLASSES if self.labels else 0)]
            for rbm in reversed(self.rbms[:-1]):
                h = (to_device(rng.random(h.shape, dtype=numpy.float32)) < h).astype(rbm.dtype)
                h = rbm.visible_mean(h)
        return numpy.clip(to_numpy(h).astype(numpy.float32), 0.0, 1.0)

    # -- the file --------------------------------------------------------------------------------
    def parts(self):
        config = {"sizes": self.sizes, "n_visible": self.n_visible, "labels": self.labels, "k": self.k,
                  "seed": self.seed, "sample_steps": self.sample_steps,
                  "epochs": [rbm.epochs_done for rbm in self.rbms], "finetuned": self.network is not None}
        arrays = {}
        for i, rbm in enumerate(self.rbms):
            arrays.update({f"W{i}": to_numpy(rbm.W), f"b{i}": to_numpy(rbm.b), f"c{i}": to_numpy(rbm.c)})
        networks = {} if self.network is None else {"classifier": self.network}
        return config, networks, arrays

    @classmethod
    def from_parts(cls, stored):
        config = stored.config
        try:
            sizes = config["sizes"]
            if not isinstance(sizes, list) or not 1 <= len(sizes) <= 16:
                raise NndlError("the dbn's config must list 1 to 16 layer sizes")
            model = cls(sizes, config["n_visible"], config.get("labels", True), config.get("k", 1),
                        config.get("seed", 0))
        except (KeyError, TypeError) as exc:
            raise NndlError(f"the dbn's config is incomplete ({exc})") from None
        epochs = config.get("epochs", [0] * len(sizes))
        for i, rbm in enumerate(model.rbms):
            rbm.W = to_device(stored.array_of(f"W{i}", (rbm.n_visible, rbm.n_hidden)))
            rbm.b = to_device(stored.array_of(f"b{i}", (rbm.n_visible,)))
            rbm.c = to_device(stored.array_of(f"c{i}", (rbm.n_hidden,)))
            if isinstance(epochs, list) and i < len(epochs):
                rbm.epochs_done = validation.whole("dbn epochs", epochs[i], low=0)
        model.sample_steps = validation.whole("dbn sample_steps", config.get("sample_steps", 1000), low=1,
                                              high=100_000)
        if config.get("finetuned"):
            net = stored.network("classifier")
            if tuple(net.input_shape) != (model.n_visible,) or tuple(net.output_shape) != (CLASSES,):
                raise NndlError(f"the dbn's classifier maps {net.input_shape} to {net.output_shape}, not "
                                f"({model.n_visible},) to ({CLASSES},)")
            model.network = net
        return model

    def fit_command(self, splits, options):
        train = splits.train
        x = train.x.reshape(len(train.x), -1)
        if x.shape[1] != self.n_visible:
            self.__init__(self.sizes, x.shape[1], self.labels, self.k, self.seed)
        if self.labels and train.num_classes != CLASSES:
            raise NndlError(f"--data {train.name}: a dbn with labels needs {CLASSES} classes, the data have "
                            f"{train.num_classes}; use dbn(..., labels=false)")
        self.rbms[0].check_data(x, f"--data {train.name}")
        if "seed" in options:
            seed = validation.seed("--seed", options["seed"])
            self.__init__(self.sizes, self.n_visible, self.labels, self.k, seed)
        held = splits.validation
        epochs = options.get("epochs", 10)
        eta = options.get("eta", 0.1)
        batch = options.get("batch_size", 100)
        finetune_epochs = getattr(self, "finetune_epochs", 30)
        finetune_eta = getattr(self, "finetune_eta", 0.1)
        start = time.perf_counter()

        def line(record):
            if record["phase"] == "pretrain":
                return (f"rbm {record['layer']} epoch {record['epoch']}: reconstruction error "
                        f"{record['reconstruction_error']:.2f} ({record['seconds_total']:.0f} s)")
            acc = record.get("validation_accuracy")
            return (f"fine-tuning epoch {record['epoch']}: cost {record.get('training_cost', float('nan')):.4f}"
                    + (f", validation accuracy {acc:.4f}" if acc is not None else "")
                    + f" ({record['seconds_total']:.0f} s)")

        report = epoch_reporter(options, line, lambda r: {"seconds_total": time.perf_counter() - start})

        self.pretrain(x, train.y if self.labels else None, epochs, eta, batch,
                      None if held is None else held.x.reshape(len(held.x), -1), on_epoch=report)
        final = {"pretrain_epochs": epochs, "pretrain_seconds": time.perf_counter() - start}
        if finetune_epochs and train.num_classes == CLASSES:
            history = self.finetune(train, held, splits.test if options.get("monitor_test") else None,
                                    finetune_epochs, finetune_eta, options.get("momentum", 0.9), batch,
                                    on_epoch=report, seed=self.seed)
            final.update({k: v for k, v in history.final.items() if isinstance(v, (int, float, str))})
            final["finetune_epochs"] = finetune_epochs
        return final
