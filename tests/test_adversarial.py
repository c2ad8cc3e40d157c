"""Adversarial examples: FGSM and PGD checked against finite differences, the ε-ball, a PyTorch
replica of the same weights, adversarial training that works, and the commands with bad input."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nndl.adversarial import Attack, PixelClassifier, fgsm, fooling_images, pgd
from nndl.adversarial.pgd import random_start
from nndl.errors import NndlError
from nndl.network import Network
from nndl.preprocessing import get_preprocessor
from nndl.spec import parse_spec
from oracles import oracle

REPO = Path(__file__).resolve().parents[1]
SPEC = "conv(3,3) relu pool(2) dense(6) tanh softmax(4)"


def small_net(seed=1, dtype=np.float64, spec=SPEC, shape=(1, 6, 6)):
    return Network(parse_spec(spec, shape), shape, cost="log_likelihood", seed=seed, dtype=dtype)


def varied_net(seed=3, dtype=np.float32):
    """A random net whose answers vary over uniform noise: zero-mean filters and weights (×3), no biases
    (otherwise the mean brightness decides, and every input gets the same class)."""
    net = small_net(seed, dtype)
    for p in net.params:
        if p.value.ndim > 1:
            p.value -= p.value.reshape(len(p.value), -1).mean(axis=1).reshape((-1,) + (1,) * (p.value.ndim - 1))
            p.value *= 3
        else:
            p.value[...] = 0
    return net


def cost_of(net, x, y):
    """Σᵢ C(xᵢ, yᵢ) for raw pixels (through the stored preprocessing)."""
    a = net.predict_proba(x.reshape(len(x), -1) if net.preprocessor is not None else x)
    return -np.log(a[np.arange(len(y)), y]).sum()


def finite_difference(net, x, y, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (cost_of(net, x + e, y) - cost_of(net, x - e, y)) / (2 * h)
    return g


@pytest.mark.parametrize("pre", [None, "standardize", "pca"])
def test_fgsm_is_eps_times_the_sign_of_the_finite_difference_gradient(rng, pre):
    """x′ − x = ε sign(∂C/∂x), the gradient by central differences — through the preprocessing too
    (a PCA keeping 20 of 36 components has no inverse; the attack only needs its Jacobian)."""
    net = small_net()
    if pre:
        train = rng.uniform(0, 1, (200, 36))
        net.preprocessor = get_preprocessor(pre, **({"k": 20} if pre == "pca" else {})).fit(train)
        net = _with_input(net, 20 if pre == "pca" else 36)
    x = rng.uniform(0.3, 0.7, (3,) + ((36,) if pre else (1, 6, 6)))
    y = np.array([0, 2, 3])
    model = PixelClassifier(net)
    # the stored preprocessing computes in float64 but hands float32 on: a wider step for its differences
    h = 1e-3 if pre else 1e-6
    eps = 0.1
    for target, sign in ((None, 1.0), (1, -1.0)):           # targeted: down the target's cost
        g = finite_difference(net, x, y if target is None else np.array([1, 1, 1]), h)
        # every sign without preprocessing (a pixel no path reaches has ∂C/∂x = 0 and stays); through it,
        # the signs the float32 differences can tell
        clear = np.abs(g) > 1e-3 * np.abs(g).max() if pre else np.ones(x.shape, bool)
        assert (np.abs(g) > 1e-3 * np.abs(g).max()).mean() > 0.5
        x_adv = fgsm(model, x, y, eps, target)
        np.testing.assert_allclose((x_adv - x)[clear], sign * eps * np.sign(g[clear]), atol=1e-6 if pre else 1e-12)


def _with_input(net, features):
    """A dense net of the same kind for preprocessed rows of ``features`` values."""
    out = Network(parse_spec("dense(8) tanh softmax(4)", (features,)), (features,), cost="log_likelihood", seed=2,
                  dtype=np.float64)
    out.preprocessor = net.preprocessor
    return out


def test_the_pixel_gradient_matches_finite_differences_through_zca(rng):
    net = _with_input(small_net(), 36)
    net.preprocessor = get_preprocessor("zca").fit(rng.uniform(0, 1, (200, 36)))
    x, y = rng.uniform(0, 1, (2, 36)), np.array([1, 3])
    g, _ = PixelClassifier(net).gradient(x, net.one_hot(y))
    np.testing.assert_allclose(g, finite_difference(net, x, y, 1e-3), rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("norm,eps", [("linf", 0.1), ("linf", 0.3), ("l2", 0.5), ("l2", 2.0)])
def test_pgd_stays_in_the_ball_and_the_pixel_range(rng, norm, eps):
    net = varied_net()
    model = PixelClassifier(net)
    x = rng.uniform(0, 1, (50, 1, 6, 6)).astype(np.float32)
    x[:10] = 0.0                                               # at the edges of the range
    x[10:20] = 1.0
    y = rng.integers(0, 4, 50)
    x_adv = pgd(model, x, y, eps, steps=10, step=eps / 3, norm=norm, rng=rng)
    assert x_adv.dtype == np.float32 and x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    d = (x_adv - x).reshape(50, -1).astype(np.float64)
    size = np.abs(d).max(axis=1) if norm == "linf" else np.sqrt((d ** 2).sum(axis=1))
    assert size.max() <= eps * (1 + 1e-5) + 1e-6
    assert size.max() > 0.5 * eps                              # it does move
    before = net.predict_proba(x)[np.arange(50), y]
    after = net.predict_proba(x_adv)[np.arange(50), y]
    assert after.mean() < before.mean()                        # the true class loses confidence


def test_pgd_is_stronger_than_fgsm_and_targeted_pgd_reaches_its_target(rng):
    net = varied_net()
    model = PixelClassifier(net)
    x = rng.uniform(0, 1, (200, 1, 6, 6)).astype(np.float32)
    y = net.predict(x)                                         # the net's own answers: all correct
    assert np.bincount(y, minlength=4).min() > 20
    acc_fgsm = (net.predict(fgsm(model, x, y, 0.2)) == y).mean()
    acc_pgd = (net.predict(pgd(model, x, y, 0.2, 20, rng=rng)) == y).mean()
    assert acc_pgd < acc_fgsm < 0.9
    hit = net.predict(pgd(model, x, y, 0.5, 40, step=0.05, target=2, rng=rng)) == 2
    assert hit.mean() > 0.9, hit.mean()


def test_fooling_images_reach_the_target_class(rng):
    net = varied_net()
    x, p, taken = fooling_images(PixelClassifier(net), 3, 8, steps=300, step=0.02, confidence=0.9, rng=rng)
    assert x.shape == (8, 1, 6, 6) and x.min() >= 0 and x.max() <= 1
    assert (p >= 0.9).mean() >= 0.75, p
    assert (net.predict(x) == 3).all()


# --------------------------------------------------------------------------- PyTorch oracle
def _torch_replica(torch, net):
    """The same network in PyTorch, with nndl's weights (float64)."""
    conv, dense1, dense2 = [layer for layer in net.layers if getattr(layer, "W", None) is not None]
    t = torch.tensor
    w = [t(conv.W.value), t(conv.b.value), t(dense1.W.value), t(dense1.b.value), t(dense2.W.value),
         t(dense2.b.value)]
    F = torch.nn.functional

    def forward(x):
        h = F.max_pool2d(F.relu(F.conv2d(x, w[0], w[1])), 2)
        h = torch.tanh(F.linear(h.flatten(1), w[2], w[3]))
        return F.linear(h, w[4], w[5])                       # logits; the cost is log-softmax's
    return forward


