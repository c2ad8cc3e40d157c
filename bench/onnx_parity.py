"""ONNX export and parity for every layer kind: onnxruntime on the exported file against nndl.

Each case is a small network (random weights from a seeded generator; batch norm with random
running statistics, so it is not the identity) and random inputs; the figure is the largest
absolute difference between onnxruntime's outputs and nndl's, and whether the predicted
classes agree (per step for a sequence output).  Prints one JSON line per case and, with ``--out``, writes them to a file:

    PYTHONPATH=src python bench/onnx_parity.py --out docs/results/onnx/layers.jsonl
    PYTHONPATH=src python bench/onnx_parity.py --mnist --out docs/results/onnx/mnist.jsonl

``--mnist``: instead, the saved models of :data:`SAVED` on all 10,000 MNIST test images.

``tests/test_onnx_export.py`` runs the same cases (tolerance 1e-5).
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy

from nndl.export.onnx import input_dims, reads_ids, vocabulary
from nndl.layers.activation import ActivationLayer
from nndl.layers.dense import Dense
from nndl.layers.tied import TiedDense
from nndl.network import Network
from nndl.preprocessing import get_preprocessor
from nndl.spec import parse_spec

IMAGE = (1, 12, 12)
#: (name, --net spec, input shape): every layer kind, every activation, every padding.
SPECS = [
    ("dense sigmoid", "dense(16) sigmoid softmax(5)", (20,)),
    ("dense tanh", "dense(16) tanh dense(5)", (20,)),
    ("dense relu", "dense(16) relu dense(5)", (20,)),
    ("dense leaky_relu", "dense(16) leaky_relu(alpha=0.1) dense(5)", (20,)),
    ("dense linear, no bias", "dense(16, bias=false) dense(5)", (20,)),
    ("softmax", "softmax(5)", (20,)),
    ("conv valid", "conv(4,3) relu flatten dense(5)", IMAGE),
    ("conv same, odd kernel", "conv(4,3,pad=same) tanh flatten dense(5)", IMAGE),
    ("conv same, even kernel, stride 2", "conv(4,4,2,pad=same) relu flatten dense(5)", IMAGE),
    ("conv full", "conv(3,3,pad=full) sigmoid flatten dense(5)", IMAGE),
    ("conv int padding 2, stride 2", "conv(3,4,2,pad=2) relu flatten dense(5)", IMAGE),
    ("conv 3x5 kernel, no bias", "conv(3,3x5,bias=false) leaky_relu flatten dense(5)", IMAGE),
    ("conv two layers", "conv(4,3) relu conv(6,4,2) relu flatten dense(5)", IMAGE),
    ("maxpool 2", "conv(4,3) pool(2) relu flatten dense(5)", IMAGE),
    ("maxpool 3 stride 2 (ragged edge)", "conv(4,3) pool(3,2) flatten dense(5)", IMAGE),
    ("avgpool 2", "conv(4,3) avgpool(2) flatten dense(5)", IMAGE),
    ("avgpool 3 stride 2", "conv(4,3) avgpool(3,2) flatten dense(5)", IMAGE),
    ("l2pool 2", "conv(4,3) l2pool(2) flatten dense(5)", IMAGE),
    ("l2pool 3 stride 2", "conv(4,3) l2pool(3,2) flatten dense(5)", IMAGE),
    ("batchnorm after dense", "dense(16,bias=false) bn relu dense(5)", (20,)),
    ("batchnorm after conv", "conv(4,3,bias=false) bn relu flatten dense(5)", IMAGE),
    ("dropout", "dense(16) relu dropout(0.5) dense(5)", (20,)),
    ("flatten", "flatten dense(5)", IMAGE),
    ("reshape", "reshape(2,72) flatten dense(5)", IMAGE),
    ("reshape twice", "reshape(2,72) reshape(4,6,6) conv(2,3) flatten dense(5)", IMAGE),
    ("activation layers", "conv(4,3) pool(2) sigmoid flatten tanh relu dense(5)", IMAGE),
]
SEQ = (10, 4)
#: (name, --net spec, input shape): the sequence layers (random float sequences (N, T, D), or token ids).
SEQUENCES = [
    ("rnn", "rnn(8) dense(5)", SEQ),
    ("rnn, last step", "rnn(8, sequences=false) softmax(5)", SEQ),
    ("lstm", "lstm(8) dense(5)", SEQ),
    ("lstm, peepholes, per-step softmax", "lstm(8, peepholes=true) softmax(5)", SEQ),
    ("lstm, last step, learned initial state", "lstm(8, sequences=false, initial=learned) softmax(5)", SEQ),
    ("gru", "gru(8) dense(5)", SEQ),
    ("gru, learned initial state", "gru(8, initial=learned) tanh dense(5)", SEQ),
    ("bidirectional lstm", "lstm(8, bidirectional=true) dense(5)", SEQ),
    ("bidirectional gru, last step", "gru(8, bidirectional=true, sequences=false) softmax(5)", SEQ),
    ("bidirectional rnn, merge sum", "rnn(8, bidirectional=true, merge=sum) dense(5)", SEQ),
    ("bidirectional lstm, peepholes, learned initial state, last step, merge sum",
     "lstm(8, bidirectional=true, peepholes=true, initial=learned, sequences=false, merge=sum) softmax(5)", SEQ),
    ("stacked rnn (stateful) and gru", "rnn(8, stateful=true) gru(8, sequences=false) softmax(5)", SEQ),
    ("character model", "embedding(8, vocabulary=30) lstm(16) dense(30) softmax", (20,)),
    ("embedding, gru, last step", "embedding(8, vocabulary=30) gru(16, sequences=false) softmax(5)", (20,)),
]
#: (name, preprocessing, its options): stored preprocessing exported as graph nodes.
PREPROCESSING = [("preprocessing mean", "mean", {}), ("preprocessing standardize", "standardize", {}),
                 ("preprocessing pca(8)", "pca", {"k": 8}), ("preprocessing pca_whiten(8)", "pca_whiten", {"k": 8}),
                 ("preprocessing zca", "zca", {})]
CASE_NAMES = [name for name, *_ in SPECS] + ["tied dense", "step activation", "nested network"] + \
    [name for name, *_ in PREPROCESSING]
#: The sequence cases (inputs (N, T, D) or int64 ids (N, T)); the page's onnxruntime-web run
#: (bench/page_figures.py --layers, which feeds float rows) covers only :data:`CASE_NAMES`.
SEQUENCE_CASE_NAMES = [name for name, *_ in SEQUENCES]
ALL_CASE_NAMES = CASE_NAMES + SEQUENCE_CASE_NAMES


def _randomize_statistics(network, rng) -> None:
    """Batch norm's γ, β and running statistics drawn at random (fresh ones make it nearly the identity)."""
    for _, layer in network.leaves():
        if layer.type == "batchnorm":
            n = layer.gamma.value.shape[0]
            layer.gamma.value[...] = rng.uniform(0.5, 2.0, n)
            layer.beta.value[...] = rng.normal(0, 0.5, n)
            layer.running_mean[...] = rng.normal(0, 0.5, n)
            layer.running_var[...] = rng.uniform(0.2, 3.0, n)
        for p in layer.params:               # peepholes, the GRU's b_hn and learned initial states start at 0
            if p.name.split(".")[-1] in ("P", "bhn", "h0", "c0"):
                p.value[...] = rng.normal(0, 0.5, p.value.shape)


