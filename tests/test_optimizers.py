"""Optimizers: hand-computed first steps, convergence, XOR, clipping, noise, checkpoints, errors."""
import inspect
import io
import math

import numpy as np
import pytest

from oracles import oracle

from nndl.errors import NndlError
from nndl.layers.base import Parameter
from nndl.network import Network
from nndl.optim import (OPTIMIZERS, SGD, Adadelta, Adagrad, Adam, Cosine, Momentum, Nesterov, Optimizer, RMSprop,
                        Rprop, default_hyperparameters, get_optimizer)
from nndl.models import Classifier
from nndl.trainer import Trainer

W0 = [1.0, -2.0, 0.5]
G1 = [1.0, 2.0, -4.0]
G2 = [0.5, -1.0, 0.0]


def two_steps(opt, w0=W0, g1=G1, g2=G2):
    """Apply gradients g1 then g2 to one float64 parameter; return the values after each step."""
    p = Parameter("w", np.array(w0, dtype=np.float64), regularize=True)
    out = []
    for g in (g1, g2):
        p.grad = np.array(g, dtype=np.float64)
        opt.step([p])
        out.append(p.value.copy())
    return out


# -- first two steps against hand computation -------------------------------------------------
def test_sgd_two_steps_by_hand():
    w1, w2 = two_steps(SGD(0.1))
    # w1 = w0 − 0.1 g1 = (1 − 0.1, −2 − 0.2, 0.5 + 0.4)
    np.testing.assert_allclose(w1, [0.9, -2.2, 0.9], rtol=0, atol=1e-12)
    # w2 = w1 − 0.1 g2 = (0.9 − 0.05, −2.2 + 0.1, 0.9)
    np.testing.assert_allclose(w2, [0.85, -2.1, 0.9], rtol=0, atol=1e-12)


def test_momentum_two_steps_by_hand():
    w1, w2 = two_steps(Momentum(0.1, mu=0.9))
    # v1 = −0.1 g1 = (−0.1, −0.2, 0.4);  w1 = w0 + v1
    np.testing.assert_allclose(w1, [0.9, -2.2, 0.9], rtol=0, atol=1e-12)
    # v2 = 0.9 v1 − 0.1 g2 = (−0.09 − 0.05, −0.18 + 0.1, 0.36) = (−0.14, −0.08, 0.36)
    np.testing.assert_allclose(w2, [0.76, -2.28, 1.26], rtol=0, atol=1e-12)


def test_nesterov_two_steps_by_hand():
    w1, w2 = two_steps(Nesterov(0.1, mu=0.9))
    # v1 = (−0.1, −0.2, 0.4);  w1 = w0 + 0.9 v1 − 0.1 g1 = (1 − 0.09 − 0.1, −2 − 0.18 − 0.2, 0.5 + 0.36 + 0.4)
    np.testing.assert_allclose(w1, [0.81, -2.38, 1.26], rtol=0, atol=1e-12)
    # v2 = (−0.14, −0.08, 0.36);  w2 = w1 + 0.9 v2 − 0.1 g2
    #    = (0.81 − 0.126 − 0.05, −2.38 − 0.072 + 0.1, 1.26 + 0.324 − 0)
    np.testing.assert_allclose(w2, [0.634, -2.352, 1.584], rtol=0, atol=1e-12)


def test_adagrad_two_steps_by_hand():
    w1, w2 = two_steps(Adagrad(0.1, eps=1e-8))
    # G1 = g1² = (1, 4, 16):  w1 = w0 − 0.1 g1/|g1| = w0 − 0.1 sign(g1)
    np.testing.assert_allclose(w1, [0.9, -2.1, 0.6], rtol=0, atol=1e-8)
    # G2 = (1.25, 5, 16):  0.5/√1.25 = 1/√5,  −1/√5,  0
    r = 0.1 / math.sqrt(5.0)
    np.testing.assert_allclose(w2, [0.9 - r, -2.1 + r, 0.6], rtol=0, atol=1e-8)