def _torch_pgd(torch, forward, x, y, eps, steps, alpha, start, norm="linf", target=None):
    """A hand-written PGD (FGSM: one step of α = ε from δ₀ = 0) in PyTorch autograd."""
    x0 = torch.tensor(x)
    goal = torch.tensor(np.full(len(y), target) if target is not None else y)
    sign = -1.0 if target is not None else 1.0
    xa = torch.clamp(x0 + torch.tensor(start), 0, 1)
    if norm == "linf":
        xa = torch.clamp(torch.min(torch.max(xa, x0 - eps), x0 + eps), 0, 1)
    for _ in range(steps):
        xa = xa.detach().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(forward(xa), goal, reduction="sum")
        (g,) = torch.autograd.grad(loss, xa)
        with torch.no_grad():
            if norm == "linf":
                xa = xa + sign * alpha * g.sign()
                xa = torch.min(torch.max(xa, x0 - eps), x0 + eps)
            else:
                n = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                xa = xa + sign * alpha * g / n
                d = xa - x0
                dn = d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
                xa = x0 + d * torch.clamp(eps / dn, max=1.0)
            xa = torch.clamp(xa, 0, 1)
    return xa.detach().numpy()


@pytest.mark.parametrize("method,norm,target", [("fgsm", "linf", None), ("pgd", "linf", None), ("pgd", "l2", None),
                                                ("pgd", "linf", 1)])
