"""The variational autoencoder (Kingma & Welling 2014): a Gaussian encoder, the reparameterization
trick, a Bernoulli decoder, and the evidence lower bound they maximize.

The model.  A latent code z ~ p(z) = N(0, I) of ``latent`` dimensions; a pixel vector x drawn from
the decoder's Bernoulli distribution p(x | z) = Π_j Bern(x_j; ŷ_j), ŷ = σ(l), l = dec(z) (the
decoder network's output are the logits l, its last layer linear).  The encoder network gives
an approximate posterior q(z | x) = N(μ, diag σ²) with [μ, log σ²] = enc(x) (one linear output
layer of 2·latent units: the first half μ, the second log σ²).

The cost, per example: the negative ELBO

    −L(x) = −E_q[log p(x | z)] + KL(q(z | x) ‖ p(z))
          ≈ Σ_j [softplus(l_j) − x_j l_j]  +  ½ Σ_k (μ_k² + σ_k² − 1 − log σ_k²),

the first term the summed Bernoulli cross-entropy of one draw z = μ + σ ⊙ ε, ε ~ N(0, I) (the
reparameterization: the noise ε is an input, so z is a differentiable function of μ and σ), the
second the KL divergence of two Gaussians in closed form.  −L(x) ≥ −log p(x).

Its gradient, by our own backward (mean over the m examples of a mini-batch):

    ∂/∂l       = (σ(l) − x) / m                            into the decoder's backward → ∂/∂z
    ∂/∂μ       = ∂/∂z + μ / m
    ∂/∂log σ²  = ∂/∂z ⊙ ε ⊙ ½σ + ½(σ² − 1) / m            (z = μ + exp(½ log σ²) ε)

and [∂/∂μ, ∂/∂log σ²] into the encoder's backward.

The negative log-likelihood, by importance weighting (Burda, Grosse & Salakhutdinov 2016) with
K draws z_i ~ q(z | x):

    −log p(x) ≈ −log (1/K) Σ_i p(x | z_i) p(z_i) / q(z_i | x)     (a log-mean-exp),

an upper bound on −log p(x) that tightens as K grows (K = 1 is the ELBO).

MNIST's pixels are grey levels in [0, 1], used as the Bernoulli cross-entropy's targets as
PyTorch's example does; the numbers are then comparable with its log, though not a likelihood
of binarized digits.
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
from nndl.spec import parse_spec

LOG_2PI = math.log(2 * math.pi)


def softplus(v):
    """log(1 + eᵛ), computed without overflow: max(v, 0) + log(1 + e^−|v|)."""
    return xp.maximum(v, 0) + xp.log1p(xp.exp(-xp.abs(v)))


def sigmoid(v):
    return 0.5 * (1 + xp.tanh(0.5 * v))


def bernoulli_nll(logits, x):
    """−log p(x | z) per example: Σ_j softplus(l_j) − x_j l_j (the summed Bernoulli cross-entropy)."""
    return (softplus(logits) - x * logits).sum(axis=1)


def gaussian_kl(mu, logvar):
    """KL(N(μ, σ²) ‖ N(0, 1)) per example: ½ Σ_k (μ² + σ² − 1 − log σ²)."""
    return 0.5 * (mu * mu + xp.exp(logvar) - 1 - logvar).sum(axis=1)


class VAE(GenerativeModel):
    """A variational autoencoder: encoder ``inputs → hidden… → 2·latent``, decoder ``latent → …hidden
    → inputs`` (ReLU hidden layers, the decoder's output the Bernoulli logits).

    Parameters
    ----------
    hidden : tuple of int
        The encoder's hidden layer sizes (the decoder mirrors them), e.g. ``(400,)``.
    latent : int
        Dimensions of z.
    inputs : int
        Pixels per example (784 for MNIST).
    seed : int
        Seeds the initial weights.
    init : str
        The dense layers' initialization: ``"glorot_uniform"`` (U(±√(6/(n_in + n_out))), biases 0) by
        default; ``"lecun"`` (N(0, 1/n_in)) and the others of :mod:`nndl.initializers` too.
    dtype : numpy dtype
        float32, or float64 for gradient checks.
    """

    kind = "vae"

    def __init__(self, hidden=(400,), latent: int = 20, inputs: int = 784, seed: int = 0, dtype=numpy.float32,
                 init: str = "glorot_uniform"):
        self.hidden = tuple(validation.whole("vae hidden size", h, low=1, high=100_000) for h in hidden)
        self.latent = validation.whole("vae latent", latent, low=1, high=10_000)
        self.inputs = validation.whole("vae inputs", inputs, low=1, high=10_000_000)
        self.seed = validation.seed("vae seed", seed)
        self.init = validation.choice("vae init", init, ("lecun", "default", "he", "glorot_uniform", "glorot_normal"))
        self.example_shape = (self.inputs,)
        side = math.isqrt(self.inputs)
        self.image_shape = (side, side) if side * side == self.inputs else None
        self.history: list[dict] = []
        words = "".join(f"dense({h}, init={self.init}) relu " for h in self.hidden)
        self.encoder = Network(parse_spec(words + f"dense({2 * self.latent}, init={self.init})", (self.inputs,)),
                               (self.inputs,),
                               seed=self.seed, dtype=dtype)
        words = "".join(f"dense({h}, init={self.init}) relu " for h in reversed(self.hidden))
        self.decoder = Network(parse_spec(words + f"dense({self.inputs}, init={self.init})", (self.latent,)),
                               (self.latent,),
                               seed=self.seed + 1, dtype=dtype)

    # -- the command line -----------------------------------------------------------------------
    @classmethod
    def from_command(cls, *hidden: int, latent: int = 20, init: str = "glorot_uniform", seed: int = 0):
        """``vae(400, latent=20)``: hidden layer sizes (the decoder mirrors them), the code's size."""
        if not hidden:
            hidden = (400,)
        return cls(hidden, latent, seed=seed, init=init)

    # -- the passes ----------------------------------------------------------------------------
    def encode(self, x):
        """(μ, log σ²) of q(z | x) for a batch (forward through the encoder, kept for backward)."""
        out = self.encoder.forward(x, training=True)
        return out[:, :self.latent], out[:, self.latent:]

    def loss_and_gradients(self, x, eps):
        """−ELBO summed over the batch ``x`` with the noise ``eps`` (m, latent), and every
        parameter's gradient of the batch *mean* −ELBO added into ``p.grad`` (zeroed first).

        Returns (total −ELBO, total reconstruction term, total KL)."""
        m = len(x)
        self.encoder.zero_grad()
        self.decoder.zero_grad()
        mu, logvar = self.encode(x)
        sigma = xp.exp(0.5 * logvar)
        z = mu + sigma * eps                                         # the reparameterization
        logits = self.decoder.forward(z, training=True)
        rec = bernoulli_nll(logits, x)
        kl = gaussian_kl(mu, logvar)
        d_logits = (sigmoid(logits) - x) / m                         # ∂(mean −ELBO)/∂l
        d_z = self.decoder.backward(d_logits, input_grad=True)       # ∂/∂z through the decoder
        d_mu = d_z + mu / m
        d_logvar = d_z * eps * 0.5 * sigma + 0.5 * (sigma * sigma - 1) / m
        self.encoder.backward(xp.concatenate([d_mu, d_logvar], axis=1))
        return float(rec.sum() + kl.sum()), float(rec.sum()), float(kl.sum())

    @property
    def params(self):
        return self.encoder.trainable_params + self.decoder.trainable_params

    def negative_elbo(self, x, rng, batch_size: int = 1000) -> dict:
        """Mean −ELBO (one draw of ε per example), its reconstruction and KL terms, on host array ``x``."""
        total = rec_total = kl_total = 0.0
        with no_grad():
            for i in range(0, len(x), batch_size):
                xb = to_device(x[i:i + batch_size], self.encoder.dtype)
                out = self.encoder.forward(xb)
                mu, logvar = out[:, :self.latent], out[:, self.latent:]
                eps = to_device(rng.standard_normal(mu.shape), self.encoder.dtype)
                logits = self.decoder.forward(mu + xp.exp(0.5 * logvar) * eps)
                rec, kl = float(bernoulli_nll(logits, xb).sum()), float(gaussian_kl(mu, logvar).sum())
                rec_total += rec
                kl_total += kl
                total += rec + kl
        n = len(x)
        return {"neg_elbo": total / n, "reconstruction": rec_total / n, "kl": kl_total / n}

    def importance_nll(self, x, rng, k: int = 100, batch_size: int = 100) -> float:
        """Mean −log p(x) estimated with ``k`` importance samples per example (a log-mean-exp of
        log p(x | zᵢ) + log p(zᵢ) − log q(zᵢ | x), zᵢ ~ q(z | x))."""
        k = validation.whole("importance samples k", k, low=1, high=1_000_000)
        total = 0.0
        with no_grad():
            for i in range(0, len(x), batch_size):
                xb = to_device(x[i:i + batch_size], self.encoder.dtype)
                out = self.encoder.forward(xb)
                mu, logvar = out[:, :self.latent], out[:, self.latent:]
                m = len(xb)
                eps = to_device(rng.standard_normal((k, m, self.latent)), self.encoder.dtype)
                z = mu[None] + xp.exp(0.5 * logvar)[None] * eps               # (k, m, latent)
                logits = self.decoder.forward(z.reshape(k * m, self.latent)).reshape(k, m, self.inputs)
                log_px_z = -(softplus(logits) - xb[None] * logits).sum(axis=2)
                log_pz = -0.5 * (z * z + LOG_2PI).sum(axis=2)
                log_qz = -0.5 * (eps * eps + LOG_2PI + logvar[None]).sum(axis=2)
                w = (log_px_z + log_pz - log_qz).astype(numpy.float64)
                top = w.max(axis=0)
                log_mean = top + xp.log(xp.exp(w - top).mean(axis=0))       # log-mean-exp over the k draws
                total -= float(log_mean.sum())
        return total / len(x)

    def reconstruct(self, x) -> numpy.ndarray:
        """σ(dec(μ(x))): the decoder's mean at the code's mean, a host array."""
        with no_grad():
            out = self.encoder.forward(to_device(x, self.encoder.dtype))
            return to_numpy(sigmoid(self.decoder.forward(out[:, :self.latent]))).astype(numpy.float32)

    def decode(self, z) -> numpy.ndarray:
        """σ(dec(z)) for codes ``z`` (n, latent): the pixels' Bernoulli means, a host array."""
        with no_grad():
            return to_numpy(sigmoid(self.decoder.forward(to_device(z, self.decoder.dtype)))).astype(numpy.float32)

    def sample(self, n, rng, label=None):
        """Means σ(dec(z)) of the decoder at ``n`` codes z ~ N(0, I) (the usual picture of VAE samples)."""
        self.check_label(label, "vae")
        return self.decode(rng.standard_normal((int(n), self.latent)))

    # -- training -------------------------------------------------------------------------------
    def fit(self, x, epochs: int = 10, eta: float = 1e-3, batch_size: int = 128, seed: int = 0,
            test=None, on_epoch=None, time_limit: float | None = None, iw_samples: int = 0) -> list[dict]:
        """Adam on the mean −ELBO over shuffled mini-batches of host array ``x``; after each epoch
        a record {epoch, train_neg_elbo, test_neg_elbo (if ``test``), seconds} goes to ``on_epoch``."""
        from nndl.optim import Adam

        x = numpy.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.inputs:
            raise NndlError(f"the vae expects examples of {self.inputs} values, got shape {x.shape[1:]}")
        if x.size and (float(x.min()) < 0 or float(x.max()) > 1):
            raise NndlError(f"a Bernoulli vae needs data in [0, 1]; these lie in [{x.min():.3g}, {x.max():.3g}]")
        epochs = validation.whole("epochs", epochs, low=1)
        batch_size = validation.whole("batch size", batch_size, low=1)
        rng = numpy.random.default_rng(seed)
        optimizer = Adam(eta)
        start = time.perf_counter()
        data = to_device(x, self.encoder.dtype)
        for epoch in range(1, epochs + 1):
            order = rng.permutation(len(x))
            total = 0.0
            for i in range(0, len(x), batch_size):
                xb = data.take(to_device(order[i:i + batch_size]), axis=0)
                eps = to_device(rng.standard_normal((len(xb), self.latent)), self.encoder.dtype)
                loss, _, _ = self.loss_and_gradients(xb, eps)
                optimizer.step(self.params)
                total += loss
            record = {"epoch": epoch, "train_neg_elbo": total / len(x)}
            if test is not None:
                record.update({f"test_{k}": v for k, v in self.negative_elbo(test, numpy.random.default_rng(seed + 1)).items()})
            record["seconds"] = time.perf_counter() - start
            if not math.isfinite(record["train_neg_elbo"]):
                raise NndlError(f"the vae diverged at epoch {epoch} (the −ELBO is not finite); try a smaller --eta")
            self.history.append(record)
            if on_epoch is not None:
                on_epoch(record)
            if time_limit is not None and record["seconds"] > time_limit:
                break
        return self.history

    def fit_command(self, splits, options):
        test = splits.test.x if splits.test is not None else None

        def line(record):
            text = f"epoch {record['epoch']}: train -ELBO {record['train_neg_elbo']:.2f}"
            if "test_neg_elbo" in record:
                text += f", test -ELBO {record['test_neg_elbo']:.2f}"
            return text + f" ({record['seconds']:.0f} s)"

        report = epoch_reporter(options, line)

        self.fit(splits.train.x, epochs=options.get("epochs", 10), eta=options.get("eta", 1e-3),
                 batch_size=options.get("batch_size", 128), seed=options.get("seed", 0), test=test,
                 on_epoch=report, time_limit=options.get("time_limit"))
        final = {k: v for k, v in self.history[-1].items() if k != "seconds"}
        if test is not None:
            final["test_importance_nll_k100"] = self.importance_nll(
                test[:1000], numpy.random.default_rng(options.get("seed", 0) + 2), k=100)
        return final

    # -- the file -------------------------------------------------------------------------------
    def parts(self):
        config = {"hidden": list(self.hidden), "latent": self.latent, "inputs": self.inputs, "seed": self.seed,
                  "init": self.init}
        return config, {"encoder": self.encoder, "decoder": self.decoder}, {}

    @classmethod
    def from_parts(cls, stored):
        c = stored.config
        try:
            model = cls(tuple(c["hidden"]), c["latent"], c["inputs"], c.get("seed", 0), init=c.get("init", "lecun"))
        except (KeyError, TypeError) as exc:
            raise NndlError(f"{stored.path}: the vae's config is incomplete ({exc})") from None
        for name in ("encoder", "decoder"):
            net, fresh = stored.network(name), getattr(model, name)
            if net.input_shape != fresh.input_shape or net.output_shape != fresh.output_shape:
                raise NndlError(f"{stored.path}: the vae's {name} maps {net.input_shape} to {net.output_shape}, "
                                f"its config says {fresh.input_shape} to {fresh.output_shape}")
            setattr(model, name, net)
        return model