def build_case(name: str, seed: int = 0):
    """(network, inputs) of the case ``name``: 256 random raw examples as rows."""
    rng = numpy.random.default_rng(seed)
    spec = {n: (s, shape) for n, s, shape in SPECS + SEQUENCES}
    pre = {n: (p, kw) for n, p, kw in PREPROCESSING}
    if name in spec:
        text, shape = spec[name]
        network = Network(parse_spec(text, shape), shape, seed=seed)
    elif name == "tied dense":
        encoder = Dense(8, activation="sigmoid")
        network = Network([encoder, TiedDense(encoder, activation="sigmoid")], (20,), seed=seed)
    elif name == "step activation":
        network = Network([Dense(8, activation="linear"), ActivationLayer("step"), Dense(5, activation="softmax")],
                          (20,), seed=seed)
    elif name == "nested network":
        inner = Network(parse_spec("conv(4,3) relu pool(2)", IMAGE), IMAGE, seed=seed)
        network = Network([inner] + parse_spec("flatten dense(5)", inner.output_shape), IMAGE, seed=seed)
    elif name in pre:
        kind, options = pre[name]
        preprocessor = get_preprocessor(kind, **options).fit(rng.normal(0.5, 0.3, (400, 20)) @
                                                             rng.normal(0, 1, (20, 20)))
        network = Network(parse_spec("dense(16) tanh softmax(5)", (preprocessor.output_features,)),
                          (preprocessor.output_features,), seed=seed)
        network.preprocessor = preprocessor
        x = (rng.normal(0.5, 0.3, (256, 20)) @ rng.normal(0, 1, (20, 20))).astype(numpy.float32)
        return network, x
    else:
        raise KeyError(name)
    _randomize_statistics(network, rng)
    if reads_ids(network):
        return network, rng.integers(0, vocabulary(network), (256, *input_dims(network)))
    x = rng.normal(0.0, 1.0, (256, *input_dims(network))).astype(numpy.float32)
    return network, x


