"""Record the weights the classifier step produced before the engine change (issue 10).

Run once, with the engine of commit 065f632 (the last one before ``Trainer.fit`` called
``model.train_step``):

    PYTHONPATH=src python tests/data/record_engine_reference.py tests/data/engine_reference.npz

``tests/test_engine_reference.py`` trains the same cases with today's engine and asks
for the very same bits.  Each case is a few epochs of a small network on synthetic
data, with one BLAS thread, so the numbers do not depend on thread timing.
"""
from __future__ import annotations

import sys

import numpy as np

from nndl.layers import ActivationLayer, BatchNorm, Conv2D, Dense, Dropout, Flatten, MaxPool2D
from nndl.network import Network
from nndl.optim import L1, L2, SGD, Adam, Cosine, HalveOnPlateau, MaxNorm, Momentum, Nesterov, Rprop
from nndl.trainer import Trainer


def data(n, shape, classes, seed):
    """Inputs N(0, 1) and labels from a random linear teacher (learnable, not trivial)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    teacher = rng.standard_normal((int(np.prod(shape)), classes))
    return x, (x.reshape(n, -1) @ teacher).argmax(axis=1).astype(np.int64)


def cases():
    """name -> (network, trainer keyword arguments, epochs, input shape)."""
    dense = (20,)
    image = (1, 8, 8)
    return {
        "ch1_quadratic": (lambda: Network.from_sizes([20, 16, 5], cost="quadratic", init="large", seed=1),
                          dict(optimizer=SGD(3.0), batch_size=10), 3, dense),
        "ch3_xent_l2_early_stop": (lambda: Network.from_sizes([20, 16, 5], seed=2),
                                   dict(optimizer=SGD(0.5), regularizers=[L2(5.0)], batch_size=10,
                                        early_stopping=2), 6, dense),
        "softmax_dropout_momentum": (lambda: Network.from_sizes([20, 24, 5], activation="relu",
                                                                cost="log_likelihood", dropout=0.3, seed=3),
                                     dict(optimizer=Momentum(0.05, 0.9), batch_size=8, regularizers=[L1(0.5)],
                                          schedule=HalveOnPlateau(1)), 4, dense),
        "batchnorm_adam": (lambda: Network([Dense(16, activation="linear", use_bias=False), BatchNorm(),
                                            ActivationLayer("tanh"), Dense(5, activation="softmax")], dense,
                                           cost="log_likelihood", seed=4),
                           dict(optimizer=Adam(0.01), batch_size=16, constraints=[MaxNorm(2.0)]), 3, dense),
        "rprop_full_batch_clip": (lambda: Network.from_sizes([20, 10, 5], seed=5),
                                  dict(optimizer=Rprop(0.01, clip_norm=1.0), batch_size=200), 5, dense),
        "sgd_noise": (lambda: Network.from_sizes([20, 10, 5], activation="tanh", seed=6),
                      dict(optimizer=SGD(0.2, noise=0.01, seed=3), batch_size=25), 2, dense),
        "conv_nesterov_cosine": (lambda: Network([Conv2D(4, 3, activation="relu"), MaxPool2D(2), Flatten(),
                                                  Dense(12, activation="relu"), Dropout(0.2),
                                                  Dense(5, activation="softmax")], image,
                                                 cost="log_likelihood", seed=7),
                                 dict(optimizer=Nesterov(0.05, 0.9), batch_size=16, workers=1,
                                      schedule=Cosine(40)), 3, image),
        "conv_two_workers": (lambda: Network([Conv2D(4, 3, padding="same", activation="relu"), MaxPool2D(2),
                                              Flatten(), Dense(5, activation="softmax")], image,
                                             cost="log_likelihood", seed=8),
                             dict(optimizer=SGD(0.1), batch_size=16, workers=2), 2, image),
    }


def train(name):
    make, kwargs, epochs, shape = cases()[name]
    net = make()
    x, y = data(200, shape, 5, seed=11)
    vx, vy = data(60, shape, 5, seed=12)
    trainer = Trainer(net, progress=False, verbose=False, threads=1, **kwargs)
    history = trainer.fit((x, y), epochs, validation_data=(vx, vy))
    return net, history


def main(out):
    arrays = {}
    for name in cases():
        net, history = train(name)
        for i, value in enumerate(net.get_state()):
            arrays[f"{name}/{i}"] = value
        arrays[f"{name}/validation_accuracy"] = np.array(history["validation_accuracy"])
        arrays[f"{name}/training_cost"] = np.array(history["training_cost"])
        print(name, len(history), history.final.get("stop_reason"), history["validation_accuracy"])
    arrays["blas"] = np.frombuffer(blas_fingerprint().encode(), dtype=np.uint8)
    np.savez(out, **arrays)


def blas_fingerprint() -> str:
    """numpy's version, the BLAS library and the kernels it chose for this CPU (OpenBLAS's Haswell
    and SkylakeX kernels round float32 sums differently): the reference is exact only for the same three."""
    from threadpoolctl import threadpool_info

    libs = sorted(f"{i.get('internal_api')}-{i.get('version')}-{i.get('architecture')}" for i in threadpool_info()
                  if i.get("user_api") == "blas")
    return f"numpy-{np.__version__} " + " ".join(libs)


if __name__ == "__main__":
    main(sys.argv[1])
