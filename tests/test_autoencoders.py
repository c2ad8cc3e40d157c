"""Autoencoders: the penalties' and tied weights' gradients against finite differences, the corruption's
statistics, a short learning test of each kind, the file round trip, bad input and the commands."""
import json
import re

import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.gradcheck import numerical_gradient, relative_error
from nndl.models import generative
from nndl.models.autoencoders import (AutoencoderModel, Contraction, GaussianNoise, Masking, RegularizedAutoencoder,
                                      Sparsity, StackedAutoencoder, autoencoder_network)


def _sigmoid_codes(rng, m=7, n_h=5, n_in=6):
    W = rng.normal(0, 0.7, (n_h, n_in))
    x = rng.random((m, n_in))
    return W, x


# -- the penalties on their own ------------------------------------------------------------------------
def test_sparsity_gradient_matches_finite_differences(rng):
    W, _ = _sigmoid_codes(rng)
    h = rng.uniform(0.05, 0.95, (7, 5))
    penalty = Sparsity(0.1, beta=3.0)
    g_h, g_W = penalty.gradient(h, W)
    assert g_W is None
    numeric = numerical_gradient(lambda: penalty.cost(h, W), h).reshape(h.shape)
    assert relative_error(g_h, numeric) < 1e-7
    # KL(ρ‖ρ̂) is zero when every unit's mean activation is ρ, and positive otherwise
    assert abs(penalty.cost(np.full((4, 3), 0.1), W)) < 1e-12 and penalty.cost(h, W) > 0


def test_contraction_gradient_matches_finite_differences(rng):
    W, _ = _sigmoid_codes(rng)
    h = rng.uniform(0.05, 0.95, (7, 5))
    penalty = Contraction(0.3)
    g_h, g_W = penalty.gradient(h, W)
    assert relative_error(g_h, numerical_gradient(lambda: penalty.cost(h, W), h).reshape(h.shape)) < 1e-7
    assert relative_error(g_W, numerical_gradient(lambda: penalty.cost(h, W), W).reshape(W.shape)) < 1e-7


def test_contraction_is_the_frobenius_norm_of_the_encoders_jacobian(rng):
    """‖J_h(x)‖²_F computed from finite differences of h(x) = σ(Wx + b), example by example."""
    W, x = _sigmoid_codes(rng)
    b = rng.normal(0, 0.3, 5)
    h_of = lambda v: 1 / (1 + np.exp(-(W @ v + b)))                           # noqa: E731
    total = 0.0
    for v in x:
        J = np.stack([(h_of(v + 1e-6 * e) - h_of(v - 1e-6 * e)) / 2e-6 for e in np.eye(len(v))], axis=1)
        total += (J ** 2).sum()
    h = 1 / (1 + np.exp(-(x @ W.T + b)))
    assert Contraction(2.0).cost(h, W) == pytest.approx(2.0 * total / len(x), rel=1e-6)


# -- the whole objective through the network, tied weights included ------------------------------------------
def _objective_check(tied, loss, penalties, rng):
    net = autoencoder_network(6, 4, tied, loss, seed=3, dtype=np.float64)
    for p in net.params:                                                # nonzero biases: a fuller check
        p.value[...] = rng.normal(0, 0.5, p.value.shape)
    model = RegularizedAutoencoder(net, penalties=penalties)
    x = rng.random((5, 6))
    x_in = Masking(0.3)(x, np.random.default_rng(0))
    model.loss_and_gradients(x_in, x)
    analytic = {id(p): p.grad.copy() for p in net.params}

    def J():
        net.zero_grad()
        value = model.loss_and_gradients(x_in, x)
        net.zero_grad()
        return value

    for p in net.params:
        numeric = numerical_gradient(J, p.value).reshape(p.value.shape)
        assert relative_error(analytic[id(p)], numeric) < 1e-6, (p.name, p.value.shape)
    return net


def test_tied_sparse_contractive_objective_gradient(rng):
    net = _objective_check(True, "cross_entropy", [Sparsity(0.2, 2.0), Contraction(0.5)], rng)
    assert len(net.params) == 3                     # W (shared), the encoder's and the decoder's bias


def test_untied_squared_loss_objective_gradient(rng):
    net = _objective_check(False, "squared", [Contraction(0.2)], rng)
    assert len(net.params) == 4


def test_tied_weights_gradient_is_the_sum_of_both_uses(rng):
    """∂J/∂W of the tied autoencoder = the encoder's use + the decoder's use (that of an untied copy)."""
    tied = autoencoder_network(6, 4, True, "cross_entropy", seed=1, dtype=np.float64)
    untied = autoencoder_network(6, 4, False, "cross_entropy", seed=1, dtype=np.float64)
    W = tied.layers[0].W.value
    untied.layers[0].W.value[...] = W
    untied.layers[1].W.value[...] = W.T
    x = rng.random((5, 6))
    RegularizedAutoencoder(tied).loss_and_gradients(x, x)
    RegularizedAutoencoder(untied).loss_and_gradients(x, x)
    both = untied.layers[0].W.grad + untied.layers[1].W.grad.T
    assert relative_error(tied.layers[0].W.grad, both) < 1e-12


