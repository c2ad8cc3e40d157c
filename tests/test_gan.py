"""GANs: D's and G's gradients against finite differences (fixed noise, dropout off, float64), both
generator losses and the conditional GAN; the Parzen-window estimator and the inception score
against direct computations; a toy mixture whose modes a GAN must cover; the file; the commands."""
import math

import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.gradcheck import numerical_gradient, relative_error
from nndl.models import gan_metrics, generative
from nndl.models.gan import GAN


def small_gan(**kw):
    options = dict(latent=3, hidden=6, d_hidden=6, dropout=0.0, inputs=5, batchnorm=False, seed=2, dtype=np.float64)
    options.update(kw)
    return GAN(**options)


def _check(network, step, cost):
    step()
    grads = [p.grad.copy() for p in network.params]
    for p, grad in zip(network.params, grads):
        numerical = numerical_gradient(cost, p.value)
        assert relative_error(grad.ravel(), numerical) < 1e-6, p.name


@pytest.mark.parametrize("conditional, extras", [(False, {}), (True, {}),
                                                 (False, {"smoothing": 0.9, "minibatch_std": 2}),
                                                 (True, {"smoothing": 0.8, "minibatch_std": 2})])
def test_discriminator_gradient_matches_finite_differences(conditional, extras):
    model = small_gan(conditional=conditional, classes=3, **extras)
    rng = np.random.default_rng(0)
    x, z = rng.random((4, 5)), rng.standard_normal((6, 3))
    y, y_fake = (rng.integers(0, 3, 4), rng.integers(0, 3, 6)) if conditional else (None, None)
    _check(model.discriminator, lambda: model.discriminator_step(x, z, y, y_fake),
           lambda: model.discriminator_step(x, z, y, y_fake))


@pytest.mark.parametrize("loss, conditional, batchnorm, group", [
    ("non_saturating", False, False, 0), ("minimax", False, False, 0), ("non_saturating", True, False, 0),
    ("non_saturating", False, True, 0), ("non_saturating", False, True, 3)])
def test_generator_gradient_through_the_discriminator(loss, conditional, batchnorm, group):
    model = small_gan(loss=loss, conditional=conditional, classes=3, batchnorm=batchnorm, activation="leaky_relu",
                      minibatch_std=group)
    rng = np.random.default_rng(1)
    z = rng.standard_normal((6, 3))
    y = rng.integers(0, 3, 6) if conditional else None
    _check(model.generator, lambda: model.generator_step(z, y), lambda: model.generator_step(z, y))
    # the generator's step leaves the discriminator's gradients empty: D does not learn from it
    assert all(p.grad is None for p in model.discriminator.params)


def test_one_sided_label_smoothing_is_the_cross_entropy_toward_t():
    model = small_gan(smoothing=0.9)
    rng = np.random.default_rng(5)
    x, z = rng.random((4, 5)), rng.standard_normal((4, 3))
    d_real = 1 / (1 + np.exp(-model.discriminator.feedforward(x)[:, 0]))
    d_fake = 1 / (1 + np.exp(-model.discriminator.feedforward(model.generate(z))[:, 0]))
    expected = -(0.9 * np.log(d_real) + 0.1 * np.log(1 - d_real)).mean() - np.log(1 - d_fake).mean()
    assert math.isclose(model.discriminator_step(x, z), expected, rel_tol=1e-9)


def test_minibatch_std_layer_gradients_and_its_feature():
    from nndl.gradcheck import THRESHOLD, check_gradients, check_input_gradient
    from nndl.network import Network
    from nndl.spec import parse_spec

    net = Network(parse_spec("dense(6) tanh minibatch_std(3) dense(3) softmax", (5,)), (5,),
                  cost="log_likelihood", dtype=np.float64, seed=1)
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((6, 5)), rng.integers(0, 3, 6)
    assert max(check_gradients(net, x, y).values()) < THRESHOLD
    assert check_input_gradient(net, x, y) < THRESHOLD
    layer = next(l for l in net.layers if l.type == "minibatch_std")
    a = rng.standard_normal((6, 4))
    out = layer.forward(np.vstack([a[:3], np.repeat(a[3:4], 3, axis=0)]))
    # s = the mean over features of the per-group standard deviation; a group of copies has s ≈ 0
    np.testing.assert_allclose(out[:3, 4], a[:3].std(axis=0).mean(), rtol=1e-6)
    np.testing.assert_allclose(out[3:, 4], 0.0, atol=1e-3)
    # a batch that is not a whole number of groups ends in one smaller group (a lone row joins the one before)
    for n, sizes in ((5, [3, 2]), (8, [3, 3, 2]), (4, [4]), (2, [2]), (1, [1])):
        rows = rng.standard_normal((n, 4))
        out, start = layer.forward(rows), 0
        for size in sizes:
            np.testing.assert_allclose(out[start:start + size, 4], rows[start:start + size].std(axis=0).mean(),
                                       rtol=1e-6, atol=1e-4)
            start += size
    x_ragged, y_ragged = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    assert max(check_gradients(net, x_ragged, y_ragged).values()) < THRESHOLD
    assert check_input_gradient(net, x_ragged, y_ragged) < THRESHOLD
    with pytest.raises(NndlError, match="minibatch_std"):
        GAN(latent=4, hidden=8, d_hidden=8, minibatch_std=1)
    with pytest.raises(NndlError, match="batch size 10 is not a multiple of the group size"):
        GAN(latent=4, hidden=8, d_hidden=8, minibatch_std=4).fit(rng.random((40, 784)), batch_size=10)


