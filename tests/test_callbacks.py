"""Callbacks: what runs around the loop — diagnostics, evaluation of other data, JSON lines,
schedules on a figure that shrinks, and a model kind with a training step of its own."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nndl.callbacks import (Callback, DeadUnits, Evaluate, GradientNorms, JSONLines, LambdaCallback,
                            LearningRateSchedule, ProgressBar)
from nndl.errors import NndlError
from nndl.layers import Dense
from nndl.models import Classifier, Model, Regressor
from nndl.network import Network
from nndl.optim import SGD, Adam, HalveOnPlateau
from nndl.trainer import Trainer


def _classes(rng, n=120):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def test_dead_units_are_counted_per_relu_layer(rng):
    x, y = _classes(rng)
    net = Network([Dense(10, activation="relu"), Dense(2, activation="softmax")], (4,), cost="log_likelihood", seed=0)
    net.layers[0].b.value[:4] = -100.0                                # four units that never fire
    history = Trainer(10, [DeadUnits()], verbose=False).fit(Classifier(net, SGD(0.01)), (x, y), 1,
                                                            validation_data=(x, y))
    assert history["dead_units"][-1] == {"1:dense": pytest.approx(0.4)}


def test_evaluate_measures_other_data_each_epoch(rng):
    x, y = _classes(rng)
    tx, ty = _classes(rng, 40)
    history = Trainer(10, [Evaluate(prefix="training"), Evaluate((tx, ty), prefix="test")], verbose=False).fit(
        Classifier(Network.from_sizes([4, 5, 2], seed=0), SGD(0.5)), (x, y), 2)
    for record in history.records:
        assert {"training_accuracy", "test_cost", "test_accuracy", "eval_seconds"} <= set(record)
    model = Classifier(Network.from_sizes([4, 5, 2]))
    assert model.evaluate(tx, ty)["accuracy"] >= 0                    # the names it reports


def test_json_lines_and_progress(rng, capsys):
    x, y = _classes(rng)
    Trainer(10, [JSONLines(["epoch", "training_cost"]), ProgressBar(every=3)], verbose=False).fit(
        Classifier(Network.from_sizes([4, 3, 2]), SGD(0.1)), (x, y), 2)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [list(line) for line in lines] == [["epoch", "training_cost"]] * 2


def test_a_plateau_on_a_cost_halves_when_the_cost_stops_falling(rng):
    """The book's schedule on a figure that improves by shrinking: the mode comes from its name."""
    x = rng.standard_normal((60, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [2.0], [-1.0]], np.float32)
    etas = []
    rising = LambdaCallback(on_epoch_end=lambda t, epoch, r: etas.append(t.model.optimizer.eta))
    net = Network([Dense(1, activation="linear")], (3,), cost="quadratic", seed=0)
    schedule = HalveOnPlateau(patience=1)
    Trainer(60, [LearningRateSchedule(schedule, monitor="validation_mse"), rising], verbose=False).fit(
        Regressor(net, SGD(1.5)), (x, y), 12, validation_data=(x, y))   # η = 1.5 overshoots: mse grows
    assert schedule.mode == "min" and etas[-1] < 1.5


def test_callbacks_are_checked(rng):
    with pytest.raises(NndlError, match="no hook 'on_step'"):
        LambdaCallback(on_step=print)
    with pytest.raises(NndlError, match="plateau schedule monitors 'validation_accuracy'"):
        x, y = _classes(rng)
        Trainer(10, [LearningRateSchedule(HalveOnPlateau(2))], verbose=False).fit(
            Classifier(Network.from_sizes([4, 2])), (x, y), 1)             # no validation data: nothing to follow


# -- a model kind with a step of its own: two networks, two optimizers -------------------------------------
class ToyGAN(Model):
    """A generator G(z) = a z + b against a logistic discriminator D(x) on 1-D data.

    D's step: ascend ln D(x) + ln(1 − D(G(z))) (real, then fake, gradients added);
    G's step: ascend ln D(G(z)), with ∂/∂x through D (``input_grad=True``) into G.
    """

    task = "toy-gan"

    def __init__(self, generator, discriminator, rng):
        super().__init__(generator, Adam(0.02))
        self.discriminator, self.d_optimizer, self.rng = discriminator, Adam(0.02), rng

    def check_targets(self, y, what):
        return None

    def train_step(self, x, y):
        g, d = self.network, self.discriminator
        z = self.rng.standard_normal((len(x), 1)).astype(np.float32)
        fake = g.feedforward(z)
        d.zero_grad()
        for data, label in ((x, 1.0), (fake, 0.0)):                   # two passes, gradients add up
            p = d.forward(data, training=True)
            d.backward((p - label) / len(x))                           # ∂(−log-likelihood)/∂z of the sigmoid
        self.d_optimizer.step(d.params)
        g.zero_grad()
        d.zero_grad()
        fake = g.forward(z, training=True)
        p = d.forward(fake, training=True)
        g.backward(d.backward((p - 1.0) / len(x), input_grad=True))   # fool D: ∂C/∂x into G
        self.optimizer.step(g.params)                                  # D's gradients are left unused
        return {"cost": float(-np.log(np.maximum(p, 1e-7)).mean())}

    def evaluate(self, x, y, batch_size=1000):
        return {"cost": 0.0}


def test_a_two_network_model_trains_through_its_own_step(rng):
    real = (3.0 + 0.5 * rng.standard_normal((512, 1))).astype(np.float32)
    g = Network([Dense(1, activation="linear")], (1,), cost="quadratic", seed=1)
    d = Network([Dense(8, activation="tanh"), Dense(1, activation="sigmoid")], (1,), cost="cross_entropy", seed=2)
    model = ToyGAN(g, d, np.random.default_rng(3))
    history = Trainer(64, [GradientNorms()], verbose=False).fit(model, real, 60)
    samples = g.feedforward(rng.standard_normal((2000, 1)).astype(np.float32))
    assert abs(samples.mean() - 3.0) < 0.4, samples.mean()            # started at about 0
    assert set(model.d_optimizer.state) == set(d.params) and set(model.optimizer.state) == set(g.params)
    assert "gradient_norms" in history.records[-1]


def test_a_callback_sees_its_trainer_and_model(rng):
    seen = {}

    class Spy(Callback):
        def on_train_begin(self):
            seen["model"], seen["epochs"] = self.model, self.trainer.epochs

    x, y = _classes(rng)
    model = Classifier(Network.from_sizes([4, 2]))
    Trainer(10, [Spy()], verbose=False).fit(model, (x, y), 3)
    assert seen == {"model": model, "epochs": 3}
