"""Transfer learning (features, freezing, a new head) and the order of the examples (curriculum)."""
import json

import numpy as np
import pytest
from test_cli import nndl

from nndl import io
from nndl.curriculum import ByScore, FixedOrder, from_text, per_example_cost
from nndl.errors import NndlError
from nndl.layers import ActivationLayer, Dense
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import L2, Momentum
from nndl.trainer import Trainer
from nndl.transfer import freeze, replace_head, weight_layers


def _blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.standard_normal((n, 4)) + 2.0 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y


def test_features_are_the_activations_of_the_first_layers():
    net = Network([Dense(6, "tanh"), Dense(5, "relu"), Dense(3, "softmax")], (4,), cost="log_likelihood", seed=1)
    x, _ = _blobs(7)
    a1 = np.tanh(x @ net.layers[0].W.value.T + net.layers[0].b.value)
    a2 = np.maximum(a1 @ net.layers[1].W.value.T + net.layers[1].b.value, 0)
    np.testing.assert_allclose(net.features(x, upto=1), a1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(net.features(x), a2, rtol=1e-5, atol=1e-6)            # default: all but the head
    np.testing.assert_allclose(net.features(x, upto=-1), net.features(x, upto=2))
    np.testing.assert_allclose(net.features(x, upto=3), net.predict_proba(x))
    for bad in (0, 4, -3, 1.5):
        with pytest.raises(NndlError, match="this network has 3 layers"):
            net.features(x, upto=bad)


def test_training_with_frozen_layers_keeps_them_bitwise_unchanged():
    x, y = _blobs()
    net = Network([Dense(8, "tanh"), Dense(6, "tanh"), Dense(3, "softmax")], (4,), cost="log_likelihood", seed=0)
    before = net.get_weights()
    assert [layer.units for layer in freeze(net, 2)] == [8, 6]
    Trainer(10, verbose=False).fit(Classifier(net, Momentum(0.1, 0.9), [L2(5.0)]), (x, y), 5)
    after = net.get_weights()
    for k in range(4):                                   # W and b of the two frozen layers: not a bit moved
        assert after[k].tobytes() == before[k].tobytes()
    assert not np.array_equal(after[4], before[4]) and not np.array_equal(after[5], before[5])


def test_a_new_head_keeps_the_layers_below_and_is_drawn_from_the_seed():
    net = Network([Dense(8, "tanh"), Dense(3, "softmax")], (4,), cost="log_likelihood", seed=0)
    new = replace_head(net, 5, seed=7)
    again = replace_head(net, 5, seed=7)
    assert new.layers[0] is net.layers[0] and new.output_shape == (5,) and new.cost.name == "log_likelihood"
    assert new.layers[1].activation.name == "softmax"
    np.testing.assert_array_equal(new.layers[1].W.value, again.layers[1].W.value)
    headless = Network([Dense(8, "tanh"), Dense(3, "linear"), ActivationLayer("softmax")], (4,), seed=0)
    with pytest.raises(NndlError, match="does not end in a dense layer"):
        replace_head(headless, 3, seed=0)
    assert len(weight_layers(headless)) == 2


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory, iris_csv):
    out = tmp_path_factory.mktemp("transfer") / "iris.npz"
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,8,3", "--epochs", "10", "--threads", "1", "--quiet",
             "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def test_nndl_train_init_from_freeze_and_replace_head(iris_csv, iris_model, tmp_path):
    out = tmp_path / "tuned.npz"
    r = nndl("train", "--data", iris_csv, "--init-from", iris_model, "--freeze", "2", "--replace-head", "3",
             "--lmbda", "1.0", "--momentum", "0.9", "--epochs", "10", "--seed", "4", "--threads", "1", "--json",
             "--out", out)
    assert r.returncode == 0, r.stderr
    source, tuned = io.load(iris_model), io.load(out)
    for k in range(4):                                   # the two frozen dense layers, bitwise the file's
        assert tuned.params[k].value.tobytes() == source.params[k].value.tobytes()
    assert not np.array_equal(tuned.params[4].value, source.params[4].value)
    assert tuned.metadata["settings"]["freeze"] == 2 and tuned.metadata["settings"]["replace_head"] == 3
    assert json.loads(r.stdout.splitlines()[-1])["final"] is True


