"""Sparse coding: ISTA/FISTA reach the lasso's optimum (KKT conditions, a closed form, SciPy), the
dictionary stays unit-norm and learns, the file round trip, bad input and the command."""
import json

import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.models import generative
from nndl.models.sparse_coding import (SparseCoding, fista, ista, lasso_objective, lipschitz, soft_threshold,
                                       unit_atoms)


def _problem(seed=0, m=6, n=12, k=8):
    rng = np.random.default_rng(seed)
    D = unit_atoms(rng.standard_normal((n, k)))
    X = rng.standard_normal((m, n))
    return X, D


def kkt_violation(X, D, H, lmbda):
    """max over entries of the lasso's optimality conditions: g = Dᵀ(x − Dh) must be λ sign(h_k) where
    h_k ≠ 0 and |g_k| ≤ λ where h_k = 0."""
    G = (X - H @ D.T) @ D
    nonzero = H != 0
    on = np.abs(G - lmbda * np.sign(H))[nonzero]
    off = np.maximum(np.abs(G) - lmbda, 0)[~nonzero]
    return max(on.max(initial=0.0), off.max(initial=0.0))


def test_soft_threshold():
    np.testing.assert_array_equal(soft_threshold(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), 1.0),
                                  [-2.0, 0.0, 0.0, 0.0, 1.0])


def test_lipschitz_is_the_largest_eigenvalue():
    _, D = _problem()
    assert lipschitz(D) == pytest.approx(np.linalg.eigvalsh(D.T @ D).max(), rel=1e-10)


def test_fista_meets_the_kkt_conditions_of_a_small_lasso():
    X, D = _problem()
    H, _ = fista(X, D, 0.3, iterations=3000)
    assert kkt_violation(X, D, H, 0.3) < 1e-6
    assert 0 < (H == 0).mean() < 1                                     # a sparse but not empty solution


def test_orthonormal_dictionary_has_the_soft_threshold_as_its_answer():
    """With DᵀD = I the problem separates: h* = S_λ(Dᵀx) (hand-checkable)."""
    rng = np.random.default_rng(3)
    D, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    X = rng.standard_normal((4, 10))
    for solve in (ista, fista):
        H, _ = solve(X, D, 0.5, iterations=5)
        np.testing.assert_allclose(H, soft_threshold(X @ D, 0.5), atol=1e-12)


def test_fista_matches_scipy_on_the_split_form():
    """min ½‖x − D(u − v)‖² + λ Σ(u + v) over u, v ≥ 0 by SciPy's L-BFGS-B: the same optimum."""
    from scipy.optimize import minimize

    X, D = _problem(seed=1, m=1)
    lmbda, k = 0.2, D.shape[1]
    x = X[0]

    def f(w):
        u, v = w[:k], w[k:]
        r = D @ (u - v) - x
        g = D.T @ r
        return 0.5 * r @ r + lmbda * w.sum(), np.concatenate([g + lmbda, -g + lmbda])

    best = minimize(f, np.zeros(2 * k), jac=True, method="L-BFGS-B", bounds=[(0, None)] * (2 * k),
                    options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10_000})
    H, _ = fista(X, D, lmbda, iterations=3000)
    assert lasso_objective(X, D, H, lmbda)[0] <= best.fun + 1e-9
    np.testing.assert_allclose(H[0], best.x[:k] - best.x[k:], atol=1e-5)


def test_fista_converges_faster_than_ista():
    X, D = _problem(seed=2, m=20, n=30, k=60)
    optimum = lasso_objective(X, D, fista(X, D, 0.1, iterations=20_000)[0], 0.1).sum()
    gap = {name: lasso_objective(X, D, solve(X, D, 0.1, iterations=100)[0], 0.1).sum() - optimum
           for name, solve in (("ista", ista), ("fista", fista))}
    assert 0 <= gap["fista"] < gap["ista"] / 5, gap


def test_dictionary_learning_lowers_the_objective_with_unit_atoms(data_root):
    from nndl.data import load_data

    x = load_data("mnist", seed=0, standardize=False).train.x[:1500]
    model = SparseCoding(32, lmbda=0.3, iterations=50, seed=0)
    random_atoms = model.figures(x[:300])["test_objective"]
    records = model.fit(x, epochs=3, batch_size=250)
    assert records[-1]["objective"] < 0.95 * records[0]["objective"], records
    assert model.figures(x[:300])["test_objective"] < 0.6 * random_atoms
    np.testing.assert_allclose(np.linalg.norm(model.D, axis=0), 1.0, atol=1e-5)
    figures = model.figures(x[:300])
    assert 0 < figures["test_nonzero_fraction"] < 0.9


def test_round_trip_and_refusals(tmp_path):
    model = SparseCoding(16, lmbda=0.2, iterations=30, solver="ista", seed=2)
    back = generative.load(model.save(tmp_path / "sc.npz"))
    assert isinstance(back, SparseCoding) and back.solver == "ista" and back.lmbda == 0.2
    np.testing.assert_array_equal(back.D, model.D)
    with pytest.raises(NndlError, match="does not generate"):
        back.sample(4, np.random.default_rng(0))
    for kwargs, message in (({"lmbda": -1}, "lmbda"), ({"atoms": 0}, "atoms"), ({"solver": "lars"}, "solver"),
                            ({"iterations": 0}, "iterations")):
        with pytest.raises(NndlError, match=message):
            SparseCoding(**kwargs)


def test_sparse_coding_command(tmp_path, data_root, capsys):
    out = tmp_path / "sc.npz"
    assert main(["train", "--model", "sparse_coding(24, lmbda=0.3, iterations=20)", "--train-size", "500",
                 "--epochs", "2", "--json", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[-1]["final"] and rows[-1]["test_objective"] > 0 and len(rows) == 3
    assert generative.load(out).D.shape == (784, 24)
    assert main(["train", "--model", "sparse_coding(24, lmbda=-0.1)", "--out", str(tmp_path / "bad.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lmbda" in err
