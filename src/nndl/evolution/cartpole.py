"""Cart-pole: the physics of Barto, Sutton & Anderson (1983), as in gymnasium's CartPole-v1.

A pole of half-length l = 0.5 m and mass m = 0.1 kg is hinged on a cart of mass M = 1 kg;
the controller pushes the cart with F = ±10 N.  With θ the pole's angle from upright and
g = 9.8 m/s², the equations of motion (frictionless) are

    temp = (F + m l θ̇² sin θ) / (M + m)
    θ̈    = (g sin θ − cos θ · temp) / ( l (4/3 − m cos²θ / (M + m)) )
    ẍ    = temp − m l θ̈ cos θ / (M + m)

integrated by Euler steps of τ = 0.02 s, in gymnasium's order:

    x ← x + τ ẋ,   ẋ ← ẋ + τ ẍ,   θ ← θ + τ θ̇,   θ̇ ← θ̇ + τ θ̈.

An episode starts from (x, ẋ, θ, θ̇) each uniform in [−0.05, 0.05] and fails when
|x| > 2.4 m or |θ| > 12° (2π·12/360 rad); a step earns 1 (the failing step too) and an
episode ends after 500 steps.  :class:`CartPole` steps many episodes at once, as rows of
a (K, 4) array of states; ``tests/test_evolution.py`` checks it against gymnasium step by step.
"""
from __future__ import annotations

import math

from nndl.backend import xp

GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
TOTAL_MASS = MASS_CART + MASS_POLE
HALF_LENGTH = 0.5
POLE_MASS_LENGTH = MASS_POLE * HALF_LENGTH
FORCE = 10.0
TAU = 0.02
THETA_LIMIT = 12 * 2 * math.pi / 360
X_LIMIT = 2.4
MAX_STEPS = 500


def reset(rng, episodes: int, bound: float = 0.05):
    """Starting states (episodes, 4), each component uniform in [−bound, bound] (gymnasium: 0.05)."""
    return xp.asarray(rng.uniform(-bound, bound, size=(episodes, 4)))


def step(state, push_right):
    """The states after one Euler step of τ, given (K, 4) states and K booleans (True: F = +10 N)."""
    x, x_dot, theta, theta_dot = state[:, 0], state[:, 1], state[:, 2], state[:, 3]
    force = xp.where(push_right, FORCE, -FORCE)
    cos, sin = xp.cos(theta), xp.sin(theta)
    temp = (force + POLE_MASS_LENGTH * theta_dot ** 2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - MASS_POLE * cos ** 2 / TOTAL_MASS))
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return xp.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc],
                    axis=1)


def failed(state):
    """True for the states outside |x| ≤ 2.4 m, |θ| ≤ 12°."""
    return (xp.abs(state[:, 0]) > X_LIMIT) | (xp.abs(state[:, 2]) > THETA_LIMIT)


#: Observations are divided by these before they reach a network (a fixed input scaling, not learnt).
OBSERVATION_SCALE = (X_LIMIT, 2.0, THETA_LIMIT, 2.0)


def balance(policy, starts, max_steps: int = MAX_STEPS):
    """Steps balanced (reward) in each episode from ``starts`` (K, 4): ``policy(obs (k, 4)) > 0.5`` pushes
    right.  Episodes run together; one stops at its failing step (which counts) or after ``max_steps``."""
    state = xp.array(starts, dtype=xp.float64)          # a copy: the starts stay as they were
    steps = xp.zeros(len(state), dtype=xp.int64)
    alive = xp.ones(len(state), dtype=bool)
    scale = xp.asarray(OBSERVATION_SCALE)
    for _ in range(max_steps):
        live = xp.nonzero(alive)[0]
        if len(live) == 0:
            break
        s = state[live]
        push = xp.asarray(policy(s / scale))[:, 0] > 0.5
        s = step(s, push)
        state[live] = s
        steps[live] += 1
        alive[live[failed(s)]] = False
    return steps
