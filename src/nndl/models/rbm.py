"""Restricted Boltzmann machines: Bernoulli–Bernoulli and Gaussian–Bernoulli, trained by CD-k or PCD.

An RBM is a two-layer undirected model of visible units v (D of them) and hidden units h (H),
with weights W (D × H), visible biases b and hidden biases c.  Rows are examples (batch-major),
so ``v @ W`` is the input to the hidden units.

Energy and free energy (Bernoulli visible units, v ∈ {0, 1}ᴰ)::

    E(v, h) = −b·v − c·h − v W h
    F(v)    = −log Σ_h e^{−E(v, h)} = −b·v − Σ_j softplus(c_j + (vW)_j)
    p(v)    = e^{−F(v)} / Z,   Z = Σ_v e^{−F(v)}

Gaussian visible units of unit variance (the data standardized per pixel first, Hinton's guide §13.2)::

    E(v, h) = ½‖v − b‖² − c·h − v W h,     F(v) = ½‖v − b‖² − Σ_j softplus(c_j + (vW)_j)

The conditionals factorize:

    p(h_j = 1 | v) = σ(c_j + (vW)_j)
    p(v_i = 1 | h) = σ(b_i + (hWᵀ)_i)             (Bernoulli)
    p(v_i | h)     = N(b_i + (hWᵀ)_i, 1)          (Gaussian)

and the last ``labels`` visible units may form one softmax group (the label units of a deep belief
net's top RBM): p(v_label = e_l | h) = softmax(b_label + h W_labelᵀ)_l.

Learning follows ∂ log p(v)/∂W = ⟨vᵀh⟩_data − ⟨vᵀh⟩_model.  Contrastive divergence (CD-k) replaces
the model's expectation by the statistics after k steps of Gibbs sampling started at the data;
persistent CD (PCD, Tieleman 2008) keeps the negative chains running from one mini-batch to the
next.  The recipe of Hinton's practical guide (2010):

* W ~ N(0, 0.01²), hidden biases 0, visible biases log(p_i / (1 − p_i)) of the data's pixel means;
* binary hidden states sampled from p(h|v₀) drive the reconstruction; the reconstruction uses
  the conditional mean (probabilities; for Gaussian units b + hWᵀ) and the last hidden update uses
  probabilities, not samples; PCD's chains sample their visible states (they must be a Markov chain);
* ΔW ← μ ΔW + η (⟨vᵀh⟩₀ − ⟨vᵀh⟩_k) / m − η λ W; W ← W + ΔW, with μ = 0.5 for the first
  5 epochs then 0.9, and weight cost λ = 2·10⁻⁴ (biases are not decayed);
* optionally a sparsity target p (guide §11): each hidden unit's mean activity is tracked as
  q ← 0.9 q + 0.1 ⟨p(h|v₀)⟩_batch, and the cross-entropy penalty −p log q − (1 − p) log(1 − q),
  whose derivative with respect to a unit's total input is q − p, pulls its bias and incoming weights:
  Δc −= η s (q − p),  ΔW −= η s ⟨v₀⟩ᵀ(q − p), with sparsity cost s.

Monitors (:meth:`RBM.monitor`): the reconstruction error Σ_i (v_i − p(v_i|h))² per example, the mean
free energy of training and of validation examples (a growing gap means overfitting, guide §6), and
the stochastic pseudo-likelihood log PL(v) ≈ D · log σ(F(ṽ) − F(v)), ṽ being v with one random
unit flipped.  Annealed importance sampling for log Z is in :mod:`nndl.models.ais`.
"""
from __future__ import annotations

import time

import numpy

from nndl import validation
from nndl.backend import FLOAT, to_device, to_numpy, xp
from nndl.errors import NndlError
from nndl.layers.base import spend
from nndl.models.generative import GenerativeModel, epoch_reporter

VISIBLE = ("bernoulli", "gaussian")
ETA_DECAYS = ("constant", "linear")


