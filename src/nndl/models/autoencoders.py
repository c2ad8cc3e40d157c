"""Autoencoders of the course notes: under- and overcomplete, tied, sparse, denoising, contractive,
and stacked with greedy layer-wise pretraining before fine-tuning as a classifier.

One autoencoder is a sigmoid encoder and a decoder,

    h = σ(W x̃ + b),        x̂ = f(W* h + c),

trained to reproduce the clean input x from x̃ (x̃ = x, or a corrupted copy for a denoising
autoencoder).  The decoder's weights are its own or tied, W* = Wᵀ (:class:`~nndl.layers.TiedDense`:
∂C/∂W is then the sum of the encoder's and the decoder's use of W).  Its objective on a
mini-batch of m examples is

    J = (1/m) Σ_n L(x̂_n, x_n)  +  Σ_k Ω_k(h, W),

with the notes' two losses

* ``cross_entropy`` (binary data, sigmoid output): L = −Σ_i [x_i ln x̂_i + (1 − x_i) ln(1 − x̂_i)];
* ``squared`` (real data, linear output):          L = ½‖x̂ − x‖²;

and the penalties Ω below, each a small class with ``cost(h, W)`` and ``gradient(h, W)`` giving
(∂Ω/∂h, ∂Ω/∂W held directly, or None); ∂Ω/∂h is added to the hidden layer's error before the encoder's
backward pass, ∂Ω/∂W to W's gradient.

* :class:`Sparsity`: Ω = β Σ_j KL(ρ ‖ ρ̂_j), ρ̂_j = (1/m) Σ_n h_nj, KL(ρ‖q) = ρ ln(ρ/q) + (1 − ρ) ln((1 − ρ)/(1 − q));
  ∂Ω/∂h_nj = (β/m) (−ρ/ρ̂_j + (1 − ρ)/(1 − ρ̂_j))  (UFLDL's sparse autoencoder).
* :class:`Contraction`: Ω = (λ/m) Σ_n ‖J_h(x_n)‖²_F, and for a sigmoid encoder J_ji = h_j(1 − h_j) W_ji, so
  ‖J‖²_F = Σ_j (h_j(1 − h_j))² S_j with S_j = Σ_i W_ji²  (Rifai et al. 2011).  Exactly:
  ∂Ω/∂h_nj = (λ/m) 2 h_nj(1 − h_nj)(1 − 2h_nj) S_j   and, held directly,   ∂Ω/∂W_ji = (λ/m) 2 Σ_n (h_nj(1 − h_nj))² W_ji.

Corruptions (:class:`Masking`: each input set to 0 with probability ν, as Vincent et al. 2008;
:class:`GaussianNoise`: x̃ = x + σε, ε ~ N(0, 1)) draw from the model's seeded generator.

:class:`StackedAutoencoder` pretrains each layer as a (denoising or contractive) autoencoder on
the codes of the one below, then builds an nndl classifier (those sigmoid dense layers, then
softmax) initialised from the encoders and fine-tunes it with nndl's Trainer.
"""
from __future__ import annotations

import time

import numpy

from nndl import validation
from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.errors import NndlError
from nndl.models.autoencoder import Autoencoder
from nndl.models.generative import GenerativeModel

LOSSES = {"cross_entropy": ("cross_entropy", "sigmoid"), "squared": ("quadratic", "linear")}
_LOSS_ALIASES = {"bernoulli": "cross_entropy", "crossentropy": "cross_entropy", "quadratic": "squared",
                 "mse": "squared", "squared_error": "squared"}


# ---------------------------------------------------------------------------------------- corruption
class Masking:
    """x̃ = x ⊙ d, d_i ~ Bernoulli(1 − ν): each input zeroed with probability ν (the masking noise of
    Vincent et al. 2008)."""

    def __init__(self, level: float):
        self.level = corruption_level(level)

    def __call__(self, x, rng: numpy.random.Generator):
        if self.level == 0:
            return x
        keep = to_device(rng.random(x.shape, dtype=numpy.float32) >= self.level)
        return x * keep.astype(x.dtype)


class GaussianNoise:
    """x̃ = x + σ ε, ε ~ N(0, I)."""

    def __init__(self, sigma: float):
        self.sigma = validation.number("noise (the Gaussian corruption's σ)", sigma, low=0)

    def __call__(self, x, rng: numpy.random.Generator):
        if self.sigma == 0:
            return x
        return x + to_device(self.sigma * rng.standard_normal(x.shape, dtype=numpy.float32)).astype(x.dtype)


