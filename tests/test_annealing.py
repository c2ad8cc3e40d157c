"""Boltzmann (simulated annealing) and Cauchy training, backprop + Cauchy, weight squashing."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from test_cli import nndl

from nndl.curriculum import FixedOrder
from nndl.errors import NndlError
from nndl.layers import Parameter
from nndl.layers.batchnorm import BatchNorm
from nndl.layers.dense import Dense
from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import get_optimizer
from nndl.optim.annealing import (Annealing, Cauchy, CauchyBackprop, boltzmann_temperature, cauchy_temperature,
                                  metropolis_accept, saturated_fraction, squash_weights)
from nndl.trainer import Trainer


class _NoPenalty:
    regularizers = ()

    def regularization_cost(self):
        return 0.0


class FakeObjective:
    """A cost of one weight vector given as a function; it records every point it is asked about."""

    def __init__(self, fn, size=1):
        self.params = [Parameter("w", np.zeros(size))]
        self.fn = fn
        self.model = _NoPenalty()
        self.cost_evaluations = self.gradient_evaluations = 0
        self.points = []

    def cost(self):
        self.cost_evaluations += 1
        w = self.params[0].value.copy()
        self.points.append(w)
        return self.fn(w)


class UnitSteps:
    """Every move adds exactly 1 to the weight: the cost change of each move is known."""

    def propose(self, params, temperature):
        params[0].value += 1.0


class UnitAnnealing(UnitSteps, Annealing):
    pass


class ConstantTemperature(UnitAnnealing):
    schedule = staticmethod(lambda t, t0: t0)


# -- the Metropolis test -----------------------------------------------------------------------------
def test_metropolis_accepts_better_moves_always_and_worse_with_exp_minus_delta_over_t():
    rng = np.random.default_rng(0)
    assert all(metropolis_accept(d, 0.1, rng) for d in (-1.0, -1e-9, 0.0))
    n, delta, t = 40_000, 0.02, 0.01
    p = math.exp(-delta / t)                                           # e⁻² = 0.135
    rate = np.mean([metropolis_accept(delta, t, rng) for _ in range(n)])
    assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / n)
    rate_cold = np.mean([metropolis_accept(delta, t / 4, rng) for _ in range(n)])
    assert rate_cold < 0.002                                            # e⁻⁸ = 0.0003: colder, fewer


def test_annealing_accepts_uphill_moves_with_the_metropolis_probability():
    """Every move raises the cost by δ at constant T: the number accepted is Binomial(N, e^(−δ/T))."""
    delta, t0, moves = 0.03, 0.02, 20_000
    opt = ConstantTemperature(eta=1.0, t0=t0, moves=moves, seed=3)
    objective = FakeObjective(lambda w: delta * float(w[0]))
    logs = opt.minimize(objective)
    p = math.exp(-delta / t0)
    accepted = objective.params[0].value[0]                            # each accepted move added 1
    assert accepted == pytest.approx(logs["acceptance"] * moves)
    assert abs(accepted - moves * p) < 4 * math.sqrt(moves * p * (1 - p))
    assert logs["cost_evaluations"] == moves + 1


def test_annealing_acceptance_follows_the_cooling_schedule():
    """Under T(t) = T₀/log(1 + t) an uphill move δ is kept with probability (1 + t)^(−δ/T₀)."""
    delta, t0, moves = 0.01, 0.02, 5000
    opt = UnitAnnealing(eta=1.0, t0=t0, moves=moves, seed=5)
    objective = FakeObjective(lambda w: delta * float(w[0]))
    opt.minimize(objective)
    p = (1.0 + np.arange(1, moves + 1)) ** (-delta / t0)
    accepted = objective.params[0].value[0]
    assert abs(accepted - p.sum()) < 4 * math.sqrt((p * (1 - p)).sum())
    assert opt.t == moves


def test_temperature_schedules():
    assert boltzmann_temperature(1, 2.0) == pytest.approx(2.0 / math.log(2.0))
    assert boltzmann_temperature(99, 1.0) == pytest.approx(1.0 / math.log(100.0))
    assert cauchy_temperature(1, 2.0) == pytest.approx(1.0)
    assert cauchy_temperature(99, 1.0) == pytest.approx(0.01)
    assert Annealing(t0=0.5).temperature(9) == pytest.approx(0.5 / math.log(10))
    assert Cauchy(t0=0.5).temperature(9) == pytest.approx(0.05)


# -- the distributions of the steps --------------------------------------------------------------------
def _rejected_steps(opt, size=50):
    """Steps of ``opt`` from w = 0 against a cost that rejects every move, each divided by its scale."""
    objective = FakeObjective(lambda w: 1e9 * float(np.abs(w).sum()), size)
    steps = []
    fn = objective.fn

    def record(w):
        if opt.t:                                                      # a proposal (not the first evaluation)
            steps.append(w / opt.step_scale(opt.temperature(opt.t)))
        return fn(w)

    objective.fn = record
    opt.minimize(objective)
    assert not objective.params[0].value.any()                        # all rejected: back at 0
    return np.concatenate(steps)


def _cauchy_scale(opt):
    return lambda temperature: opt.eta * temperature / opt.t0


def _gauss_scale(opt):
    return lambda temperature: opt.eta * math.sqrt(temperature / opt.t0)


def test_cauchy_steps_follow_the_cauchy_distribution_scaled_by_the_temperature():
    opt = Cauchy(eta=0.3, t0=0.1, moves=200, seed=0)
    opt.step_scale = _cauchy_scale(opt)
    z = _rejected_steps(opt)
    assert len(z) == 10_000
    assert stats.kstest(z, "cauchy").pvalue > 0.01
    assert stats.kstest(z, "norm").pvalue < 1e-6                      # heavy tails: not a Gaussian


def test_boltzmann_steps_are_gaussian_with_variance_proportional_to_t():
    opt = Annealing(eta=0.3, t0=0.1, moves=200, seed=0)
    opt.step_scale = _gauss_scale(opt)
    z = _rejected_steps(opt)
    assert stats.kstest(z, "norm").pvalue > 0.01
    assert stats.kstest(z, "cauchy").pvalue < 1e-6


def test_fraction_moves_only_some_weights():
    opt = Annealing(eta=1.0, moves=1, fraction=0.25, seed=0)
    objective = FakeObjective(lambda w: -1.0 if w.any() else 0.0, size=4000)     # always accepted
    opt.minimize(objective)
    moved = np.mean(objective.params[0].value != 0)
    assert abs(moved - 0.25) < 0.03


# -- weight squashing ------------------------------------------------------------------------------------
def test_squash_bounds_weights_and_leaves_small_ones_nearly_alone():
    p = Parameter("W", np.array([-100.0, -1.0, 0.01, 3.0, 1e6]))
    squash_weights([p], 5.0)
    assert np.all(np.abs(p.value) <= 5.0)
    assert p.value[2] == pytest.approx(0.01, rel=1e-5)
    np.testing.assert_allclose(p.value, 5.0 * np.tanh(np.array([-100.0, -1.0, 0.01, 3.0, 1e6]) / 5.0))


def test_saturated_fraction_counts_paralysed_units():
    net = Network.from_sizes([3, 50, 2], activation="sigmoid", seed=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((40, 3))
    net.layers[0].W.value[...] = 1e-3
    assert saturated_fraction(net, x) == 0.0
    net.layers[0].W.value[:25] = 100.0                                # half the units: |z| ≫ 6 for nearly all x
    assert 0.45 < saturated_fraction(net, x) <= 0.5


def _iris_net(seed=0, **kw):
    return Network.from_sizes([4, 8, 3], activation="sigmoid", cost="log_likelihood", seed=seed, **kw)


def test_squashing_keeps_cauchy_training_from_paralysing_the_network(iris_split):
    """Long Cauchy jumps blow weights up (saturated sigmoids: σ' ≈ 0); squashing keeps them within ±c."""
    train = iris_split.train
    largest = {}
    for squash in (0.0, 4.0):
        net = _iris_net()
        opt = Cauchy(eta=2.0, t0=10.0, moves=300, squash=squash, seed=1)
        Trainer(len(train), verbose=False).fit(Classifier(net, opt), train, 2)
        largest[squash] = max(float(np.abs(p.value).max()) for p in net.params)
    assert largest[4.0] <= 4.0 < largest[0.0]


# -- learning ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris_split(iris_csv):
    from nndl.data import load_data

    return load_data(str(iris_csv), seed=0)


def _fit(opt, split, epochs, seed=0):
    net = _iris_net(seed)
    history = Trainer(len(split.train), verbose=False).fit(Classifier(net, opt), split.train, epochs,
                                                           validation_data=split.validation,
                                                           test_data=split.test)
    return net, history


@pytest.mark.parametrize("name,kwargs,epochs", [
    ("annealing", dict(eta=0.1, t0=0.01, moves=200), 25),
    ("cauchy", dict(eta=1.0, t0=0.01, moves=200), 25),
    ("cauchy_backprop", dict(eta=0.5, mu=0.5, rho=0.01, moves=10), 25),
])
def test_each_search_learns_iris(iris_split, name, kwargs, epochs):
    start = Classifier(_iris_net(), None).evaluate(iris_split.train.x, iris_split.train.y)["cost"]
    net, history = _fit(get_optimizer(name, **kwargs), iris_split, epochs)
    assert history["training_cost"][-1] < 0.3 * start
    assert history.final["test_accuracy"] >= 0.9


def test_seeded_runs_reproduce_and_other_seeds_differ(iris_split):
    a, _ = _fit(Annealing(eta=0.1, moves=50, seed=4), iris_split, 3)
    b, _ = _fit(Annealing(eta=0.1, moves=50, seed=4), iris_split, 3)
    c, _ = _fit(Annealing(eta=0.1, moves=50, seed=5), iris_split, 3)
    for p, q in zip(a.params, b.params):
        np.testing.assert_array_equal(p.value, q.value)
    assert not all(np.array_equal(p.value, q.value) for p, q in zip(a.params, c.params))


@pytest.mark.parametrize("cls", [Annealing, CauchyBackprop])
def test_a_checkpointed_search_continues_exactly(iris_split, cls):
    """The generator's state, the move count t and the velocities go with the model's state."""
    train = iris_split.train
    steady_net = _iris_net()
    steady = Classifier(steady_net, cls(moves=20, seed=2))
    Trainer(len(train), verbose=False, order=FixedOrder()).fit(steady, train, 4)

    net = _iris_net()
    first = Classifier(net, cls(moves=20, seed=2))
    Trainer(len(train), verbose=False, order=FixedOrder()).fit(first, train, 2)
    state = first.state()
    config = dict(state["optimizer"])
    second = Classifier(net, get_optimizer(config.pop("name"), **config))
    second.load_state(state)
    Trainer(len(train), verbose=False, order=FixedOrder()).fit(second, train, 2)
    for p, q in zip(net.params, steady_net.params):
        np.testing.assert_array_equal(p.value, q.value)


# -- bad input -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,pattern", [
    (lambda: Annealing(t0=0.0), r"initial temperature t0=0\.0.*> 0"),
    (lambda: Cauchy(t0=-1.0), r"initial temperature t0=-1\.0"),
    (lambda: Annealing(t0=float("nan")), r"t0=nan"),
    (lambda: Annealing(moves=0), r"moves per step=0"),
    (lambda: Cauchy(fraction=0.0), r"fraction.*=0\.0"),
    (lambda: Cauchy(fraction=1.5), r"fraction.*=1\.5"),
    (lambda: Annealing(squash=-1.0), r"squash.*=-1\.0"),
    (lambda: Annealing(eta=0.0), r"eta.*=0\.0"),
    (lambda: CauchyBackprop(mu=1.0), r"mu=1\.0"),
    (lambda: CauchyBackprop(rho=-0.1), r"rho=-0\.1"),
    (lambda: get_optimizer("annealing", clip_norm=1.0), r"no gradient option 'clip_norm'"),
    (lambda: get_optimizer("cauchy", beta1=0.9), r"no hyper-parameter 'beta1'"),
])
def test_bad_hyperparameters_are_one_line_errors(make, pattern):
    with pytest.raises(NndlError, match=pattern) as info:
        make()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("net", [
    lambda: _iris_net(dropout=0.2),
    lambda: Network([Dense(8, use_bias=False), BatchNorm(), Dense(3, activation="softmax")], (4,),
                    cost="log_likelihood"),
])
def test_a_random_cost_is_refused_before_training(iris_split, net):
    network = net()
    before = [p.value.copy() for p in network.params]
    with pytest.raises(NndlError, match="annealing optimizer needs a cost that is a function of the weights alone"):
        Trainer(105, verbose=False).fit(Classifier(network, Annealing()), iris_split.train, 1)
    assert all(np.array_equal(p.value, q) for p, q in zip(network.params, before))


