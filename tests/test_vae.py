"""The variational autoencoder: the reparameterized gradient of the −ELBO against finite differences
(fixed noise, float64), the importance-weighted bound, a short learning run, the file, the commands."""
import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.gradcheck import numerical_gradient, relative_error
from nndl.models import generative
from nndl.models.vae import VAE, bernoulli_nll, gaussian_kl


def small_vae(dtype=np.float64):
    return VAE((7,), latent=3, inputs=10, seed=4, dtype=dtype)


def test_elbo_gradient_matches_finite_differences_with_fixed_noise():
    model = small_vae()
    rng = np.random.default_rng(0)
    x = rng.random((5, 10))
    eps = rng.standard_normal((5, 3))
    model.loss_and_gradients(x, eps)
    analytic = [p.grad.copy() for p in model.params]

    def cost():
        return model.loss_and_gradients(x, eps)[0] / len(x)     # the batch mean −ELBO

    for p, grad in zip(model.params, analytic):
        numerical = numerical_gradient(cost, p.value)
        assert relative_error(grad.ravel(), numerical) < 1e-6, p.name


def test_the_two_terms_are_the_textbook_formulas():
    rng = np.random.default_rng(1)
    logits, x = rng.standard_normal((4, 6)), rng.random((4, 6))
    y = 1 / (1 + np.exp(-logits))
    np.testing.assert_allclose(bernoulli_nll(logits, x), -(x * np.log(y) + (1 - x) * np.log(1 - y)).sum(1))
    mu, logvar = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    # KL of N(μ, σ²) from N(0, 1) by Monte Carlo: E_q[log q − log p]
    z = mu[:, None] + np.exp(0.5 * logvar)[:, None] * rng.standard_normal((4, 200_000, 3))
    log_q = -0.5 * (((z - mu[:, None]) ** 2) / np.exp(logvar)[:, None] + logvar[:, None]).sum(2)
    log_p = -0.5 * (z ** 2).sum(2)
    np.testing.assert_allclose(gaussian_kl(mu, logvar), (log_q - log_p).mean(1), rtol=0.02, atol=0.02)


def test_importance_weighted_bound_is_tighter_than_the_elbo():
    model = small_vae()
    x = np.random.default_rng(2).random((50, 10))
    elbo = model.negative_elbo(x, np.random.default_rng(3))["neg_elbo"]
    # k = 1 is the ELBO with a sampled KL: the same in expectation (averaged here over 40 draws each)
    k1 = model.importance_nll(np.tile(x, (40, 1)), np.random.default_rng(3), k=1)
    k200 = model.importance_nll(x, np.random.default_rng(4), k=200)
    assert abs(k1 - elbo) < 0.3
    assert k200 < elbo - 0.05                            # more draws: a tighter bound on −log p(x)


def test_vae_learns_digits_in_seconds(data_root):
    from nndl.data.mnist import load_mnist

    splits = load_mnist(split="book")
    model = VAE((200,), latent=10, seed=0)
    history = model.fit(splits.train.x[:2000], epochs=4, batch_size=64, eta=2e-3, seed=0,
                        test=splits.test.x[:500])
    assert history[0]["test_neg_elbo"] > history[-1]["test_neg_elbo"]
    assert history[-1]["test_neg_elbo"] < 175, history[-1]     # 543 nats at the start; ~160 here


def test_sampling_is_reproducible_and_in_range():
    model = VAE((8,), latent=2, seed=1)
    a = model.sample(6, np.random.default_rng(5))
    b = model.sample(6, np.random.default_rng(5))
    assert a.shape == (6, 784) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    with pytest.raises(NndlError, match="--label needs a conditional model"):
        model.sample(2, np.random.default_rng(0), label=3)


def test_save_load_round_trip(tmp_path):
    model = VAE((8,), latent=2, seed=1)
    path = model.save(tmp_path / "v.npz")
    back = generative.load(path)
    assert isinstance(back, VAE) and back.hidden == (8,) and back.latent == 2
    np.testing.assert_array_equal(back.sample(3, np.random.default_rng(0)), model.sample(3, np.random.default_rng(0)))


def test_bad_values_are_one_line():
    with pytest.raises(NndlError, match="latent"):
        VAE.from_command(400, latent=0)
    with pytest.raises(NndlError, match=r"data in \[0, 1\]"):
        VAE((4,), 2, inputs=3).fit(np.full((4, 3), 2.0), epochs=1)


def test_cli_train_and_sample(tmp_path, data_root, capsys):
    out = tmp_path / "vae.npz"
    assert main(["train", "--model", "vae(32, latent=2)", "--train-size", "500", "--epochs", "1",
                 "--out", str(out), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert '"final": true' in lines[-1] and "test_importance_nll_k100" in lines[-1]
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), "--n", "16", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 0
    assert main(["sample", str(out), "--n", "4", "--label", "3", "--out", str(grid)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--label needs a conditional model" in err
    assert main(["train", "--model", "vae(400, latent=-1)", "--out", str(tmp_path / "bad.npz")]) == 2
    assert "latent" in capsys.readouterr().err
    assert not (tmp_path / "bad.npz").exists()