def corruption_level(level) -> float:
    """ν as a float in [0, 1); one line otherwise (ν = 1 would erase every input)."""
    return validation.number("corruption (the fraction of inputs masked)", level, low=0, high=1, high_open=True)


# ----------------------------------------------------------------------------------------- penalties
class Sparsity:
    """Ω(h) = β Σ_j KL(ρ ‖ ρ̂_j), the mean activation ρ̂_j of hidden unit j over the mini-batch pulled to ρ."""

    def __init__(self, target: float, beta: float = 3.0):
        self.target = validation.number("sparsity (the target mean activation ρ)", target, low=0, high=1,
                                        low_open=True, high_open=True)
        self.beta = validation.number("beta (the sparsity penalty's weight)", beta, low=0)

    def _rho_hat(self, h):
        eps = 1e-6
        return xp.clip(h.mean(axis=0), eps, 1 - eps)

    def cost(self, h, W) -> float:
        rho, q = self.target, self._rho_hat(h)
        return self.beta * float((rho * xp.log(rho / q) + (1 - rho) * xp.log((1 - rho) / (1 - q))).sum())

    def gradient(self, h, W):
        """(∂Ω/∂h, None): ∂Ω/∂h_nj = (β/m)(−ρ/ρ̂_j + (1 − ρ)/(1 − ρ̂_j)), the same for every example n."""
        rho, q = self.target, self._rho_hat(h)
        g = (self.beta / len(h)) * (-rho / q + (1 - rho) / (1 - q))
        return xp.broadcast_to(g.astype(h.dtype), h.shape), None

    def config(self):
        return {"sparsity": self.target, "beta": self.beta}


class Contraction:
    """Ω(h, W) = (λ/m) Σ_n ‖J_h(x_n)‖²_F = (λ/m) Σ_n Σ_j (h_nj(1 − h_nj))² Σ_i W_ji²  (sigmoid encoder)."""

    def __init__(self, lmbda: float):
        self.lmbda = validation.number("contraction (the contractive penalty's weight λ)", lmbda, low=0)

    def cost(self, h, W) -> float:
        s = (W * W).sum(axis=1)                                   # S_j = Σ_i W_ji²
        d = h * (1 - h)
        return self.lmbda / len(h) * float(((d * d) @ s).sum())

    def gradient(self, h, W):
        """(∂Ω/∂h, ∂Ω/∂W): the first through h = σ(z), the second W's direct part."""
        m = len(h)
        s = (W * W).sum(axis=1)
        d = h * (1 - h)
        g_h = (2 * self.lmbda / m) * d * (1 - 2 * h) * s
        g_W = (2 * self.lmbda / m) * (d * d).sum(axis=0)[:, None] * W
        return g_h, g_W

    def config(self):
        return {"contraction": self.lmbda}


# ------------------------------------------------------------------------------ one trained autoencoder
class RegularizedAutoencoder(Autoencoder):
    """An :class:`~nndl.models.Autoencoder` (target = the clean input) whose step corrupts its input and adds
    the penalties' gradients to the hidden layer; trains through :class:`nndl.trainer.Trainer`.

    ``network`` is [Dense(n_hidden, sigmoid), Dense or TiedDense(n_in, sigmoid | linear)].
    """

    def __init__(self, network, optimizer=None, corruption=None, penalties=(), seed: int = 0, metrics=None):
        super().__init__(network, optimizer, metrics=metrics)
        if len(network.layers) != 2:
            raise NndlError("a regularized autoencoder is two layers: the encoder and the decoder")
        self.encoder, self.decoder = network.layers
        self.corruption = corruption
        self.penalties = list(penalties)
        self.rng = numpy.random.default_rng(seed)

    def corrupt(self, x):
        return x if self.corruption is None else self.corruption(x, self.rng)

    def loss_and_gradients(self, x_in, x) -> float:
        """J for inputs ``x_in`` (corrupted) and targets ``x`` (clean); leaves ∂J/∂θ in every ``p.grad``."""
        net = self.network
        net.zero_grad()
        m = len(x)
        h = self.encoder.forward(x_in, training=True)
        a = self.decoder.forward(h, training=True)
        kept = self.decoder.peek()
        self.decoder.needs_input_grad = True
        self.encoder.needs_input_grad = False
        delta = net.cost.delta(kept["z"], kept["a"], x, self.decoder.activation) / m
        g_h = self.decoder.backward_delta(delta)                     # ∂(mean L)/∂h
        J = net.cost.fn(a, x)
        W = self.encoder.W
        for penalty in self.penalties:
            J += penalty.cost(h, W.value)
            gh, gW = penalty.gradient(h, W.value)
            g_h = g_h + gh
            if gW is not None:
                W.add_grad(gW)
        self.encoder.backward(g_h)
        return J

    def train_step(self, x, y):
        x = x.reshape(len(x), -1)
        cost = self.loss_and_gradients(self.corrupt(x), x)
        self.apply_gradients()
        return {"cost": cost}


