"""Sparse coding: a dictionary D of unit-norm atoms and, for each example, a sparse code h with x ≈ D h.

For a mini-batch X (m rows) and codes H (m rows, one per example, of K atoms), the objective is

    J(D, H) = (1/m) Σ_n [ ½‖x_n − D h_n‖² + λ‖h_n‖₁ ],      ‖d_k‖ = 1 for every atom k,

(Olshausen and Field 1996) minimized alternately:

**Codes (D fixed): ISTA and FISTA.**  The smooth part f(H) = ½‖X − H Dᵀ‖²_F has gradient
∇f = (H Dᵀ − X) D = H G − X D with G = DᵀD, and is L-Lipschitz with L = λ_max(G).  ISTA (the proximal
gradient method) takes

    H ← S_{λ/L}(H − ∇f(H) / L),          S_τ(v) = sign(v) max(|v| − τ, 0)   (soft thresholding),

and FISTA (Beck and Teboulle 2009) the same step from an extrapolated point Y:

    H_k = S_{λ/L}(Y_k − ∇f(Y_k) / L),   t_{k+1} = (1 + √(1 + 4t_k²)) / 2,   Y_{k+1} = H_k + ((t_k − 1)/t_{k+1})(H_k − H_{k−1}),

which reaches J − J* = O(1/k²) instead of ISTA's O(1/k).  Both run on the whole batch at once (each
example's problem is separate, so one matrix product serves them all).

**Dictionary (H fixed): projected gradient.**  ∇_D = (1/m)(D HᵀH − XᵀH); the step is
D ← Π(D − (η / L_D) ∇_D) with L_D = λ_max(HᵀH)/m, and Π rescales every atom to unit norm
(an atom no code uses is left where it was).  The atoms start as K training examples drawn at random
(unit-normalized), as the usual dictionary learners do: they begin in the data's span and sharpen into
parts of digits.
"""
from __future__ import annotations

import time

import numpy

from nndl import validation
from nndl.errors import NndlError
from nndl.layers.base import spend
from nndl.models.generative import GenerativeModel, epoch_reporter


def soft_threshold(v, tau):
    """S_τ(v) = sign(v) max(|v| − τ, 0), elementwise: the proximal operator of τ‖·‖₁."""
    return numpy.sign(v) * numpy.maximum(numpy.abs(v) - tau, 0)


def lipschitz(D) -> float:
    """L = λ_max(DᵀD) = σ_max(D)², the Lipschitz constant of ∇_h ½‖x − Dh‖²."""
    G = D.T @ D
    return float(numpy.linalg.eigvalsh(G.astype(numpy.float64))[-1])


def lasso_objective(X, D, H, lmbda) -> numpy.ndarray:
    """½‖x_n − D h_n‖² + λ‖h_n‖₁ for every row n."""
    R = X - H @ D.T
    return 0.5 * (R * R).sum(axis=1) + lmbda * numpy.abs(H).sum(axis=1)


def ista(X, D, lmbda, iterations: int = 100, H=None, L=None, tol: float = 0.0):
    """Codes of the rows of ``X`` by ISTA: H ← S_{λ/L}(H − (H G − X D)/L).  Returns (H, iterations run)."""
    L = lipschitz(D) if L is None else L
    G, XD = D.T @ D, X @ D
    H = numpy.zeros((len(X), D.shape[1]), X.dtype) if H is None else H.copy()
    for k in range(1, iterations + 1):
        new = soft_threshold(H - (H @ G - XD) / L, lmbda / L)
        change = float(numpy.abs(new - H).max(initial=0.0))
        H = new
        if change <= tol:
            return H, k
    return H, iterations


def fista(X, D, lmbda, iterations: int = 100, H=None, L=None, tol: float = 0.0):
    """Codes of the rows of ``X`` by FISTA (the accelerated ISTA above).  Returns (H, iterations run)."""
    L = lipschitz(D) if L is None else L
    G, XD = D.T @ D, X @ D
    H = numpy.zeros((len(X), D.shape[1]), X.dtype) if H is None else H.copy()
    Y, t = H, 1.0
    for k in range(1, iterations + 1):
        new = soft_threshold(Y - (Y @ G - XD) / L, lmbda / L)
        t_next = (1 + (1 + 4 * t * t) ** 0.5) / 2
        Y = new + ((t - 1) / t_next) * (new - H)
        change = float(numpy.abs(new - H).max(initial=0.0))
        H, t = new, t_next
        if change <= tol:
            return H, k
    return H, iterations


SOLVERS = {"ista": ista, "fista": fista}


def unit_atoms(D):
    """Π: every column (atom) rescaled to unit norm; a zero column stays zero."""
    norms = numpy.linalg.norm(D, axis=0)
    return D / numpy.where(norms > 0, norms, 1)