@pytest.mark.parametrize("args, message", [
    (["--freeze", "5"], "--freeze 5: {m} has only 3 layers with weights (dense(10), dense(8), dense(3)); freeze at most 2"),
    (["--freeze", "3"], "--freeze 3 would freeze every layer of {m}"),
    (["--replace-head", "4"], "--replace-head 4: the classification task on these data needs 3 outputs"),
    (["--layers", "4,3"], "takes the network from the file; leave out --layers"),
])
def test_bad_transfer_options_are_one_line_before_training(iris_csv, iris_model, tmp_path, args, message):
    r = nndl("train", "--data", iris_csv, "--init-from", iris_model, *args, "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and message.format(m=iris_model.resolve()) in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("nndl train: error:") and "epoch" not in r.stdout
    assert not (tmp_path / "m.npz").exists()


def test_replace_head_on_a_model_without_a_dense_output(iris_csv, tmp_path):
    model = tmp_path / "headless.npz"
    io.save(Network([Dense(8, "tanh"), Dense(3, "linear"), ActivationLayer("softmax")], (4,),
                    cost="log_likelihood", seed=0), model)
    r = nndl("train", "--data", iris_csv, "--init-from", model, "--replace-head", "3", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "does not end in a dense layer (its last layers are dense dense activation)" \
        in r.stderr, r.stderr
    r = nndl("train", "--data", iris_csv, "--freeze", "1", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "--freeze goes with --init-from MODEL" in r.stderr


# -- the order of the examples ---------------------------------------------------------------------
class _Recorder:
    """A batch source that remembers the indices of every mini-batch."""

    def __init__(self, x, y):
        from nndl.batches import ArrayBatches

        self.inner, self.seen = ArrayBatches(x, y), []

    def __len__(self):
        return len(self.inner)

    def batch(self, idx, rng=None):
        self.seen.append(np.asarray(idx).copy())
        return self.inner.batch(idx, rng)


@pytest.mark.parametrize("order, expected", [(FixedOrder(), np.arange(12)),
                                             (ByScore(np.arange(12)[::-1] * 1.0), np.arange(12)[::-1])])
def test_fixed_and_scored_orders_give_every_epoch_the_same_batches(order, expected):
    x, y = _blobs(12)
    source = _Recorder(x, y)
    net = Network([Dense(3, "softmax")], (4,), cost="log_likelihood", seed=0)
    Trainer(4, verbose=False, order=order).fit(Classifier(net), source, 2)
    epochs = [np.concatenate(source.seen[:3]), np.concatenate(source.seen[3:])]
    for seen in epochs:
        np.testing.assert_array_equal(seen, expected)


def test_curriculum_goes_from_easy_to_hard_under_the_reference_model(iris_csv, iris_model, tmp_path):
    from nndl.data import load_data

    splits = load_data(iris_csv)
    order = from_text(f"loss:{iris_model}", splits.train, "classification", splits.preprocessor)
    reference = io.load(iris_model)
    raw = splits.preprocessor.inverse_transform(splits.train.x)
    costs = per_example_cost(reference, Classifier, reference.prepared(raw), splits.train.y)
    assert np.all(np.diff(costs[order.indices(len(costs), None)]) >= 0)
    for k in (0, 17, len(costs) - 1):                     # each example's cost is the cost of a batch of one
        a = reference.predict_proba(raw[k:k + 1])
        assert costs[k] == pytest.approx(-np.log(a[0, splits.train.y[k]]) if reference.cost.name == "log_likelihood"
                                         else reference.cost.fn(a, np.eye(3)[splits.train.y[k:k + 1]]), rel=1e-5)
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,3", "--order", f"loss:{iris_model}", "--epochs", "3",
             "--threads", "1", "--quiet", "--out", tmp_path / "c.npz")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("text", ["bogus", "loss:", "fixed:3"])
def test_bad_orders_are_one_line(iris_csv, tmp_path, text):
    r = nndl("train", "--data", iris_csv, "--order", text, "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "--order" in r.stderr and "use shuffle, fixed or loss:MODEL" in r.stderr


def test_a_reference_model_for_other_data_is_one_line(data_file, iris_model, tmp_path):
    r = nndl("train", "--data", data_file("breast-cancer/breast_cancer.csv"), "--order", f"loss:{iris_model}",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and f"--order loss:{iris_model}: " in r.stderr and "4 features" in r.stderr, r.stderr
    r = nndl("train", "--data", data_file("iris/iris.csv"), "--order", f"loss:{tmp_path / 'none.npz'}",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "--order loss:" in r.stderr and "does not exist" in r.stderr, r.stderr
