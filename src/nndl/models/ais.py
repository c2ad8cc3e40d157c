"""The partition function of a Bernoulli RBM: exactly by enumeration, or by annealed importance sampling.

Exact (:func:`log_z_exact`), summing out the larger layer analytically and enumerating the smaller
one (2^min(D, H) terms; nndl allows at most 2²⁰)::

    log Z = logsumexp_h [ c·h + Σ_i softplus(b_i + (W h)_i) ]          (enumerate h)
          = logsumexp_v [ b·v + Σ_j softplus(c_j + (vW)_j) ] = logsumexp_v −F(v)   (enumerate v)

AIS (Neal 2001; Salakhutdinov & Murray 2008, :func:`ais_log_z`): anneal from a base-rate RBM A with no
hidden units and visible biases b_A (the data's pixel log-odds), whose Z_A = 2^H Π_i (1 + e^{b_{A,i}}) (at β = 0 the H hidden units are free),
to the RBM B through the geometric path of unnormalized marginals, 0 = β₀ < β₁ < … < β_K = 1::

    log p*_β(v) = (1 − β) b_A·v + β b·v + Σ_j softplus(β (c_j + (vW)_j))

Each of M runs draws v₁ ~ p_A, and for k = 1 … K adds log p*_{β_k}(v_k) − log p*_{β_{k−1}}(v_k) to its
log weight, then moves v by one Gibbs step that leaves p_{β_k} invariant
(h ~ σ(β_k (c + vW)), v ~ σ((1 − β_k) b_A + β_k (b + hWᵀ))).  Then

    log Z_B ≈ log Z_A + log( (1/M) Σ_m w_m ),

the M runs being one batch.  The paper's schedule (:func:`paper_betas`) has 14,500 βs: steps of 10⁻³
up to 0.5, 10⁻⁴ up to 0.9, 10⁻⁵ up to 1.  The test log-likelihood is mean(−F(v)) − log Z.
"""
from __future__ import annotations

import numpy

from nndl.errors import NndlError

MAX_ENUMERATED = 20


def logsumexp(a) -> float:
    """log Σ e^{a_i}, shifted by the largest term (SciPy's function, without making SciPy a dependency)."""
    a = numpy.asarray(a, dtype=numpy.float64)
    top = a.max()
    return float(top + numpy.log(numpy.exp(a - top).sum()))


def _softplus(z):
    return numpy.logaddexp(0.0, z)


def _check(rbm) -> None:
    if rbm.visible != "bernoulli" or rbm.labels:
        raise NndlError("the partition function is computed for Bernoulli RBMs without label units")


def _params(rbm):
    from nndl.backend import to_numpy

    return (to_numpy(rbm.W).astype(numpy.float64), to_numpy(rbm.b).astype(numpy.float64),
            to_numpy(rbm.c).astype(numpy.float64))


def _states(n: int, start: int, stop: int) -> numpy.ndarray:
    """The binary vectors of n bits numbered start..stop−1, one per row."""
    codes = numpy.arange(start, stop, dtype=numpy.int64)[:, None]
    return ((codes >> numpy.arange(n, dtype=numpy.int64)) & 1).astype(numpy.float64)


def log_z_exact(rbm, chunk: int = 1 << 14) -> float:
    """log Z by enumerating the smaller layer (at most 2²⁰ states), in float64."""
    _check(rbm)
    W, b, c = _params(rbm)
    small = min(rbm.n_visible, rbm.n_hidden)
    if small > MAX_ENUMERATED:
        raise NndlError(f"exact log Z enumerates 2^{small} states; nndl allows a smaller layer of at most "
                        f"{MAX_ENUMERATED} units (use AIS)")
    terms = []
    for start in range(0, 1 << small, chunk):
        s = _states(small, start, min(1 << small, start + chunk))
        if rbm.n_hidden <= rbm.n_visible:
            terms.append(s @ c + _softplus(s @ W.T + b).sum(axis=1))
        else:
            terms.append(s @ b + _softplus(s @ W + c).sum(axis=1))
    return float(logsumexp(numpy.concatenate(terms)))