def test_adadelta_two_steps_by_hand():
    # η = 2 checks that η only scales the step and that E[Δw²] averages the unscaled Δw.
    w1, w2 = two_steps(Adadelta(eta=2.0, rho=0.5, eps=0.01))
    # E[g²]₁ = 0.5 g1² = (0.5, 2, 8);  Δ1 = −√(0 + 0.01)/√(E[g²]₁ + 0.01) g1
    d1 = [-0.1 / math.sqrt(0.51) * 1.0, -0.1 / math.sqrt(2.01) * 2.0, -0.1 / math.sqrt(8.01) * -4.0]
    np.testing.assert_allclose(w1, [1.0 + 2 * d1[0], -2.0 + 2 * d1[1], 0.5 + 2 * d1[2]], rtol=0, atol=1e-12)
    # E[Δ²]₁ = 0.5 Δ1² = 0.5 (0.01/0.51, 0.04/2.01, 0.16/8.01)
    edx = [0.5 * 0.01 / 0.51, 0.5 * 0.04 / 2.01, 0.5 * 0.16 / 8.01]
    # E[g²]₂ = 0.5 E[g²]₁ + 0.5 g2² = (0.25 + 0.125, 1 + 0.5, 4 + 0) = (0.375, 1.5, 4)
    eg = [0.375, 1.5, 4.0]
    d2 = [-math.sqrt(edx[i] + 0.01) / math.sqrt(eg[i] + 0.01) * G2[i] for i in range(3)]
    np.testing.assert_allclose(w2, [w1[i] + 2 * d2[i] for i in range(3)], rtol=0, atol=1e-12)


def test_rmsprop_two_steps_by_hand():
    w1, w2 = two_steps(RMSprop(0.01, rho=0.9, eps=1e-8))
    # s1 = 0.1 g1² = (0.1, 0.4, 1.6);  g1/√s1 = sign(g1)/√0.1
    r = 0.01 / math.sqrt(0.1)
    np.testing.assert_allclose(w1, [1.0 - r, -2.0 - r, 0.5 + r], rtol=0, atol=1e-8)
    # s2 = 0.9 s1 + 0.1 g2² = (0.09 + 0.025, 0.36 + 0.1, 1.44) = (0.115, 0.46, 1.44)
    expected = [1.0 - r - 0.01 * 0.5 / math.sqrt(0.115), -2.0 - r + 0.01 * 1.0 / math.sqrt(0.46), 0.5 + r]
    np.testing.assert_allclose(w2, expected, rtol=0, atol=1e-8)


def test_adam_two_steps_by_hand():
    w1, w2 = two_steps(Adam(0.1, beta1=0.9, beta2=0.999, eps=1e-8))
    # t = 1: m̂ = g1, v̂ = g1², so the step is η sign(g1)
    np.testing.assert_allclose(w1, [0.9, -2.1, 0.6], rtol=0, atol=1e-8)
    # t = 2: m = 0.09 g1 + 0.1 g2 = (0.14, 0.08, −0.36);  m̂ = m / (1 − 0.81)
    m_hat = np.array([0.14, 0.08, -0.36]) / 0.19
    # v = 0.999·0.001 g1² + 0.001 g2² = (0.001249, 0.004996, 0.015984);  v̂ = v / (1 − 0.999²)
    v_hat = np.array([0.001249, 0.004996, 0.015984]) / 0.001999
    np.testing.assert_allclose(w2, np.array([0.9, -2.1, 0.6]) - 0.1 * m_hat / np.sqrt(v_hat), rtol=0, atol=1e-8)