# -- corruption --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("level", [0.0, 0.1, 0.3, 0.75])
def test_masking_zeroes_a_fraction_nu_and_keeps_the_rest(level):
    x = np.random.default_rng(0).uniform(0.1, 1, (400, 500)).astype(np.float32)
    out = Masking(level)(x, np.random.default_rng(5))
    zero = out == 0
    n = x.size
    assert abs(zero.mean() - level) < 4 * np.sqrt(level * (1 - level) / n) + 1e-12
    np.testing.assert_array_equal(out[~zero], x[~zero])
    again = Masking(level)(x, np.random.default_rng(5))
    np.testing.assert_array_equal(out, again)                          # same seed, same mask


def test_gaussian_corruption_has_the_given_spread():
    x = np.zeros((300, 400), np.float32)
    out = GaussianNoise(0.25)(x, np.random.default_rng(1))
    assert abs(out.mean()) < 0.003 and abs(out.std() - 0.25) < 0.003


# -- learning ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist(data_root):
    from nndl.data import load_data

    return load_data("mnist", seed=0, standardize=False)


def test_denoising_autoencoder_learns_to_reconstruct(mnist):
    x = mnist.train.x[:3000]
    ae = AutoencoderModel(64, corruption=0.3, contraction=0.01, seed=2)
    before = ae.reconstruction_figures(mnist.test.x[:500])["test_cross_entropy"]
    history = ae.fit(x, epochs=3, eta=0.1, batch_size=20)
    after = ae.reconstruction_figures(mnist.test.x[:500])
    assert history.records[-1]["training_cost"] < history.records[0]["training_cost"]
    # 543 nats per image for the untrained net; a trained 64-unit code gets under 120
    assert before > 400 and after["test_cross_entropy"] < 120, (before, after)


def test_sparsity_pulls_the_mean_activation_to_its_target(mnist):
    x = mnist.train.x[:2000]
    means = {}
    for sparsity in (None, 0.05):
        ae = AutoencoderModel(64, sparsity=sparsity, beta=3.0, seed=2)
        ae.fit(x, epochs=2, eta=0.1, batch_size=20)
        means[sparsity] = float(ae.encode(mnist.test.x[:500]).mean())
    assert means[0.05] < 0.25 and means[0.05] < means[None] - 0.2, means


def test_linear_output_squared_loss_learns(mnist):
    ae = AutoencoderModel(32, loss="squared", tied=False, seed=1)
    ae.fit(mnist.train.x[:2000], epochs=4, eta=0.05, batch_size=20)
    assert ae.network.layers[1].activation.name == "linear"
    # x̂ = the mean training image: 25.4 (measured); 12.7 after these 4 epochs
    assert ae.reconstruction_figures(mnist.test.x[:500])["test_squared_error"] < 16


def test_stacked_autoencoder_pretrains_and_finetunes(mnist):
    from nndl.data.dataset import DataSplits

    small = DataSplits(mnist.train.subset(3000), mnist.validation.subset(1000), mnist.test.subset(1000))
    model = StackedAutoencoder((100, 100), corruption=0.2, pretrain_epochs=1, pretrain_eta=0.1,
                               pretrain_batch_size=20, seed=4)
    trained = model.pretrain(small.train.x)
    np.testing.assert_array_equal(model.classifier.layers[1].W.value, trained[1].W)
    assert trained[1].n_in == 100
    model.finetune(small, epochs=4, eta=0.05, momentum=0.9, batch_size=20, plateau=1)
    assert model.test_error(small.test.x, small.test.y) < 0.15


def test_stacked_autoencoder_with_dropout_pretrains_into_its_dense_layers(mnist, tmp_path):
    from nndl.data.dataset import DataSplits

    small = DataSplits(mnist.train.subset(2000), mnist.validation.subset(500), mnist.test.subset(500))
    model = StackedAutoencoder((64, 64), corruption=0.2, pretrain_epochs=1, pretrain_batch_size=20, seed=4,
                               dropout=0.5, input_dropout=0.2)
    assert [layer.type for layer in model.classifier.layers].count("dropout") == 3
    trained = model.pretrain(small.train.x)
    for dense, ae in zip(model.dense_layers, trained):
        np.testing.assert_array_equal(dense.W.value, ae.W)
    x = small.test.x[:20]
    np.testing.assert_array_equal(model.classifier.feedforward(x), model.classifier.feedforward(x))
    assert not np.allclose(model.classifier.forward(x, training=True), model.classifier.feedforward(x), atol=1e-3)
    model.finetune(small, epochs=3, eta=0.05, momentum=0.9, batch_size=20)
    assert model.test_error(small.test.x, small.test.y) < 0.45        # chance is 0.9; dropout learns slower
    again = generative.load(model.save(tmp_path / "sda.npz"))
    assert again.config() == model.config() and again.config()["dropout"] == 0.5
    np.testing.assert_array_equal(again.classifier.feedforward(x), model.classifier.feedforward(x))