def test_attacks_match_a_pytorch_replica_of_the_same_weights(rng, method, norm, target):
    torch = oracle("torch")
    net = small_net()
    model = PixelClassifier(net)
    x = rng.uniform(0, 1, (16, 1, 6, 6))
    y = rng.integers(0, 4, 16)
    eps = 0.2 if norm == "linf" else 1.0
    forward = _torch_replica(torch, net)
    if method == "fgsm":
        ours = fgsm(model, x, y, eps, target)
        theirs = _torch_pgd(torch, forward, x, y, eps, 1, eps, np.zeros_like(x), target=target)
    else:
        start = random_start(x.shape, eps, norm, np.random.default_rng(5), np.float64)
        ours = pgd(model, x, y, eps, 10, eps / 4, norm, target=target, start=start)
        theirs = _torch_pgd(torch, forward, x, y, eps, 10, eps / 4, start, norm, target)
    np.testing.assert_allclose(ours, theirs, atol=1e-9)


# --------------------------------------------------------------------------- adversarial training
def _mnist(data_root, n):
    with gzip.open(data_root / "mnist" / "train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
    with gzip.open(data_root / "mnist" / "train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    return x.astype(np.float32) / 255.0, y.astype(np.int64)


def test_adversarial_training_lowers_the_adversarial_error(data_root):
    """Goodfellow's mixed objective (α = 0.5) on 3000 MNIST digits: the FGSM error at ε = 0.1 of a
    small dense net falls well below the same net's trained on clean digits alone."""
    from nndl.adversarial.training import AdversarialClassifier, fgsm_objective
    from nndl.models import Classifier
    from nndl.optim import Adam
    from nndl.trainer import Trainer

    x, y = _mnist(data_root, 4000)
    errors = {}
    for name in ("standard", "adversarial"):
        net = Network.from_sizes([784, 64, 10], activation="relu", cost="log_likelihood", init="he", seed=3)
        model = Classifier(net, Adam(0.002)) if name == "standard" else \
            AdversarialClassifier(net, Adam(0.002), objective=fgsm_objective(0.1, 0.5))
        Trainer(50, verbose=False, threads=1, workers=1).fit(model, (x[:3000], y[:3000]), epochs=6)
        attack = Attack("fgsm", 0.1)
        figures, *_ = attack.evaluate(PixelClassifier(net), x[3000:], y[3000:])
        errors[name] = (figures["clean_error"], figures["adversarial_error"])
    assert errors["standard"][0] < 0.15 and errors["adversarial"][0] < 0.15, errors
    assert errors["adversarial"][1] < errors["standard"][1] - 0.15, errors


def test_noise_augmentation_adds_clipped_gaussian_noise(rng):
    from nndl.augment import parse_augment

    images = np.full((200, 1, 28, 28), 0.5, dtype=np.float32)
    out = parse_augment("noise(0.1)")(images, rng)             # 5σ from the ends: hardly clipped
    assert out.dtype == np.float32 and abs(float(out.std()) - 0.1) < 0.003 and abs(float(out.mean()) - 0.5) < 0.003
    out = parse_augment("noise(0.3)")(images, rng)
    assert out.min() >= 0 and out.max() <= 1 and (out == 1).mean() > 0.03
    with pytest.raises(NndlError, match="sigma"):
        parse_augment("noise(-1)")


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs,match", [
    ({"eps": -0.1}, "out of range"), ({"eps": 1.5}, "larger than the pixel range"),
    ({"method": "pgd", "steps": 0}, "steps"), ({"method": "fgsm", "steps": 5}, "one step"),
    ({"method": "pgd", "step": 0.0}, "step"), ({"method": "fgsm", "norm": "l2"}, "L∞"),
    ({"method": "cw"}, "attack method"), ({"target": -1}, "target")])
def test_bad_attack_settings_are_one_line(kwargs, match):
    with pytest.raises(NndlError, match=match):
        Attack(**kwargs)


def test_target_outside_the_classes_and_non_classifiers_are_refused():
    model = PixelClassifier(small_net())
    with pytest.raises(NndlError, match="not one of the model's classes 0..3"):
        Attack("fgsm", 0.1, target=4).check(model)
    with pytest.raises(NndlError, match="L2 diameter"):
        Attack("pgd", 7.0, norm="l2").check(model, (1, 6, 6))
    reg = Network(parse_spec("dense(3) tanh dense(1)", (4,)), (4,), cost="quadratic")
    with pytest.raises(NndlError, match="classifier"):
        PixelClassifier(reg)


