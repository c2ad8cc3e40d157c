"""Generative adversarial nets (Goodfellow et al. 2014), and the conditional GAN (Mirza & Osindero 2014).

Two networks play a game.  The generator G maps noise z ~ N(0, I) (``latent`` values) to an example
x̃ = G(z); the discriminator D maps an example to a logit l = D(x), D's belief that x is real being
σ(l).  With real examples x and m noise draws, D *descends*

    C_D = (1/m) Σ [softplus(−D(x)) + softplus(D(G(z)))]  =  −(1/m) Σ [log σ(D(x)) + log(1 − σ(D(G(z))))],

the cross-entropy of calling real examples real and generated ones fake (its gradient at the
logits: σ(l) − 1 for a real one, σ(l) for a fake one, over m).  G plays against it with either

* the **minimax** loss of the game's value:     C_G = (1/m) Σ log(1 − σ(D(G(z)))) = −(1/m) Σ softplus(l),
  ∂C_G/∂l = −σ(l)/m, which vanishes while D rejects the fakes confidently (early in training);
* the **non-saturating** loss the paper recommends: C_G = −(1/m) Σ log σ(D(G(z))) = (1/m) Σ softplus(−l),
  ∂C_G/∂l = (σ(l) − 1)/m, the same fixed point with strong gradients when G is losing.

G's gradient goes *through* D: ∂C_G/∂x̃ = D's ``backward(∂C_G/∂l, input_grad=True)`` (D's own
weights are left alone in this step), then G's ``backward(∂C_G/∂x̃)`` gives ∂C_G/∂θ_G.  Training
alternates ``k`` steps of D (each on a fresh mini-batch of real examples) with one step of G, each
network with its own optimizer (Adam with β₁ = 0.5, the usual modern recipe, or the paper's
momentum SGD).

Two remedies against a generator that draws too few kinds of example, both off by default:
**one-sided label smoothing** (Salimans et al. 2016) asks D for σ(D(x)) = t < 1 on real examples,

    C_D = (1/m) Σ [t·softplus(−D(x)) + (1 − t)·softplus(D(x)) + softplus(D(G(z)))],

its gradient at a real logit σ(l) − t over m (fakes keep target 0), so D cannot grow overconfident on
real images; and a **minibatch standard deviation** feature before D's last layer (Karras et al. 2018,
:mod:`nndl.layers.minibatch_std`), so D sees how varied a group of examples is.

The **conditional** GAN feeds the class as a one-hot vector y to both: x̃ = G([z, y]) and
l = D([x, y]), so D judges "a real *three*", and G learns to draw the class it is asked for.
"""
from __future__ import annotations

import math
import time

import numpy

from nndl import validation
from nndl.backend import to_device, to_numpy, xp
from nndl.errors import NndlError
from nndl.layers import no_grad
from nndl.models.generative import GenerativeModel, epoch_reporter
from nndl.network import Network
from nndl.optim.averaging import check_decay, update_average
from nndl.spec import parse_spec

LOSSES = ("non_saturating", "minimax")


def softplus(v):
    """log(1 + eᵛ) without overflow."""
    return xp.maximum(v, 0) + xp.log1p(xp.exp(-xp.abs(v)))


def sigmoid(v):
    return 0.5 * (1 + xp.tanh(0.5 * v))


