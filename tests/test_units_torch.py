"""PyTorch as an independent oracle for the course notes' units and costs: PReLU, hard-tanh,
the multiclass margin loss, Huber and L1 — values and gradients, float64."""
import numpy as np
import pytest
from oracles import oracle

from nndl.activations import get_activation
from nndl.costs import get_cost
from nndl.layers import PReLU


@pytest.fixture
def torch():
    return oracle("torch")


def test_prelu_matches_torch(torch, rng):
    x = rng.standard_normal((6, 4))
    layer = PReLU(0.2)
    layer.build((4,), rng, np.float64)
    layer.alpha.value[...] = [0.1, 0.2, 0.3, 0.4]
    grad = rng.standard_normal((6, 4))
    a = layer.forward(x)
    gx = layer.backward(grad)
    tx = torch.tensor(x, requires_grad=True)
    ta = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=torch.float64, requires_grad=True)
    out = torch.nn.functional.prelu(tx, ta)
    out.backward(torch.tensor(grad))
    assert np.allclose(a, out.detach().numpy()) and np.allclose(gx, tx.grad.numpy())
    assert np.allclose(layer.alpha.grad, ta.grad.numpy())


def test_hard_tanh_matches_torch(torch, rng):
    z = rng.standard_normal(50) * 2
    act = get_activation("hard_tanh")
    tz = torch.tensor(z, requires_grad=True)
    torch.nn.functional.hardtanh(tz).sum().backward()
    assert np.allclose(act.forward(z), torch.nn.functional.hardtanh(torch.tensor(z)).numpy())
    assert np.allclose(act.prime(z, None), tz.grad.numpy())


@pytest.mark.parametrize("name,torch_loss", [
    ("multiclass_hinge", lambda F, a, y: F.multi_margin_loss(a, y.argmax(1), reduction="sum") * a.shape[1]),
    ("huber", lambda F, a, y: F.huber_loss(a, y, reduction="sum", delta=1.0)),
    ("l1", lambda F, a, y: F.l1_loss(a, y, reduction="sum")),
])
def test_costs_match_torch(torch, rng, name, torch_loss):
    # torch's multi_margin_loss is Weston–Watkins divided by the number of classes
    n, k = 8, 4
    a = rng.standard_normal((n, k)) * 2
    y = np.eye(k)[rng.integers(0, k, n)] if name == "multiclass_hinge" else rng.standard_normal((n, k))
    cost = get_cost(name)
    ta = torch.tensor(a, requires_grad=True)
    loss = torch_loss(torch.nn.functional, ta, torch.tensor(y)) / n
    loss.backward()
    assert cost.fn(a, y) == pytest.approx(loss.item())
    assert np.allclose(cost.derivative(a, y) / n, ta.grad.numpy())
