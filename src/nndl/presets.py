"""Named networks with their recommended training settings: the book's chapter 6 ladder.

Each preset is a dict with

``net``          a layer spec (see :mod:`nndl.spec`), for input (1, 28, 28) MNIST images;
``cost``         the cost function (``"log_likelihood"`` with a softmax output, as in network3.py);
``eta``          the learning rate η (of the gradient of the mini-batch *mean* cost);
``optimizer``, ``momentum``, ``schedule``   optional: as ``--optimizer``, ``--momentum`` and
                 ``--schedule`` (default: plain SGD at a constant η, as the book);
``lmbda``        the L2 parameter λ of nndl's (λ/2n) Σ w², n = training-set size.  network3.py
                 divides its 0.5·lmbda·Σw² by the number of mini-batches n/m instead, so the
                 book's ``lmbda=0.1`` with m = 10 is nndl's λ = 1.0;
``epochs``, ``batch_size``;
``init``         the initializer of every conv and dense layer;
``expand``       train on the book's expanded MNIST (each image also shifted one pixel up,
                 down, left and right: 250,000 images);
``augment``      random transformations drawn per mini-batch instead, an ``--augment`` spec
                 such as ``"rotate(8)+shift(2)"`` (not used by the book);
``book``         the test accuracy the book reports, in percent;
``description``  one line.

The chapter 6 code (network3.py) applies each ``ConvPoolLayer``'s activation *after*
max-pooling, hence ``conv(20,5) pool(2) relu``; max-pooling commutes with monotone
activations, so it is the same function as ``conv(20,5) relu pool(2)`` on a quarter of the
values.  network3.py's ``FullyConnectedLayer(p_dropout=0.5)`` drops its *input*, so the
dropout preset has a dropout before each of the three dense layers.  network3.py also
initializes weights with N(0, 1/n_out) (and zero softmax weights); nndl's ``default``
is N(0, 1/n_in) with N(0, 1) biases (chapter 3).
"""
from __future__ import annotations

from nndl.errors import NndlError

_CONV1 = "conv(20,5) pool(2) {act}"
_CONV2 = "conv(20,5) pool(2) {act} conv(40,5) pool(2) {act}"

