"""RBMs: CD-1 statistics by hand, free energy and log Z by brute force, AIS against exact log Z, seeded
sampling, a learning test on MNIST, the file, bad input and the commands."""
import itertools
import math

import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.models import ais, generative
from nndl.models.rbm import RBM


def small_rbm(n_visible, n_hidden, seed=0, scale=1.0, visible="bernoulli", dtype=np.float64):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_visible, n_hidden, visible=visible, seed=seed, dtype=dtype)
    rbm.W = rng.normal(0, scale, (n_visible, n_hidden)).astype(dtype)
    rbm.b = rng.normal(0, scale, n_visible).astype(dtype)
    rbm.c = rng.normal(0, scale, n_hidden).astype(dtype)
    return rbm


def sig(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_cd1_statistics_of_a_3x2_rbm_by_hand():
    """One example v₀ = (1, 0, 1), fixed uniform draws: every step written out unit by unit."""
    rbm = RBM(3, 2, seed=0, dtype=np.float64, weight_cost=0.0)
    W = [[0.5, -0.3], [0.2, 0.8], [-0.4, 0.1]]
    b, c = [0.1, -0.2, 0.3], [-0.1, 0.2]
    rbm.W, rbm.b, rbm.c = np.array(W), np.array(b), np.array(c)
    v0 = [1.0, 0.0, 1.0]
    u = [0.3, 0.6]                                   # the draws of h₀
    ph0 = [sig(c[j] + sum(v0[i] * W[i][j] for i in range(3))) for j in range(2)]
    # ph0 = σ(−0.1 + 0.5 − 0.4) = σ(0) = 0.5 and σ(0.2 − 0.3 + 0.1) = σ(0) = 0.5
    assert ph0 == pytest.approx([0.5, 0.5])
    h0 = [1.0 if u[j] < ph0[j] else 0.0 for j in range(2)]          # (1, 0)
    pv1 = [sig(b[i] + sum(h0[j] * W[i][j] for j in range(2))) for i in range(3)]
    ph1 = [sig(c[j] + sum(pv1[i] * W[i][j] for i in range(3))) for j in range(2)]
    dW = [[v0[i] * ph0[j] - pv1[i] * ph1[j] for j in range(2)] for i in range(3)]
    draws = iter([np.array([u])])
    stats = rbm.cd_statistics(np.array([v0]), uniform=lambda shape: next(draws))
    assert pv1 == pytest.approx([sig(0.6), sig(0.0), sig(-0.1)])
    np.testing.assert_allclose(stats["W"], dW, rtol=1e-12)
    np.testing.assert_allclose(stats["b"], np.subtract(v0, pv1), rtol=1e-12)
    np.testing.assert_allclose(stats["c"], np.subtract(ph0, ph1), rtol=1e-12)
    np.testing.assert_allclose(stats["error"], sum((v0[i] - pv1[i]) ** 2 for i in range(3)), rtol=1e-12)


def test_update_is_the_recipe_with_momentum_and_weight_cost():
    rbm = small_rbm(3, 2, seed=4)
    v = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    W0 = rbm.W.copy()
    draws = np.random.default_rng(9).random((2, 2))
    stats = rbm.cd_statistics(v, uniform=lambda shape: draws)
    rbm.W = W0.copy()
    rbm.cd_statistics = lambda v0: stats
    rbm.update(v, eta=0.1, momentum=0.5)
    np.testing.assert_allclose(rbm.W, W0 + 0.1 * (stats["W"] - 2e-4 * W0), rtol=1e-12)
    W1 = rbm.W.copy()
    rbm.update(v, eta=0.1, momentum=0.5)               # ΔW = 0.5 ΔW_prev + η(∇ − λW)
    np.testing.assert_allclose(rbm.W, W1 + 0.5 * (W1 - W0) + 0.1 * (stats["W"] - 2e-4 * W1), rtol=1e-12)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_against_brute_force_marginalization(visible):
    rbm = small_rbm(4, 3, seed=1, visible=visible)
    rng = np.random.default_rng(2)
    v = (rng.random((5, 4)) < 0.5).astype(float) if visible == "bernoulli" else rng.normal(size=(5, 4))
    hs = np.array(list(itertools.product([0, 1], repeat=3)), dtype=float)
    for row, f in zip(v, rbm.free_energy(v)):
        energies = rbm.energy(np.repeat(row[None], len(hs), 0), hs)
        assert f == pytest.approx(-np.log(np.exp(-energies).sum()), rel=1e-10)


@pytest.mark.parametrize("shape", [(6, 4), (4, 7)])
def test_exact_log_z_against_double_enumeration(shape):
    """Enumerating the smaller layer (hidden for 6×4, visible for 4×7) matches Σ_v Σ_h e^{−E}."""
    rbm = small_rbm(*shape, seed=3)
    vs = np.array(list(itertools.product([0, 1], repeat=shape[0])), dtype=float)
    hs = np.array(list(itertools.product([0, 1], repeat=shape[1])), dtype=float)
    total = sum(np.exp(-rbm.energy(np.repeat(v[None], len(hs), 0), hs)).sum() for v in vs)
    assert ais.log_z_exact(rbm) == pytest.approx(np.log(total), rel=1e-10)


def test_ais_within_a_tenth_of_a_nat_of_exact_log_z():
    rbm = small_rbm(30, 10, seed=5, scale=0.5)
    exact = ais.log_z_exact(rbm)
    rng = np.random.default_rng(0)
    data = (rng.random((500, 30)) < 1 / (1 + np.exp(-rbm.b))).astype(float)
    estimate = ais.ais_log_z(rbm, ais.base_rate_biases(data), np.linspace(0, 1, 1001), runs=200, seed=0)
    assert abs(estimate["log_z"] - exact) < 0.1, (estimate, exact)
    assert estimate["log_z_low"] <= estimate["log_z"] <= estimate["log_z_high"]
    again = ais.ais_log_z(rbm, ais.base_rate_biases(data), np.linspace(0, 1, 1001), runs=200, seed=0)
    assert again["log_z"] == estimate["log_z"]
    # with far too few βs the estimate is off: the test can fail
    poor = ais.ais_log_z(rbm, np.zeros(30), np.linspace(0, 1, 3), runs=5, seed=0)
    assert abs(poor["log_z"] - exact) > 0.1


def test_paper_schedule_and_refusals():
    betas = ais.paper_betas()
    assert len(betas) == 14_501 and betas[0] == 0 and betas[-1] == 1 and (np.diff(betas) > 0).all()
    with pytest.raises(NndlError, match="at most 20"):
        ais.log_z_exact(RBM(30, 25))
    with pytest.raises(NndlError, match="Bernoulli"):
        ais.log_z_exact(RBM(4, 2, visible="gaussian"))
    with pytest.raises(NndlError, match="rise from 0 to 1"):
        ais.ais_log_z(RBM(4, 2), np.zeros(4), [0.0, 0.7, 0.5, 1.0])


def test_sampling_is_reproducible_from_a_seed():
    rbm = small_rbm(12, 5, seed=6, dtype=np.float32)
    rbm.sample_steps = 30
    a = rbm.sample(8, np.random.default_rng(11))
    b = rbm.sample(8, np.random.default_rng(11))
    c = rbm.sample(8, np.random.default_rng(12))
    assert a.shape == (8, 12) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    with pytest.raises(NndlError, match="--label needs a conditional model"):
        rbm.check_label(3, "rbm.npz")


def test_training_is_reproducible_from_a_seed(mnist_small):
    x = mnist_small[:300]
    runs = []
    for _ in range(2):
        rbm = RBM(784, 20, seed=3)
        rbm.fit(x, epochs=1)
        runs.append(rbm.W.copy())
    np.testing.assert_array_equal(*runs)


@pytest.fixture(scope="module")
def mnist_small(data_root):
    from nndl.data.mnist import load_mnist

    return load_mnist(data_root).train.x[:2000]


def test_rbm_learns_mnist_digits(mnist_small):
    """CD-1 on 2,000 images: the mean-field reconstruction error falls from ~50 to below 20 in 3 epochs, the
    free energy of the training images falls, and the pseudo-likelihood rises."""
    rbm = RBM(784, 100, seed=0)
    rbm.init_from_data(mnist_small)
    before = rbm.reconstruction_error(mnist_small[:500])
    pl_before = rbm.pseudo_likelihood(mnist_small[:500])
    history = rbm.fit(mnist_small, epochs=3, eta=0.1, batch_size=20, held_out=mnist_small[1500:])
    after = rbm.reconstruction_error(mnist_small[:500])
    print(before, after)
    assert before > 40 and after < 20, (before, after)
    assert history[-1]["free_energy_train"] < history[0]["free_energy_train"]
    assert rbm.pseudo_likelihood(mnist_small[:500]) > pl_before + 20
    assert {"reconstruction_error", "free_energy_validation", "free_energy_gap", "pseudo_likelihood"} <= set(history[-1])
    assert [r["momentum"] for r in history] == [0.5] * 3


def test_pcd_and_gaussian_rbms_learn(mnist_small):
    pcd = RBM(784, 50, persistent=True, seed=0)
    pcd.init_from_data(mnist_small)
    before = pcd.reconstruction_error(mnist_small[:500])
    history = pcd.fit(mnist_small, epochs=3, eta=0.02, batch_size=20)
    assert pcd.chains is not None and pcd.chains.shape == (20, 50)
    assert pcd.reconstruction_error(mnist_small[:500]) < before - 8
    assert history[-1]["reconstruction_error"] < history[0]["reconstruction_error"]
    gauss = RBM(784, 50, visible="gaussian", seed=0)
    history = gauss.fit(mnist_small, epochs=3, eta=0.01, batch_size=20)
    assert history[-1]["reconstruction_error"] < 0.85 * history[0]["reconstruction_error"], history
    x = gauss.sample(4, np.random.default_rng(0))
    assert x.shape == (4, 784) and 0 <= x.min() and x.max() <= 1


def test_the_sparsity_target_is_the_guide_s_q_minus_p_and_lowers_the_activity(mnist_small):
    """Guide §11: q ← 0.9 q + 0.1 ⟨p(h|v₀)⟩ (q starts at the first batch's mean); c and W are pulled by
    s (q − p) and s ⟨v₀⟩ᵀ(q − p).  Training with p = 0.02 gives a lower mean activity than without."""
    rbm = small_rbm(4, 3, seed=1)
    rbm.sparsity_target, rbm.sparsity_cost = 0.1, 2.0
    v = np.random.default_rng(0).random((5, 4))
    ph = rbm.p_hidden(v)
    first = rbm.sparsity_step(v, ph)
    np.testing.assert_allclose(first["c"], 2.0 * (ph.mean(axis=0) - 0.1))
    np.testing.assert_allclose(first["W"], v.mean(axis=0)[:, None] * first["c"][None, :])
    ph2 = rbm.p_hidden(v[::-1] * 0.5)
    second = rbm.sparsity_step(v, ph2)
    np.testing.assert_allclose(second["c"], 2.0 * (0.9 * ph.mean(axis=0) + 0.1 * ph2.mean(axis=0) - 0.1))
    x = mnist_small[:1000]
    activity = []
    for cost in (0.0, 1.0):
        model = RBM(784, 50, seed=0, sparsity_target=0.02, sparsity_cost=cost)
        model.fit(x, epochs=2, eta=0.1, batch_size=20)
        activity.append(float(model.p_hidden(model.standardized(x)).mean()))
    assert activity[1] < 0.6 * activity[0], activity
    with pytest.raises(NndlError, match="sparsity_target=1.0 is out of range"):
        RBM(784, 10, sparsity_target=1.0)


def test_linear_eta_decay_steps_each_epoch_down_to_eta_over_e(monkeypatch):
    """eta_decay="linear": epoch e of E runs at η (1 − e/E), every mini-batch of it; "constant" keeps η."""
    x = np.random.default_rng(0).random((40, 6)).astype(np.float32)
    for decay, expected in (("linear", [0.2, 0.15, 0.1, 0.05]), ("constant", [0.2] * 4)):
        rbm = RBM(6, 3, seed=0, eta_decay=decay)
        used = []
        original = rbm.update
        monkeypatch.setattr(rbm, "update", lambda v, eta, mu: (used.append(eta), original(v, eta, mu))[1])
        history = rbm.fit(x, epochs=4, eta=0.2, batch_size=10)
        np.testing.assert_allclose(used, np.repeat(expected, 4))
        np.testing.assert_allclose([r["eta"] for r in history], expected)
    with pytest.raises(NndlError, match="eta_decay"):
        RBM(6, 3, eta_decay="cosine")


def test_save_and_load_round_trip(tmp_path):
    for visible in ("bernoulli", "gaussian"):
        rbm = small_rbm(10, 4, seed=7, visible=visible, dtype=np.float32)
        rbm.sparsity_target, rbm.sparsity_cost, rbm.eta_decay = 0.05, 0.3, "linear"
        rbm.scale = np.full(10, 2.0, dtype=np.float32)
        path = rbm.save(tmp_path / f"{visible}.npz")
        back = generative.load(path)
        assert isinstance(back, RBM) and back.visible == visible and back.k == rbm.k
        assert (back.sparsity_target, back.sparsity_cost, back.eta_decay) == (0.05, 0.3, "linear")
        np.testing.assert_array_equal(back.W, rbm.W)
        np.testing.assert_array_equal(back.c, rbm.c)
        if visible == "gaussian":
            np.testing.assert_array_equal(back.scale, rbm.scale)
        v = np.random.default_rng(0).random((3, 10)).astype(np.float32)
        np.testing.assert_allclose(back.free_energy(v), rbm.free_energy(v), rtol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: RBM(784, 10, k=0), "k=0 must be a whole number ≥ 1"),
    (lambda: RBM(784, 10, k=-2), "k=-2 must be a whole number ≥ 1"),
    (lambda: RBM(784, 10, visible="poisson"), "poisson"),
    (lambda: RBM(784, 10).fit(np.full((5, 784), 1.5, np.float32)), "the data hold 1.5"),
    (lambda: RBM(784, 10).fit(np.full((5, 784), -0.25, np.float32)), "the data hold -0.25"),
    (lambda: RBM(784, 10).fit(np.zeros((5, 100), np.float32)), "784 visible units but the data have shape"),
])
def test_bad_input_is_one_line(make, message):
    with pytest.raises(NndlError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_cli_trains_samples_and_refuses(tmp_path, data_root, capsys):
    out = tmp_path / "rbm.npz"
    assert main(["train", "--model", "rbm(40, k=2, persistent=false, visible=bernoulli)", "--epochs", "1",
                 "--eta", "0.1", "--train-size", "500", "--out", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert '"final": true' in lines[-1] and "reconstruction_error" in lines[0]
    model = generative.load(out)
    assert model.n_hidden == 40 and model.k == 2 and model.epochs_done == 1
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), "--n", "16", "--out", str(grid)]) == 0
    assert grid.exists()
    capsys.readouterr()
    for argv, message in ((["sample", str(out), "--n", "4", "--label", "3", "--out", str(grid)],
                           "--label needs a conditional model"),
                          (["train", "--model", "rbm(40, k=0)", "--out", str(tmp_path / "k.npz")],
                           "k=0 must be a whole number"),
                          (["train", "--model", "rbm(40, visible=binary)", "--out", str(tmp_path / "v.npz")],
                           "binary")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def test_a_classifier_passed_to_sample_is_one_line(tmp_path, capsys):
    from nndl import io
    from nndl.network import Network
    from nndl.spec import parse_spec

    net = io.save(Network(parse_spec("dense(3) sigmoid dense(10) softmax", (784,)), (784,)), tmp_path / "clf.npz")
    assert main(["sample", str(net), "--n", "4", "--out", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a generative model" in err