def test_rprop_steps_by_hand():
    opt = Rprop(eta=0.1, eta_plus=1.2, eta_minus=0.5)
    w1, w2 = two_steps(opt, w0=[1.0, -2.0, 0.5], g1=[1.0, -2.0, 0.5], g2=[2.0, 1.0, 0.5])
    # step 1: Δ = Δ₀ = 0.1 everywhere, w1 = w0 − 0.1 sign(g1)
    np.testing.assert_allclose(w1, [0.9, -1.9, 0.4], rtol=0, atol=1e-12)
    # step 2: signs kept, flipped, kept → Δ = (0.12, 0.05, 0.12); the flipped weight does not move
    np.testing.assert_allclose(w2, [0.78, -1.9, 0.28], rtol=0, atol=1e-12)
    (state,) = opt.state.values()                                      # the one parameter's
    np.testing.assert_allclose(state["step"], [0.12, 0.05, 0.12], rtol=0, atol=1e-12)
    # step 3, g = (1, 1, −1): the remembered gradient of weight 2 is 0 (iRprop⁻), so its Δ stays 0.05 and it
    # moves; weight 3 flips (Δ = 0.06) and stays; weight 1 grows to Δ = 0.144
    (p,) = opt.state
    p.grad = np.array([1.0, 1.0, -1.0])
    opt.step([p])
    np.testing.assert_allclose(p.value, [0.636, -1.95, 0.28], rtol=0, atol=1e-12)
    np.testing.assert_allclose(opt.state[p]["step"], [0.144, 0.05, 0.06], rtol=0, atol=1e-12)


def test_rprop_step_bounds():
    p = Parameter("w", np.zeros(2))
    opt = Rprop(eta=40.0, step_min=0.3)
    moves = []
    for g in ([1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [1.0, -1.0], [1.0, 1.0], [1.0, -1.0]):
        before = p.value.copy()
        p.grad = np.array(g)
        opt.step([p])
        moves.append(before - p.value)
    # weight 1: Δ = 40, 48, 57.6 → capped at Δ_max = 50, 50, ...
    np.testing.assert_allclose([m[0] for m in moves], [40, 48, 50, 50, 50, 50])
    # weight 2 alternates: move 40; flip (Δ 20, no move); prev 0 so move −20 ...; flip (Δ 10) ...
    np.testing.assert_allclose([m[1] for m in moves], [40, 0, 20, 0, 10, 0])
    p2, opt2 = Parameter("w", np.zeros(1)), Rprop(eta=1.0, step_min=0.3)
    for g in (1.0, -1.0, 1.0, -1.0, 1.0, -1.0, 1.0):
        p2.grad = np.array([g])
        opt2.step([p2])
    assert opt2.state[p2]["step"][0] == pytest.approx(0.3)         # 1 → 0.5 → 0.3 (Δ_min)


def test_sgd_and_momentum_keep_their_public_behaviour():
    assert Momentum().config() == {"name": "momentum", "eta": 0.1, "mu": 0.9}
    assert SGD().config() == {"name": "sgd", "eta": 0.1}
    opt = Momentum(0.5, 0.5)
    two_steps(opt)
    assert set(opt.state_arrays(list(opt.state))) == {"0.v"}


# -- convergence on a convex quadratic --------------------------------------------------------
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])     # symmetric, eigenvalues 0.71 .. 3.64
B = np.array([1.0, -2.0, 0.5])
W_STAR = np.array([16.0, -31.0, 24.0]) / 17.0                         # A⁻¹b, solved by hand

QUADRATIC = {
    "sgd": (dict(eta=0.2), None, 1e-10),
    "momentum": (dict(eta=0.05, mu=0.9), None, 1e-10),
    "nesterov": (dict(eta=0.05, mu=0.9), None, 1e-10),
    "adagrad": (dict(eta=0.5), None, 1e-10),
    "adam": (dict(eta=0.05), None, 1e-8),
    # With a constant η, RMSprop and Adadelta end in a limit cycle of size ~η around w*
    # (their step does not shrink with the gradient); annealing η is the usual cure.
    "rmsprop": (dict(eta=0.01), Cosine(2000), 1e-8),
    "adadelta": (dict(eta=1.0), Cosine(3000), 1e-8),
    "rprop": (dict(eta=0.1), None, 1e-5),                              # full batch: the exact gradient
    "adaptive_gains": (dict(eta=0.05, mu=0.5), None, 1e-10),
    "quickprop": (dict(eta=0.1), None, 1e-10),
}