class GAN(GenerativeModel):
    """A generator and a discriminator, multilayer perceptrons.

    Parameters
    ----------
    latent : int
        Size of the noise z.
    k : int
        Discriminator steps per generator step.
    loss : {"non_saturating", "minimax"}
        The generator's loss.
    conditional : bool
        Feed the one-hot class to both networks (``classes`` of them).
    hidden : int
        Units of each of G's two ReLU hidden layers.
    d_hidden : int
        Units of D's first leaky-ReLU layer (its second has half as many).
    dropout : float
        Dropout rate after each of D's hidden layers.
    smoothing : float
        The target t ∈ (0.5, 1] of D for real examples (1: none; 0.9: one-sided label smoothing).
    minibatch_std : int
        0, or the group size of a minibatch-standard-deviation feature before D's output layer.
    average : float
        0, or the decay d of an exponential moving average of G's weights (0.999: about the last
        thousand G-steps) that :meth:`sample` draws from (:mod:`nndl.optim.averaging`).
    inputs : int
        Values per example (784); ``output`` is G's output activation ("sigmoid" for pixels in
        [0, 1], "linear" for real values such as a 2-D toy distribution).
    """

    kind = "gan"

    def __init__(self, latent: int = 100, k: int = 1, loss: str = "non_saturating", conditional: bool = False,
                 hidden: int = 512, d_hidden: int = 512, dropout: float = 0.3, inputs: int = 784,
                 output: str = "sigmoid", classes: int = 10, init: str = "lecun", batchnorm: bool = True,
                 activation: str = "leaky_relu", seed: int = 0, dtype=numpy.float32, average: float = 0.0,
                 smoothing: float = 1.0, minibatch_std: int = 0):
        self.latent = validation.whole("gan latent", latent, low=1, high=100_000)
        self.k = validation.whole("gan k (discriminator steps per generator step)", k, low=1, high=1000)
        self.loss = validation.choice("gan loss", loss, LOSSES)
        self.conditional = validation.boolean("gan conditional", conditional)
        self.hidden = validation.whole("gan hidden", hidden, low=1, high=100_000)
        self.d_hidden = validation.whole("gan d_hidden", d_hidden, low=2, high=100_000)
        self.dropout = validation.number("gan dropout", dropout, 0.0, 1.0, high_open=True)
        self.inputs = validation.whole("gan inputs", inputs, low=1, high=10_000_000)
        self.output = validation.choice("gan output", output, ("sigmoid", "linear"))
        self.n_classes = validation.whole("gan classes", classes, low=2, high=10_000)
        self.classes = self.n_classes if self.conditional else None
        self.seed = validation.seed("gan seed", seed)
        self.init = validation.choice("gan init", init, ("lecun", "default", "he", "glorot_uniform", "glorot_normal"))
        self.batchnorm = validation.boolean("gan batchnorm", batchnorm)
        self.activation = validation.choice("gan activation", activation, ("relu", "leaky_relu"))
        self.average = check_decay(average)
        self.smoothing = validation.number("gan smoothing (D's target for real examples)", smoothing, 0.5, 1.0,
                                           low_open=True)
        self.minibatch_std = validation.whole("gan minibatch_std (group size, 0 for none)", minibatch_std, low=0,
                                              high=100_000)
        if self.minibatch_std == 1:
            raise NndlError("gan minibatch_std: a group is 2 or more examples (0 for none), got 1")
        self.example_shape = (self.inputs,)
        side = math.isqrt(self.inputs)
        self.image_shape = (side, side) if side * side == self.inputs else None
        self.history: list[dict] = []
        extra = self.n_classes if self.conditional else 0
        d_in = self.inputs + extra
        dense = f"dense({{}}, init={self.init})"
        self.generator = self.generator_network(dtype)
        self.generator_average = None
        if self.average:
            self.generator_average = self.generator_network(dtype)
            self.generator_average.set_state(self.generator.get_state())     # θ̄ starts at θ
        drop = f"dropout({self.dropout}) " if self.dropout > 0 else ""
        spread = f"minibatch_std({self.minibatch_std}) " if self.minibatch_std else ""
        self.discriminator = Network(parse_spec(f"{dense.format(self.d_hidden)} leaky_relu(alpha=0.2) {drop}"
                                                f"{dense.format(self.d_hidden // 2)} leaky_relu(alpha=0.2) {drop}"
                                                f"{spread}{dense.format(1)}",
                                                (d_in,)), (d_in,), seed=self.seed + 1, dtype=dtype)

    def generator_network(self, dtype=numpy.float32) -> Network:
        """G: z (and the one-hot class) → two hidden layers (batch norm, (leaky) ReLU) → the example."""
        g_in = self.latent + (self.n_classes if self.conditional else 0)
        act = "relu" if self.activation == "relu" else "leaky_relu(alpha=0.2)"
        h = f"dense({self.hidden}, init={self.init}, bias=false) bn {act}" if self.batchnorm else \
            f"dense({self.hidden}, init={self.init}) {act}"
        return Network(parse_spec(f"{h} {h} dense({self.inputs}, init={self.init}) {self.output}", (g_in,)),
                       (g_in,), seed=self.seed, dtype=dtype)

    @classmethod
    def from_command(cls, latent: int = 100, k: int = 1, loss: str = "non_saturating", conditional: bool = False,
                     hidden: int = 512, d_hidden: int = 512, dropout: float = 0.3, batchnorm: bool = True,
                     activation: str = "leaky_relu", seed: int = 0, average: float = 0.0, smoothing: float = 1.0,
                     minibatch_std: int = 0):
        """``gan(latent=100, k=1, loss=non_saturating, conditional=false)``; G's and D's widths
        ``hidden=512, d_hidden=512``, D's ``dropout=0.3``, G's ``batchnorm=true`` and
        ``activation=leaky_relu`` (or ``relu``, the paper's); ``average=0.999`` samples from an exponential
        moving average of G's weights (:mod:`nndl.optim.averaging`), 0 from G itself; ``smoothing=0.9``
        is one-sided label smoothing, ``minibatch_std=4`` a minibatch-standard-deviation feature in D."""
        return cls(latent, k, loss, conditional, hidden, d_hidden, dropout, batchnorm=batchnorm,
                   activation=activation, seed=seed, average=average, smoothing=smoothing,
                   minibatch_std=minibatch_std)

    # -- the pieces of a step -------------------------------------------------------------------
    @property
    def dtype(self):
        return self.generator.dtype

    def noise(self, n: int, rng) -> numpy.ndarray:
        """n draws of z ~ N(0, I), host arrays in the networks' dtype."""
        return rng.standard_normal((int(n), self.latent)).astype(self.dtype)

    def _one_hot(self, labels):
        return xp.eye(self.n_classes, dtype=self.dtype)[to_device(labels)]

    def _with_labels(self, v, labels):
        """[v, one-hot(labels)] for a conditional GAN, v itself otherwise."""
        if not self.conditional:
            return v
        if labels is None:
            raise NndlError("a conditional gan needs the labels of its examples")
        return xp.concatenate([v, self._one_hot(labels)], axis=1)

    def generate(self, z, labels=None, training: bool = False, record: bool = False, averaged: bool = False):
        """x̃ = G(z) (or G([z, y])); ``training``: as in training (batch statistics of a batch-norm
        generator); ``record``: kept for G's backward; ``averaged``: by the moving average of G's weights."""
        z = to_device(z, self.dtype)
        generator = self.generator_average if averaged else self.generator
        if record:
            return generator.forward(self._with_labels(z, labels), training=training)
        with no_grad():
            return generator.forward(self._with_labels(z, labels), training=training)

    def discriminator_step(self, x_real, z, labels=None, fake_labels=None, training: bool = True) -> float:
        """C_D of real ``x_real`` and G(``z``); ∂C_D/∂θ_D fresh in D's gradients. Returns C_D."""
        x_real = to_device(x_real, self.dtype)
        x_fake = self.generate(z, fake_labels, training=training)
        m_real, m_fake = len(x_real), len(x_fake)
        inputs = xp.concatenate([self._with_labels(x_real, labels), self._with_labels(x_fake, fake_labels)])
        self.discriminator.zero_grad()
        logits = self.discriminator.forward(inputs, training=training)[:, 0]
        real, fake = logits[:m_real], logits[m_real:]
        # both halves' means: C_D = mean [t softplus(−l_real) + (1 − t) softplus(l_real)] + mean softplus(l_fake)
        t = self.smoothing
        cost = float((t * softplus(-real) + (1 - t) * softplus(real)).mean() + softplus(fake).mean())
        grad = xp.concatenate([(sigmoid(real) - t) / m_real, sigmoid(fake) / m_fake])
        self.discriminator.backward(grad[:, None])
        return cost

    def generator_step(self, z, labels=None, training: bool = True) -> float:
        """C_G of G(``z``) (the chosen loss); ∂C_G/∂θ_G through D fresh in G's gradients. Returns C_G."""
        m = len(z)
        self.generator.zero_grad()
        x_fake = self.generate(z, labels, training=training, record=True)
        self.discriminator.zero_grad()
        logit = self.discriminator.forward(self._with_labels(x_fake, labels), training=training)[:, 0]
        if self.loss == "non_saturating":
            cost = float(softplus(-logit).mean())
            grad = (sigmoid(logit) - 1) / m
        else:
            cost = float(-softplus(logit).mean())
            grad = -sigmoid(logit) / m
        d_x = self.discriminator.backward(grad[:, None], input_grad=True)    # ∂C_G/∂[x̃, y]
        self.discriminator.zero_grad()                                      # D does not learn here
        self.generator.backward(d_x[:, :self.inputs])
        return cost

    # -- training -------------------------------------------------------------------------------
    def optimizers(self, eta: float = 2e-4, momentum: float | None = None, d_eta: float | None = None):
        """One optimizer per network, (D's, G's): Adam(η, β₁ = 0.5), or momentum SGD if ``momentum`` is
        given; D's learning rate is ``d_eta`` if given (two time scales, Heusel et al. 2017), else η."""
        from nndl.optim import Adam, Momentum

        d_eta = eta if d_eta is None else validation.number("the discriminator's learning rate", d_eta, low=0,
                                                            low_open=True)
        if momentum is not None:
            return Momentum(d_eta, momentum), Momentum(eta, momentum)
        return Adam(d_eta, beta1=0.5), Adam(eta, beta1=0.5)

    def fit(self, x, labels=None, epochs: int = 10, eta: float = 2e-4, momentum: float | None = None,
            batch_size: int = 64, seed: int = 0, on_epoch=None, time_limit: float | None = None,
            on_step=None, d_eta: float | None = None) -> list[dict]:
        """Shuffled mini-batches of host array ``x``: each a step of D; after every k-th, a step of G.
        After each epoch a record {epoch, d_cost, g_cost, d_real, d_fake, seconds} goes to ``on_epoch``."""
        x = numpy.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.inputs:
            raise NndlError(f"the gan expects examples of {self.inputs} values, got shape {x.shape[1:]}")
        if self.conditional:
            if labels is None or len(labels) != len(x):
                raise NndlError("a conditional gan trains on labelled examples")
            labels = numpy.asarray(labels)
            if labels.min() < 0 or labels.max() >= self.n_classes:
                raise NndlError(f"labels must be classes 0..{self.n_classes - 1}")
        epochs = validation.whole("epochs", epochs, low=1)
        batch_size = validation.whole("batch size", batch_size, low=1)
        if self.minibatch_std and batch_size % self.minibatch_std:
            raise NndlError(f"gan minibatch_std={self.minibatch_std}: the batch size {batch_size} is not a multiple "
                            f"of the group size, so a group would mix real and generated examples")
        rng = numpy.random.default_rng(seed)
        d_opt, g_opt = self.optimizers(eta, momentum, d_eta)
        data = to_device(x, self.dtype)
        start = time.perf_counter()
        steps = 0
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x))
            d_total = g_total = 0.0
            d_count = g_count = 0
            for i in range(0, len(x) - batch_size + 1, batch_size):
                idx = order[i:i + batch_size]
                real = data.take(to_device(idx), axis=0)
                y = labels[idx] if self.conditional else None
                y_fake = rng.integers(0, self.n_classes, batch_size) if self.conditional else None
                d_total += self.discriminator_step(real, self.noise(batch_size, rng), y, y_fake)
                d_opt.step(self.discriminator.trainable_params)
                d_count += 1
                steps += 1
                if steps % self.k == 0:
                    y_fake = rng.integers(0, self.n_classes, batch_size) if self.conditional else None
                    g_total += self.generator_step(self.noise(batch_size, rng), y_fake)
                    g_opt.step(self.generator.trainable_params)
                    if self.generator_average is not None:
                        update_average(self.generator_average, self.generator, self.average)
                    g_count += 1
                if on_step is not None:
                    on_step(steps)
                if time_limit is not None and time.perf_counter() - start > time_limit:
                    break
            record = {"epoch": epoch, "d_cost": d_total / max(d_count, 1), "g_cost": g_total / max(g_count, 1),
                      "d_steps": d_count, "g_steps": g_count, "seconds": time.perf_counter() - start}
            if not (math.isfinite(record["d_cost"]) and math.isfinite(record["g_cost"])):
                raise NndlError(f"the gan diverged at epoch {epoch} (its costs are not finite); try a smaller --eta")
            self.history.append(record)
            if on_epoch is not None:
                on_epoch(record)
            if time_limit is not None and record["seconds"] > time_limit:
                break
        return self.history

    def fit_command(self, splits, options):
        report = epoch_reporter(options, lambda r: f"epoch {r['epoch']}: D cost {r['d_cost']:.3f}, G cost "
                                                   f"{r['g_cost']:.3f} ({r['seconds']:.0f} s)")

        x = splits.train.x
        if x.size and (float(x.min()) < 0 or float(x.max()) > 1) and self.output == "sigmoid":
            raise NndlError(f"the gan's generator draws values in [0, 1]; the data lie in "
                            f"[{x.min():.3g}, {x.max():.3g}]")
        self.fit(x, splits.train.y if self.conditional else None, epochs=options.get("epochs", 10),
                 eta=options.get("eta", 2e-4), momentum=options.get("momentum"),
                 batch_size=options.get("batch_size", 64), seed=options.get("seed", 0), on_epoch=report,
                 time_limit=options.get("time_limit"))
        return {k: v for k, v in self.history[-1].items() if k != "seconds"}

    # -- generating -----------------------------------------------------------------------------
    def sample(self, n, rng, label=None):
        """n examples G(z) (of class ``label``, or of classes drawn uniformly, for a conditional GAN)."""
        label = self.check_label(label, "gan")
        n = int(n)
        labels = None
        if self.conditional:
            labels = numpy.full(n, label) if label is not None else rng.integers(0, self.n_classes, n)
        z = self.noise(n, rng)
        out = [to_numpy(self.generate(z[i:i + 1000], None if labels is None else labels[i:i + 1000],
                                      averaged=self.generator_average is not None))
               for i in range(0, n, 1000)]
        return numpy.concatenate(out).astype(numpy.float32) if out else numpy.zeros((0, self.inputs), numpy.float32)

    # -- the file -------------------------------------------------------------------------------
    def parts(self):
        config = {"latent": self.latent, "k": self.k, "loss": self.loss, "conditional": self.conditional,
                  "hidden": self.hidden, "d_hidden": self.d_hidden, "dropout": self.dropout, "inputs": self.inputs,
                  "output": self.output, "classes": self.n_classes, "init": self.init, "batchnorm": self.batchnorm, "activation": self.activation,
                  "seed": self.seed, "average": self.average,
                  "smoothing": self.smoothing, "minibatch_std": self.minibatch_std}
        networks = {"generator": self.generator, "discriminator": self.discriminator}
        if self.generator_average is not None:
            networks["generator_average"] = self.generator_average
        return config, networks, {}

    @classmethod
    def from_parts(cls, stored):
        c = stored.config
        names = ("latent", "k", "loss", "conditional", "hidden", "d_hidden", "dropout", "inputs", "output",
                 "classes", "init", "batchnorm", "activation", "seed")
        missing = [n for n in names if n not in c]
        if missing:
            raise NndlError(f"{stored.path}: the gan's config lacks {', '.join(missing)}")
        model = cls(**{n: c[n] for n in names}, average=c.get("average", 0.0), smoothing=c.get("smoothing", 1.0),
                    minibatch_std=c.get("minibatch_std", 0))
        for name in ("generator", "discriminator") + (("generator_average",) if model.average else ()):
            net, fresh = stored.network(name), getattr(model, name)
            if net.input_shape != fresh.input_shape or net.output_shape != fresh.output_shape:
                raise NndlError(f"{stored.path}: the gan's {name} maps {net.input_shape} to {net.output_shape}, "
                                f"its config says {fresh.input_shape} to {fresh.output_shape}")
            setattr(model, name, net)
        return model
