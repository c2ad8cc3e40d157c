"""Deep belief nets: greedy stacking, the classifier built from the RBMs, fine-tuning that beats chance,
label-clamped dreaming reproducible from a seed, the file, bad input and the commands."""
import numpy as np
import pytest

from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.models import generative
from nndl.models.dbn import DBN


@pytest.fixture(scope="module")
def mnist(data_root):
    from nndl.data.mnist import load_mnist

    return load_mnist(data_root)


@pytest.fixture(scope="module")
def pretrained(mnist):
    train = mnist.train.subset(2000)
    dbn = DBN([60, 60, 120], labels=True, seed=0)
    history = dbn.pretrain(train.x, train.y, epochs=2, batch_size=20)
    return dbn, history


def test_greedy_stacking_shapes_and_history(pretrained):
    dbn, history = pretrained
    assert [(r.n_visible, r.n_hidden) for r in dbn.rbms] == [(784, 60), (60, 60), (70, 120)]
    assert dbn.rbms[-1].labels == 10 and dbn.rbms[0].labels == 0
    assert [(r["layer"], r["epoch"]) for r in history] == [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
    assert history[1]["reconstruction_error"] < history[0]["reconstruction_error"]


def test_classifier_is_the_rbms_recognition_weights(pretrained, mnist):
    dbn, _ = pretrained
    net = dbn.classifier()
    x = mnist.test.x[:50]
    h1 = dbn.rbms[0].transform(x)
    np.testing.assert_allclose(net.features(x, upto=1), h1, rtol=1e-5, atol=1e-6)
    # the softmax starts as the top RBM's p(label | h) with the features alone
    top = dbn.rbms[-1]
    h = net.features(x, upto=3)
    scores = h @ np.asarray(top.W)[-10:].T + np.asarray(top.b)[-10:]
    p = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(net.predict_proba(x), p / p.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)


def test_dropout_classifier_has_the_same_weights_and_drops_only_in_training(pretrained, mnist):
    dbn, _ = pretrained
    plain, dropped = dbn.classifier(), dbn.classifier(dropout=0.5, input_dropout=0.2)
    types = [layer.type for layer in dropped.layers]
    assert types.count("dropout") == 1 + len(dbn.sizes)
    x = mnist.test.x[:50]
    np.testing.assert_allclose(dropped.predict_proba(x), plain.predict_proba(x), rtol=1e-5, atol=1e-6)
    assert not np.allclose(dropped.forward(x, training=True), plain.predict_proba(x), atol=1e-3)


def test_finetuned_dbn_beats_chance_by_a_margin(mnist):
    train = mnist.train.subset(3000)
    dbn = DBN([100, 100, 200], labels=True, seed=1)
    dbn.pretrain(train.x, train.y, epochs=2, batch_size=20)
    history = dbn.finetune(train, mnist.validation.subset(1000), epochs=3, eta=0.1, batch_size=20)
    accuracy = history.records[-1]["validation_accuracy"]
    assert accuracy > 0.8, accuracy          # chance is 0.1


def test_dreams_are_reproducible_and_label_clamped(pretrained):
    dbn, _ = pretrained
    dbn.sample_steps = 40
    a = dbn.sample(6, np.random.default_rng(3), label=4)
    b = dbn.sample(6, np.random.default_rng(3), label=4)
    c = dbn.sample(6, np.random.default_rng(3), label=7)
    assert a.shape == (6, 784) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    free = dbn.sample(6, np.random.default_rng(3))
    assert free.shape == (6, 784)
    with pytest.raises(NndlError, match="--label must be a class 0..9"):
        dbn.check_label(10, "dbn.npz")


def test_unconditional_dbn_refuses_a_label(mnist):
    dbn = DBN([20, 30], labels=False)
    dbn.pretrain(mnist.train.x[:300], epochs=1)
    assert dbn.rbms[-1].labels == 0 and not dbn.conditional
    with pytest.raises(NndlError, match="--label needs a conditional model"):
        dbn.check_label(3, "dbn.npz")
    dbn.sample_steps = 5
    assert dbn.sample(2, np.random.default_rng(0)).shape == (2, 784)


def test_save_and_load_round_trip(pretrained, mnist, tmp_path):
    dbn, _ = pretrained
    dbn.network = dbn.classifier()
    back = generative.load(dbn.save(tmp_path / "dbn.npz"))
    assert isinstance(back, DBN) and back.sizes == dbn.sizes and back.labels
    for r, s in zip(back.rbms, dbn.rbms):
        np.testing.assert_array_equal(r.W, s.W)
    x = mnist.test.x[:20]
    np.testing.assert_array_equal(back.network.predict_proba(x), dbn.network.predict_proba(x))
    back.sample_steps = dbn.sample_steps = 10
    np.testing.assert_array_equal(back.sample(3, np.random.default_rng(0), 2), dbn.sample(3, np.random.default_rng(0), 2))


def test_bad_input_is_one_line(mnist):
    for make, message in ((lambda: DBN([]), "at least one RBM"),
                          (lambda: DBN([10, 10], k=0), "k=0"),
                          (lambda: DBN([10, 10]).pretrain(mnist.train.x[:10]), "needs the labels"),
                          (lambda: DBN([10, 10]).pretrain(mnist.train.x[:10] * 2, mnist.train.y[:10]),
                           "a Bernoulli RBM models values in"),
                          (lambda: DBN([10, 10]).pretrain(mnist.train.x[:10], mnist.train.y[:10], epochs=[1]),
                           "1 epoch counts for 2 RBMs")):
        with pytest.raises(NndlError, match=message) as info:
            make()
        assert "\n" not in str(info.value)


def test_cli_trains_and_dreams_a_class(tmp_path, data_root, capsys):
    out = tmp_path / "dbn.npz"
    assert main(["train", "--model", "dbn(30, 30, 60, finetune_epochs=1)", "--epochs", "1", "--train-size", "600",
                 "--out", str(out), "--quiet"]) == 0
    model = generative.load(out)
    assert isinstance(model, DBN) and model.network is not None and model.sizes == [30, 30, 60]
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out), "--n", "10", "--label", "3", "--out", str(grid)]) == 0
    assert grid.exists()
    capsys.readouterr()
    for argv, message in ((["sample", str(out), "--n", "4", "--label", "12", "--out", str(grid)],
                           "--label must be a class 0..9"),
                          (["train", "--model", "dbn(30, k=0)", "--out", str(tmp_path / "k.npz")], "k=0"),
                          (["train", "--model", "dbn(30, finetune_epochs=-1)", "--out", str(tmp_path / "f.npz")],
                           "finetune_epochs")):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
