"""Learning-rate schedules: values against the formulas by hand, the plateau rule, state, errors."""
import json
import math

import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.network import Network
from nndl.optim import (SCHEDULES, SGD, Cosine, ExponentialDecay, HalveOnPlateau, InverseTime, OneCycle, Schedule,
                        StepDecay, get_schedule)
from nndl.callbacks import LambdaCallback, LearningRateSchedule
from nndl.models import Classifier
from nndl.trainer import Trainer


def epochs_of(schedule, eta0, epochs, metrics=None):
    """η during epochs 1, 2, ... as the trainer sets it: η₀, then what at_epoch_end returns."""
    eta, out = eta0, [eta0]
    for e in range(1, epochs):
        eta = schedule.at_epoch_end(e, eta, None if metrics is None else metrics[e - 1])
        out.append(eta)
    return out


# -- values by hand ------------------------------------------------------------------------------
def test_step_decay_per_epoch():
    # η₀ γ^⌊e/3⌋ with η₀ = 0.8, γ = 0.5 for epochs e = 0..7
    assert epochs_of(StepDecay(3, 0.5), 0.8, 8) == pytest.approx([0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2, 0.2])
    assert not StepDecay(3, 0.5).per_step


def test_step_decay_per_step():
    s = StepDecay(step_size=3, gamma=0.5, unit="step")
    assert s.per_step
    assert [s.at_step(t, 0.8) for t in (0, 2, 3, 5, 6, 9)] == pytest.approx([0.8, 0.8, 0.4, 0.4, 0.2, 0.1])
    assert s.at_epoch_end(1, 0.123, 0.9) == 0.123                      # per step: epochs leave η alone


def test_exponential_decay():
    assert epochs_of(ExponentialDecay(0.9), 0.8, 4) == pytest.approx([0.8, 0.72, 0.648, 0.5832])
    s = ExponentialDecay(0.5, unit="step")
    assert [s.at_step(t, 1.0) for t in (0, 1, 4)] == pytest.approx([1.0, 0.5, 0.0625])


def test_inverse_time():
    s = InverseTime(lmbda=0.5)                                          # per step by default
    assert s.per_step
    # η₀ / (1 + η₀ λ t) with η₀ = 0.2, λ = 0.5: 0.2 / (1 + 0.1 t)
    assert [s.at_step(t, 0.2) for t in (0, 10, 30)] == pytest.approx([0.2, 0.1, 0.05])
    assert epochs_of(InverseTime(0.5, unit="epoch"), 0.2, 3) == pytest.approx([0.2, 0.2 / 1.1, 0.2 / 1.2])


def test_cosine():
    s = Cosine(total=12, eta_min=0.1)
    # η_min + ½(η₀ − η_min)(1 + cos(πt/T)), η₀ = 1.1: cos(π/3) = ½, cos(π/2) = 0, cos(2π/3) = −½
    values = [s.at_step(t, 1.1) for t in (0, 4, 6, 8, 12, 20)]
    assert values == pytest.approx([1.1, 0.85, 0.6, 0.35, 0.1, 0.1])
    assert epochs_of(Cosine(2, unit="epoch"), 1.0, 4) == pytest.approx([1.0, 0.5, 0.0, 0.0])


def test_one_cycle_cosine_and_linear():
    # start = 1/25 = 0.04, end = 0.04/1e4 = 4e-6; T = 60, peak at u = 30
    cos = OneCycle(total=60, max_eta=1.0, pct_start=0.5)
    lin = OneCycle(total=60, max_eta=1.0, pct_start=0.5, anneal="linear")
    # warm-up f = 1/3: cos: 1 + ½(0.04 − 1)(1 + ½) = 0.28; linear: 0.04 + 0.96/3 = 0.36
    # anneal f = 1/3: cos: 4e-6 + ½(1 − 4e-6)(1 + ½) = 0.750001; linear: 1 − (1 − 4e-6)/3
    assert [cos.at_step(t, 123.0) for t in (0, 10, 30, 40, 60, 99)] == pytest.approx(
        [0.04, 0.28, 1.0, 0.750001, 4e-6, 4e-6], rel=1e-9)
    assert [lin.at_step(t, 123.0) for t in (0, 10, 15, 30, 40, 60)] == pytest.approx(
        [0.04, 0.36, 0.52, 1.0, 1 - (1 - 4e-6) / 3, 4e-6], rel=1e-9)