def test_quadratic_solution_is_right():
    np.testing.assert_allclose(A @ W_STAR, B, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(A) > 0)


@pytest.mark.parametrize("name", sorted(QUADRATIC))
def test_each_optimizer_converges_on_a_convex_quadratic(name):
    kwargs, schedule, tol = QUADRATIC[name]
    opt = get_optimizer(name, **kwargs)
    p = Parameter("w", np.zeros(3))
    for _ in range(3000):
        if schedule is not None:
            opt.eta = schedule.at_step(opt.t, kwargs["eta"])
        p.grad = A @ p.value - B                                       # ∇(½ wᵀAw − bᵀw)
        opt.step([p])
    np.testing.assert_allclose(p.value, W_STAR, rtol=0, atol=tol)


def test_every_registered_optimizer_is_tested():
    assert set(QUADRATIC) == set(OPTIMIZERS) == set(XOR)


# -- XOR with a small MLP through the trainer ---------------------------------------------------
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])
XOR = {"sgd": dict(eta=0.5), "momentum": dict(eta=0.1), "nesterov": dict(eta=0.1), "adagrad": dict(eta=0.1),
       "adadelta": dict(eta=1.0), "rmsprop": dict(eta=0.01), "adam": dict(eta=0.01), "rprop": dict(eta=0.01),
       "adaptive_gains": dict(eta=0.5, mu=0.5), "quickprop": dict(eta=0.5)}


@pytest.mark.parametrize("name", sorted(XOR))
def test_each_optimizer_trains_an_mlp_on_xor(name):
    net = Network.from_sizes([2, 8, 2], activation="tanh", cost="log_likelihood", seed=0)
    model = Classifier(net, get_optimizer(name, **XOR[name]))
    history = Trainer(4, verbose=False).fit(model, (XOR_X, XOR_Y), 300)                      # batch = all 4 points (Rprop's full batch)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)
    assert history["training_cost"][-1] < 0.15 < history["training_cost"][0]


# -- gradient clipping ------------------------------------------------------------------------------
def _params_with_grads(g_w, g_b):
    w = Parameter("W", np.zeros((2, 2)), regularize=True)
    b = Parameter("b", np.zeros(2))
    w.grad, b.grad = np.array(g_w, dtype=float), np.array(g_b, dtype=float)
    return [w, b]