# --------------------------------------------------------------------------- the commands
def nndl(*args):
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run([sys.executable, "-m", "nndl", *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def mnist_model(tmp_path_factory, data_root):
    out = tmp_path_factory.mktemp("adv") / "small.npz"
    r = nndl("train", "--layers", "784,30,10", "--train-size", "2000", "--epochs", "2", "--seed", "3", "--quiet",
             "--out", out)
    assert r.returncode == 0, r.stderr
    return out


def test_attack_command_writes_figures_and_a_grid(mnist_model, tmp_path):
    r = nndl("attack", mnist_model, "--method", "pgd", "--eps", "0.1", "--steps", "5", "--examples", "300",
             "--out", tmp_path / "pgd", "--json")
    assert r.returncode == 0, r.stderr
    figures = json.loads(r.stdout)
    assert figures == json.loads((tmp_path / "pgd" / "attack.json").read_text())
    assert figures["examples"] == 300 and figures["steps"] == 5
    assert figures["adversarial_accuracy"] < figures["clean_accuracy"] - 0.2
    assert figures["max_linf"] <= 0.1 + 1e-6
    assert (tmp_path / "pgd" / "attack.png").stat().st_size > 10_000
    r = nndl("attack", mnist_model, "--method", "fooling", "--target", "7", "--out", tmp_path / "fool", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["reached"] > 0.5


@pytest.mark.parametrize("args,match", [
    (["--eps", "-1"], "out of range"), (["--eps", "2"], "larger than the pixel range"),
    (["--method", "pgd", "--steps", "0"], "steps"), (["--target", "10"], "not one of"),
    (["--target", "seven"], "neither a class index"), (["--method", "fooling"], "needs --target")])
def test_attack_command_bad_input_is_one_line(mnist_model, tmp_path, args, match):
    r = nndl("attack", mnist_model, *args, "--out", tmp_path / "x")
    assert r.returncode == 2 and match in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_attack_refuses_a_model_that_is_not_a_classifier(tmp_path, iris_csv):
    r = nndl("train", "--data", iris_csv, "--task", "reconstruction", "--layers", "4,2,4", "--epochs", "1", "--quiet",
             "--out", tmp_path / "ae.npz")
    assert r.returncode == 0, r.stderr
    r = nndl("attack", tmp_path / "ae.npz", "--out", tmp_path / "x")
    assert r.returncode == 2 and "not a classifier" in r.stderr, r.stderr


def test_robustness_command_and_its_bad_input(mnist_model, tmp_path):
    r = nndl("robustness", mnist_model, mnist_model, "--examples", "100", "--pgd-steps", "3", "--fgsm", "0,0.1",
             "--pgd", "0,0.1", "--noise", "0,0.5", "--rotate", "0,45", "--thickness=-1,0,1", "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in (tmp_path / "r" / "robustness.jsonl").read_text().splitlines()]
    assert len(lines) == 2 * 11
    first = {(p["kind"], p["value"]): p["accuracy"] for p in lines[:11]}
    assert first[("fgsm", 0.1)] < first[("fgsm", 0.0)] and first[("rotate", 45.0)] < first[("rotate", 0.0)]
    assert (tmp_path / "r" / "robustness.png").exists()
    for args, match in [(["--fgsm=-0.1"], "≥ 0"), (["--pgd", "0,2"], "larger than the pixel range"),
                        (["--kinds", "blur"], "choose from"), (["--pgd-steps", "0"], "at least 1")]:
        r = nndl("robustness", mnist_model, *args, "--out", tmp_path / "r2")
        assert r.returncode == 2 and match in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_train_adversarial_option_and_its_bad_input(tmp_path, data_root):
    r = nndl("train", "--layers", "784,20,10", "--train-size", "500", "--epochs", "1", "--adversarial",
             "fgsm(0.2, alpha=0.5)", "--augment", "noise(0.1)", "--json", "--out", tmp_path / "adv.npz")
    assert r.returncode == 0, r.stderr
    epoch = json.loads(r.stdout.splitlines()[0])
    assert {"training_adversarial_cost", "training_adversarial_accuracy", "training_clean_cost"} <= set(epoch)
    for spec, match in [("fgsm(-1)", "out of range"), ("pgd(0.3, steps=0)", "steps"), ("cw(0.3)", "--adversarial"),
                        ("fgsm(0.3, alpha=1)", "alpha=1")]:
        r = nndl("train", "--layers", "784,20,10", "--epochs", "1", "--adversarial", spec, "--out", tmp_path / "b.npz")
        assert r.returncode == 2 and match in r.stderr and len(r.stderr.strip().splitlines()) == 1, (spec, r.stderr)
    r = nndl("train", "--layers", "784,20,10", "--train-size", "300", "--epochs", "1", "--preprocess", "mean",
             "--adversarial", "fgsm(0.1)", "--out", tmp_path / "c.npz")
    assert r.returncode == 2 and "--preprocess" in r.stderr, r.stderr


def test_a_preprocessing_without_a_known_jacobian_is_one_line():
    class Squash:
        name = "squash"

    net = _with_input(small_net(), 36)
    net.preprocessor = Squash()
    with pytest.raises(NndlError, match="cannot attack through the model's 'squash' preprocessing"):
        PixelClassifier(net)