def test_a_model_with_its_own_step_is_refused(iris_split):
    class OwnStep(Classifier):
        def train_step(self, x, y):
            return super().train_step(x, y)

    with pytest.raises(NndlError, match="trains models that learn by the supervised step.*not a OwnStep"):
        Trainer(105, verbose=False).fit(OwnStep(_iris_net(), Cauchy()), iris_split.train, 1)


# -- from the command line -------------------------------------------------------------------------------
def test_nndl_train_runs_a_search_on_the_whole_training_set(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,8,3", "--optimizer", "cauchy(moves=100)", "--epochs", "30",
             "--threads", "1", "--json", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    first = lines[0]
    assert first["training_cost_evaluations"] == 101                    # a step: 100 moves and the start
    assert 0.0 <= lines[-2]["training_acceptance"] <= 1.0 and lines[-2]["training_temperature"] > 0
    assert lines[-1]["test_accuracy"] >= 0.9
    assert "full-batch" not in r.stderr                                 # no note: the batch is the whole set


def test_nndl_train_refuses_dropout_with_annealing(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,8,3", "--dropout", "0.2", "--optimizer", "cauchy",
             "--epochs", "2", "--out", tmp_path / "m.npz")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if "a function of the weights alone" in line]
    assert len(errors) == 1 and r.stderr.strip().splitlines()[-1] == errors[0]
    assert not (tmp_path / "m.npz").exists()