class SparseCoding(GenerativeModel):
    """``sparse_coding(256, lmbda=0.1, iterations=100, solver=fista)``: K unit-norm atoms learned on MNIST."""

    kind = "sparse_coding"

    def __init__(self, atoms: int = 256, lmbda: float = 0.1, iterations: int = 100, solver: str = "fista",
                 n_in: int = 784, seed: int = 0):
        self.atoms = validation.whole("atoms (the dictionary's size)", atoms, low=1, high=100_000)
        self.lmbda = validation.number("lmbda (the weight of ‖h‖₁)", lmbda, low=0)
        self.iterations = validation.whole("iterations (of ISTA/FISTA per batch)", iterations, low=1, high=100_000)
        self.solver = validation.choice("solver", solver, tuple(SOLVERS))
        self.n_in = validation.whole("inputs", n_in, low=1)
        self.seed = int(seed)
        rng = numpy.random.default_rng(self.seed)
        spend((self.n_in, self.atoms), "sparse coding dictionary")      # a file's config within its values
        self.D = unit_atoms(rng.standard_normal((self.n_in, self.atoms)).astype(numpy.float32))
        self.records: list[dict] = []
        self.started = False                  # the atoms are still the random ones (fit starts them from data)

    @classmethod
    def from_command(cls, atoms: int = 256, lmbda: float = 0.1, iterations: int = 100, solver: str = "fista"):
        return cls(atoms, lmbda, iterations, solver)

    # -- codes and dictionary ------------------------------------------------------------------------
    def encode(self, X, iterations: int | None = None, batch_size: int = 2000):
        """The sparse codes H (one row per row of ``X``) for the current dictionary."""
        X = numpy.asarray(X, dtype=numpy.float32).reshape(len(X), -1)
        L = lipschitz(self.D)
        solve = SOLVERS[self.solver]
        out = [solve(X[i:i + batch_size], self.D, self.lmbda, iterations or self.iterations, L=L)[0]
               for i in range(0, len(X), batch_size)]
        return numpy.concatenate(out) if out else numpy.zeros((0, self.atoms), numpy.float32)

    def dictionary_step(self, X, H, eta: float = 1.0):
        """D ← Π(D − (η/L_D)(D HᵀH − XᵀH)/m), L_D = λ_max(HᵀH)/m."""
        m = len(X)
        HtH = H.T @ H
        L_D = lipschitz(H) / m
        if L_D <= 0:
            return
        grad = (self.D @ HtH - X.T @ H) / m
        used = numpy.abs(H).sum(axis=0) > 0
        D = self.D - (eta / L_D) * grad
        self.D = numpy.where(used, unit_atoms(D), self.D).astype(numpy.float32)

    def fit(self, X, epochs: int = 10, batch_size: int = 500, eta: float = 1.0, seed: int | None = None,
            callback=None):
        """Alternate FISTA codes and a projected dictionary step on shuffled mini-batches; returns one record
        per epoch (the mean objective of the batches, before each one's dictionary step)."""
        X = numpy.asarray(X, dtype=numpy.float32).reshape(len(X), -1)
        if X.shape[1] != self.n_in:
            raise NndlError(f"sparse coding of {self.n_in} inputs got examples of {X.shape[1]} values")
        rng = numpy.random.default_rng(self.seed if seed is None else seed)
        if not self.started and len(X) >= self.atoms:
            picked = X[rng.choice(len(X), self.atoms, replace=False)].T
            self.D = unit_atoms(picked + 0.01 * rng.standard_normal(picked.shape)).astype(numpy.float32)
        self.started = True
        solve = SOLVERS[self.solver]
        records = []
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            order = rng.permutation(len(X))
            total, seen = 0.0, 0
            for i in range(0, len(X), batch_size):
                xb = X[order[i:i + batch_size]]
                H, _ = solve(xb, self.D, self.lmbda, self.iterations)
                total += float(lasso_objective(xb, self.D, H, self.lmbda).sum())
                seen += len(xb)
                self.dictionary_step(xb, H, eta)
            record = {"epoch": epoch, "objective": total / seen, "seconds": time.perf_counter() - start}
            records.append(record)
            if callback is not None:
                callback(record)
        self.records.extend(records)
        return records

    def figures(self, X) -> dict:
        """On ``X``: the objective, ½‖x − Dh‖² and the fraction of nonzero code entries, per example."""
        X = numpy.asarray(X, dtype=numpy.float32).reshape(len(X), -1)
        H = self.encode(X)
        R = X - H @ self.D.T
        return {"test_objective": float(lasso_objective(X, self.D, H, self.lmbda).mean()),
                "test_squared_error": float(0.5 * (R * R).sum(1).mean()),
                "test_nonzero_fraction": float((H != 0).mean())}

    def fit_command(self, splits, options) -> dict:
        epochs = validation.whole("--epochs", options.get("epochs", 10), low=1)
        batch = validation.whole("--batch-size", options.get("batch_size", 500), low=1)
        eta = validation.number("--eta", options.get("eta", 1.0), low=0, low_open=True)
        if "seed" in options:
            self.seed = int(options["seed"])

        report = epoch_reporter(options, lambda r: f"epoch {r['epoch']}: objective {r['objective']:.4g} "
                                                   f"({r['seconds']:.1f} s)", lambda r: {"phase": "sparse_coding"})

        start = time.perf_counter()
        self.fit(splits.train.x, epochs, batch, eta, self.seed, report)
        final = {"epochs": epochs, "seconds": time.perf_counter() - start}
        test = splits.test.x[:2000] if splits.test is not None else splits.train.x[:2000]
        final.update(self.figures(test))
        return final

    def sample(self, n, rng, label=None):
        raise NndlError("a sparse coder does not generate examples (it has no prior over codes); its atoms are "
                        "drawn by bench/experiment_autoencoders.py sparse_coding")

    # -- the file ---------------------------------------------------------------------------------------
    def parts(self):
        config = {"atoms": self.atoms, "lmbda": self.lmbda, "iterations": self.iterations, "solver": self.solver,
                  "inputs": self.n_in, "seed": self.seed, "started": self.started}
        return config, {}, {"dictionary": self.D}

    @classmethod
    def from_parts(cls, stored):
        c = stored.config
        try:
            model = cls(c["atoms"], c["lmbda"], c["iterations"], c["solver"], c["inputs"], c.get("seed", 0))
        except KeyError as exc:
            raise NndlError(f"the sparse coder's config lacks {exc.args[0]!r}") from None
        D = numpy.asarray(stored.array_of("dictionary", (model.n_in, model.atoms)), dtype=numpy.float32)
        model.D, model.started = D, bool(c.get("started", True))
        return model
