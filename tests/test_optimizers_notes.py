"""The course notes' optimizers — RMSprop with momentum, per-weight adaptive gains, Quickprop —
against values derived by hand, and reachable from ``nndl train --optimizer``."""
import json
import math

import numpy as np
import pytest
from test_cli import nndl

from nndl.errors import NndlError
from nndl.layers.base import Parameter
from nndl.optim import AdaptiveGains, Quickprop, RMSprop, get_optimizer


def steps(opt, w0, grads):
    """Apply ``grads`` in turn to one float64 parameter starting at ``w0``; the values after each step."""
    p = Parameter("w", np.array(w0, dtype=np.float64))
    out = []
    for g in grads:
        p.grad = np.array(g, dtype=np.float64)
        opt.step([p])
        out.append(p.value.copy())
    return out, opt.state[p]


# -- RMSprop with momentum ---------------------------------------------------------------------
def test_rmsprop_with_momentum_two_steps_by_hand():
    (w1, w2), _ = steps(RMSprop(0.01, rho=0.9, eps=1e-300, mu=0.5), [1.0, -2.0], [[1.0, 2.0], [0.5, -1.0]])
    # s1 = 0.1 g1² = (0.1, 0.4);  v1 = g1/√s1 = (1/√0.1, 2/√0.4) = (√10, √10)
    v1 = np.array([math.sqrt(10), math.sqrt(10)])
    np.testing.assert_allclose(w1, [1.0 - 0.01 * v1[0], -2.0 - 0.01 * v1[1]], rtol=0, atol=1e-12)
    # s2 = 0.9 s1 + 0.1 g2² = (0.115, 0.46);  v2 = 0.5 v1 + g2/√s2
    v2 = 0.5 * v1 + np.array([0.5 / math.sqrt(0.115), -1.0 / math.sqrt(0.46)])
    np.testing.assert_allclose(w2, w1 - 0.01 * v2, rtol=0, atol=1e-12)


def test_rmsprop_without_momentum_keeps_no_velocity():
    _, state = steps(RMSprop(0.01), [1.0], [[1.0], [2.0]])
    assert set(state) == {"s"}