def measure(name: str) -> dict:
    """Export the case and compare: ``{"case", "layers", "ops", "max_abs_diff", "same_class"}``."""
    from nndl.export.onnx import parity, to_onnx

    network, x = build_case(name)
    model = to_onnx(network)
    row = {"case": name, "layers": " ".join(layer.type for _, layer in network.leaves()),
           "ops": " ".join(dict.fromkeys(node.op_type for node in model.graph.node[:-1]))}   # (not the output Identity)
    row.update(parity(network, model, x))
    return row


#: Saved models checked on every MNIST test image: the book's chapter 1 net, chapter 6 conv nets, and
#: row-by-row MNIST recurrent nets (28 steps of 28 pixels: an LSTM, a bidirectional GRU).
SAVED = ["docs/results/onnx/book-784-30-10.npz", "docs/results/ch6-relu.npz", "docs/results/ch6-batchnorm/seed1.npz",
         "docs/results/onnx/row-lstm-32.npz", "docs/results/onnx/row-bigru-16.npz"]


def measure_mnist(model: str) -> dict:
    """A saved model against onnxruntime on the 10,000 MNIST test images (read from $NNDL_DATA)."""
    import time
    from pathlib import Path

    from nndl import io
    from nndl.data import load_mnist
    from nndl.export.onnx import parity, to_onnx

    test = load_mnist(split="book", download=False).test
    x = numpy.asarray(test.x, dtype=numpy.float32).reshape(len(test.x), -1)
    network = io.load(Path(__file__).resolve().parents[1] / model)
    start = time.perf_counter()
    row = {"model": model, "layers": " ".join(layer.type for _, layer in network.leaves())}
    row.update(parity(network, to_onnx(network), x))
    row["seconds"] = round(time.perf_counter() - start, 2)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="also write the JSON lines here")
    parser.add_argument("--mnist", action="store_true", help="the saved models on all MNIST test images instead")
    args = parser.parse_args(argv)
    rows = [measure_mnist(m) for m in SAVED] if args.mnist else [measure(name) for name in ALL_CASE_NAMES]
    lines = [json.dumps(row) for row in rows]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0 if all(r["max_abs_diff"] <= 1e-5 and r["same_class"] == 1.0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
