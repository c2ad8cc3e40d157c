"""Saving and loading: round trips, bad files, checkpoints that resume exactly."""
import json

import numpy as np
import pytest

from nndl import io
from nndl.callbacks import Checkpoint, EarlyStopping, LearningRateSchedule
from nndl.errors import NndlError
from nndl.layers import Dense, Dropout
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import L2, SGD, HalveOnPlateau, Momentum
from nndl.trainer import Trainer


def _data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.5)


def test_round_trip_gives_identical_predictions(tmp_path):
    x, y = _data()
    net = Network([Dense(8, activation="relu", init="he"), Dropout(0.3), Dense(3, activation="softmax")], (6,),
                  cost="log_likelihood", seed=4)
    Trainer(verbose=False).fit(Classifier(net, SGD(0.1)), (x, y), 2)
    net.class_names = ["a", "b", "c"]
    path = io.save(net, tmp_path / "m.npz", metadata={"note": "hi"})
    loaded = io.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), net.predict_proba(x))
    assert loaded.config() == net.config()
    assert loaded.class_names == ["a", "b", "c"] and loaded.metadata == {"note": "hi"}
    assert not list(tmp_path.glob("*.tmp"))


def test_the_file_holds_no_pickles(tmp_path):
    net = Network.from_sizes([3, 2])
    path = io.save(net, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:       # would raise if any array needed pickle
        config = json.loads(z["nndl.json"].tobytes())
    assert config["format"] == "nndl-model" and config["version"] == io.VERSION


def test_bad_files_give_one_line_errors(tmp_path):
    good = io.save(Network.from_sizes([3, 2]), tmp_path / "good.npz")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:100])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a model")
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    wrong_format = tmp_path / "wrong.npz"
    np.savez(wrong_format, **{"nndl.json": np.frombuffer(b'{"format": "other"}', np.uint8)})
    for path, message in [(truncated, "not a readable nndl model"), (garbage, "not a readable nndl model"),
                          (foreign, "not an nndl model"), (wrong_format, "not an nndl model"),
                          (tmp_path / "missing.npz", "does not exist")]:
        with pytest.raises(NndlError, match=message) as err:
            io.load(path)
        assert "\n" not in str(err.value)