def autoencoder_network(n_in: int, n_hidden: int, tied: bool, loss: str, seed: int, dtype=FLOAT):
    """[Dense(n_hidden, sigmoid), TiedDense or Dense(n_in, σ or linear)] with the loss's cost, Glorot-uniform
    weights U(±√(6/(n_in + n_hidden))) and zero biases."""
    from nndl.layers import Dense, TiedDense
    from nndl.network import Network

    cost, output = LOSSES[loss]
    encoder = Dense(n_hidden, activation="sigmoid", init="glorot_uniform")
    decoder = TiedDense(encoder, activation=output) if tied else Dense(n_in, activation=output,
                                                                      init="glorot_uniform")
    net = Network([encoder, decoder], (n_in,), cost=cost, seed=seed, dtype=dtype)
    with_zero_bias(net)
    return net


def with_zero_bias(net):
    for p in net.params:
        if p.name == "b" and p.value is not None:
            p.value[...] = 0
    return net


def loss_name(loss) -> str:
    if not isinstance(loss, str):
        raise NndlError(f"loss={loss!r}: choose cross_entropy (binary data, sigmoid output) or squared "
                        f"(½‖x̂ − x‖², linear output)")
    key = loss.strip().lower().replace("-", "_")
    key = _LOSS_ALIASES.get(key, key)
    if key not in LOSSES:
        raise NndlError(f"loss={loss!r}: choose cross_entropy (binary data, sigmoid output) or squared "
                        f"(½‖x̂ − x‖², linear output)")
    return key


def _optimizer(name: str, eta: float, momentum: float):
    from nndl.optim import SGD, Adam, Momentum

    if name == "adam":
        return Adam(eta)
    return Momentum(eta, momentum) if momentum else SGD(eta)


class _Deadline:
    """Stops a Trainer after ``seconds`` (checked at the end of each epoch)."""

    def __init__(self, seconds):
        self.seconds, self.start = seconds, time.perf_counter()

    def callback(self):
        from nndl.callbacks import LambdaCallback

        def check(trainer, epoch, record):
            if self.seconds is not None and time.perf_counter() - self.start > self.seconds:
                trainer.stop(f"time limit of {self.seconds:g} s")

        return LambdaCallback(on_epoch_end=check)


def _reporter(options, prefix: str, extra: dict | None = None):
    from nndl.callbacks import LambdaCallback
    from nndl.cli.common import print_json, say

    def report(trainer, epoch, record):
        row = dict(extra or {}, **{k: v for k, v in record.items() if isinstance(v, (int, float, str))})
        if options.get("json"):
            print_json(dict(row, phase=prefix))
        elif not options.get("quiet"):
            figures = ", ".join(f"{k} {v:.4g}" for k, v in record.items()
                                if isinstance(v, float) and k not in ("eta", "eval_seconds"))
            say(f"{prefix} epoch {epoch}: {figures}")

    return LambdaCallback(on_epoch_end=report)