def test_the_two_generator_losses_are_the_papers():
    model = small_gan()
    z = np.random.default_rng(3).standard_normal((7, 3))
    d = 1 / (1 + np.exp(-model.discriminator.feedforward(model.generate(z))[:, 0]))     # D(G(z))
    assert math.isclose(model.generator_step(z), -np.log(d).mean(), rel_tol=1e-9)
    model.loss = "minimax"
    assert math.isclose(model.generator_step(z), np.log(1 - d).mean(), rel_tol=1e-9)


def test_parzen_window_against_a_direct_computation():
    rng = np.random.default_rng(4)
    samples, x = rng.random((7, 3)), rng.random((5, 3))
    sigmas = [0.1, 0.3]
    got = gan_metrics.parzen_log_likelihoods(x, samples, sigmas, batch_size=2)
    for j, s in enumerate(sigmas):
        density = [np.mean([np.prod(np.exp(-(xi - si) ** 2 / (2 * s * s)) / np.sqrt(2 * np.pi * s * s))
                            for si in samples]) for xi in x]
        np.testing.assert_allclose(got[j], np.log(density), rtol=1e-5)
    result = gan_metrics.parzen_evaluation(samples, x, x, sigmas=sigmas)
    assert result["sigma"] in sigmas and math.isclose(result["test_mean"], result["validation_mean"])


def test_inception_score_of_perfect_and_uniform_classifiers():
    perfect = np.eye(10)[np.arange(1000) % 10]
    assert math.isclose(gan_metrics.inception_score(perfect)[0], 10.0, rel_tol=1e-9)
    uniform = np.full((1000, 10), 0.1)
    assert math.isclose(gan_metrics.inception_score(uniform)[0], 1.0, rel_tol=1e-9)
    collapsed = np.eye(10)[np.zeros(100, int)]                   # every sample the same confident class
    assert math.isclose(gan_metrics.inception_score(collapsed)[0], 1.0, rel_tol=1e-9)
    assert gan_metrics.coverage(perfect) == [0.1] * 10


def test_gan_covers_the_modes_of_a_2d_mixture():
    rng = np.random.default_rng(0)
    centres = np.array([[2, 2], [2, -2], [-2, 2], [-2, -2]], float)
    x = (centres[rng.integers(0, 4, 4000)] + 0.1 * rng.standard_normal((4000, 2))).astype(np.float32)
    model = GAN(latent=2, hidden=64, d_hidden=64, dropout=0.0, inputs=2, output="linear", activation="relu",
                batchnorm=False, seed=0)
    model.fit(x, epochs=15, eta=2e-3, batch_size=64, seed=0)
    s = model.sample(2000, np.random.default_rng(1))
    d = ((s[:, None, :] - centres[None]) ** 2).sum(2)
    near = d.min(1) < 0.25
    assert near.mean() > 0.7                                     # most samples on a mode (0.89 measured)
    share = np.bincount(d.argmin(1)[near], minlength=4) / len(s)
    assert share.min() > 0.1, share                              # and every mode drawn (0.18-0.28)


def test_sampling_is_reproducible_from_a_seed_and_labels_steer_a_conditional_gan():
    model = GAN(latent=4, hidden=8, d_hidden=8, conditional=True, seed=1)
    a = model.sample(5, np.random.default_rng(7), label=3)
    np.testing.assert_array_equal(a, model.sample(5, np.random.default_rng(7), label=3))
    assert a.shape == (5, 784) and 0 <= a.min() and a.max() <= 1
    assert not np.array_equal(a, model.sample(5, np.random.default_rng(7), label=4))
    with pytest.raises(NndlError, match=r"--label must be a class 0..9"):
        model.sample(2, np.random.default_rng(0), label=10)
    with pytest.raises(NndlError, match="--label needs a conditional model"):
        GAN(latent=4, hidden=8, d_hidden=8).sample(2, np.random.default_rng(0), label=1)