def test_weights_of_the_wrong_shape_are_refused(tmp_path):
    path = io.save(Network.from_sizes([3, 4, 2]), tmp_path / "m.npz")
    arrays = dict(np.load(path))
    config = json.loads(arrays["nndl.json"].tobytes())
    config["network"]["layers"][0]["units"] = 5
    arrays["nndl.json"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(NndlError, match="shape"):
        io.load(tmp_path / "bad.npz")


def _trainer(net, callbacks=()):
    """A run with state in every part: momentum, L2, the plateau schedule, early stopping, dropout."""
    model = Classifier(net, Momentum(0.2, mu=0.5), [L2(0.5)])
    trainer = Trainer(16, [EarlyStopping("validation_accuracy", patience=3),
                           LearningRateSchedule(HalveOnPlateau(patience=1)), *callbacks], verbose=False)
    return trainer, model


def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path):
    x, y = _data()
    vx, vy = _data(seed=9)

    def fresh():
        return Network.from_sizes([6, 10, 3], dropout=0.25, seed=7)

    straight = fresh()
    trainer, model = _trainer(straight)
    trainer.fit(model, (x, y), 6, validation_data=(vx, vy))

    ckpt = tmp_path / "run.ckpt.npz"
    trainer, model = _trainer(fresh(), [Checkpoint(ckpt)])
    trainer.fit(model, (x, y), 3, validation_data=(vx, vy))
    net, state = io.read_checkpoint(ckpt)
    resumed, model = _trainer(net)
    io.restore(resumed, model, state)
    resumed.fit(model, (x, y), 6, validation_data=(vx, vy))
    for a, b in zip(net.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_resume_equals_an_uninterrupted_run_with_split_batches(tmp_path):
    """Two workers with dropout: the parts' masks come from the network's generator, which the checkpoint keeps."""
    from nndl.spec import parse_spec

    rng = np.random.default_rng(0)
    x = rng.random((120, 1, 8, 8), dtype=np.float32)
    y = (x[:, 0, :4].sum(axis=(1, 2)) > x[:, 0, 4:].sum(axis=(1, 2))).astype(np.int64)

    def fresh():
        return Network(parse_spec("conv(3,3) pool(2) relu dense(12) relu dropout(0.4) softmax(2)", (1, 8, 8)),
                       (1, 8, 8), cost="log_likelihood", seed=5)

    def trainer(net, callbacks=()):
        return Trainer(32, callbacks, workers=2, threads=2, verbose=False), Classifier(net, Momentum(0.2, mu=0.5))

    straight = fresh()
    run, model = trainer(straight)
    run.fit(model, (x, y), 4)
    ckpt = tmp_path / "run.ckpt.npz"
    run, model = trainer(fresh(), [Checkpoint(ckpt)])
    run.fit(model, (x, y), 2)
    net, state = io.read_checkpoint(ckpt)
    resumed, model = trainer(net)
    io.restore(resumed, model, state)
    resumed.fit(model, (x, y), 4)
    for a, b in zip(net.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_model_file_is_not_a_checkpoint(tmp_path):
    path = io.save(Network.from_sizes([3, 2]), tmp_path / "m.npz")
    with pytest.raises(NndlError, match="not a checkpoint"):
        io.read_checkpoint(path)


# -- files that must not be trusted --------------------------------------------------------------
def _with_config(path, tmp_path, change):
    arrays = dict(np.load(path))
    config = json.loads(arrays["nndl.json"].tobytes())
    change(config)
    arrays["nndl.json"] = np.frombuffer(json.dumps(config).encode(), np.uint8)
    out = tmp_path / "crafted.npz"
    np.savez(out, **arrays)
    return out


def test_a_config_that_asks_for_more_than_the_file_holds_allocates_nothing(tmp_path):
    import tracemalloc

    path = io.save(Network.from_sizes([3, 4, 2]), tmp_path / "m.npz")
    crafted = _with_config(path, tmp_path, lambda c: c["network"]["layers"][0].update(units=10 ** 9))
    tracemalloc.start()
    with pytest.raises(NndlError, match=r"dense W of shape \(1000000000, 3\) needs 3000000000 values, more than "
                                        r"the file holds"):
        io.load(crafted)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 << 20


@pytest.mark.parametrize("change, message", [
    (lambda c: c["network"].update(input_shape=["784"]), r"network.input_shape\[0\] must be an integer"),
    (lambda c: c["network"].update(layers={"type": "dense"}), "network.layers must be a list"),
    (lambda c: c["network"]["layers"][0].update(activation=["relu"]), "unknown activation|activation"),
    (lambda c: c["network"]["layers"][0].update(units="ten"), "units='ten' must be a whole number"),
    (lambda c: c.update(version=99), "written by a newer nndl"),
    (lambda c: c["network"]["layers"].append({"shared": 7}), "repeats layer 7"),
])
def test_crafted_configs_are_one_line(tmp_path, change, message):
    path = io.save(Network.from_sizes([3, 4, 2]), tmp_path / "m.npz")
    with pytest.raises(NndlError, match=message) as err:
        io.load(_with_config(path, tmp_path, change))
    assert "\n" not in str(err.value) and "crafted.npz" in str(err.value)


def test_weights_that_are_not_finite_are_refused_at_load_and_at_save(tmp_path):
    net = Network.from_sizes([3, 4, 2])
    path = io.save(net, tmp_path / "good.npz")
    net.layers[1].W.value[0, 0] = np.nan
    with pytest.raises(NndlError, match="not saving .*hold NaN or infinity"):
        io.save(net, path)
    assert np.isfinite(io.load(path).layers[1].W.value).all()         # the good file is still there
    arrays = dict(np.load(path))
    arrays["param/1/W"] = np.full_like(arrays["param/1/W"], 1e300, dtype=np.float64)   # no float32 can hold it
    np.savez(tmp_path / "huge.npz", **arrays)
    with pytest.raises(NndlError, match=r"param/1/W of layer 1 \(dense\) hold NaN or infinity \(in float32\)"):
        io.load(tmp_path / "huge.npz")


def test_a_text_file_or_an_image_is_not_a_model(tmp_path):
    for name, data in (("notes.txt", b"hello\n"), ("digit.png", b"\x89PNG\r\n\x1a\n" + bytes(40))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(NndlError, match=r"is not a readable nndl model file \(not a \.npz archive") as err:
            io.load(tmp_path / name)
        assert "pickle" not in str(err.value)