PRESETS: dict[str, dict] = {
    "ch6-shallow": {
        "net": "dense(100) sigmoid softmax(10)",
        "cost": "log_likelihood", "eta": 0.1, "lmbda": 0.0, "epochs": 60, "batch_size": 10, "init": "default",
        "expand": False, "augment": False, "book": 97.80,
        "description": "chapter 6 baseline: one hidden layer of 100 sigmoid neurons (book: 97.80%)",
    },
    "ch6-conv1": {
        "net": _CONV1.format(act="sigmoid") + " dense(100) sigmoid softmax(10)",
        "cost": "log_likelihood", "eta": 0.1, "lmbda": 0.0, "epochs": 60, "batch_size": 10, "init": "default",
        "expand": False, "augment": False, "book": 98.78,
        "description": "one conv-pool layer (20 5x5 filters, 2x2 max-pooling), sigmoid (book: 98.78%)",
    },
    "ch6-conv2": {
        "net": _CONV2.format(act="sigmoid") + " dense(100) sigmoid softmax(10)",
        "cost": "log_likelihood", "eta": 0.1, "lmbda": 0.0, "epochs": 60, "batch_size": 10, "init": "default",
        "expand": False, "augment": False, "book": 99.06,
        "description": "two conv-pool layers (20 then 40 filters), sigmoid (book: 99.06%)",
    },
    "ch6-relu": {
        # He initialization (the README compares it with the default N(0, 1) biases).
        "net": _CONV2.format(act="relu") + " dense(100) relu softmax(10)",
        "cost": "log_likelihood", "eta": 0.03, "lmbda": 1.0, "epochs": 40, "batch_size": 10, "init": "he",
        "expand": False, "augment": False, "book": 99.23,
        "description": "two conv-pool layers with rectified linear units, the book's L2 (book: 99.23%)",
    },
    "ch6-expanded": {
        "net": _CONV2.format(act="relu") + " dense(100) relu softmax(10)",
        "cost": "log_likelihood", "eta": 0.03, "lmbda": 1.0, "epochs": 60, "batch_size": 10, "init": "he",
        "expand": True, "augment": False, "book": 99.37,
        "description": "the ReLU net on the expanded training data (one-pixel shifts, 250k images) (book: 99.37%)",
    },
    "ch6-fc2": {
        "net": _CONV2.format(act="relu") + " dense(100) relu dense(100) relu softmax(10)",
        "cost": "log_likelihood", "eta": 0.03, "lmbda": 1.0, "epochs": 60, "batch_size": 10, "init": "he",
        "expand": True, "augment": False, "book": 99.43,
        "description": "the expanded-data ReLU net with a second fully connected layer of 100 (book: 99.43%)",
    },
    "ch6-dropout": {
        "net": _CONV2.format(act="relu")
        + " dropout(0.5) dense(1000) relu dropout(0.5) dense(1000) relu dropout(0.5) softmax(10)",
        "cost": "log_likelihood", "eta": 0.03, "lmbda": 0.0, "epochs": 40, "batch_size": 10, "init": "he",
        "expand": True, "augment": False, "book": 99.60,
        "description": "two dense(1000) ReLU layers with dropout 0.5, expanded data, 40 epochs (book: 99.60%)",
    },
    "ch6-augmented": {
        # nndl's route past the dropout rung without the book's 40 epochs of 250k images at
        # batch 10: one dropout layer, fresh random rotations and shifts every epoch instead
        # of the fixed expansion, Nesterov momentum, a cosine schedule, mini-batches of 64.
        "net": _CONV2.format(act="relu") + " dense(1000) relu dropout(0.5) softmax(10)",
        "cost": "log_likelihood", "optimizer": "nesterov", "eta": 0.05, "momentum": 0.9,
        "schedule": "cosine(40, unit=epoch)", "lmbda": 0.0, "epochs": 40, "batch_size": 64, "init": "he",
        "expand": False, "augment": "rotate(8)+shift(2)", "book": None,
        "description": "a dense(1000) layer with dropout, random rotations and shifts, Nesterov momentum, "
                       "cosine schedule, 40 epochs",
    },
    "ch6-batchnorm": {
        # ch6-augmented with batch normalization after each conv layer, 32 and 64 filters
        # and a third conv layer (results in the README and docs/results).
        "net": "conv(32,5) bn relu pool(2) conv(64,3) bn relu conv(64,3) bn relu pool(2) "
               "dense(1000) relu dropout(0.5) softmax(10)",
        "cost": "log_likelihood", "optimizer": "nesterov", "eta": 0.05, "momentum": 0.9,
        "schedule": "cosine(30, unit=epoch)", "lmbda": 0.0, "epochs": 30, "batch_size": 64, "init": "he",
        "expand": False, "augment": "rotate(8)+shift(2)", "book": None,
        "description": "ch6-augmented with batch normalization and three conv layers (32, 64, 64 filters), "
                       "30 epochs",
    },
    "rbf-mnist": {
        # A radial basis function network, three-phase learning (README: "Units, losses and
        # initializers"): 1,000 Gaussian units whose centres start at k-means centres of the training
        # images and whose widths start at each cluster's spread, the softmax output at the ridge
        # least-squares solution, then all of it trained by backprop.
        "net": "rbf(1000,solve_output=true) softmax(10)",
        "cost": "log_likelihood", "optimizer": "adam", "eta": 0.001, "lmbda": 0.0, "epochs": 12,
        "batch_size": 100, "init": "default", "expand": False, "augment": False, "book": None,
        "description": "an RBF network: 1,000 Gaussian units, k-means centres and widths, trained by backprop",
    },
    "fast": {
        # The README's "99% in seconds" row.  convpool is network3.py's ConvPoolLayer: convolution,
        # max-pooling, then the ReLU, as one layer (the same function as conv(16,5) pool(2) relu, with
        # the ReLU on maps a quarter the size and the pooling on contiguous blocks).
        "net": "convpool(16,5) relu convpool(32,5) relu dense(100) relu softmax(10)",
        "cost": "log_likelihood", "optimizer": "nesterov", "eta": 0.05, "momentum": 0.9,
        "schedule": "cosine(3, unit=epoch)", "lmbda": 0.0, "epochs": 3, "batch_size": 128, "init": "he",
        "expand": False, "augment": False, "book": None,
        "description": "time to 99%: a small ReLU conv net, Nesterov momentum, cosine schedule, 3 epochs",
    },
    # Row-by-row MNIST (issue 13): each image read as 28 steps of 28 pixels, the last state classified.
    **{f"row-{cell}": {
        "net": f"reshape(28,28) {cell}(128,sequences=false) softmax(10)",
        "cost": "log_likelihood", "optimizer": "adam", "eta": 1e-3, "clip_norm": 5.0, "lmbda": 0.0, "epochs": 10,
        "batch_size": 64, "init": "default", "expand": False, "augment": False, "book": None,
        "description": f"row-by-row MNIST: 28 steps of 28 pixels into {name}(128), its last state into softmax(10)",
    } for cell, name in (("lstm", "LSTM"), ("gru", "GRU"), ("rnn", "a plain tanh RNN"))},
}


def get_preset(name: str) -> dict:
    """A copy of preset ``name``; :class:`NndlError` listing the presets if there is none."""
    key = str(name).strip().lower()
    if key not in PRESETS:
        raise NndlError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[key])