def test_save_load_round_trip(tmp_path):
    model = GAN(latent=4, hidden=8, d_hidden=8, conditional=True, k=2, loss="minimax", batchnorm=True, seed=1,
                smoothing=0.9, minibatch_std=4)
    model.fit(np.random.default_rng(0).random((64, 784)), np.arange(64) % 10, epochs=1, batch_size=16)
    back = generative.load(model.save(tmp_path / "g.npz"))
    assert isinstance(back, GAN) and back.conditional and back.k == 2 and back.loss == "minimax"
    assert back.smoothing == 0.9 and back.minibatch_std == 4
    assert back.batchnorm and back.generator.buffers                # batch norm's running averages kept
    np.testing.assert_array_equal(back.sample(3, np.random.default_rng(0), label=2),
                                  model.sample(3, np.random.default_rng(0), label=2))


def test_two_time_scales_give_d_its_own_learning_rate():
    model = GAN(latent=4, hidden=8, d_hidden=8)
    d_opt, g_opt = model.optimizers(1e-4, d_eta=4e-4)
    assert (d_opt.eta, g_opt.eta) == (4e-4, 1e-4)
    d_opt, g_opt = model.optimizers(1e-4, momentum=0.5)
    assert d_opt.eta == g_opt.eta == 1e-4
    with pytest.raises(NndlError, match="discriminator's learning rate"):
        model.optimizers(1e-4, d_eta=0)


def test_the_averaged_generator_is_the_moving_average_of_g_and_is_saved(tmp_path):
    from nndl.optim.averaging import update_average

    model = GAN(latent=4, hidden=8, d_hidden=8, batchnorm=True, seed=1, average=0.9)
    start = [p.value.copy() for p in model.generator.params]
    np.testing.assert_array_equal(model.generator_average.params[0].value, start[0])
    model.fit(np.random.default_rng(0).random((16, 784)), epochs=1, batch_size=16)     # one D- and one G-step
    for avg, live, first in zip(model.generator_average.params, model.generator.params, start):
        np.testing.assert_allclose(avg.value, 0.9 * first + 0.1 * live.value, rtol=1e-6, atol=1e-7)
    running = model.generator.buffers
    for key, value in model.generator_average.buffers.items():
        assert not np.array_equal(value, running[key])             # buffers are averaged too
    z = np.random.default_rng(3)
    live = model.generate(model.noise(5, z))
    averaged = model.sample(5, np.random.default_rng(3))
    assert not np.allclose(averaged, live)                           # sampling draws from the average
    back = generative.load(model.save(tmp_path / "g.npz"))
    assert back.average == 0.9
    np.testing.assert_array_equal(back.sample(5, np.random.default_rng(3)), averaged)
    plain, other = GAN(latent=4, hidden=8, d_hidden=8, seed=1), GAN(latent=4, hidden=8, d_hidden=8, seed=2)
    before = [p.value.copy() for p in plain.generator.params]
    update_average(plain.generator, other.generator, 0.0)            # d = 0: the average is the live net
    np.testing.assert_array_equal(plain.generator.params[0].value, other.generator.params[0].value)
    assert not np.array_equal(before[0], other.generator.params[0].value)
    with pytest.raises(NndlError, match="decay"):
        GAN(latent=4, hidden=8, d_hidden=8, average=1.0)


@pytest.mark.parametrize("options, message", [
    ("k=0", "k .*must be"), ("loss=wasserstein", "loss"), ("latent=0", "latent"), ("dropout=1", "dropout"),
    ("smoothing=0.4", "smoothing"), ("minibatch_std=1", "minibatch_std")])
def test_bad_options_are_one_line(options, message, tmp_path, capsys):
    out = tmp_path / "g.npz"
    assert main(["train", "--model", f"gan({options})", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    import re

    assert len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists()


def test_cli_train_and_sample(tmp_path, data_root, capsys):
    out = tmp_path / "cgan.npz"
    model = "gan(latent=10, conditional=true, hidden=32, d_hidden=32, minibatch_std=2, smoothing=0.9)"
    assert main(["train", "--model", model,
                 "--train-size", "640", "--epochs", "1", "--out", str(out), "--json"]) == 0
    assert '"final": true' in capsys.readouterr().out.strip().splitlines()[-1]
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), "--n", "16", "--label", "3", "--out", str(grid)]) == 0
    assert grid.stat().st_size > 0
    assert main(["sample", str(out), "--n", "4", "--label", "12", "--out", str(grid)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--label must be a class 0..9" in err
    plain = tmp_path / "gan.npz"
    assert main(["train", "--model", "gan(latent=10, hidden=16, d_hidden=16)", "--train-size", "128",
                 "--epochs", "1", "--out", str(plain), "--quiet"]) == 0
    assert main(["sample", str(plain), "--n", "4", "--label", "3", "--out", str(grid)]) == 2
    assert "--label needs a conditional model" in capsys.readouterr().err