def test_one_cycle_per_epoch_and_without_warmup():
    s = OneCycle(total=4, max_eta=0.5, pct_start=0.5, anneal="linear", div_factor=5, final_div_factor=10,
                 unit="epoch")
    # start 0.1, peak 0.5 at e = 2, end 0.01 at e = 4; the first epoch runs at the optimizer's η (0.1)
    assert epochs_of(s, 0.1, 6) == pytest.approx([0.1, 0.3, 0.5, 0.255, 0.01, 0.01])
    no_warmup = OneCycle(total=10, max_eta=1.0, pct_start=0.0, anneal="linear", final_div_factor=1.0)
    assert [no_warmup.at_step(t, 1.0) for t in (0, 5, 10)] == pytest.approx([1.0, 0.52, 0.04])


def test_per_step_schedule_through_the_trainer():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    net = Network.from_sizes([3, 4, 2], seed=0)
    etas = []
    record_eta = LambdaCallback(on_batch_end=lambda tr, k, logs: etas.append(tr.model.optimizer.eta))
    trainer = Trainer(5, [LearningRateSchedule(Cosine(total=12)), record_eta], verbose=False)
    trainer.fit(Classifier(net, SGD(0.5)), (x, y), 3)                                              # 3 epochs × 4 steps
    assert etas == pytest.approx([0.25 * (1 + math.cos(math.pi * t / 12)) for t in range(12)])


def test_per_epoch_schedule_through_the_trainer():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    net = Network.from_sizes([3, 4, 2], seed=0)
    history = Trainer(5, [LearningRateSchedule(StepDecay(2, 0.1))], verbose=False).fit(
        Classifier(net, SGD(0.5)), (x, y), 5)
    assert history["eta"] == pytest.approx([0.5, 0.5, 0.05, 0.05, 0.005])


# -- the book's plateau rule --------------------------------------------------------------------
def test_plateau_halves_after_patience_and_stops_at_eta0_over_128():
    s = HalveOnPlateau(patience=2)
    eta, seen = 1.0, []
    for epoch in range(1, 40):
        eta = s.at_epoch_end(epoch, eta, 0.5)                           # never improves after epoch 1
        seen.append(eta)
        if eta is None:
            break
    # epoch 1 sets the best; every 2 flat epochs halve η: 1/2 at 3, 1/4 at 5, ... 1/64 at 13, stop at 15
    assert seen == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 1 / 16, 1 / 16, 1 / 32, 1 / 32, 1 / 64, 1 / 64,
                    None]


def test_plateau_improvement_resets_the_wait_and_none_metric_keeps_eta():
    s = HalveOnPlateau(patience=2)
    assert epochs_of(s, 1.0, 7, metrics=[0.5, 0.5, 0.6, 0.6, 0.6, 0.6]) == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5]
    assert HalveOnPlateau().at_epoch_end(1, 0.3, None) == 0.3


# -- state round trip --------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: HalveOnPlateau(patience=2), lambda: StepDecay(2, 0.5),
                                  lambda: ExponentialDecay(0.8), lambda: Cosine(6, unit="epoch"),
                                  lambda: OneCycle(8, 1.0, unit="epoch")])
def test_state_round_trip(make):
    metrics = [0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7]
    steady = epochs_of(make(), 0.4, 10, metrics)
    first = make()
    eta = 0.4
    for e in range(1, 5):
        eta = first.at_epoch_end(e, eta, metrics[e - 1])
    saved = json.loads(json.dumps(first.state()))                      # state is JSON
    config = json.loads(json.dumps(first.config()))
    second = get_schedule(config.pop("name"), **config)
    second.load_state(saved)
    resumed = []
    for e in range(5, 10):
        eta = second.at_epoch_end(e, eta, metrics[e - 1])
        resumed.append(eta)
    assert resumed == pytest.approx(steady[5:])


def test_resuming_without_state_would_take_the_wrong_eta0():
    first = StepDecay(1, 0.5)
    eta = 1.0
    for e in range(1, 4):
        eta = first.at_epoch_end(e, eta, None)                          # 0.5, 0.25, 0.125
    assert first.state() == {"eta0": 1.0}
    assert StepDecay(1, 0.5).at_epoch_end(4, eta, None) != first.at_epoch_end(4, eta, None)