def sigmoid(z):
    """σ(z) = 1 / (1 + e^{−z}), written so that large |z| neither overflows nor warns."""
    with numpy.errstate(over="ignore"):
        return 1.0 / (1.0 + xp.exp(-z))


def softplus(z):
    """softplus(z) = log(1 + e^z), stable for large |z|."""
    return xp.logaddexp(0.0, z)


def softmax(z):
    """Row-wise softmax, shifted by the row maximum."""
    e = xp.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def check_unit_interval(x, where: str) -> None:
    """One line if ``x`` (data for Bernoulli units) holds a value outside [0, 1]."""
    x = numpy.asarray(x)
    if x.size == 0:
        raise NndlError(f"{where}: no examples")
    low, high = float(x.min()), float(x.max())
    if not (numpy.isfinite(low) and numpy.isfinite(high)):
        raise NndlError(f"{where}: the data hold NaN or infinity")
    if low < 0.0 or high > 1.0:
        bad = low if low < 0.0 else high
        raise NndlError(f"{where}: a Bernoulli RBM models values in [0, 1] (pixel intensities or probabilities), "
                        f"but the data hold {bad:.4g}; scale them to [0, 1] or use visible=gaussian")


class RBM(GenerativeModel):
    """A restricted Boltzmann machine (see the module docstring for the equations).

    Parameters
    ----------
    n_visible, n_hidden : int
        D and H.
    visible : {"bernoulli", "gaussian"}
        The visible units' kind; Gaussian units have unit variance (standardize the data).
    k : int
        Gibbs steps of the negative phase (CD-k / PCD-k), k ≥ 1.
    persistent : bool
        PCD: the negative chains persist across mini-batches.
    labels : int
        The last ``labels`` visible units form one softmax group (0: none).
    seed : int
        Seeds the initial weights and every draw of training and sampling.
    weight_cost, sparsity_target, sparsity_cost : float
        The guide's L2 weight cost (§10) and sparsity target (§11); 0 turns a penalty off.
    eta_decay : {"constant", "linear"}
        The learning rate over the E epochs of a call to :meth:`fit`: constant, or
        η_e = η (1 − e/E) in epoch e = 0 .. E−1 (η/E in the last one), which lets the
        weights settle at the end of a short run.
    """

    kind = "rbm"

    def __init__(self, n_visible: int, n_hidden: int, visible: str = "bernoulli", k: int = 1,
                 persistent: bool = False, labels: int = 0, seed: int = 0, weight_cost: float = 2e-4,
                 sparsity_target: float = 0.0, sparsity_cost: float = 0.0, eta_decay: str = "constant", dtype=FLOAT):
        self.n_visible = validation.whole("rbm visible units", n_visible, low=1)
        self.n_hidden = validation.whole("rbm hidden units", n_hidden, low=1)
        self.visible = validation.choice("rbm visible", visible, VISIBLE)
        if isinstance(k, bool) or not isinstance(k, (int, numpy.integer)) or k <= 0:
            raise NndlError(f"rbm: k={k!r} must be a whole number ≥ 1 (the Gibbs steps of CD-k)")
        self.k = int(k)
        self.persistent = validation.boolean("rbm persistent", persistent)
        self.labels = validation.whole("rbm labels", labels, low=0, high=self.n_visible - 1)
        if self.labels and self.visible != "bernoulli":
            raise NndlError("rbm: label units need Bernoulli visible units")
        self.weight_cost = validation.number("rbm weight_cost", weight_cost, low=0)
        self.sparsity_target = validation.number("rbm sparsity_target", sparsity_target, low=0, high=1,
                                                 high_open=True)
        self.sparsity_cost = validation.number("rbm sparsity_cost", sparsity_cost, low=0)
        self.eta_decay = validation.choice("rbm eta_decay", eta_decay, ETA_DECAYS)
        self._activity = None         # q: the running mean activity of the hidden units (sparsity target)
        self.seed = validation.seed("rbm seed", seed)
        self.dtype = numpy.dtype(dtype)
        self.rng = numpy.random.default_rng(self.seed)
        spend((self.n_visible + 1, self.n_hidden + 1), "rbm weights and biases")  # a file's config within its values
        self.W = to_device(self.rng.normal(0.0, 0.01, (self.n_visible, self.n_hidden)).astype(self.dtype))
        self.b = xp.zeros(self.n_visible, dtype=self.dtype)
        self.c = xp.zeros(self.n_hidden, dtype=self.dtype)
        # Gaussian units: the data are standardized, x' = (x − shift) / scale, inside the model
        self.shift = numpy.zeros(self.n_visible, dtype=numpy.float32)
        self.scale = numpy.ones(self.n_visible, dtype=numpy.float32)
        self.chains = None            # PCD: the hidden states of the persistent chains
        self.epochs_done = 0
        self.sample_steps = 1000
        self.metadata = {}
        self._velocity = None

    # -- the command line ------------------------------------------------------------------------
    @classmethod
    def from_command(cls, hidden: int = 500, k: int = 1, persistent: bool = False, visible: str = "bernoulli",
                     seed: int = 0, weight_cost: float = 2e-4, eta_decay: str = "constant"):
        """``rbm(500, k=1, persistent=false, visible=bernoulli, weight_cost=2e-4, eta_decay=constant)``;
        the visible units are the data's."""
        model = cls(784, hidden, visible, k, persistent, seed=seed, weight_cost=weight_cost, eta_decay=eta_decay)
        model.n_visible = None          # set from the data in fit_command
        return model

    # -- the equations ---------------------------------------------------------------------------
    def hidden_input(self, v):
        """c + vW, the hidden units' total input."""
        return v @ self.W + self.c

    def p_hidden(self, v):
        """p(h = 1 | v) = σ(c + vW), one row per example."""
        return sigmoid(self.hidden_input(v))

    def visible_mean(self, h):
        """E[v | h]: σ(b + hWᵀ) for Bernoulli units (softmax over the label group), b + hWᵀ for Gaussian."""
        z = h @ self.W.T + self.b
        if self.visible == "gaussian":
            return z
        if not self.labels:
            return sigmoid(z)
        out = xp.empty_like(z)
        out[:, :-self.labels] = sigmoid(z[:, :-self.labels])
        out[:, -self.labels:] = softmax(z[:, -self.labels:])
        return out

    def sample_visible(self, mean, uniform):
        """A draw of v given its conditional mean (Bernoulli: u < p; Gaussian: mean + N(0, 1); labels: one
        category from the softmax by inverting its cumulative sum); ``uniform`` is a callable shape → U(0, 1)."""
        if self.visible == "gaussian":
            return mean + to_device(self.rng.standard_normal(mean.shape).astype(self.dtype))
        u = uniform(mean.shape)
        v = (u < mean).astype(self.dtype)
        if self.labels:
            p = mean[:, -self.labels:]
            cut = xp.cumsum(p, axis=1) / p.sum(axis=1, keepdims=True)
            chosen = (cut < u[:, -1:]).sum(axis=1)
            chosen = xp.minimum(chosen, self.labels - 1)
            v[:, -self.labels:] = 0
            v[xp.arange(len(v)), self.n_visible - self.labels + chosen] = 1
        return v

    def energy(self, v, h):
        """E(v, h) per row."""
        quadratic = 0.5 * ((v - self.b) ** 2).sum(axis=1) if self.visible == "gaussian" else -(v @ self.b)
        return quadratic - h @ self.c - ((v @ self.W) * h).sum(axis=1)

    def free_energy(self, v):
        """F(v) = −b·v − Σ_j softplus(c_j + (vW)_j)   (Gaussian: ½‖v − b‖² in place of −b·v)."""
        v = xp.asarray(v, dtype=self.dtype)
        first = 0.5 * ((v - self.b) ** 2).sum(axis=1) if self.visible == "gaussian" else -(v @ self.b)
        return first - softplus(self.hidden_input(v)).sum(axis=1)

    # -- learning --------------------------------------------------------------------------------
    def _uniform(self, shape):
        return to_device(self.rng.random(shape, dtype=numpy.float32).astype(self.dtype, copy=False))

    def cd_statistics(self, v0, uniform=None) -> dict:
        """One CD-k (or PCD-k) estimate of the log-likelihood gradient on the mini-batch ``v0``.

        Returns ``{"W": (v₀ᵀ p(h|v₀) − v_kᵀ p(h|v_k)) / m, "b": mean(v₀ − v_k), "c": mean(p(h|v₀) − p(h|v_k)),
        "reconstruction": v₁'s mean, "error": Σ (v₀ − v₁)² / m}``.  ``uniform`` (shape → U(0, 1) draws)
        replaces the generator's draws (a test fixes them).
        """
        uniform = uniform or self._uniform
        m = len(v0)
        ph0 = self.p_hidden(v0)
        if self.persistent:
            if self.chains is None or len(self.chains) != m:
                self.chains = (uniform(ph0.shape) < ph0).astype(self.dtype)
            h = self.chains
        else:
            h = (uniform(ph0.shape) < ph0).astype(self.dtype)
        sample_v = self.persistent
        first = None
        for step in range(self.k):
            mean = self.visible_mean(h)
            v = self.sample_visible(mean, uniform) if sample_v else mean
            if first is None:
                first = mean
            ph = self.p_hidden(v)
            if step < self.k - 1 or self.persistent:
                h_next = (uniform(ph.shape) < ph).astype(self.dtype)
                if step < self.k - 1:
                    h = h_next
        if self.persistent:
            self.chains = h_next
            # the chains' states say nothing about how well the data are reconstructed: do that from h₀
            first = self.visible_mean((uniform(ph0.shape) < ph0).astype(self.dtype))
        return {"W": (v0.T @ ph0 - v.T @ ph) / m, "b": (v0 - v).mean(axis=0), "c": (ph0 - ph).mean(axis=0),
                "reconstruction": first, "error": float(((v0 - first) ** 2).sum()) / m, "hidden": ph0}

    def init_from_data(self, x) -> None:
        """The guide's start: visible biases log(p/(1 − p)) of the pixel means p (clipped to [1e-3, 1 − 1e-3]);
        Gaussian units: the data's mean and standard deviation (at least 0.1) become the standardization, b = 0."""
        x = numpy.asarray(x, dtype=numpy.float64)
        if self.visible == "gaussian":
            std = x.std(axis=0)
            self.shift = x.mean(axis=0).astype(numpy.float32)
            # a pixel that hardly varies (MNIST's border) is not blown up: its scale is at least 0.1
            self.scale = numpy.maximum(std, 0.1).astype(numpy.float32)
            return
        p = numpy.clip(x.mean(axis=0), 1e-3, 1 - 1e-3)
        b = numpy.log(p / (1 - p))
        if self.labels:
            b[-self.labels:] = 0.0
        self.b = to_device(b.astype(self.dtype))

    def standardized(self, x):
        """The data as the visible units see them (Gaussian: (x − shift)/scale)."""
        x = xp.asarray(to_device(numpy.asarray(x)), dtype=self.dtype)
        if self.visible == "gaussian":
            return (x - to_device(self.shift)) / to_device(self.scale)
        return x

    def check_data(self, x, where: str):
        x = numpy.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_visible:
            raise NndlError(f"{where}: the rbm has {self.n_visible} visible units but the data have shape "
                            f"{tuple(x.shape)}")
        if self.visible == "bernoulli":
            check_unit_interval(x, where)
        elif not numpy.isfinite(x).all():
            raise NndlError(f"{where}: the data hold NaN or infinity")
        return x

    def momentum_at(self, epoch: int, final: float = 0.9) -> float:
        """The guide's schedule: 0.5 for the first five epochs, then ``final`` (0.9)."""
        return 0.5 if epoch < 5 else final

    def eta_at(self, e: int, epochs: int, eta: float) -> float:
        """The learning rate of epoch e = 0 .. epochs−1 of a run: η, or η (1 − e/epochs) with linear decay."""
        return eta * (1.0 - e / epochs) if self.eta_decay == "linear" else eta

    def update(self, v0, eta: float, momentum: float) -> float:
        """One mini-batch step of the recipe's update; returns the batch's reconstruction error."""
        stats = self.cd_statistics(v0)
        if self._velocity is None:
            self._velocity = {name: xp.zeros_like(getattr(self, name)) for name in ("W", "b", "c")}
        sparsity = self.sparsity_step(v0, stats["hidden"]) if self.sparsity_cost else {}
        for name in ("W", "b", "c"):
            grad = stats[name]
            if name == "W" and self.weight_cost:
                grad = grad - self.weight_cost * self.W
            if name in sparsity:
                grad = grad - sparsity[name]
            vel = self._velocity[name]
            vel *= momentum
            vel += eta * grad
            getattr(self, name)[...] += vel
        return stats["error"]

    def sparsity_step(self, v0, ph0) -> dict:
        """The sparsity penalty's gradient (guide §11): q ← 0.9 q + 0.1 ⟨p(h|v₀)⟩, then
        ``{"c": s (q − p), "W": s ⟨v₀⟩ᵀ(q − p)}`` (to be subtracted from the ascent direction)."""
        current = ph0.mean(axis=0)
        self._activity = current if self._activity is None else 0.9 * self._activity + 0.1 * current
        excess = self.sparsity_cost * (self._activity - self.sparsity_target)
        return {"c": excess, "W": v0.mean(axis=0)[:, None] * excess[None, :]}

    def fit(self, x, epochs: int = 15, eta: float = 0.1, batch_size: int = 100, final_momentum: float = 0.9,
            held_out=None, init: bool = True, on_epoch=None, time_limit: float | None = None) -> list:
        """Train on the rows of ``x`` for ``epochs`` epochs of shuffled mini-batches; returns one dict of
        monitors per epoch (also handed to ``on_epoch(record)``).  ``held_out``: validation rows for the free-energy
        gap and the pseudo-likelihood."""
        x = self.check_data(x, "rbm training data")
        epochs = validation.whole("epochs", epochs, low=1)
        batch_size = validation.whole("batch size", batch_size, low=1)
        eta = validation.number("eta", eta, low=0, low_open=True)
        if held_out is not None:
            held_out = self.check_data(held_out, "rbm validation data")
        if init and self.epochs_done == 0:
            self.init_from_data(x)
        data = self.standardized(x)
        held = None if held_out is None else self.standardized(held_out[:1000])
        probe = data[:1000]
        history = []
        start = time.perf_counter()
        order_rng = numpy.random.default_rng([self.seed, 1])
        with numpy.errstate(all="ignore"):
            for _ in range(epochs):
                epoch = self.epochs_done
                mu = self.momentum_at(epoch, final_momentum)
                eta_now = self.eta_at(len(history), epochs, eta)
                order = order_rng.permutation(len(data))
                error, batches = 0.0, 0
                for i in range(0, len(order), batch_size):
                    error += self.update(data[order[i:i + batch_size]], eta_now, mu)
                    batches += 1
                self.epochs_done += 1
                record = {"epoch": self.epochs_done, "momentum": mu, "eta": eta_now,
                          "reconstruction_error": error / batches}
                record.update(self.monitor(probe, held))
                record["seconds"] = time.perf_counter() - start
                if not numpy.isfinite(record["reconstruction_error"]):
                    raise NndlError(f"rbm training diverged at epoch {self.epochs_done} (reconstruction error "
                                    f"{record['reconstruction_error']}); lower --eta (now {eta})")
                history.append(record)
                if on_epoch is not None:
                    on_epoch(record)
                if time_limit is not None and record["seconds"] > time_limit:
                    break
        return history

    # -- monitors --------------------------------------------------------------------------------
    def reconstruction_error(self, v):
        """Mean over rows of Σ_i (v_i − E[v_i | h = p(h|v)])² (mean-field, no sampling)."""
        v = xp.asarray(v, dtype=self.dtype)
        return float(((v - self.visible_mean(self.p_hidden(v))) ** 2).sum(axis=1).mean())

    def pseudo_likelihood(self, v, rng=None):
        """Mean stochastic log pseudo-likelihood D · log σ(F(ṽ) − F(v)), ṽ = v with one random unit flipped
        (Bernoulli units, v binarized at 0.5)."""
        if self.visible != "bernoulli":
            raise NndlError("rbm: the pseudo-likelihood monitor is for Bernoulli visible units")
        rng = rng or numpy.random.default_rng([self.seed, 2])
        v = (xp.asarray(v) > 0.5).astype(self.dtype)
        flip = to_device(rng.integers(0, self.n_visible, len(v)))
        flipped = v.copy()
        rows = xp.arange(len(v))
        flipped[rows, flip] = 1 - flipped[rows, flip]
        gap = self.free_energy(flipped) - self.free_energy(v)
        return float((self.n_visible * -softplus(-gap)).mean())

    def monitor(self, train_rows, validation_rows=None) -> dict:
        """Free energy of training rows (and of validation rows, and their gap), reconstruction error and
        pseudo-likelihood of the held-out rows (else of the training rows)."""
        out = {"free_energy_train": float(self.free_energy(train_rows).mean())}
        rows = train_rows if validation_rows is None else validation_rows
        if validation_rows is not None:
            out["free_energy_validation"] = float(self.free_energy(validation_rows).mean())
            out["free_energy_gap"] = out["free_energy_validation"] - out["free_energy_train"]
            out["reconstruction_error_validation"] = self.reconstruction_error(validation_rows)
        if self.visible == "bernoulli" and not self.labels:
            out["pseudo_likelihood"] = self.pseudo_likelihood(rows)
        return out

    # -- features and samples --------------------------------------------------------------------
    def transform(self, x, batch_size: int = 5000) -> numpy.ndarray:
        """p(h = 1 | x) for every row of host array ``x`` (the features a classifier reads), float32."""
        out = []
        for i in range(0, len(x), batch_size):
            out.append(to_numpy(self.p_hidden(self.standardized(x[i:i + batch_size]))).astype(numpy.float32))
        return numpy.concatenate(out)

    def gibbs(self, v, steps: int, clamp=None, rng=None):
        """Run ``steps`` steps of block Gibbs sampling v → h → v from visible states ``v``; ``clamp``
        (a boolean mask of visible units with their values kept from ``v``) fixes units such as labels.
        Returns the last visible mean E[v | h]."""
        saved = self.rng
        if rng is not None:
            self.rng = rng
        try:
            mean = v
            fixed = None if clamp is None else v[:, clamp].copy()
            for _ in range(steps):
                ph = self.p_hidden(v)
                h = (self._uniform(ph.shape) < ph).astype(self.dtype)
                mean = self.visible_mean(h)
                v = self.sample_visible(mean, self._uniform)
                if clamp is not None:
                    v[:, clamp] = fixed
                    mean[:, clamp] = fixed
            return mean
        finally:
            self.rng = saved

    def sample(self, n, rng, label=None):
        """``n`` images: Gibbs chains started from the visible biases' independent Bernoulli (or Gaussian)
        draws, run for :attr:`sample_steps` steps; the last mean, mapped back to pixel values in [0, 1]."""
        self.check_label(label, "rbm")
        with numpy.errstate(all="ignore"):
            if self.visible == "bernoulli":
                start = (to_device(rng.random((n, self.n_visible), dtype=numpy.float32)) <
                         sigmoid(self.b)).astype(self.dtype)
            else:
                start = to_device(rng.standard_normal((n, self.n_visible)).astype(self.dtype)) + self.b
            mean = self.gibbs(start, self.sample_steps, rng=rng)
        x = to_numpy(mean).astype(numpy.float32)
        if self.visible == "gaussian":
            x = x * self.scale + self.shift
        return numpy.clip(x, 0.0, 1.0)

    # -- the file --------------------------------------------------------------------------------
    def parts(self):
        config = {"n_visible": self.n_visible, "n_hidden": self.n_hidden, "visible": self.visible, "k": self.k,
                  "persistent": self.persistent, "labels": self.labels, "seed": self.seed,
                  "weight_cost": self.weight_cost, "sparsity_target": self.sparsity_target, "eta_decay": self.eta_decay,
                  "sparsity_cost": self.sparsity_cost, "epochs": self.epochs_done, "sample_steps": self.sample_steps}
        arrays = {"W": to_numpy(self.W), "b": to_numpy(self.b), "c": to_numpy(self.c)}
        if self.visible == "gaussian":
            arrays.update(shift=self.shift, scale=self.scale)
        return config, {}, arrays

    @classmethod
    def from_parts(cls, stored):
        config = stored.config
        try:
            model = cls(config["n_visible"], config["n_hidden"], config.get("visible", "bernoulli"),
                        config.get("k", 1), config.get("persistent", False), config.get("labels", 0),
                        config.get("seed", 0), config.get("weight_cost", 2e-4),
                        config.get("sparsity_target", 0.0), config.get("sparsity_cost", 0.0),
                        config.get("eta_decay", "constant"))
        except (KeyError, TypeError) as exc:
            raise NndlError(f"the rbm's config is incomplete ({exc})") from None
        if model.n_visible * model.n_hidden > 50_000_000:
            raise NndlError(f"the rbm's config claims {model.n_visible}x{model.n_hidden} weights, more than nndl reads")
        model.W = to_device(stored.array_of("W", (model.n_visible, model.n_hidden)))
        model.b = to_device(stored.array_of("b", (model.n_visible,)))
        model.c = to_device(stored.array_of("c", (model.n_hidden,)))
        if model.visible == "gaussian":
            model.shift = stored.array_of("shift", (model.n_visible,))
            model.scale = stored.array_of("scale", (model.n_visible,))
        model.epochs_done = validation.whole("rbm epochs", config.get("epochs", 0), low=0)
        model.sample_steps = validation.whole("rbm sample_steps", config.get("sample_steps", 1000), low=1,
                                              high=100_000)
        return model

    def fit_command(self, splits, options):
        x = splits.train.x.reshape(len(splits.train.x), -1)
        where = f"--data {splits.train.name}"
        if self.n_visible is None:
            self.n_visible = x.shape[1]
            self.W = to_device(self.rng.normal(0.0, 0.01, (self.n_visible, self.n_hidden)).astype(self.dtype))
            self.b = xp.zeros(self.n_visible, dtype=self.dtype)
            self.shift = numpy.zeros(self.n_visible, dtype=numpy.float32)
            self.scale = numpy.ones(self.n_visible, dtype=numpy.float32)
        self.check_data(x, where)
        held = None
        if splits.validation is not None:
            held = self.check_data(splits.validation.x.reshape(len(splits.validation.x), -1), where)
        if "seed" in options:
            self.seed = validation.seed("--seed", options["seed"])
            self.rng = numpy.random.default_rng(self.seed)
            self.W = to_device(self.rng.normal(0.0, 0.01, self.W.shape).astype(self.dtype))
        eta = options.get("eta", 0.1 if self.visible == "bernoulli" else 0.01)

        report = epoch_reporter(options, lambda r: (
            f"epoch {r['epoch']}: reconstruction error {r['reconstruction_error']:.2f}, free energy train "
            f"{r['free_energy_train']:.2f}" + (f" / validation {r['free_energy_validation']:.2f}" if held is not None
                                               else "") + f" ({r['seconds']:.0f} s)"))

        history = self.fit(x, options.get("epochs", 15), eta, options.get("batch_size", 100),
                           options.get("momentum", 0.9), held, on_epoch=report, time_limit=options.get("time_limit"))
        final = {k: v for k, v in history[-1].items() if k != "seconds"}
        return dict(final, eta=eta, k=self.k, persistent=self.persistent, hidden=self.n_hidden)