def paper_betas() -> numpy.ndarray:
    """Salakhutdinov & Murray's 14,500 inverse temperatures (plus β₀ = 0)."""
    return numpy.concatenate([numpy.linspace(0.0, 0.5, 501), numpy.linspace(0.5, 0.9, 4001)[1:],
                              numpy.linspace(0.9, 1.0, 10001)[1:]])


def base_rate_biases(x, smoothing: float = 0.05) -> numpy.ndarray:
    """b_A = log(p / (1 − p)) of the data's pixel means, p smoothed toward ½ by ``smoothing`` pseudo-counts
    per example fraction (so that no pixel's probability is 0 or 1)."""
    x = numpy.asarray(x, dtype=numpy.float64)
    p = (x.sum(axis=0) + smoothing * len(x)) / (len(x) * (1 + 2 * smoothing))
    return numpy.log(p / (1 - p))


def ais_log_z(rbm, base_biases, betas=None, runs: int = 100, seed: int = 0) -> dict:
    """AIS estimate of log Z for ``rbm``: ``{"log_z", "log_z_low", "log_z_high", "runs", "betas"}``, the
    bounds being log(mean w ± 3 standard errors) as in the paper (the lower one −inf if the interval
    reaches 0).  Float64; the M runs go through the schedule together as one batch."""
    _check(rbm)
    W, b, c = _params(rbm)
    bA = numpy.asarray(base_biases, dtype=numpy.float64)
    if bA.shape != b.shape:
        raise NndlError(f"AIS: the base-rate biases have shape {bA.shape}, the RBM {b.shape[0]} visible units")
    betas = paper_betas() if betas is None else numpy.asarray(betas, dtype=numpy.float64)
    if betas[0] != 0.0 or betas[-1] != 1.0 or (numpy.diff(betas) <= 0).any():
        raise NndlError("AIS: the βs must rise from 0 to 1")
    rng = numpy.random.default_rng(seed)
    pA = 1.0 / (1.0 + numpy.exp(-bA))
    v = (rng.random((runs, len(b))) < pA).astype(numpy.float64)
    log_w = numpy.zeros(runs)

    def log_p_star(v, wx, beta):
        return (1 - beta) * (v @ bA) + beta * (v @ b) + _softplus(beta * wx).sum(axis=1)

    wx = v @ W + c
    for prev, beta in zip(betas[:-1], betas[1:]):
        log_w += log_p_star(v, wx, beta) - log_p_star(v, wx, prev)
        ph = 1.0 / (1.0 + numpy.exp(-beta * wx))
        h = (rng.random(ph.shape) < ph).astype(numpy.float64)
        pv = 1.0 / (1.0 + numpy.exp(-((1 - beta) * bA + beta * (h @ W.T + b))))
        v = (rng.random(pv.shape) < pv).astype(numpy.float64)
        wx = v @ W + c
    # at β = 0 the hidden units are free: each adds log 2 to the base rate's log Z_A
    log_za = _softplus(bA).sum() + len(c) * numpy.log(2.0)
    log_mean = logsumexp(log_w) - numpy.log(runs)
    # ± 3 standard errors of the mean weight, on the log scale (shifted by the largest weight)
    shift = log_w.max()
    w = numpy.exp(log_w - shift)
    se = w.std(ddof=1) / numpy.sqrt(runs) if runs > 1 else 0.0
    mean = w.mean()
    low = numpy.log(mean - 3 * se) + shift if mean - 3 * se > 0 else -numpy.inf
    return {"log_z": float(log_za + log_mean), "log_z_low": float(log_za + low),
            "log_z_high": float(log_za + numpy.log(mean + 3 * se) + shift), "runs": int(runs),
            "betas": int(len(betas) - 1)}


def average_log_likelihood(rbm, x, log_z: float, batch_size: int = 5000) -> float:
    """mean over rows of log p(v) = −F(v) − log Z (float64)."""
    _check(rbm)
    W, b, c = _params(rbm)
    total = 0.0
    for i in range(0, len(x), batch_size):
        v = numpy.asarray(x[i:i + batch_size], dtype=numpy.float64)
        total += float((v @ b + _softplus(v @ W + c).sum(axis=1)).sum())
    return total / len(x) - log_z