class AutoencoderModel(GenerativeModel):
    """``autoencoder(500, corruption=0.3, tied=true, sparsity=0.05, beta=3, contraction=0.1, loss=cross_entropy)``.

    One hidden layer of ``hidden`` sigmoid units (fewer than the 784 inputs: undercomplete; more:
    overcomplete, which needs corruption, sparsity or contraction to learn more than the identity).
    """

    kind = "autoencoder"

    def __init__(self, hidden: int = 500, corruption: float = 0.0, noise: float = 0.0, tied: bool = True,
                 sparsity: float | None = None, beta: float = 3.0, contraction: float = 0.0,
                 loss: str = "cross_entropy", n_in: int = 784, seed: int = 0, dtype=FLOAT):
        self.hidden = validation.whole("hidden (the number of hidden units)", hidden, low=1, high=100_000)
        self.n_in = validation.whole("inputs", n_in, low=1)
        self.corruption = corruption_level(corruption)
        self.noise = validation.number("noise (the Gaussian corruption's σ)", noise, low=0)
        if self.corruption and self.noise:
            raise NndlError("corruption (masking) and noise (Gaussian) are two kinds of corruption; give one")
        self.tied = validation.boolean("tied", tied)
        self.sparsity = None if sparsity is None else Sparsity(sparsity, beta)
        if sparsity is None:
            validation.number("beta (the sparsity penalty's weight)", beta, low=0)
        self.beta = float(beta)
        self.contraction = validation.number("contraction (the contractive penalty's weight λ)", contraction, low=0)
        self.loss = loss_name(loss)
        self.network = autoencoder_network(self.n_in, self.hidden, self.tied, self.loss, seed, dtype)
        self.seed = int(seed)
        self.history = []

    @classmethod
    def from_command(cls, hidden: int = 500, corruption: float = 0.0, noise: float = 0.0, tied: bool = True,
                     sparsity: float | None = None, beta: float = 3.0, contraction: float = 0.0,
                     loss: str = "cross_entropy"):
        return cls(hidden, corruption, noise, tied, sparsity, beta, contraction, loss)

    # -- the pieces ---------------------------------------------------------------------------------
    def penalties(self) -> list:
        out = []
        if self.sparsity is not None:
            out.append(self.sparsity)
        if self.contraction:
            out.append(Contraction(self.contraction))
        return out

    def corruption_of(self):
        if self.corruption:
            return Masking(self.corruption)
        if self.noise:
            return GaussianNoise(self.noise)
        return None

    def model(self, optimizer=None, seed: int | None = None) -> RegularizedAutoencoder:
        """The trainable :class:`RegularizedAutoencoder` around this autoencoder's network."""
        return RegularizedAutoencoder(self.network, optimizer, self.corruption_of(), self.penalties(),
                                      self.seed if seed is None else seed)

    @property
    def W(self):
        """The encoder's weights, (hidden, inputs): row j is hidden unit j's filter."""
        return self.network.layers[0].W.value

    def encode(self, x, batch_size: int = 1000):
        """h = σ(W x + b) for every row of host array ``x``."""
        return self.network.features(x, upto=1, batch_size=batch_size, preprocessed=True)

    def reconstruct(self, x, batch_size: int = 1000):
        """x̂ = f(W* h + c) for every row of ``x`` (clean, not corrupted)."""
        return self.network.predict_proba(x, batch_size, preprocessed=True)

    # -- training -----------------------------------------------------------------------------------
    def fit(self, x, epochs: int = 15, eta: float = 0.1, momentum: float = 0.0, batch_size: int = 20,
            seed: int | None = None, validation_x=None, callbacks=(), optimizer: str = "sgd"):
        """Train on the rows of ``x`` (labels unused); returns the Trainer's history."""
        from nndl.trainer import Trainer

        seed = self.seed if seed is None else seed
        model = self.model(_optimizer(optimizer, eta, momentum), seed)
        trainer = Trainer(batch_size=batch_size, callbacks=list(callbacks), seed=seed, threads=None, workers=1,
                          verbose=False)
        val = None if validation_x is None else (validation_x, None)
        history = trainer.fit(model, (x, None), epochs, validation_data=val)
        self.history.extend(history.records)
        return history

    def fit_command(self, splits, options) -> dict:
        epochs = validation.whole("--epochs", options.get("epochs", 15), low=1)
        eta = validation.number("--eta", options.get("eta", 0.1), low=0, low_open=True)
        batch = validation.whole("--batch-size", options.get("batch_size", 20), low=1)
        momentum = validation.number("--momentum", options.get("momentum", 0.0), low=0, high=1, high_open=True)
        if "seed" in options:
            self.seed = int(options["seed"])
        deadline = _Deadline(options.get("time_limit"))
        val = splits.validation.x[:2000] if splits.validation is not None else None
        start = time.perf_counter()
        history = self.fit(splits.train.x, epochs, eta, momentum, batch, self.seed, val,
                           [_reporter(options, "autoencoder"), deadline.callback()])
        final = {"epochs": len(history), "seconds": time.perf_counter() - start}
        final.update(self.reconstruction_figures(splits.test.x if splits.test is not None else splits.train.x[:2000]))
        return final

    def reconstruction_figures(self, x) -> dict:
        """Per example on clean ``x``: the summed cross-entropy (for σ outputs) and ½‖x̂ − x‖²."""
        xh = numpy.asarray(to_numpy(self.reconstruct(x)), dtype=numpy.float64)
        x = numpy.asarray(x, dtype=numpy.float64)
        out = {"test_squared_error": float(0.5 * ((xh - x) ** 2).sum(1).mean())}
        if self.loss == "cross_entropy":
            q = numpy.clip(xh, 1e-7, 1 - 1e-7)
            out["test_cross_entropy"] = float(-(x * numpy.log(q) + (1 - x) * numpy.log(1 - q)).sum(1).mean())
        return out

    def sample(self, n, rng, label=None):
        raise NndlError("an autoencoder does not generate examples (it has no prior over codes); its "
                        "reconstructions are drawn by bench/experiment_autoencoders.py")

    # -- the file -----------------------------------------------------------------------------------
    def config(self) -> dict:
        return {"hidden": self.hidden, "inputs": self.n_in, "corruption": self.corruption, "noise": self.noise,
                "tied": self.tied, "sparsity": None if self.sparsity is None else self.sparsity.target,
                "beta": self.beta, "contraction": self.contraction, "loss": self.loss, "seed": self.seed}

    def parts(self):
        return self.config(), {"autoencoder": self.network}, {}

    @classmethod
    def from_parts(cls, stored):
        c = stored.config
        try:
            model = cls(c["hidden"], c["corruption"], c["noise"], c["tied"], c["sparsity"], c["beta"],
                        c["contraction"], c["loss"], c["inputs"], c.get("seed", 0))
        except KeyError as exc:
            raise NndlError(f"the autoencoder's config lacks {exc.args[0]!r}") from None
        net = stored.network("autoencoder")
        if tuple(net.input_shape) != (model.n_in,) or tuple(net.layers[0].output_shape) != (model.hidden,):
            raise NndlError(f"the autoencoder network maps {net.input_shape} through "
                            f"{net.layers[0].output_shape}, its config says ({model.n_in},) and ({model.hidden},)")
        model.network = net
        return model


