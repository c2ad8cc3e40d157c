"""Trainer behaviour: the update rule, early stopping, schedules, divergence, bad input."""
import numpy as np
import pytest

from nndl.callbacks import DivergenceGuard, EarlyStopping, GradientNorms, LambdaCallback
from nndl.errors import NndlError
from nndl.layers import Dense
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import L1, L2, SGD, HalveOnPlateau, Momentum
from nndl.trainer import Trainer, TrainingDiverged


def _data(n=120, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1)


def _fit(net, data, epochs, optimizer=None, regularizers=(), batch_size=10, validation=None, callbacks=(), **kw):
    """Train ``net`` as a classifier, quietly; returns the history."""
    trainer = Trainer(batch_size, callbacks, verbose=False, **kw)
    return trainer.fit(Classifier(net, optimizer, regularizers), data, epochs, validation_data=validation)


def test_one_step_is_the_books_update_with_weight_decay():
    """w → (1 − ηλ/n) w − (η/m) Σ ∇C_x, computed here by hand from backprop's per-example gradients."""
    x, y = _data(n=10)
    eta, lmbda, n = 0.5, 2.0, len(x)
    net = Network.from_sizes([4, 3, 3], cost="quadratic", seed=1, dtype=np.float64)
    w0 = net.get_weights()
    sums = [np.zeros_like(w) for w in w0]
    for i in range(n):                       # per-example gradients, summed (chapter 1's update_mini_batch)
        net.backprop(x[i:i + 1].astype(np.float64), net.one_hot(y[i:i + 1]))
        sums = [s + p.grad for s, p in zip(sums, net.params)]
    expected = [(1 - eta * lmbda / n) * w - eta / n * s if p.regularize else w - eta / n * s
                for w, s, p in zip(w0, sums, net.params)]
    _fit(net, (x, y), 1, SGD(eta), [L2(lmbda)], batch_size=n)
    for got, want in zip(net.get_weights(), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_l1_shrinks_weights_by_a_constant():
    x, y = _data()
    net_l1 = Network.from_sizes([4, 6, 3], seed=1)
    net_plain = Network.from_sizes([4, 6, 3], seed=1)
    _fit(net_l1, (x, y), 5, SGD(0.1), [L1(50.0)])
    _fit(net_plain, (x, y), 5, SGD(0.1))
    assert np.abs(net_l1.layers[0].W.value).sum() < np.abs(net_plain.layers[0].W.value).sum()


def test_momentum_update_by_hand():
    x, y = _data(n=8)
    net = Network.from_sizes([4, 3], seed=1, dtype=np.float64)
    w0 = net.layers[0].W.value.copy()
    model = Classifier(net, Momentum(eta=0.1, mu=0.9))
    trainer = Trainer(8, verbose=False)
    net.backprop(x.astype(np.float64), net.one_hot(y))
    g1 = net.layers[0].W.grad.copy()
    trainer.fit(model, (x, y), 1)
    np.testing.assert_allclose(net.layers[0].W.value, w0 - 0.1 * g1, rtol=1e-12)
    w1 = net.layers[0].W.value.copy()
    net.backprop(x.astype(np.float64), net.one_hot(y))
    g2 = net.layers[0].W.grad.copy()
    trainer.fit(model, (x, y), 2)
    np.testing.assert_allclose(net.layers[0].W.value, w1 + 0.9 * (-0.1 * g1) - 0.1 * g2, rtol=1e-12)


def test_early_stopping_restores_the_best_weights():
    x, y = _data(seed=1)
    vx, vy = _data(seed=2)
    net = Network.from_sizes([4, 20, 3], seed=0)
    weights_at = {}
    keep = LambdaCallback(on_epoch_end=lambda t, epoch, r: weights_at.__setitem__(epoch, t.model.network.get_weights()))
    history = _fit(net, (x, y), 40, SGD(3.0), validation=(vx, vy),
                   callbacks=[EarlyStopping("validation_accuracy", patience=2), keep])
    best = history.best()
    assert history.final["best_epoch"] == best["epoch"]
    for got, want in zip(net.get_weights(), weights_at[best["epoch"]]):
        np.testing.assert_array_equal(got, want)
    assert net.accuracy(vx, vy) == pytest.approx(best["validation_accuracy"])
    if len(history) < 40:
        assert history.final["stop_reason"] == "no improvement in 2 epochs"
        assert len(history) == best["epoch"] + 2


def test_plateau_schedule_halves_and_stops():
    sched = HalveOnPlateau(patience=1)
    eta, etas = 1.0, []
    for epoch in range(1, 20):
        eta = sched.at_epoch_end(epoch, eta, 0.5 if epoch == 1 else 0.4)
        if eta is None:
            break
        etas.append(eta)
    assert etas == [1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625]


def test_nan_cost_stops_training_with_advice():
    x, y = _data()
    x = x * 1e3
    net = Network.from_sizes([4, 30, 3], activation="linear", cost="quadratic", seed=0)
    with pytest.raises(TrainingDiverged, match="smaller learning rate"):
        _fit(net, (x, y), 5, SGD(100.0))


def _blobs(n=600, seed=0):
    """Three well separated classes in 4 dimensions (a healthy run learns them in an epoch)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.standard_normal((n, 4)).astype(np.float32) + 3 * np.eye(3, 4, dtype=np.float32)[y]
    return x, y


def test_divergence_guard_stops_a_cost_far_above_the_untrained_networks():
    """Sigmoid outputs saturated by a huge η: the cost stays finite (NaNGuard is silent) but far above C₀."""
    x, y = _blobs()
    net = Network.from_sizes([4, 30, 3], seed=0)
    with pytest.raises(TrainingDiverged, match=r"above 2× the untrained network's .* in epochs 1-3; .*eta=1000"):
        _fit(net, (x, y), 10, SGD(1000.0), callbacks=[DivergenceGuard()])


def test_divergence_guard_stops_accuracy_at_chance_with_blown_up_weights():
    """The quadratic cost with every output stuck at 0: the cost is below C₀, the accuracy at chance."""
    x, y = _blobs(3000)
    net = Network.from_sizes([4, 30, 3], cost="quadratic", seed=0)
    guard = DivergenceGuard(factor=1e9)             # only the chance-level sign can fire
    with pytest.raises(TrainingDiverged, match="at chance level .* while the weights grew"):
        _fit(net, (x, y), 10, SGD(1000.0), validation=(x[:500], y[:500]), callbacks=[guard])


def test_divergence_guard_stops_a_short_run_whose_every_epoch_diverged():
    x, y = _blobs()
    with pytest.raises(TrainingDiverged, match="in epoch 1;"):
        _fit(Network.from_sizes([4, 30, 3], seed=0), (x, y), 1, SGD(1000.0), callbacks=[DivergenceGuard()])


@pytest.mark.parametrize("layers, eta, at_chance", [([4, 30, 3], 0.5, False), ([4, 30, 30, 30, 30, 3], 0.001, True)])
def test_divergence_guard_is_silent_on_healthy_and_on_slow_runs(layers, eta, at_chance):
    """A healthy run, and a deep sigmoid net that barely moves: at chance, but with its weights as they were."""
    x, y = _blobs(3000)
    guard = DivergenceGuard(patience=1)
    history = _fit(Network.from_sizes(layers, seed=0), (x, y), 3, SGD(eta), validation=(x[:500], y[:500]),
                   callbacks=[guard])
    assert len(history) == 3 and guard.diverged == 0
    assert history["training_cost"][-1] < guard.initial_cost
    assert (max(history["validation_accuracy"]) <= guard.chance + guard.margin) == at_chance


def test_divergence_guard_keeps_the_untrained_cost_across_a_resume():
    x, y = _blobs()
    first = DivergenceGuard()
    _fit(Network.from_sizes([4, 30, 3], seed=0), (x, y), 1, SGD(0.5), callbacks=[first])
    second = DivergenceGuard()
    second.load_state(first.state())
    trained = Network.from_sizes([4, 30, 3], seed=0)
    _fit(trained, (x, y), 1, SGD(0.5), callbacks=[second])
    assert second.initial_cost == first.initial_cost and second.initial_norm == first.initial_norm


@pytest.mark.parametrize("bad, message", [
    (dict(x=np.zeros((5, 3), np.float32)), "expects"),
    (dict(y=np.array([0, 1, 2, 7, 0])), "labels range"),
    (dict(y=np.zeros(4, np.int64)), "5 examples but 4 targets"),
    (dict(x=np.zeros((0, 4), np.float32), y=np.zeros(0, np.int64)), "empty"),
])
def test_bad_training_data(bad, message):
    data = dict(x=np.zeros((5, 4), np.float32), y=np.zeros(5, np.int64))
    data.update(bad)
    net = Network.from_sizes([4, 3], seed=0)
    with pytest.raises(NndlError, match=message):
        _fit(net, (data["x"], data["y"]), 1)


def test_bad_hyperparameters():
    with pytest.raises(NndlError, match="eta"):
        SGD(-0.5)
    with pytest.raises(NndlError, match="lambda"):
        L2(-1)
    with pytest.raises(NndlError, match="batch size"):
        Trainer(batch_size=0)
    with pytest.raises(NndlError, match="trains a model"):
        Trainer().fit(Network.from_sizes([2, 2]), (np.zeros((2, 2)), np.zeros(2, np.int64)), 1)
    with pytest.raises(NndlError, match="Callback objects"):
        Trainer(callbacks=[lambda trainer, record: None])


def test_history_records_gradient_norms_per_layer():
    x, y = _data()
    net = Network.from_sizes([4, 5, 5, 3], seed=0)
    history = _fit(net, (x, y), 2, SGD(0.1), callbacks=[GradientNorms()])
    norms = history["gradient_norms"][-1]
    assert list(norms) == ["1:dense", "2:dense", "3:dense"]
    assert all(v > 0 for v in norms.values())


# -- data parallelism: a mini-batch cut into parts on threads ------------------------------------
def _conv_net(dropout=0.0, dtype=np.float32, seed=3):
    from nndl.spec import parse_spec

    spec = f"conv(4,3) pool(2) relu dense(16) relu dropout({dropout}) softmax(10)"
    return Network(parse_spec(spec, (1, 8, 8)), (1, 8, 8), cost="log_likelihood", seed=seed, dtype=dtype)


def _images(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, 8, 8), dtype=np.float32)
    return x, (x[:, 0, :4].sum(axis=(1, 2)) * 10 // x[:, 0].sum(axis=(1, 2))).astype(np.int64) % 10


@pytest.mark.parametrize("workers, m", [(2, 13), (2, 4), (3, 64)])
def test_a_split_batch_gives_the_gradient_of_the_whole_batch(workers, m):
    from nndl.parallel import DataParallel

    net = _conv_net(dtype=np.float64)
    x, labels = _images(m)
    y = net.one_hot(labels)
    a_whole = net.backprop(x.astype(np.float64), y)
    whole = [p.grad.copy() for p in net.params]
    with DataParallel(net, workers) as parallel:
        a_parts = parallel.backprop(x.astype(np.float64), y)
    np.testing.assert_allclose(a_parts, a_whole, rtol=1e-12, atol=1e-15)
    for g, p in zip(whole, net.params):
        np.testing.assert_allclose(p.grad, g, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("workers, m", [(2, 13), (3, 64)])
def test_a_split_batch_feeds_forward_like_the_whole_batch(workers, m):
    from nndl.parallel import DataParallel

    net = _conv_net(dtype=np.float64)
    x, labels = _images(m)
    x = x.astype(np.float64)
    whole = net.feedforward(x)
    with DataParallel(net, workers) as parallel:
        np.testing.assert_allclose(parallel.feedforward(x), whole, rtol=1e-12, atol=1e-15)
        assert all(layer.pending == 0 for replica in parallel.replicas for layer in replica.layers)  # nothing kept
    model = Classifier(net, SGD(0.1))
    alone = model.evaluate(x, labels, batch_size=m)
    with model.split_batches(workers):                       # evaluate's batches are split too
        assert model._feedforward.__self__.workers == workers
        split = model.evaluate(x, labels, batch_size=m)
    assert split["accuracy"] == alone["accuracy"] and split["cost"] == pytest.approx(alone["cost"], rel=1e-12)


def _fit_with_workers(workers):
    x, y = _images()
    net = _conv_net(dropout=0.3)
    trainer = Trainer(32, workers=workers, threads=2, verbose=False)
    trainer.fit(Classifier(net, SGD(0.5)), (x, y), 2)
    return net, trainer


def test_training_on_split_batches_is_reproducible_and_learns_like_one_piece():
    a, trainer = _fit_with_workers(2)
    assert trainer.batch_parts(2) == 2
    b, _ = _fit_with_workers(2)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)                # same seed, same numbers
    c, _ = _fit_with_workers(1)
    assert any(not np.array_equal(wa, wc) for wa, wc in zip(a.get_weights(), c.get_weights()))  # other dropout masks
    x, y = _images()
    assert abs(a.accuracy(x, y) - c.accuracy(x, y)) < 0.15


def test_auto_threads_keep_small_products_on_one_thread(monkeypatch):
    """One BLAS thread for the book's nets (idle or busy machine alike); cores for the parts of a conv net."""
    import nndl.trainer as trainer_module
    from nndl.backend import auto_threads

    assert auto_threads(2.6e7) == 1 and auto_threads(1e7) == 1       # conv at batch 10, dense at batch 64
    monkeypatch.setattr(trainer_module, "usable_cores", lambda: 2)
    trainer = Trainer(64)                                            # threads="auto"
    trainer.model = Classifier(_conv_net())
    assert trainer.batch_parts(auto_threads(_conv_net().forward_flops(64))) == 2


def test_auto_workers_split_conv_nets_by_the_threads_but_not_batch_norm_or_dense_nets():
    from nndl.layers.batchnorm import BatchNorm

    def parts(net, batch_size, threads):
        trainer = Trainer(batch_size, threads=threads)
        trainer.model = Classifier(net)
        return trainer.batch_parts(threads)

    net = _conv_net()
    assert parts(net, 64, 2) == 2
    assert parts(net, 64, 1) == 1
    assert parts(net, 10, 2) == 1                                       # parts too small
    assert parts(Network.from_sizes([4, 8, 2]), 64, 2) == 1             # dense: all BLAS anyway
    bn = Network([Dense(8), BatchNorm(), Dense(2, activation="softmax")], (4,), cost="log_likelihood")
    assert parts(bn, 64, 2) == 1
    x = np.zeros((4, 4), np.float32)
    with pytest.raises(NndlError, match="batchnorm layer needs the whole batch"):
        Trainer(workers=2, verbose=False).fit(Classifier(bn), (x, np.zeros(4, np.int64)), 1)
    with pytest.raises(NndlError, match="workers"):
        Trainer(workers=0)
