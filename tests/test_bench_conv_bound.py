"""The lean conv step that ``bench_conv.py --bound`` times must do nndl's real work: the same gradients."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from conv_lean_step import LeanConvStep, SplitLeanStep  # noqa: E402

from nndl.network import Network  # noqa: E402
from nndl.spec import parse_spec  # noqa: E402

SPEC = "conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10)"


def _net_and_batch(n, dtype):
    rng = np.random.default_rng(3)
    net = Network(parse_spec(SPEC, (1, 28, 28)), (1, 28, 28), cost="log_likelihood", seed=1, dtype=dtype)
    x = rng.random((n, 1, 28, 28)).astype(dtype)
    x[:, :, :6] = 0                                   # blank rows: tied maxima, as in MNIST's background
    return net, x, rng.integers(0, 10, n)


@pytest.mark.parametrize("n", [1, 10])
def test_lean_step_has_nndls_gradients(n):
    net, x, y = _net_and_batch(n, np.float64)
    step = LeanConvStep.from_network(net, n, eta=0.1)
    theta = step.theta.copy()
    step.step(x, y)
    net.backprop(x, net.one_hot(y))
    for got, param in zip(step.nndl_gradients(), net.params):
        np.testing.assert_allclose(got, param.grad, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(step.theta, theta - 0.1 * step.grad, rtol=1e-12)



def test_split_step_makes_the_whole_steps_update():
    from concurrent.futures import ThreadPoolExecutor

    net, x, y = _net_and_batch(10, np.float64)
    whole = LeanConvStep.from_network(net, 10, eta=0.1)
    with ThreadPoolExecutor(1) as pool:
        split = SplitLeanStep(net, 10, 0.1, pool)
        for _ in range(2):
            whole.step(x, y)
            split.step(x, y)
    np.testing.assert_allclose(split.theta, whole.theta, rtol=1e-10, atol=1e-13)
