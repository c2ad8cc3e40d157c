"""The book's own interfaces, nndl.book.{mnist_loader, network, network2}: formats, lines, results."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from nndl.book import mnist_loader, network, network2
from nndl.errors import NndlError

BOOK_SRC = Path(__file__).resolve().parents[1] / "src" / "nndl" / "book"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


@pytest.fixture(scope="module")
def book_data(data_root):
    return mnist_loader.load_data_wrapper()


@pytest.fixture(scope="module")
def small_net2(book_data):
    training_data = book_data[0]
    net = network2.Network([784, 20, 10], seed=3)
    net.SGD(training_data[:1000], 1, 10, 0.5, lmbda=1.0)
    return net


# --------------------------------------------------------------------------- mnist_loader
def test_load_data_arrays(data_root):
    sets = mnist_loader.load_data()
    assert [len(y) for _, y in sets] == [50000, 10000, 10000]
    for x, y in sets:
        assert x.dtype == np.float32 and x.shape == (len(y), 784)
        assert y.dtype == np.int64 and y.ndim == 1
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert set(np.unique(y).tolist()) == set(range(10))


def test_load_data_wrapper_format(book_data, data_root):
    training_data, validation_data, test_data = book_data
    assert isinstance(training_data, list) and isinstance(validation_data, list) and isinstance(test_data, list)
    assert (len(training_data), len(validation_data), len(test_data)) == (50000, 10000, 10000)
    (tx, ty), (vx, vy), (ex, ey) = mnist_loader.load_data()
    for i in (0, 1, 12345, 49999):
        x, y = training_data[i]
        assert x.shape == (784, 1) and x.dtype == np.float32
        assert y.shape == (10, 1) and y.sum() == 1.0 and set(np.unique(y)) == {0.0, 1.0}
        assert int(np.argmax(y)) == ty[i]
        np.testing.assert_array_equal(x[:, 0], tx[i])
    for data, xs, ys in ((validation_data, vx, vy), (test_data, ex, ey)):
        for i in (0, 9999):
            x, label = data[i]
            assert x.shape == (784, 1)
            assert isinstance(label, int) and label == ys[i]
            np.testing.assert_array_equal(x[:, 0], xs[i])


def test_vectorized_result():
    e = mnist_loader.vectorized_result(3)
    assert e.shape == (10, 1) and e[3, 0] == 1.0 and e.sum() == 1.0
    with pytest.raises(NndlError):
        mnist_loader.vectorized_result(10)


# --------------------------------------------------------------------------- network (chapter 1)
def test_network_attributes_have_the_books_shapes():
    net = network.Network([784, 30, 10])
    assert net.num_layers == 3 and net.sizes == [784, 30, 10]
    assert [w.shape for w in net.weights] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.biases] == [(30, 1), (10, 1)]
    # Chapter 1's initialization: N(0, 1) weights and biases.
    assert 0.95 < net.weights[0].std() < 1.05 and abs(net.weights[0].mean()) < 0.05
    assert network.sigmoid is not None and network.sigmoid_prime is not None


def test_feedforward_is_the_books_formula(rng):
    net = network.Network([784, 30, 10], seed=1)
    x = rng.random((784, 1))
    a = x
    for b, w in zip(net.biases, net.weights):
        a = _sigmoid(w.astype(np.float64) @ a + b)
    out = net.feedforward(x)
    assert out.shape == (10, 1)
    np.testing.assert_allclose(out, a, rtol=1e-4, atol=1e-6)
    # A matrix of columns is N inputs at once.
    xs = rng.random((784, 5))
    np.testing.assert_allclose(net.feedforward(xs)[:, [2]], net.feedforward(xs[:, [2]]), rtol=1e-5, atol=1e-7)
    with pytest.raises(NndlError, match="column vector"):
        net.feedforward(np.zeros((783, 1)))


def test_weights_and_biases_are_live_views():
    net = network.Network([4, 3, 2])
    inner = net.nndl_network
    net.weights[1][...] = 0.0
    net.biases[1][...] = 2.0
    np.testing.assert_allclose(net.feedforward(np.ones((4, 1))), np.full((2, 1), _sigmoid(2.0)), rtol=1e-6)
    assert np.all(inner.layers[-1].W.value == 0.0)
    # Assigning lists copies the values in; shapes are checked before anything changes.
    net.weights = [np.ones((3, 4)), np.full((2, 3), 0.5)]
    net.biases = [np.zeros(3), np.zeros((2, 1))]
    np.testing.assert_allclose(net.feedforward(np.zeros((4, 1))), np.full((2, 1), _sigmoid(0.75)), rtol=1e-6)
    with pytest.raises(NndlError, match="shape"):
        net.weights = [np.ones((3, 4)), np.ones((3, 2))]
    assert np.all(net.weights[0] == 1.0)


def test_sgd_prints_the_books_lines_and_learns(book_data, capsys):
    training_data, _, test_data = book_data
    net = network.Network([784, 30, 10])
    before = [w.copy() for w in net.weights]
    net.SGD(training_data[:10000], 2, 10, 3.0, test_data=test_data[:1000])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    counts = []
    for j, line in enumerate(lines):
        m = re.match(r"^Epoch (\d+): (\d+) / 1000$", line)
        assert m, line
        assert int(m.group(1)) == j
        counts.append(int(m.group(2)))
    print("chapter 1 network, 10000 images x 2 epochs:", counts)
    assert counts[-1] >= 800
    assert net.evaluate(test_data[:1000]) == counts[-1]
    # The book's attributes hold the trained parameters.
    assert not np.array_equal(before[0], net.weights[0])
    assert net.weights[0] is net.nndl_network.layers[0].W.value


def test_sgd_without_test_data_and_other_formats(book_data, capsys):
    training_data, _, test_data = book_data
    order = [id(x) for x, _ in training_data[:500]]
    part = training_data[:500]
    net = network.Network([784, 10, 10], seed=2)
    net.SGD(part, 2, 10, 3.0)
    assert capsys.readouterr().out.splitlines() == ["Epoch 0 complete", "Epoch 1 complete"]
    assert [id(x) for x, _ in part] == order      # the caller's list is not shuffled
    # evaluate takes the book's list, an (x, y) pair of arrays, or a zip object alike.
    xs = np.stack([x[:, 0] for x, _ in test_data[:300]])
    ys = np.array([y for _, y in test_data[:300]])
    n = net.evaluate(test_data[:300])
    assert net.evaluate((xs, ys)) == n == net.evaluate(zip(list(xs.reshape(300, 784, 1)), ys.tolist()))
    with pytest.raises(NndlError):
        net.SGD([(np.zeros((784, 1)), np.full((10, 1), 0.5))], 1, 1, 1.0)   # not one-hot
    with pytest.raises(NndlError):
        net.SGD([], 1, 10, 3.0)
    with pytest.raises(NndlError):
        net.evaluate([(np.zeros((784, 1)), 10)])                          # no such digit


def test_same_seed_gives_identical_weights(book_data):
    training_data = book_data[0][:1000]
    a, b, c = network.Network([784, 16, 10], seed=7), network.Network([784, 16, 10], seed=7), \
        network.Network([784, 16, 10], seed=8)
    for w1, w2 in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(w1, w2)
    assert not np.array_equal(a.weights[0], c.weights[0])
    for net in (a, b):
        net.SGD(training_data, 1, 10, 3.0)
    for w1, w2 in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(w1, w2)
    n1, n2 = network2.Network([784, 16, 10], seed=7), network2.Network([784, 16, 10], seed=7)
    np.testing.assert_array_equal(n1.weights[0], n2.weights[0])


def test_backprop_delegate_matches_the_books_backprop(rng):
    net = network.Network([5, 4, 3], seed=4)
    x, y = rng.random((5, 1)), mnist_loader.vectorized_result(1)[:3]
    nabla_b, nabla_w = net.backprop(x, y)
    # The book's backprop, written out here (float64) to check the adapter.
    ws = [w.astype(np.float64) for w in net.weights]
    bs = [b.astype(np.float64) for b in net.biases]
    activations, zs = [x], []
    for b, w in zip(bs, ws):
        zs.append(w @ activations[-1] + b)
        activations.append(_sigmoid(zs[-1]))
    sp = [_sigmoid(z) * (1 - _sigmoid(z)) for z in zs]
    delta = net.cost_derivative(activations[-1], y) * sp[-1]
    expected_b, expected_w = [None, delta], [None, delta @ activations[-2].T]
    delta = (ws[-1].T @ delta) * sp[-2]
    expected_b[0], expected_w[0] = delta, delta @ x.T
    for got, want in zip(nabla_b + nabla_w, expected_b + expected_w):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- network2 (chapter 3)
def test_cost_classes_follow_the_book(rng):
    z = rng.normal(size=(10, 1))
    a = _sigmoid(z)
    y = mnist_loader.vectorized_result(4).astype(np.float64)
    q, ce = network2.QuadraticCost, network2.CrossEntropyCost
    np.testing.assert_allclose(q.fn(a, y), 0.5 * np.linalg.norm(a - y) ** 2)
    np.testing.assert_allclose(ce.fn(a, y), np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a)))
    np.testing.assert_allclose(q.delta(z, a, y), (a - y) * a * (1 - a))
    np.testing.assert_allclose(ce.delta(z, a, y), a - y)
    assert q.delta(z, a, y).shape == (10, 1)


def test_initializers():
    net = network2.Network([784, 30, 10], seed=5)
    assert net.cost is network2.CrossEntropyCost
    w = net.weights[0]
    assert abs(w.std() * np.sqrt(784) - 1.0) < 0.05          # N(0, 1/n_in)
    assert 0.6 < net.biases[0].std() < 1.4                     # N(0, 1)
    net.large_weight_initializer()
    assert net.weights[0] is w and abs(w.std() - 1.0) < 0.05   # in place, N(0, 1)
    net.default_weight_initializer()
    assert abs(w.std() * np.sqrt(784) - 1.0) < 0.05
    net.cost = network2.QuadraticCost
    assert net.nndl_network.cost.name == "quadratic"
    with pytest.raises(NndlError):
        network2.Network([784, 10], cost="CrossEntropyCost")


def test_network2_sgd_monitors_and_prints_the_books_lines(book_data, capsys):
    training_data, validation_data, _ = book_data
    train, evaluation = training_data[:2000], validation_data[:500]
    net = network2.Network([784, 30, 10])
    lmbda = 5.0
    result = net.SGD(train, 2, 10, 0.5, lmbda=lmbda, evaluation_data=evaluation,
                     monitor_evaluation_cost=True, monitor_evaluation_accuracy=True,
                     monitor_training_cost=True, monitor_training_accuracy=True)
    evaluation_cost, evaluation_accuracy, training_cost, training_accuracy = result
    for values, kind in ((evaluation_cost, float), (evaluation_accuracy, int), (training_cost, float),
                         (training_accuracy, int)):
        assert isinstance(values, list) and len(values) == 2
        assert all(type(v) is kind for v in values)
    assert all(0 <= v <= 2000 for v in training_accuracy) and all(0 <= v <= 500 for v in evaluation_accuracy)
    lines = capsys.readouterr().out.split("\n")
    for j in range(2):
        block = lines[6 * j:6 * j + 6]
        assert block == [f"Epoch {j} training complete",
                         f"Cost on training data: {training_cost[j]}",
                         f"Accuracy on training data: {training_accuracy[j]} / 2000",
                         f"Cost on evaluation data: {evaluation_cost[j]}",
                         f"Accuracy on evaluation data: {evaluation_accuracy[j]} / 500",
                         ""]
    print("network2, 2000 images x 2 epochs, lmbda 5:", training_accuracy, evaluation_accuracy)
    assert evaluation_accuracy[-1] >= 400
    # The last figures are the network's: counts of correct examples, and costs with (λ/2n) Σ w²
    # where n is the size of the data measured (the book's total_cost).
    assert net.accuracy(train, convert=True) == training_accuracy[-1]
    assert net.accuracy(evaluation) == evaluation_accuracy[-1]
    sum_w2 = sum(float((w.astype(np.float64) ** 2).sum()) for w in net.weights)
    for data, cost in ((train, training_cost[-1]), (evaluation, evaluation_cost[-1])):
        plain = np.mean([network2.CrossEntropyCost.fn(net.feedforward(x), y if np.ndim(y) else
                                                      mnist_loader.vectorized_result(y)) for x, y in data])
        assert cost == pytest.approx(plain + 0.5 * lmbda / len(data) * sum_w2, rel=1e-4)
        assert net.total_cost(data, lmbda) == pytest.approx(cost, rel=1e-6)


def test_network2_without_monitors(book_data, capsys):
    net = network2.Network([784, 10, 10])
    assert net.SGD(book_data[0][:300], 1, 10, 0.5) == ([], [], [], [])
    assert capsys.readouterr().out == "Epoch 0 training complete\n\n"
    with pytest.raises(NndlError, match="evaluation_data"):
        net.SGD(book_data[0][:300], 1, 10, 0.5, monitor_evaluation_accuracy=True)


def test_l2_is_the_books_weight_decay(book_data):
    # One mini-batch of all n examples: the L2 run's weights differ by exactly (ηλ/n) w.
    data = book_data[0][:20]
    eta, lmbda, n = 0.5, 4.0, len(data)
    plain, decayed = network2.Network([784, 8, 10], seed=9), network2.Network([784, 8, 10], seed=9)
    w0 = [w.astype(np.float64) for w in plain.weights]
    b0 = [b.copy() for b in plain.biases]
    plain.SGD(data, 1, n, eta)
    decayed.SGD(data, 1, n, eta, lmbda=lmbda)
    for w, wp, wd in zip(w0, plain.weights, decayed.weights):
        np.testing.assert_allclose(wp.astype(np.float64) - wd, eta * lmbda / n * w, rtol=1e-3, atol=1e-6)
    for b, bp, bd in zip(b0, plain.biases, decayed.biases):
        np.testing.assert_array_equal(bp, bd)      # biases are not regularized
        assert not np.array_equal(b, bp)


def test_early_stopping(book_data, capsys):
    net = network2.Network([784, 10, 10])
    # η so small that nothing changes: no improvement after the first epoch, so it stops after the second.
    result = net.SGD(book_data[0][:200], 10, 10, 1e-12, evaluation_data=book_data[1][:200],
                     monitor_evaluation_accuracy=True, early_stopping_n=1)
    assert len(result[1]) == 2 and result[1][0] == result[1][1]
    assert capsys.readouterr().out.count("training complete") == 2


def test_save_and_load_round_trip(small_net2, book_data, tmp_path):
    path = tmp_path / "net.json"
    small_net2.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["net.json"]      # no temporary file left
    data = json.loads(path.read_text())
    assert set(data) == {"sizes", "weights", "biases", "cost"}
    assert data["sizes"] == [784, 20, 10] and data["cost"] == "CrossEntropyCost"
    assert np.array(data["biases"][0]).shape == (20, 1) and np.array(data["weights"][0]).shape == (20, 784)
    loaded = network2.load(path)
    assert loaded.sizes == small_net2.sizes and loaded.cost is network2.CrossEntropyCost
    for x, _ in book_data[2][:20]:
        np.testing.assert_array_equal(loaded.feedforward(x), small_net2.feedforward(x))
    # Overwriting works, and the quadratic cost survives the trip.
    q = network2.Network([3, 2], cost=network2.QuadraticCost)
    q.save(path)
    assert network2.load(str(path)).cost is network2.QuadraticCost


@pytest.mark.parametrize("content", [
    b"\x00\x01 not json",
    b"[1, 2, 3]",
    b'{"sizes": [3, 2], "weights": [[[1, 2, 3], [4, 5, 6]]], "biases": [[[0], [0]]]}',
    b'{"sizes": [3, 2], "weights": [[[1, 2, 3], [4, 5, 6]]], "biases": [[[0], [0]]], "cost": "__import__(\'os\')"}',
    b'{"sizes": [3, 2], "weights": [[[1, 2], [4, 5]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [3, 2], "weights": [[[1, 2, 3], [4, 5]]], "biases": [[[0], [0]]], "cost": "QuadraticCost"}',
    b'{"sizes": "784", "weights": [], "biases": [], "cost": "QuadraticCost"}',
    b'{"sizes": [100000000, 100000000], "weights": [[[1]]], "biases": [[[0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [1, 1], "weights": [[[NaN]]], "biases": [[[0]]], "cost": "QuadraticCost"}',
    b'{"sizes": [1, 1], "weights": [[[1e999]]], "biases": [[[0]]], "cost": "QuadraticCost"}',
])
def test_load_of_a_corrupt_file_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(NndlError) as info:
        network2.load(path)
    assert "\n" not in str(info.value) and "bad.json" in str(info.value)


def test_load_of_deeply_nested_json(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(NndlError, match=r"deep\.json is not a network saved by network2: JSON nested too deeply"):
        network2.load(path)


def test_load_of_a_missing_file(tmp_path):
    with pytest.raises(NndlError, match="cannot read"):
        network2.load(tmp_path / "nothing.json")


def test_book_package_has_no_backprop_of_its_own():
    # Any feedforward or backprop of its own would need a matrix product; the adapters have none.
    sources = sorted(BOOK_SRC.glob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "mnist_loader.py", "network.py", "network2.py"}
    for path in sources:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if code.strip().startswith("@"):
                continue                                   # a decorator
            assert not re.search(r"[\w)\]]\s*@\s*[\w(]|\bdot\(|matmul|einsum|tensordot", code), \
                f"{path.name}:{number}: {line.strip()}"


@pytest.mark.parametrize("module", ["network", "network2"])
@pytest.mark.parametrize("epochs, size, message", [(1, 3.0, "mini_batch_size=3.0"), (2.5, 3, "epochs=2.5")])
def test_sgd_takes_whole_numbers_only(module, epochs, size, message):
    import importlib

    book = importlib.import_module(f"nndl.book.{module}")
    x = [(np.zeros((4, 1)), np.eye(2)[:, [k % 2]]) for k in range(6)]
    with pytest.raises(NndlError, match=message):
        book.Network([4, 3, 2]).SGD(x, epochs, size, 0.1)
