"""How good are a generator's samples: Goodfellow's Parzen-window log-likelihood, a classifier-based
inception score, and the share of each class among the samples.

**Parzen window** (Breuleux, Bengio & Vincent 2011; the protocol of Goodfellow et al. 2014).  Fit a
Gaussian kernel density to S samples s₁..s_S (10,000 in the paper) and score held-out images x of
d pixels under it:

    log p̂(x) = log (1/S) Σᵢ N(x; sᵢ, σ² I)
             = logsumexp_i(−‖x − sᵢ‖² / 2σ²) − log S − (d/2) log(2πσ²),

σ chosen from a grid to maximize the mean log p̂ of a validation set, then the test set's mean
(with its standard error) reported.  The squared distances come from one matrix product,
‖x‖² − 2 x·s + ‖s‖², in batches of test images; every σ of the grid is scored from the same
distances.  The same estimator with real training images as the "samples" is the yardstick.

**Inception score** (Salimans et al. 2016), with a digit classifier in place of Inception:

    IS = exp(E_x KL(p(y | x) ‖ p(y))),  p(y) = E_x p(y | x),

high when each sample is confidently one class and the classes are balanced: at most the number
of classes K (10), 1 for a classifier that cannot tell.  **Coverage**: the fraction of samples the
classifier puts in each class.
"""
from __future__ import annotations

import math

import numpy
from nndl.errors import NndlError

#: The σ grid searched on the validation set (Goodfellow et al.'s MNIST σ was about 0.2).
SIGMAS = tuple(float(s) for s in numpy.round(numpy.logspace(math.log10(0.08), math.log10(0.4), 15), 4))


def logsumexp(a, axis: int = 1) -> numpy.ndarray:
    """log Σ exp(a) along ``axis``, without overflow: m + log Σ exp(a − m), m the largest."""
    top = a.max(axis=axis, keepdims=True)
    return (top + numpy.log(numpy.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def squared_distances(x, samples, sample_norms=None) -> numpy.ndarray:
    """‖xₐ − s_b‖² for every row a of ``x`` and b of ``samples``: (len(x), len(samples)), float64, ≥ 0."""
    x = numpy.asarray(x, dtype=numpy.float32)
    samples = numpy.asarray(samples, dtype=numpy.float32)
    if sample_norms is None:
        sample_norms = (samples.astype(numpy.float64) ** 2).sum(axis=1)
    d = (x.astype(numpy.float64) ** 2).sum(axis=1)[:, None] - 2.0 * (x @ samples.T).astype(numpy.float64)
    d += sample_norms[None, :]
    return numpy.maximum(d, 0.0)


def parzen_log_likelihoods(x, samples, sigmas, batch_size: int = 500) -> numpy.ndarray:
    """log p̂(x) of every row of ``x`` under the Gaussian Parzen window on ``samples``, for every σ in
    ``sigmas``: shape (len(sigmas), len(x))."""
    samples = numpy.asarray(samples, dtype=numpy.float32)
    x = numpy.asarray(x, dtype=numpy.float32)
    if samples.ndim != 2 or x.ndim != 2 or samples.shape[1] != x.shape[1] or not len(samples):
        raise NndlError(f"Parzen window: samples {samples.shape} and images {x.shape} must be rows of the "
                        f"same length")
    sigmas = numpy.asarray(sigmas, dtype=numpy.float64)
    if not (sigmas > 0).all():
        raise NndlError(f"Parzen window: every σ must be > 0, got {sigmas.tolist()}")
    s, d = samples.shape
    norms = (samples.astype(numpy.float64) ** 2).sum(axis=1)
    out = numpy.empty((len(sigmas), len(x)))
    for i in range(0, len(x), batch_size):
        dist = squared_distances(x[i:i + batch_size], samples, norms)
        for j, sigma in enumerate(sigmas):
            out[j, i:i + batch_size] = (logsumexp(-dist / (2 * sigma * sigma), axis=1) - math.log(s)
                                        - 0.5 * d * math.log(2 * math.pi * sigma * sigma))
    return out


def parzen_evaluation(samples, validation, test, sigmas=SIGMAS, batch_size: int = 500) -> dict:
    """Goodfellow's protocol: σ of ``sigmas`` maximizing the validation mean, then the test set's mean
    log p̂ and its standard error at that σ."""
    valid = parzen_log_likelihoods(validation, samples, sigmas, batch_size).mean(axis=1)
    best = int(numpy.argmax(valid))
    scores = parzen_log_likelihoods(test, samples, [sigmas[best]], batch_size)[0]
    return {"sigma": float(sigmas[best]), "validation_mean": float(valid[best]),
            "test_mean": float(scores.mean()), "test_stderr": float(scores.std(ddof=1) / math.sqrt(len(scores))),
            "samples": int(len(samples)), "validation": int(len(validation)), "test": int(len(test)),
            "sigma_at_grid_edge": best in (0, len(sigmas) - 1)}


def inception_score(probabilities, splits: int = 1) -> tuple[float, float]:
    """exp(E_x KL(p(y|x) ‖ p(y))) of the rows of ``probabilities`` (n, K), as the mean and standard
    deviation over ``splits`` equal parts (the usual 10; 1: the whole set, std 0)."""
    p = numpy.asarray(probabilities, dtype=numpy.float64)
    if p.ndim != 2 or len(p) < splits or splits < 1:
        raise NndlError(f"inception score: need (n, classes) probabilities with n ≥ splits, got {p.shape}")
    scores = []
    for part in numpy.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        with numpy.errstate(divide="ignore", invalid="ignore"):
            terms = numpy.where(part > 0, part * (numpy.log(part) - numpy.log(marginal)), 0.0)
        scores.append(math.exp(terms.sum(axis=1).mean()))
    return float(numpy.mean(scores)), float(numpy.std(scores))


def coverage(probabilities, classes: int | None = None) -> list[float]:
    """The fraction of rows whose most probable class is each class 0..K−1."""
    p = numpy.asarray(probabilities)
    k = classes or p.shape[1]
    return (numpy.bincount(p.argmax(axis=1), minlength=k)[:k] / len(p)).tolist()


def load_classifier(path=None):
    """nndl's trained chapter-6 conv net (docs/results/ch6-relu.npz), the judge of the samples."""
    from pathlib import Path

    from nndl import io

    if path is None:
        path = Path(__file__).resolve().parents[3] / "docs" / "results" / "ch6-relu.npz"
    return io.load(path)


def classifier_report(classifier, images, splits: int = 10) -> dict:
    """Inception score (mean ± std over ``splits``), its whole-set value, and coverage of ``images``."""
    p = classifier.predict_proba(numpy.asarray(images, dtype=numpy.float32), preprocessed=False)
    mean, std = inception_score(p, splits)
    whole, _ = inception_score(p, 1)
    share = coverage(p)
    return {"inception_score": mean, "inception_score_std": std, "inception_score_whole": whole,
            "coverage": [round(c, 4) for c in share], "min_class_share": float(min(share)),
            "mean_max_probability": float(p.max(axis=1).mean())}
