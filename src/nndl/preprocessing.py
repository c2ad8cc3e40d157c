"""Input preprocessing, fitted on the training data only and saved with a model.

Every preprocessor learns its statistics from training inputs with :meth:`fit`
and applies them, unchanged, to any input with :meth:`transform` — validation, test
and user data alike — so no information leaks from the evaluation data.  A fitted
preprocessor is saved as a JSON-able :meth:`~Preprocessor.config` plus named arrays
(:meth:`~Preprocessor.arrays`) and rebuilt by :func:`preprocessor_from_config`.

With μ the training mean and Σ = U Λ Uᵀ the eigendecomposition of the training
covariance (eigenvalues λ₁ ≥ λ₂ ≥ ... in Λ, eigenvectors in the columns of U):

=============== =================================  =====================================
name            class                              x ↦
=============== =================================  =====================================
``mean``        :class:`MeanSubtract`              x − μ
``standardize`` :class:`Standardize`               (x − μ) / σ   (per feature)
``pca``         :class:`PCA`                       U_kᵀ (x − μ)   (top k components)
``pca_whiten``  :class:`PCAWhiten`                 (Λ_k + εI)^{-1/2} U_kᵀ (x − μ)
``zca``         :class:`ZCAWhiten`                 U (Λ + εI)^{-1/2} Uᵀ (x − μ)
=============== =================================  =====================================

Inputs are rows of features, ``(N, D)``; ``(N, ...)`` is flattened to ``(N, D)``
(shape-preserving transforms give the input shape back) and a 1-D input is one
example.  Statistics are computed in float64, in chunks of rows; outputs are float32.
"""
from __future__ import annotations

import numpy as np

from nndl.errors import NndlError
from nndl.registry import lookup

#: Rows processed at a time (bounds the float64 temporaries to a few tens of MB).
CHUNK = 4096