# -- per-weight adaptive gains ------------------------------------------------------------------
def test_adaptive_gains_by_hand_without_momentum():
    opt = AdaptiveGains(eta=0.1)
    (w1, w2, w3), state = steps(opt, [1.0, -2.0, 0.5], [[1.0, 2.0, -4.0], [0.5, -1.0, 0.0], [1.0, 1.0, 1.0]])
    # step 1: no last step, gains stay 1: w1 = w0 − 0.1 g1
    np.testing.assert_allclose(w1, [0.9, -2.2, 0.9], rtol=0, atol=1e-12)
    # step 2: signs of g2 against g1: agree (+0.05), disagree (×0.95), g = 0 (unchanged)
    np.testing.assert_allclose(w2, [0.9 - 0.1 * 1.05 * 0.5, -2.2 + 0.1 * 0.95, 0.9], rtol=0, atol=1e-12)
    # step 3: weight 1 agrees again (1.10), weight 2 flips back (0.95 × 0.95), weight 3 made no last step
    np.testing.assert_allclose(state["gain"], [1.10, 0.9025, 1.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(w3, w2 - 0.1 * np.array([1.10, 0.9025, 1.0]), rtol=0, atol=1e-12)


def test_adaptive_gains_with_momentum_compare_the_gradient_with_the_velocity():
    opt = AdaptiveGains(eta=0.1, mu=0.9)
    # g2 has g1's sign for both weights, but weight 2's velocity is dominated by ... nothing yet: after one
    # step v1 = −0.1 g1, so both agree; at step 3 weight 2's gradient turns against its velocity.
    (w1, w2, w3), state = steps(opt, [0.0, 0.0], [[1.0, 1.0], [1.0, 1.0], [1.0, -0.5]])
    v1 = np.array([-0.1, -0.1])
    v2 = 0.9 * v1 - 0.1 * 1.05 * np.array([1.0, 1.0])                  # gains 1.05, 1.05
    np.testing.assert_allclose(w2, v1 + v2, rtol=0, atol=1e-12)
    # step 3: weight 1 agrees (1.10); weight 2: −g = +0.5 against v2 < 0: ×0.95 → 0.9975
    v3 = 0.9 * v2 - 0.1 * np.array([1.10, 0.9975]) * np.array([1.0, -0.5])
    np.testing.assert_allclose(state["gain"], [1.10, 0.9975], rtol=0, atol=1e-12)
    np.testing.assert_allclose(w3, v1 + v2 + v3, rtol=0, atol=1e-12)


def test_adaptive_gains_stay_within_their_bounds():
    opt = AdaptiveGains(eta=1e-6)
    grads = [[1.0, (-1.0) ** k] for k in range(400)]                     # weight 1 agrees, weight 2 oscillates
    _, state = steps(opt, [0.0, 0.0], grads)
    # 1 + 0.05 × 399 agreements would be 20.95: capped at 10; 0.95^399 would be 1.3e-9: floored at 0.1
    np.testing.assert_allclose(state["gain"], [10.0, 0.1], rtol=0, atol=1e-12)
    _, short = steps(AdaptiveGains(eta=1e-6), [0.0, 0.0], grads[:11])
    np.testing.assert_allclose(short["gain"], [1.5, 0.95 ** 10], rtol=0, atol=1e-12)


def test_adaptive_gains_beat_plain_gradient_descent_on_an_ill_conditioned_bowl():
    """½(100 x² + y²) from (1, 1), full batch, η = 0.009 (stable for x): y crawls by (1 − η) a step
    under gradient descent; its gain grows to 10 and it converges about ten times faster."""
    def run(opt):
        p = Parameter("w", np.array([1.0, 1.0]))
        for _ in range(300):
            p.grad = np.array([100.0, 1.0]) * p.value
            opt.step([p])
        return 0.5 * (100 * p.value[0] ** 2 + p.value[1] ** 2)
    plain, gains = run(get_optimizer("sgd", eta=0.009)), run(AdaptiveGains(eta=0.009))
    assert gains < 1e-6 < 1e-3 < plain


def test_bad_gain_settings_are_one_line_errors():
    for kwargs, pattern in [(dict(gain_down=1.5), "gain_down"), (dict(gain_min=0.0), "gain_min"),
                            (dict(gain_min=2.0, gain_max=1.0), "gain_max"), (dict(mu=1.0), "mu")]:
        with pytest.raises(NndlError, match=pattern):
            AdaptiveGains(**kwargs)


# -- Quickprop -----------------------------------------------------------------------------------
def test_quickprop_secant_step_lands_on_the_minimum_of_a_parabola():
    """E = (w − 1)², g = 2(w − 1), from w = 0 with ε = 0.4: a gradient step to 0.8; the secant step
    0.4/(2 − 0.4)·0.8 = 0.2 plus the gradient term 0.16 overshoots to 1.16; the secant step back,
    −0.32/(0.4 + 0.32)·0.36 = −0.16 (no gradient term: the slope turned), lands on 1.0."""
    opt = Quickprop(eta=0.4)
    p = Parameter("w", np.array([0.0]))
    seen = []
    for _ in range(3):
        p.grad = 2.0 * (p.value - 1.0)
        opt.step([p])
        seen.append(float(p.value[0]))
    np.testing.assert_allclose(seen, [0.8, 1.16, 1.0], rtol=0, atol=1e-12)


def test_quickprop_growth_is_capped():
    """With ε = 0.1 the slope shrinks from 2 to 1.6, more than μ/(1+μ) = 0.636 of 2: the parabola's minimum
    is beyond 1.75 Δw, so the step is 1.75 × 0.2 = 0.35, plus the gradient term 0.16."""
    opt = Quickprop(eta=0.1, max_growth=1.75)
    p = Parameter("w", np.array([0.0]))
    for expected in (0.2, 0.71):
        p.grad = 2.0 * (p.value - 1.0)
        opt.step([p])
        assert p.value[0] == pytest.approx(expected, abs=1e-12)


def test_quickprop_each_weight_on_its_own_branch():
    # weight 1: gradient step, then capped growth; weight 2: a gradient that does not change (no curvature,
    # still downhill): capped growth; weight 3: a zero gradient first (no step), then a gradient step
    (w1, w2), state = steps(Quickprop(eta=0.1), [0.0, 0.0, 0.0], [[-2.0, -1.0, 0.0], [-1.6, -1.0, 3.0]])
    np.testing.assert_allclose(w1, [0.2, 0.1, 0.0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(w2, [0.2 + 0.35 + 0.16, 0.1 + 0.175 + 0.1, -0.3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(state["prev"], [-1.6, -1.0, 3.0])


# -- from the command line ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["adaptive_gains", "quickprop"])
def test_the_help_names_the_new_optimizers(name):
    from nndl.cli.main import build_parser

    parser = build_parser()
    train = parser._subparsers._group_actions[0].choices["train"]
    assert name in " ".join(train.format_help().split())


@pytest.mark.parametrize("options", [["--optimizer", "adaptive_gains", "--momentum", "0.5", "--eta", "0.5"],
                                     ["--optimizer", "quickprop", "--eta", "0.5"],
                                     ["--optimizer", "rmsprop", "--momentum", "0.9", "--eta", "0.01"]])
def test_nndl_train_takes_the_new_optimizers_full_batch(iris_csv, tmp_path, options):
    r = nndl("train", "--data", iris_csv, "--layers", "4,10,3", "--batch-size", "105", "--epochs", "150",
                 *options, "--threads", "1", "--json", "--out", tmp_path / "m.npz")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout.strip().splitlines()[-1])
    assert final["test_accuracy"] >= 0.85


def test_a_full_batch_optimizer_on_mini_batches_gets_a_note(iris_csv, tmp_path):
    r = nndl("train", "--data", iris_csv, "--layers", "4,3", "--optimizer", "quickprop", "--epochs", "1",
             "--out", tmp_path / "m.npz")
    assert r.returncode == 0 and "quickprop is a full-batch method; with mini-batches of 10" in r.stderr
    assert "--batch-size 105 for full batches" in r.stderr