# ---------------------------------------------------------------------------------------------- stacked
class StackedAutoencoder(GenerativeModel):
    """``stacked_autoencoder(1000, 1000, 1000, corruption=0.3, pretrain_epochs=15)``: greedy layer-wise
    pretraining of denoising (``corruption``/``noise``) or contractive (``contraction``) autoencoders, each on
    the codes of the one below, then fine-tuning of [sigmoid dense layers from the encoders, softmax] as a
    classifier (Bengio et al. 2007; Vincent et al. 2008, 2010)."""

    kind = "stacked_autoencoder"
    image_shape = (28, 28)

    def __init__(self, hidden=(1000, 1000, 1000), corruption: float = 0.0, noise: float = 0.0,
                 contraction: float = 0.0, sparsity: float | None = None, beta: float = 3.0, tied: bool = True,
                 pretrain_epochs: int = 15, pretrain_eta: float = 0.1, pretrain_batch_size: int = 50,
                 classes: int = 10, n_in: int = 784, seed: int = 0, dtype=FLOAT, dropout: float = 0.0,
                 input_dropout: float = 0.0):
        if not hidden:
            raise NndlError("stacked_autoencoder needs the sizes of its hidden layers, e.g. "
                            "stacked_autoencoder(1000, 1000, 1000)")
        self.hidden = [validation.whole("a hidden layer's size", h, low=1, high=100_000) for h in hidden]
        self.corruption = corruption_level(corruption)
        self.noise = validation.number("noise (the Gaussian corruption's σ)", noise, low=0)
        self.contraction = validation.number("contraction (the contractive penalty's weight λ)", contraction, low=0)
        self.sparsity = None if sparsity is None else Sparsity(sparsity, beta).target
        self.beta = validation.number("beta (the sparsity penalty's weight)", beta, low=0)
        if self.corruption and self.noise:
            raise NndlError("corruption (masking) and noise (Gaussian) are two kinds of corruption; give one")
        self.tied = validation.boolean("tied", tied)
        self.pretrain_epochs = validation.whole("pretrain_epochs", pretrain_epochs, low=0)
        self.pretrain_eta = validation.number("pretrain_eta", pretrain_eta, low=0, low_open=True)
        self.pretrain_batch_size = validation.whole("pretrain_batch_size", pretrain_batch_size, low=1)
        self.classes = validation.whole("classes", classes, low=2)
        self.n_in = validation.whole("inputs", n_in, low=1)
        self.dropout = validation.number("dropout (on the hidden layers in fine-tuning)", dropout, 0.0, 1.0,
                                         high_open=True)
        self.input_dropout = validation.number("input_dropout (on the pixels in fine-tuning)", input_dropout, 0.0,
                                               1.0, high_open=True)
        self.seed = int(seed)
        self.dtype = dtype
        self.classifier = self.classifier_network()
        self.figures: dict = {}

    @classmethod
    def from_command(cls, *hidden: int, corruption: float = 0.0, noise: float = 0.0, contraction: float = 0.0,
                     sparsity: float | None = None, beta: float = 3.0, tied: bool = True, pretrain_epochs: int = 15,
                     pretrain_eta: float = 0.1, pretrain_batch_size: int = 50, dropout: float = 0.0,
                     input_dropout: float = 0.0):
        return cls(hidden or (1000, 1000, 1000), corruption, noise, contraction, sparsity, beta, tied,
                   pretrain_epochs, pretrain_eta, pretrain_batch_size, dropout=dropout, input_dropout=input_dropout)

    def classifier_network(self):
        """[sigmoid dense layers, softmax], with Dropout layers between them if ``dropout``/``input_dropout``."""
        from nndl.layers import Dense
        from nndl.layers.dropout import interleave_dropout
        from nndl.network import Network

        dense = [Dense(h, activation="sigmoid", init="glorot_uniform") for h in self.hidden]
        dense.append(Dense(self.classes, activation="softmax", init="glorot_uniform"))
        layers = interleave_dropout(dense, self.dropout, self.input_dropout)
        return with_zero_bias(Network(layers, (self.n_in,), cost="log_likelihood", seed=self.seed, dtype=self.dtype))

    @property
    def dense_layers(self) -> list:
        """The classifier's dense layers (hidden ones first, the softmax last), without its dropout layers."""
        from nndl.layers import Dense

        return [layer for layer in self.classifier.layers if isinstance(layer, Dense)]

    def layer_autoencoder(self, k: int) -> AutoencoderModel:
        """The autoencoder that pretrains hidden layer k (0-based): its input the codes of layer k − 1."""
        n_in = self.n_in if k == 0 else self.hidden[k - 1]
        return AutoencoderModel(self.hidden[k], self.corruption, self.noise, self.tied, self.sparsity, self.beta,
                                self.contraction, "cross_entropy", n_in, self.seed + 101 * (k + 1), self.dtype)

    def pretrain(self, x, epochs=None, eta=None, batch_size=None, callbacks_of=None, deadline=None):
        """Greedy layer-wise: train autoencoder k on the clean codes of layers < k, copy its encoder into
        the classifier's layer k.  Returns the trained autoencoders."""
        epochs = self.pretrain_epochs if epochs is None else epochs
        eta = self.pretrain_eta if eta is None else eta
        batch_size = self.pretrain_batch_size if batch_size is None else batch_size
        codes, trained = x, []
        for k in range(len(self.hidden)):
            ae = self.layer_autoencoder(k)
            if epochs:
                ae.fit(codes, epochs, eta, 0.0, batch_size, ae.seed,
                       callbacks=[] if callbacks_of is None else callbacks_of(k))
            dense = self.dense_layers[k]
            dense.W.value[...] = ae.network.layers[0].W.value
            dense.b.value[...] = ae.network.layers[0].b.value
            trained.append(ae)
            if k + 1 < len(self.hidden):
                codes = to_numpy(ae.encode(codes)).astype(numpy.float32)
            if deadline is not None and deadline():
                break
        return trained

    def finetune(self, splits, epochs: int = 50, eta: float = 0.05, momentum: float = 0.9, batch_size: int = 50,
                 patience: int = 8, callbacks=(), optimizer: str = "momentum", plateau: int | None = None):
        """Backpropagation through the whole classifier, early stopping on the validation accuracy (the
        best epoch's weights kept); ``plateau`` = k halves η after k epochs without a better one (the book's
        schedule)."""
        from nndl.callbacks import EarlyStopping, LearningRateSchedule
        from nndl.models import Classifier
        from nndl.optim.schedules import HalveOnPlateau
        from nndl.trainer import Trainer

        model = Classifier(self.classifier, _optimizer(optimizer, eta, momentum if optimizer != "sgd" else 0.0))
        stops = [EarlyStopping("validation_accuracy", patience=patience)] if splits.validation is not None else []
        if plateau and splits.validation is not None:
            stops.append(LearningRateSchedule(HalveOnPlateau(plateau, stop_factor=1024.0)))
        trainer = Trainer(batch_size=batch_size, callbacks=stops + list(callbacks), seed=self.seed, threads=None,
                          workers=1, verbose=False)
        val = None if splits.validation is None else (splits.validation.x, splits.validation.y)
        return trainer.fit(model, (splits.train.x, splits.train.y), epochs, validation_data=val)

    def test_error(self, x, y) -> float:
        return 1.0 - float(self.classifier.accuracy(x, y, preprocessed=True))

    def fit_command(self, splits, options) -> dict:
        epochs = validation.whole("--epochs", options.get("epochs", 50), low=1)
        eta = validation.number("--eta", options.get("eta", 0.05), low=0, low_open=True)
        batch = validation.whole("--batch-size", options.get("batch_size", 50), low=1)
        momentum = validation.number("--momentum", options.get("momentum", 0.9), low=0, high=1, high_open=True)
        if "seed" in options:
            self.seed = int(options["seed"])
            self.classifier = self.classifier_network()
        limit = options.get("time_limit")
        deadline = _Deadline(limit)
        start = time.perf_counter()
        self.pretrain(splits.train.x, callbacks_of=lambda k: [_reporter(options, f"pretrain layer {k + 1}")],
                      deadline=lambda: limit is not None and time.perf_counter() - start > limit)
        pretrain_seconds = time.perf_counter() - start
        history = self.finetune(splits, epochs, eta, momentum, batch, optimizer="momentum" if momentum else "sgd",
                                callbacks=[_reporter(options, "fine-tune"), deadline.callback()])
        final = {"pretrain_seconds": pretrain_seconds, "finetune_epochs": len(history),
                 "seconds": time.perf_counter() - start}
        if splits.validation is not None:
            final["validation_error"] = self.test_error(splits.validation.x, splits.validation.y)
        if splits.test is not None:
            final["test_error"] = self.test_error(splits.test.x, splits.test.y)
        self.figures = final
        return final

    def sample(self, n, rng, label=None):
        raise NndlError("a stacked autoencoder is a classifier after fine-tuning and does not generate examples")

    def config(self) -> dict:
        return {"hidden": self.hidden, "corruption": self.corruption, "noise": self.noise,
                "contraction": self.contraction, "sparsity": self.sparsity, "beta": self.beta, "tied": self.tied,
                "pretrain_epochs": self.pretrain_epochs, "pretrain_eta": self.pretrain_eta,
                "pretrain_batch_size": self.pretrain_batch_size, "classes": self.classes, "inputs": self.n_in,
                "seed": self.seed, "dropout": self.dropout, "input_dropout": self.input_dropout}

    def parts(self):
        return self.config(), {"classifier": self.classifier}, {}

    @classmethod
    def from_parts(cls, stored):
        c = stored.config
        try:
            model = cls(tuple(c["hidden"]), c["corruption"], c["noise"], c["contraction"], c["sparsity"], c["beta"],
                        c["tied"], c["pretrain_epochs"], c["pretrain_eta"], c["pretrain_batch_size"], c["classes"],
                        c["inputs"], c.get("seed", 0), dropout=c.get("dropout", 0.0),
                        input_dropout=c.get("input_dropout", 0.0))
        except (KeyError, TypeError) as exc:
            raise NndlError(f"the stacked autoencoder's config is incomplete ({exc})") from None
        net = stored.network("classifier")
        want = [tuple(layer.output_shape) for layer in model.classifier.layers]
        got = [tuple(layer.output_shape) for layer in net.layers]
        if got != want or tuple(net.input_shape) != (model.n_in,):
            raise NndlError(f"the classifier's layers give {got}, its config says {want}")
        model.classifier = net
        return model


__all__ = ["AutoencoderModel", "StackedAutoencoder", "RegularizedAutoencoder", "Masking", "GaussianNoise",
           "Sparsity", "Contraction", "corruption_level"]
