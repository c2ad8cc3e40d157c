"""Networks that must actually learn: XOR, and real MNIST end to end."""
import numpy as np

from nndl.models import Classifier
from nndl.network import Network
from nndl.optim import L2, SGD
from nndl.trainer import Trainer

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([0, 1, 1, 0])


def test_a_hidden_layer_learns_xor():
    net = Network.from_sizes([2, 4, 2], activation="sigmoid", cost="cross_entropy", seed=0)
    Trainer(4, verbose=False).fit(Classifier(net, SGD(2.0)), (XOR_X, XOR_Y), 2000)
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)


def test_without_a_hidden_layer_xor_is_not_learnable():
    net = Network.from_sizes([2, 2], activation="sigmoid", cost="cross_entropy", seed=0)
    Trainer(4, verbose=False).fit(Classifier(net, SGD(2.0)), (XOR_X, XOR_Y), 2000)
    assert (net.predict(XOR_X) == XOR_Y).mean() < 1.0


def test_mnist_end_to_end(data_root):
    """The book's chapter 3 network on 5,000 real MNIST images reaches ≥ 90% on 2,000 others."""
    from nndl.data import load_mnist

    splits = load_mnist(data_root, split="book")
    train, val = splits.train.subset(5000), splits.validation
    net = Network.from_sizes([784, 30, 10], activation="sigmoid", cost="cross_entropy", seed=0)
    history = Trainer(10, verbose=False).fit(Classifier(net, SGD(0.5), [L2(1.0)]), train, 3,
                                             validation_data=(val.x[:2000], val.y[:2000]))
    assert history["validation_accuracy"][-1] >= 0.90
    assert history["training_cost"][-1] < history["training_cost"][0]


def test_same_seed_same_weights_different_seed_different_weights():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((200, 6)).astype(np.float32), rng.integers(0, 3, 200)

    def train(seed):
        net = Network.from_sizes([6, 5, 3], dropout=0.2, seed=seed)
        Trainer(7, verbose=False).fit(Classifier(net, SGD(0.3)), (x, y), 3)
        return net.get_weights()

    a, b, c = train(1), train(1), train(2)
    for wa, wb in zip(a, b):
        np.testing.assert_array_equal(wa, wb)
    assert not all(np.array_equal(wa, wc) for wa, wc in zip(a, c))