def _as_rows(x, who: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Return ``x`` as a 2-D array of rows and the shape to give results back in."""
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise NndlError(f"{who}: inputs must be numbers, got an array of {x.dtype}")
    if x.ndim == 0:
        raise NndlError(f"{who}: inputs must be an array of examples, got a scalar")
    if x.ndim == 1:
        return x.reshape(1, -1), x.shape
    return x.reshape(x.shape[0], -1), x.shape


def _chunks(n: int):
    """Yield ``slice`` objects covering ``range(n)`` in blocks of :data:`CHUNK` rows."""
    for start in range(0, n, CHUNK):
        yield slice(start, min(start + CHUNK, n))


class Preprocessor:
    """Base class: ``fit`` on training inputs, then ``transform`` any inputs.

    Subclasses set ``name``, ``_array_names`` (the fitted arrays, saved by
    :meth:`arrays`) and implement ``_fit(rows)`` and ``_transform(rows64)``;
    ``_inverse(rows64)`` where an inverse exists.
    """

    name = "base"
    _array_names: tuple[str, ...] = ()
    #: True when the output has one value per input feature (same shape as the input).
    _keeps_shape = True

    def __init__(self):
        self.num_features: int | None = None

    # -- public API -----------------------------------------------------------------------
    def fit(self, x) -> "Preprocessor":
        """Learn the statistics from training inputs ``x`` (N, D); return ``self``."""
        rows, _ = _as_rows(x, self.name)
        if len(rows) < 2:
            raise NndlError(f"{self.name}: fitting needs at least 2 examples, got {len(rows)}")
        if rows.shape[1] == 0:
            raise NndlError(f"{self.name}: the inputs have no features")
        if not (np.isfinite(rows.min()) and np.isfinite(rows.max())):
            raise NndlError(f"{self.name}: the training inputs hold NaN or infinity")
        self.num_features = rows.shape[1]
        self._fit(rows)
        return self

    def transform(self, x) -> np.ndarray:
        """Apply the fitted preprocessing to ``x``; return float32."""
        return self._apply(x, self._transform, self.output_features)

    def fit_transform(self, x) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def inverse_transform(self, x) -> np.ndarray:
        """Map preprocessed values back to input space (a reconstruction for PCA); float32."""
        return self._apply(x, self._inverse, self.num_features, inverse=True)

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted arrays, by name, to save with a model."""
        self._check_fitted()
        return {key: getattr(self, key) for key in self._array_names}

    def config(self) -> dict:
        """JSON-able description: ``name``, the hyperparameters and ``num_features``."""
        self._check_fitted()
        return {"name": self.name, **self._params(), "num_features": self.num_features}

    @property
    def output_features(self) -> int:
        """Number of values per example after :meth:`transform`."""
        self._check_fitted()
        return self.num_features

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"{type(self).__name__}({params})"

    # -- for subclasses -------------------------------------------------------------------
    def _params(self) -> dict:
        return {}

    def _fit(self, rows: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, rows: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _inverse(self, rows: np.ndarray) -> np.ndarray:
        raise NndlError(f"{self.name} preprocessing has no inverse")

    def _load(self, arrays: dict, num_features: int) -> None:
        """Set the fitted arrays from ``arrays`` (as saved by :meth:`arrays`), checked."""
        self.num_features = int(num_features)
        for key in self._array_names:
            if key not in arrays:
                raise NndlError(f"{self.name} preprocessing: the saved arrays lack {key!r}")
            value = np.asarray(arrays[key], dtype=np.float64)
            expected = self._array_shape(key)
            if value.shape != expected:
                raise NndlError(f"{self.name} preprocessing: saved array {key!r} has shape "
                                f"{value.shape}, expected {expected}")
            setattr(self, key, value)

    def _array_shape(self, key: str) -> tuple[int, ...]:
        """Shape the fitted array ``key`` must have: one value per feature by default."""
        return (self.num_features,)

    # -- helpers --------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if self.num_features is None:
            raise NndlError(f"{self.name} preprocessing is not fitted; call fit(x) on the training inputs")

    def _apply(self, x, fn, out_features: int, inverse: bool = False) -> np.ndarray:
        """Run ``fn`` on float64 chunks of the rows of ``x``; float32 result."""
        self._check_fitted()
        rows, shape = _as_rows(x, self.name)
        expected = self.output_features if inverse else self.num_features
        if rows.shape[1] != expected and inverse:
            raise NndlError(f"{self.name} preprocessing gives {expected} values per example but the "
                            f"input to inverse_transform has {rows.shape[1]} (shape {shape})")
        if rows.shape[1] != expected:
            raise NndlError(f"{self.name} preprocessing was fitted on {expected} features "
                            f"but the input has {rows.shape[1]} (shape {shape})")
        out = np.empty((len(rows), out_features), dtype=np.float32)
        for part in _chunks(len(rows)):
            out[part] = fn(rows[part].astype(np.float64))
        if len(shape) == 1:
            return out[0]
        if len(shape) > 2 and out_features == rows.shape[1]:
            return out.reshape(shape)  # e.g. images (N, 1, 28, 28) stay images
        return out


def _mean(rows: np.ndarray) -> np.ndarray:
    """Per-feature mean, float64."""
    return rows.sum(axis=0, dtype=np.float64) / len(rows)


def _variance(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Per-feature (population) variance about ``mean``, float64, in chunks."""
    total = np.zeros(rows.shape[1])
    for part in _chunks(len(rows)):
        total += np.square(rows[part] - mean).sum(axis=0)
    return total / len(rows)


def _covariance(rows: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Sample covariance matrix (D, D) about ``mean``, float64, in chunks: Σ (x−μ)(x−μ)ᵀ/(N−1)."""
    d = rows.shape[1]
    total = np.zeros((d, d))
    for part in _chunks(len(rows)):
        centred = rows[part] - mean
        total += centred.T @ centred
    return total / (len(rows) - 1)


def _check_eps(eps, who: str) -> float:
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise NndlError(f"{who}: eps must be a positive number, got {eps!r}") from None
    if not eps > 0 or not np.isfinite(eps):
        raise NndlError(f"{who}: eps must be a positive number, got {eps}")
    return eps


def _check_k(k, who: str) -> int:
    if (isinstance(k, bool) or not isinstance(k, (int, float, np.integer, np.floating))
            or not float(k).is_integer() or k < 1):
        raise NndlError(f"{who}: k must be a positive whole number of components, got {k!r}")
    return int(k)


class MeanSubtract(Preprocessor):
    """Subtract the training mean of each feature: x ↦ x − μ."""

    name = "mean"
    _array_names = ("mean",)

    def _fit(self, rows):
        self.mean = _mean(rows)

    def _transform(self, rows):
        return rows - self.mean

    def _inverse(self, rows):
        return rows + self.mean


class Standardize(Preprocessor):
    """Scale each feature to mean 0 and standard deviation 1: x ↦ (x − μ) / σ.

    μ and σ (population standard deviation) are per feature, from the training data.
    A feature whose σ is below ``eps`` (a constant column, e.g. an MNIST corner
    pixel) is only centred — its σ is taken as 1 — so it never divides by ~0 and a
    different value in new data stays the same size instead of exploding.
    """

    name = "standardize"
    _array_names = ("mean", "std")

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = _check_eps(eps, "standardize")

    def _params(self):
        return {"eps": self.eps}

    def _fit(self, rows):
        self.mean = _mean(rows)
        std = np.sqrt(_variance(rows, self.mean))
        self.std = np.where(std < self.eps, 1.0, std)

    def _transform(self, rows):
        return (rows - self.mean) / self.std

    def _inverse(self, rows):
        return rows * self.std + self.mean


class PCA(Preprocessor):
    """Project onto the top ``k`` principal components: x ↦ U_kᵀ (x − μ).

    U_k holds the eigenvectors of the training covariance with the k largest
    eigenvalues (the variances of the outputs, in decreasing order).  Each
    eigenvector's sign is fixed so its largest-magnitude entry is positive, so a
    refit gives the same projection.  The inverse maps back to the nearest point of
    the k-dimensional subspace: z ↦ U_k z + μ.
    """

    name = "pca"
    _array_names = ("mean", "components", "variances")
    _keeps_shape = False

    def __init__(self, k: int):
        super().__init__()
        self.k = _check_k(k, "pca")

    def _params(self):
        return {"k": self.k}

    @property
    def output_features(self) -> int:
        self._check_fitted()
        return self.k

    def _components(self) -> int:
        """Number of components to keep for data with ``self.num_features`` features."""
        if self.k > self.num_features:
            raise NndlError(f"PCA with k={self.k} components but the data has {self.num_features} features")
        return self.k

    def _fit(self, rows):
        k = self._components()
        self.mean = _mean(rows)
        values, vectors = np.linalg.eigh(_covariance(rows, self.mean))
        values, vectors = values[::-1][:k], vectors[:, ::-1][:, :k]
        # Sign convention: the largest-magnitude entry of each component is positive.
        biggest = vectors[np.abs(vectors).argmax(axis=0), np.arange(k)]
        self.components = vectors * np.where(biggest < 0, -1.0, 1.0)
        self.variances = np.clip(values, 0.0, None)

    def _array_shape(self, key):
        k = self._components()
        return {"mean": (self.num_features,), "components": (self.num_features, k),
                "variances": (k,)}[key]

    def _transform(self, rows):
        return (rows - self.mean) @ self.components

    def _inverse(self, rows):
        return rows @ self.components.T + self.mean


class PCAWhiten(PCA):
    """PCA whitening: x ↦ (Λ_k + εI)^{-1/2} U_kᵀ (x − μ).

    The top ``k`` principal components (all of them if k is None), each divided by
    the square root of its variance plus ``eps``; on the training data the outputs
    are uncorrelated with variance λᵢ/(λᵢ+ε) ≈ 1.
    """

    name = "pca_whiten"

    def __init__(self, k: int | None = None, eps: float = 1e-5):
        Preprocessor.__init__(self)
        self.k = None if k is None else _check_k(k, "pca_whiten")
        self.eps = _check_eps(eps, "pca_whiten")

    def _params(self):
        return {"k": self.k, "eps": self.eps}

    @property
    def output_features(self) -> int:
        self._check_fitted()
        return self.num_features if self.k is None else self.k

    def _components(self) -> int:
        return self.num_features if self.k is None else super()._components()

    def _transform(self, rows):
        return ((rows - self.mean) @ self.components) / np.sqrt(self.variances + self.eps)

    def _inverse(self, rows):
        return (rows * np.sqrt(self.variances + self.eps)) @ self.components.T + self.mean


class ZCAWhiten(PCA):
    """ZCA whitening: x ↦ U (Λ + εI)^{-1/2} Uᵀ (x − μ).

    PCA whitening rotated back into input space: of all whitening transforms the one
    that changes the data least, so images still look like images.  On the training
    data the covariance of the outputs is U Λ(Λ+εI)^{-1} Uᵀ ≈ I.
    """

    name = "zca"
    _keeps_shape = True

    def __init__(self, eps: float = 1e-5):
        Preprocessor.__init__(self)
        self.k = None
        self.eps = _check_eps(eps, "zca")
        self._matrices = None

    def _params(self):
        return {"eps": self.eps}

    @property
    def output_features(self) -> int:
        self._check_fitted()
        return self.num_features

    def _components(self) -> int:
        return self.num_features

    def _fit(self, rows):
        super()._fit(rows)
        self._matrices = None

    def _load(self, arrays, num_features):
        self._matrices = None
        super()._load(arrays, num_features)

    def _whitening(self) -> tuple[np.ndarray, np.ndarray]:
        """W = U (Λ+εI)^{-1/2} Uᵀ and its inverse U (Λ+εI)^{1/2} Uᵀ, built once."""
        if self._matrices is None:
            root = np.sqrt(self.variances + self.eps)
            u = self.components
            self._matrices = ((u / root) @ u.T, (u * root) @ u.T)
        return self._matrices

    def _transform(self, rows):
        return (rows - self.mean) @ self._whitening()[0]

    def _inverse(self, rows):
        return rows @ self._whitening()[1] + self.mean


#: Preprocessors by name.
PREPROCESSORS: dict[str, type[Preprocessor]] = {
    cls.name: cls for cls in (MeanSubtract, Standardize, PCA, PCAWhiten, ZCAWhiten)
}


def _lookup(name) -> type[Preprocessor]:
    return lookup(PREPROCESSORS, name, "preprocessing")


def get_preprocessor(name: str, **kwargs) -> Preprocessor:
    """Return a new, unfitted preprocessor by name (``"mean"``, ``"standardize"``, ``"pca"``,
    ``"pca_whiten"``, ``"zca"``) with hyperparameters ``kwargs`` (e.g. ``k=50``, ``eps=1e-5``)."""
    cls = _lookup(name)
    try:
        return cls(**kwargs)
    except TypeError:
        raise NndlError(f"{cls.name} preprocessing does not take {', '.join(kwargs)}") from None


def preprocessor_from_config(config: dict, arrays: dict) -> Preprocessor:
    """Rebuild a fitted preprocessor from its :meth:`~Preprocessor.config` and :meth:`~Preprocessor.arrays`."""
    if not isinstance(config, dict) or "name" not in config or "num_features" not in config:
        raise NndlError(f"a saved preprocessor config needs 'name' and 'num_features', got {config!r}")
    params = {key: value for key, value in config.items() if key not in ("name", "num_features")}
    pre = get_preprocessor(config["name"], **params)
    pre._load(arrays, config["num_features"])
    return pre