def test_clipping_scales_all_gradients_to_the_global_norm():
    params = _params_with_grads([[3.0, 0.0], [0.0, 0.0]], [0.0, 4.0])     # global norm 5
    opt = SGD(1.0, clip_norm=1.0)
    opt.step(params)
    assert opt.last_grad_norm == pytest.approx(5.0)
    np.testing.assert_allclose(params[0].value, [[-0.6, 0.0], [0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(params[1].value, [0.0, -0.8], atol=1e-12)
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    assert total == pytest.approx(1.0)


def test_clipping_leaves_small_gradients_alone():
    params = _params_with_grads([[0.3, 0.0], [0.0, 0.0]], [0.0, 0.4])     # norm 0.5 < 1
    SGD(1.0, clip_norm=1.0).step(params)
    np.testing.assert_allclose(params[0].value, [[-0.3, 0.0], [0.0, 0.0]], atol=1e-12)
    np.testing.assert_allclose(params[1].value, [0.0, -0.4], atol=1e-12)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_clipping_caps_the_norm_for_any_optimizer(name):
    rng = np.random.default_rng(0)
    opt = get_optimizer(name, clip_norm=0.5)
    params = [Parameter("W", rng.standard_normal((4, 3)), True), Parameter("b", rng.standard_normal(4))]
    for _ in range(3):
        for p in params:
            p.grad = 10 * rng.standard_normal(p.value.shape)
        opt.step(params)
        assert math.sqrt(sum(float((p.grad ** 2).sum()) for p in params)) == pytest.approx(0.5)


# -- annealed gradient noise ----------------------------------------------------------------------
def _noise_after_steps(seed, steps=3, size=5, dtype=np.float64, **kwargs):
    opt = SGD(1.0, noise=0.3, seed=seed, **kwargs)
    p = Parameter("w", np.zeros(size, dtype=dtype))
    out = []
    for _ in range(steps):
        before = p.value.copy()
        p.grad = np.zeros(size, dtype=dtype)
        opt.step([p])
        out.append(before - p.value)                                # the noise itself (η = 1, g = 0)
    return out


def test_gradient_noise_same_seed_same_numbers():
    a, b, c = _noise_after_steps(7), _noise_after_steps(7), _noise_after_steps(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a[0], c[0])
    assert not np.allclose(a[0], a[1])                               # fresh noise every step
    a32 = _noise_after_steps(7, dtype=np.float32)
    assert a32[0].dtype == np.float32


@pytest.mark.parametrize("t", [0, 1, 9, 99])
def test_gradient_noise_variance_decays_as_specified(t):
    n = 200_000
    opt = SGD(1.0, noise=0.5, noise_gamma=0.55, seed=1)
    opt.t = t                                                         # as if t steps had been taken
    p = Parameter("w", np.zeros(n))
    p.grad = np.zeros(n)
    opt.step([p])
    expected = 0.5 / (1 + t) ** 0.55                                  # σₜ² = η_noise / (1 + t)^γ
    assert np.var(p.value) == pytest.approx(expected, rel=0.02)
    assert abs(np.mean(p.value)) < 5 * math.sqrt(expected / n)


def test_noise_off_costs_nothing_and_draws_nothing():
    opt = Adam()
    assert opt.rng is None and opt.noise == 0.0 and opt.clip_norm is None
    assert "noise_rng" not in opt.state_arrays([])


def test_noise_then_clipping_keeps_the_cap():
    opt = SGD(1.0, noise=100.0, clip_norm=1.0, seed=0)
    p = Parameter("w", np.zeros(10))
    p.grad = np.zeros(10)
    opt.step([p])
    assert np.linalg.norm(p.value) == pytest.approx(1.0)


# -- checkpoints: state round trip ----------------------------------------------------------------
ROUND_TRIP = [("sgd", {}), ("momentum", {}), ("nesterov", {}), ("adagrad", {}), ("adadelta", {}),
              ("rmsprop", dict(mu=0.9)), ("adaptive_gains", dict(mu=0.9)), ("quickprop", {}),
              ("rmsprop", {}), ("adam", {}), ("rprop", {}),
              ("adam", dict(clip_norm=0.7, noise=0.01, noise_gamma=0.6, seed=3)),
              ("rprop", dict(noise=0.01, seed=4)), ("momentum", dict(noise=0.1))]


def _grads(params, k):
    for i, p in enumerate(params):
        p.grad = np.sin(3.0 * p.value + k + i) + 0.1 * p.value       # a deterministic gradient field


@pytest.mark.parametrize("name,options", ROUND_TRIP)
def test_state_round_trip_continues_exactly(name, options):
    def fresh_params():
        rng = np.random.default_rng(0)
        return [Parameter("W", rng.standard_normal((3, 2)).astype(np.float32), True),
                Parameter("b", rng.standard_normal(3).astype(np.float32))]

    steady, steady_params = get_optimizer(name, **options), fresh_params()
    for k in range(10):
        _grads(steady_params, k)
        steady.step(steady_params)

    first, params = get_optimizer(name, **options), fresh_params()
    for k in range(5):
        _grads(params, k)
        first.step(params)
    buffer = io.BytesIO()                                             # through a real .npz, as a checkpoint is
    np.savez(buffer, **first.state_arrays(params))
    buffer.seek(0)
    with np.load(buffer) as z:
        arrays = {key: z[key] for key in z.files}
    config = dict(first.config())
    second = get_optimizer(config.pop("name"), **config)
    second.load_state_arrays(arrays, params, first.t)
    for k in range(5, 10):
        _grads(params, k)
        second.step(params)
    assert second.t == steady.t == 10
    for p, q in zip(params, steady_params):
        np.testing.assert_array_equal(p.value, q.value)


def test_config_round_trips_through_get_optimizer():
    for name in OPTIMIZERS:
        opt = get_optimizer(name, clip_norm=2.0, noise=0.1, seed=5)
        config = dict(opt.config())
        again = get_optimizer(config.pop("name"), **config)
        assert again.config() == opt.config()


def test_loading_foreign_state_is_an_error():
    with pytest.raises(NndlError, match="unexpected entry"):
        Adam().load_state_arrays({"7.m": np.zeros(2)}, [Parameter("w", np.zeros(2))] * 2, t=1)


# -- state by parameter -----------------------------------------------------------------------------
def _param(value, grad):
    p = Parameter("w", np.array(value, dtype=np.float64))
    p.grad = np.array(grad, dtype=np.float64)
    return p


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_alternating_parameter_lists_keep_their_own_state(name):
    """Two lists stepped in turn (a GAN's two networks) move exactly as with two optimizers of their own."""
    together = get_optimizer(name)
    alone = {"a": get_optimizer(name), "b": get_optimizer(name)}
    shared = {"a": _param([1.0, -2.0], 0.0), "b": _param([0.5, 3.0], 0.0)}
    own = {"a": _param([1.0, -2.0], 0.0), "b": _param([0.5, 3.0], 0.0)}
    for k in range(6):
        which = "a" if k % 2 == 0 else "b"
        g = np.array([np.sin(k + 1.0), np.cos(k + 2.0)]) * (1 if which == "a" else 5)   # same shapes, other scales
        shared[which].grad, own[which].grad = g.copy(), g.copy()
        together.step([shared[which]])
        alone[which].step([own[which]])
    for which in "ab":
        np.testing.assert_allclose(shared[which].value, own[which].value, rtol=1e-12, atol=0)


def test_frozen_or_gradient_free_parameters_are_left_alone():
    opt = Adam(0.1)
    moving, frozen, unreached = _param([1.0], [1.0]), _param([2.0], [1.0]), Parameter("u", np.array([3.0]))
    frozen.trainable = False
    opt.step([moving, frozen, unreached])
    assert moving.value[0] != 1.0 and frozen.value[0] == 2.0 and unreached.value[0] == 3.0
    assert set(opt.state) == {moving}


# -- hyper-parameters -----------------------------------------------------------------------------
@pytest.mark.parametrize("make,pattern", [
    (lambda: Adam(beta1=1.0), r"beta1.*=1\.0.*\[0, 1\)"),
    (lambda: Adam(beta2=1.5), r"beta2.*=1\.5"),
    (lambda: Adam(eps=0.0), r"eps=0\.0.*> 0"),
    (lambda: Adagrad(eps=-1e-8), r"eps=-1e-08"),
    (lambda: SGD(eta=-0.1), r"eta.*=-0\.1.*> 0"),
    (lambda: Adam(eta=0.0), r"eta.*=0\.0"),
    (lambda: RMSprop(rho=-0.1), r"decay rate rho=-0\.1"),
    (lambda: Adadelta(rho=1.0), r"decay rate rho=1\.0"),
    (lambda: Momentum(mu=1.0), r"mu=1\.0"),
    (lambda: Nesterov(mu=-0.5), r"mu=-0\.5"),
    (lambda: Rprop(eta_plus=0.9), r"eta_plus=0\.9"),
    (lambda: Rprop(eta_minus=1.5), r"eta_minus=1\.5"),
    (lambda: Rprop(eta=100.0), r"initial step eta=100\.0"),
    (lambda: Rprop(step_min=1.0, step_max=0.5), r"step_max=0\.5"),
    (lambda: SGD(clip_norm=0.0), r"clip_norm=0\.0"),
    (lambda: SGD(noise=-1.0), r"noise.*=-1\.0"),
    (lambda: SGD(noise=0.1, noise_gamma=-0.5), r"noise_gamma=-0\.5"),
    (lambda: SGD(noise=0.1, seed=-1), r"seed=-1"),
    (lambda: Adam(beta1="high"), r"beta1.*'high' is not a number"),
    (lambda: get_optimizer("adam", mu=0.9), r"no hyper-parameter 'mu'.*beta1"),
])
def test_bad_hyperparameters_are_one_line_errors(make, pattern):
    with pytest.raises(NndlError, match=pattern) as info:
        make()
    assert "\n" not in str(info.value)


def test_unknown_optimizer_lists_the_valid_ones():
    with pytest.raises(NndlError) as info:
        get_optimizer("adamw")
    message = str(info.value)
    assert "adamw" in message
    for name in ("adadelta", "adagrad", "adam", "momentum", "nesterov", "rmsprop", "rprop", "sgd"):
        assert name in message


def test_get_optimizer_by_name_and_passthrough():
    opt = get_optimizer("Adam", eta=0.01)
    assert isinstance(opt, Adam) and opt.eta == 0.01
    assert get_optimizer(opt) is opt
    assert isinstance(get_optimizer(" RMSprop "), RMSprop)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_default_hyperparameters_match_the_constructors(name):
    cls = OPTIMIZERS[name]
    signature = inspect.signature(cls)
    defaults = {k: v.default for k, v in signature.parameters.items() if v.kind is v.POSITIONAL_OR_KEYWORD}
    if cls is SGD:
        defaults = {"eta": inspect.signature(Optimizer).parameters["eta"].default}
    assert defaults == cls.default_hyperparameters == default_hyperparameters()[name]
    assert cls().config() == {"name": name, **cls.default_hyperparameters}
    assert cls.__doc__ and "→" in cls.__doc__                       # every class states its update rule


def test_a_new_optimizer_needs_only_update():
    class SignSGD(Optimizer):
        name = "signsgd"

        def update(self, p, grad, state):
            p.value -= self.eta * np.sign(grad)

    p = Parameter("w", np.array([1.0, 1.0]))
    p.grad = np.array([3.0, -0.1])
    SignSGD(0.5, clip_norm=10.0).step([p])
    np.testing.assert_allclose(p.value, [0.5, 1.5])


# -- PyTorch as an independent oracle (optional) ------------------------------------------------
def test_against_torch_for_thirty_random_steps():
    torch = oracle("torch")
    cases = [
        (SGD(0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        (Nesterov(0.1, 0.9), lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
        (Adagrad(0.1, eps=1e-8), lambda ps: torch.optim.Adagrad(ps, lr=0.1, eps=1e-8)),
        (Adadelta(1.0, rho=0.9, eps=1e-6), lambda ps: torch.optim.Adadelta(ps, lr=1.0, rho=0.9, eps=1e-6)),
        (RMSprop(0.01, rho=0.9, eps=1e-8), lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8)),
        (RMSprop(0.01, rho=0.9, eps=1e-8, mu=0.9),
         lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-8, momentum=0.9)),
        (Adam(0.01), lambda ps: torch.optim.Adam(ps, lr=0.01)),
        (Rprop(0.01), lambda ps: torch.optim.Rprop(ps, lr=0.01)),
    ]
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(30)]
    for opt, make_torch in cases:
        p = Parameter("W", w0.copy(), True)
        t = torch.tensor(w0.copy(), requires_grad=True)
        topt = make_torch([t])
        for g in grads:
            p.grad = g.copy()
            opt.step([p])
            t.grad = torch.tensor(g.copy())
            topt.step()
        np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=0, atol=1e-12, err_msg=opt.name)