def test_configs_round_trip_through_get_schedule():
    for s in (Schedule(), HalveOnPlateau(3, 0.25, 64.0), StepDecay(4, 0.3, "step"), ExponentialDecay(0.99),
              InverseTime(0.01, "epoch"), Cosine(100, 0.001), OneCycle(50, 0.3, 0.2, "linear", 10.0, 100.0)):
        config = dict(s.config())
        again = get_schedule(config.pop("name"), **config)
        assert type(again) is type(s) and again.config() == s.config()


# -- errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,pattern", [
    (lambda: StepDecay(step_size=0), r"step_size=0 must be a whole number ≥ 1"),
    (lambda: StepDecay(step_size=2.5), r"step_size=2\.5"),
    (lambda: StepDecay(gamma=0.0), r"gamma=0\.0 .*\(0, 1\]"),
    (lambda: StepDecay(gamma=1.5), r"gamma=1\.5"),
    (lambda: ExponentialDecay(gamma=-0.9), r"gamma=-0\.9"),
    (lambda: InverseTime(lmbda=-1.0), r"lmbda=-1\.0 .*≥ 0"),
    (lambda: Cosine(total=0), r"total=0"),
    (lambda: Cosine(total=10, eta_min=-0.1), r"eta_min=-0\.1"),
    (lambda: OneCycle(total=10, max_eta=0.0), r"max_eta=0\.0"),
    (lambda: OneCycle(total=10, max_eta=1.0, pct_start=1.0), r"pct_start=1\.0"),
    (lambda: OneCycle(total=10, max_eta=1.0, anneal="square"), r"anneal='square'.*'cos' or 'linear'"),
    (lambda: OneCycle(total=10, max_eta=1.0, div_factor=0.5), r"div_factor=0\.5"),
    (lambda: Cosine(total=10, unit="batch"), r"unit='batch'.*'epoch' or 'step'"),
    (lambda: ExponentialDecay(gamma="fast"), r"gamma='fast' is not a number"),
    (lambda: HalveOnPlateau(patience=0), r"patience=0"),
    (lambda: HalveOnPlateau(factor=1.0), r"factor=1\.0"),
    (lambda: get_schedule("cosine", total=10, gamma=0.5), r"unknown option 'gamma'.*cosine\(total\[, eta_min\]\[, unit\]\)"),
])
def test_bad_arguments_are_one_line_errors(make, pattern):
    with pytest.raises(NndlError, match=pattern) as info:
        make()
    assert "\n" not in str(info.value)


def test_unknown_schedule_lists_the_valid_ones():
    with pytest.raises(NndlError) as info:
        get_schedule("warm_restarts")
    for name in SCHEDULES:
        assert name in str(info.value)
    assert set(SCHEDULES) >= {"constant", "plateau", "step_decay", "exponential", "inverse_time", "cosine",
                              "one_cycle"}


def test_get_schedule_none_and_passthrough():
    assert type(get_schedule(None)) is Schedule
    s = Cosine(10)
    assert get_schedule(s) is s
    assert isinstance(get_schedule("One-Cycle", total=10, max_eta=0.1), OneCycle)


# -- a schedule that brings η to 0 before training ends ------------------------------------------------------
@pytest.mark.parametrize("schedule, warned", [
    (Cosine(total=12), False), (Cosine(total=6), True), (Cosine(total=3, unit="epoch"), False),
    (Cosine(total=2, unit="epoch"), True), (ExponentialDecay(0.01, unit="step"), True),
    (ExponentialDecay(0.5), False), (OneCycle(12, 1.0), False), (HalveOnPlateau(1), False)])
def test_a_schedule_that_reaches_zero_early_is_warned_about(schedule, warned):
    import warnings

    from nndl.errors import NndlWarning

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 3)).astype(np.float32), rng.integers(0, 2, 20)
    trainer = Trainer(5, [LearningRateSchedule(schedule, monitor="training_cost")], verbose=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer.fit(Classifier(Network.from_sizes([3, 4, 2], seed=0), SGD(0.5)), (x, y), 3)    # 3 epochs × 4 steps
    ours = [w for w in caught if issubclass(w.category, NndlWarning)]
    assert len(ours) == int(warned), [str(w.message) for w in ours]