# -- files ------------------------------------------------------------------------------------------------
def test_save_load_round_trip(tmp_path, rng):
    ae = AutoencoderModel(20, corruption=0.25, sparsity=0.05, beta=2, contraction=0.1, tied=False, seed=3)
    ae.network.layers[0].W.value[...] += 0.1
    back = generative.load(ae.save(tmp_path / "ae.npz"))
    assert isinstance(back, AutoencoderModel) and back.config() == ae.config()
    x = rng.random((4, 784)).astype(np.float32)
    np.testing.assert_array_equal(back.reconstruct(x), ae.reconstruct(x))
    stack = StackedAutoencoder((30, 20), contraction=0.1, pretrain_epochs=2, seed=1)
    again = generative.load(stack.save(tmp_path / "sa.npz"))
    assert isinstance(again, StackedAutoencoder) and again.config() == stack.config()
    np.testing.assert_array_equal(again.classifier.feedforward(x), stack.classifier.feedforward(x))
    tied = generative.load(AutoencoderModel(10, tied=True).save(tmp_path / "tied.npz"))
    assert tied.network.layers[1].W is tied.network.layers[0].W


# -- bad input ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"corruption": 1.0}, r"corruption .*=1.0 is out of range; it must be in \[0, 1\)"),
    ({"corruption": -0.1}, "corruption"),
    ({"sparsity": 0.0}, r"sparsity .*must be in \(0, 1\)"),
    ({"sparsity": 1.5}, "sparsity"),
    ({"sparsity": 0.05, "beta": -1}, "beta"),
    ({"contraction": -0.5}, "contraction"),
    ({"noise": -1}, "noise"),
    ({"corruption": 0.3, "noise": 0.1}, "give one"),
    ({"loss": "hinge"}, "choose cross_entropy"),
    ({"hidden": 0}, "hidden"),
])
def test_bad_autoencoder_options_are_one_line(kwargs, message):
    with pytest.raises(NndlError, match=message):
        AutoencoderModel(**kwargs)


def test_bad_stacked_options():
    with pytest.raises(NndlError, match="corruption"):
        StackedAutoencoder((10,), corruption=1.2)
    with pytest.raises(NndlError, match="pretrain_epochs"):
        StackedAutoencoder((10,), pretrain_epochs=-1)


# -- the commands --------------------------------------------------------------------------------------------
def _one_line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_train_autoencoder_command_then_sample_refuses(tmp_path, data_root, capsys):
    out = tmp_path / "ae.npz"
    assert main(["train", "--model", "autoencoder(32, corruption=0.3, tied=true, sparsity=0.05, beta=3, "
                 "contraction=0.1, loss=cross_entropy)", "--train-size", "600", "--epochs", "1", "--json",
                 "--out", str(out)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[-1]["final"] and rows[-1]["test_cross_entropy"] > 0 and rows[0]["phase"] == "autoencoder"
    model = generative.load(out)
    assert model.hidden == 32 and model.corruption == 0.3 and model.sparsity.target == 0.05
    assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "g.png")]) == 2
    assert "does not generate" in _one_line(capsys)


def test_train_stacked_command_reports_test_error(tmp_path, data_root, capsys):
    out = tmp_path / "sa.npz"
    assert main(["train", "--model", "stacked_autoencoder(40, 30, corruption=0.3, pretrain_epochs=1)",
                 "--train-size", "1000", "--epochs", "3", "--batch-size", "10", "--json", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    phases = {row.get("phase") for row in rows}
    assert {"pretrain layer 1", "pretrain layer 2", "fine-tune"} <= phases
    assert 0 < rows[-1]["test_error"] < 0.5
    assert generative.load(out).hidden == [40, 30]


@pytest.mark.parametrize("spec, message", [
    ("autoencoder(50, corruption=1)", r"corruption .* must be in \[0, 1\)"),
    ("autoencoder(50, sparsity=0)", "sparsity"),
    ("autoencoder(50, beta=-3, sparsity=0.1)", "beta"),
    ("autoencoder(50, contraction=-1)", "contraction"),
    ("autoencoder(50, colour=1)", "unknown option 'colour'"),
    ("stacked_autoencoder(100, corruption=1.5)", "corruption"),
])
def test_bad_model_commands_are_one_line(tmp_path, data_root, capsys, spec, message):
    out = tmp_path / "m.npz"
    assert main(["train", "--model", spec, "--out", str(out)]) == 2
    assert re.search(message, _one_line(capsys))
    assert not out.exists()
