"""Export a trained network to ONNX, so other runtimes (onnxruntime, a browser) can run it.

The exported graph computes exactly what :meth:`Network.predict_proba` computes:

    input  "input"   float32 (N, D)   raw examples as rows (D = 784 for MNIST: pixels in [0, 1])
      → the stored preprocessing, as graph nodes (in float64, as nndl computes it):
            mean         x − μ                          Sub
            standardize  (x − μ) / σ                    Sub, Div
            pca          (x − μ) U_k                    Sub, MatMul
            pca_whiten   (x − μ) U_k / √(λ + ε)         Sub, MatMul, Div
            zca          (x − μ) U (Λ + εI)^{-½} Uᵀ     Sub, MatMul
      → Reshape to (N, *input_shape) for a conv net
      → one group of nodes per layer, in order
    output "output"  float32 (N, *output_shape)   the output activations aᴸ

Layer by layer (W, b, γ, β, μ_run, σ²_run are the trained arrays, stored as initializers):

==============  ============================================================================
dense           Gemm(x, W, b, transB=1) = x Wᵀ + b, then σ
tied_dense      Gemm(x, W_source, b) = x W + b (the source layer's W, shared), then σ
conv            Conv(x, W, b; strides, pads = the layer's own top/left/bottom/right zeros), σ
convpool        Conv as for conv, MaxPool(pool size, strides = pool size), then σ
maxpool         MaxPool(kernel, strides)            (floor: a ragged edge is dropped, as in nndl)
avgpool         AveragePool(kernel, strides)
l2pool          LpPool(p = 2): √(Σ x²) over each window
batchnorm       BatchNormalization in inference form: γ (x − μ_run) / √(σ²_run + ε) + β
dropout         Identity (inverted dropout needs no rescaling at inference)
flatten         Flatten(axis = 1)
reshape         Reshape to (N, *shape)
activation      σ on its own
network         its layers, in order (a network nested inside another)
==============  ============================================================================

σ: sigmoid → Sigmoid, tanh → Tanh, relu → Relu, leaky_relu → LeakyRelu(α), linear → nothing,
softmax → Softmax(axis = −1), step → Cast(Greater(x, 0)).

Sequence layers (embedding, rnn, lstm, gru, bidirectional, per-step dense): see
:mod:`nndl.export.onnx_recurrent`; the input is then ``input`` int64 (N, T) token ids for a
network that starts with an embedding, or float32 (N, T, D) sequences.  Any layer this module
does not know is refused with one line naming it (its position and type).  The opset and IR version are pinned
(:data:`OPSET`, :data:`IR_VERSION`) to ones that onnxruntime and onnxruntime-web accept,
and every exported model passes ``onnx.checker.check_model(full_check=True)``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy

from nndl.backend import to_numpy
from nndl.errors import NndlError

#: ONNX operator set the graphs use (opset 17, which onnxruntime has run since 1.13; the tests run
#: it with onnxruntime 1.31 and onnxruntime-web 1.30), and the IR version that goes with it.
OPSET = 17
IR_VERSION = 8
INPUT, OUTPUT = "input", "output"


def _onnx():
    """The ``onnx`` package, or one line saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise NndlError("ONNX export needs the onnx package: pip install nndl[onnx]") from None
    return onnx


class _Graph:
    """The nodes and initializers of a graph under construction, with fresh tensor names."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers = [], []
        self.count = 0
        self.weights: dict[int, tuple] = {}   # id(weight array) → (its initializer's name, the array)

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def constant(self, stem: str, value, dtype=numpy.float32) -> str:
        """A new initializer holding ``value``."""
        name = self.fresh(stem)
        array = numpy.ascontiguousarray(to_numpy(value) if hasattr(value, "shape") else value, dtype=dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def weight(self, stem: str, value) -> str:
        """The initializer of a layer's weight array: the same array (tied weights) gets the same one.
        (The array is kept referenced, so its id is never reused by another while the graph is built.)"""
        known = self.weights.get(id(value))
        if known is not None and known[1] is value:
            return known[0]
        name = self.constant(stem, value)
        self.weights[id(value)] = (name, value)
        return name

    def node(self, op: str, inputs: list[str], stem: str, **attributes) -> str:
        """Add one node; returns the name of its (single) output."""
        out = self.fresh(stem)
        self.nodes.append(self.helper.make_node(op, inputs, [out], name=out, **attributes))
        return out


# --------------------------------------------------------------------------- preprocessing
def _preprocessing(g: _Graph, x: str, pre) -> str:
    """The stored preprocessing as nodes (in float64, as :mod:`nndl.preprocessing` computes it)."""
    if pre is None:
        return x
    onnx, f64 = g.onnx, numpy.float64
    arrays = {name: numpy.asarray(value, dtype=f64) for name, value in pre.arrays().items()}
    x = g.node("Cast", [x], "pre_cast", to=onnx.TensorProto.DOUBLE)
    x = g.node("Sub", [x, g.constant("pre_mean", arrays["mean"], f64)], "pre_centred")
    if pre.name == "standardize":
        x = g.node("Div", [x, g.constant("pre_std", arrays["std"], f64)], "pre_scaled")
    elif pre.name in ("pca", "pca_whiten"):
        x = g.node("MatMul", [x, g.constant("pre_components", arrays["components"], f64)], "pre_projected")
        if pre.name == "pca_whiten":
            root = numpy.sqrt(arrays["variances"] + pre.eps)
            x = g.node("Div", [x, g.constant("pre_root", root, f64)], "pre_whitened")
    elif pre.name == "zca":
        x = g.node("MatMul", [x, g.constant("pre_zca", pre._whitening()[0], f64)], "pre_whitened")
    elif pre.name != "mean":
        raise NndlError(f"the stored preprocessing {pre.name!r} cannot be exported to ONNX")
    return g.node("Cast", [x], "pre_float", to=onnx.TensorProto.FLOAT)


# --------------------------------------------------------------------------- layers
def _activation(g: _Graph, x: str, activation) -> str:
    name = activation.name
    if name == "linear":
        return x
    simple = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
    if name in simple:
        return g.node(simple[name], [x], name)
    if name == "leaky_relu":
        return g.node("LeakyRelu", [x], name, alpha=float(activation.alpha))
    if name == "softmax":
        return g.node("Softmax", [x], name, axis=-1)
    if name == "step":
        positive = g.node("Greater", [x, g.constant("zero", numpy.zeros((), numpy.float32))], "step")
        return g.node("Cast", [positive], "step", to=g.onnx.TensorProto.FLOAT)
    raise NndlError(f"activation {name!r} cannot be exported to ONNX")


def _dense(g, x, layer, where):
    inputs = [x, g.weight(f"{where}_W", layer.W.value)]
    if layer.use_bias:
        inputs.append(g.weight(f"{where}_b", layer.b.value))
    return _activation(g, g.node("Gemm", inputs, f"{where}_dense", transB=1), layer.activation)


def _tied_dense(g, x, layer, where):
    inputs = [x, g.weight(f"{where}_W", layer.W.value)]
    if layer.use_bias:
        inputs.append(g.weight(f"{where}_b", layer.b.value))
    return _activation(g, g.node("Gemm", inputs, f"{where}_tied_dense"), layer.activation)


def _conv(g, x, layer, where):
    return _activation(g, _conv_z(g, x, layer, where), layer.activation)


def _conv_z(g, x, layer, where):
    pt, pb, pl, pr = layer.pads
    inputs = [x, g.weight(f"{where}_W", layer.W.value)]
    if layer.use_bias:
        inputs.append(g.weight(f"{where}_b", layer.b.value))
    return g.node("Conv", inputs, f"{where}_conv", kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                  pads=[pt, pl, pb, pr])


def _conv_pool(g, x, layer, where):
    z = _conv_z(g, x, layer, where)
    m = g.node("MaxPool", [z], f"{where}_maxpool", kernel_shape=list(layer.pool_size), strides=list(layer.pool_size))
    return _activation(g, m, layer.activation)


def _pool(op: str, **extra):
    def export(g, x, layer, where):
        return g.node(op, [x], f"{where}_{layer.type}", kernel_shape=list(layer.size), strides=list(layer.stride),
                      **extra)
    return export


def _batchnorm(g, x, layer, where):
    inputs = [x] + [g.weight(f"{where}_{name}", value) for name, value in
                    (("gamma", layer.gamma.value), ("beta", layer.beta.value),
                     ("mean", layer.running_mean), ("var", layer.running_var))]
    return g.node("BatchNormalization", inputs, f"{where}_batchnorm", epsilon=float(layer.eps))


def _dropout(g, x, layer, where):
    return g.node("Identity", [x], f"{where}_dropout")


def _flatten(g, x, layer, where):
    return g.node("Flatten", [x], f"{where}_flatten", axis=1)


def _reshape(g, x, layer, where):
    return _reshape_to(g, x, layer.output_shape, f"{where}_reshape")


def _reshape_to(g, x, shape, stem):
    target = g.constant(f"{stem}_shape", numpy.array((-1,) + tuple(shape), dtype=numpy.int64), numpy.int64)
    return g.node("Reshape", [x, target], stem)


def _standalone_activation(g, x, layer, where):
    return _activation(g, x, layer.activation)


def _network(g, x, layer, where):
    return _layers(g, x, layer, prefix=f"{where}.")


#: Layer type → the function that adds its nodes: ``export(graph, x, layer, where) -> output name``.
EXPORTERS = {
    "dense": _dense, "tied_dense": _tied_dense, "conv": _conv, "convpool": _conv_pool,
    "maxpool": _pool("MaxPool"), "avgpool": _pool("AveragePool"), "l2pool": _pool("LpPool", p=2),
    "batchnorm": _batchnorm, "dropout": _dropout, "flatten": _flatten, "reshape": _reshape,
    "activation": _standalone_activation, "network": _network,
}

from nndl.export.onnx_recurrent import EXPORTERS as _SEQUENCE_EXPORTERS  # noqa: E402  (embedding, rnn, lstm, ...)

EXPORTERS.update(_SEQUENCE_EXPORTERS)


def _layers(g: _Graph, x: str, network, prefix: str = "") -> str:
    for i, layer in enumerate(network.layers, start=1):
        where = f"{prefix}{i}"
        export = EXPORTERS.get(layer.type)
        if export is None:
            raise NndlError(f"layer {where} ({layer.type}) cannot be exported to ONNX: nndl exports "
                            f"{', '.join(sorted(EXPORTERS))}")
        try:
            x = export(g, x, layer, f"l{where.replace('.', '_')}")
        except NndlError as exc:
            raise NndlError(f"layer {where} ({layer.type}): {exc}") from None
    return x


# --------------------------------------------------------------------------- the model
def input_features(network) -> int:
    """How many raw values one example has (before the stored preprocessing)."""
    if network.preprocessor is not None:
        return int(network.preprocessor.num_features)
    return int(numpy.prod(network.input_shape))


def input_dims(network) -> tuple:
    """The shape of one example of the graph's input (what ``predict_proba`` takes): flat rows for
    dense and conv nets and for stored preprocessing, (T, D) for float sequences, (T,) for token ids."""
    if network.preprocessor is None and len(network.input_shape) == 2:
        return tuple(int(n) for n in network.input_shape)
    return (input_features(network),)


def reads_ids(network) -> bool:
    """Whether the network's first layer reads integer token ids (the graph's input is then int64)."""
    return getattr(network, "input_kind", "float") == "int"


def vocabulary(network) -> int:
    """V, the number of token ids the network's first (embedding) layer reads (ids 0..V−1)."""
    first = next(layer for _, layer in network.leaves())
    return int(first.vocabulary)


def to_onnx(network, name: str = "nndl"):
    """The ONNX ``ModelProto`` of ``network`` (with its stored preprocessing), checked.

    Raises NndlError, one line, if a layer or the preprocessing cannot be exported.
    """
    onnx = _onnx()
    helper = onnx.helper
    ids = reads_ids(network)
    if ids and network.preprocessor is not None:
        raise NndlError(f"layer 1 ({network.layers[0].type}) reads integer ids; a stored preprocessing "
                        f"({network.preprocessor.name}) before it cannot be exported")
    g = _Graph(onnx)
    x = _preprocessing(g, INPUT, network.preprocessor)
    dims = input_dims(network)
    if len(network.input_shape) > 1 and dims != tuple(network.input_shape):     # flat rows of a conv net
        x = _reshape_to(g, x, network.input_shape, "as_input")
    x = _layers(g, x, network)
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT], name=OUTPUT))
    graph = helper.make_graph(
        g.nodes, name,
        [helper.make_tensor_value_info(INPUT, onnx.TensorProto.INT64 if ids else onnx.TensorProto.FLOAT,
                                       ["N", *dims])],
        [helper.make_tensor_value_info(OUTPUT, onnx.TensorProto.FLOAT, ["N", *network.output_shape])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nndl",
                              ir_version=IR_VERSION)
    classes = getattr(network, "class_names", None)
    if classes:
        helper.set_model_props(model, {"class_names": json.dumps(list(classes))})
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:  # pragma: no cover
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NndlError(f"the exported ONNX graph does not check: {first[:200]}") from None
    return model


def export_onnx(network, path) -> Path:
    """Write ``network`` as an ONNX file at ``path``, atomically (see :func:`to_onnx`)."""
    from nndl.files import atomic_write

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise NndlError(f"cannot write {path}: folder {folder} does not exist")
    data = to_onnx(network).SerializeToString()
    with atomic_write(path) as f:
        f.write(data)
    return path


def class_names(model, count: int) -> list[str]:
    """The class names an exported model carries (metadata ``class_names``, a JSON list), or 0 ... count−1."""
    props = {p.key: p.value for p in model.metadata_props}
    try:
        names = json.loads(props.get("class_names", "null"))
    except ValueError:
        names = None
    if isinstance(names, list) and len(names) == count and all(isinstance(n, str) for n in names):
        return names
    return [str(i) for i in range(count)]


def read_onnx(path):
    """An ONNX file as a checked ``ModelProto``; a corrupt or invalid file is one line naming it."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise NndlError(f"ONNX file {path} does not exist")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:  # protobuf's DecodeError, checker's ValidationError, ...: all one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise NndlError(f"{path} is not a valid ONNX model ({first[:160]})") from None
    return model


# --------------------------------------------------------------------------- checking a file
def run_onnxruntime(model, x: numpy.ndarray) -> numpy.ndarray:
    """The outputs of onnxruntime (one thread) on the rows ``x`` for an ONNX file or ModelProto."""
    try:
        import onnxruntime
    except ImportError:
        raise NndlError("checking an ONNX file needs onnxruntime: pip install nndl[onnx]") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    source = str(model) if isinstance(model, (str, Path)) else model.SerializeToString()
    session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    dtype = numpy.int64 if session.get_inputs()[0].type == "tensor(int64)" else numpy.float32
    return session.run([OUTPUT], {INPUT: numpy.ascontiguousarray(x, dtype=dtype)})[0]


def parity(network, model, x: numpy.ndarray | None = None, seed: int = 0) -> dict:
    """onnxruntime against nndl on the examples ``x`` (default: 64 random ones: values in [0, 1), or
    token ids in 0..V−1): ``{"examples", "max_abs_diff", "same_class"}`` (classes over the last axis:
    per step for a sequence output)."""
    if x is None:
        rng = numpy.random.default_rng(seed)
        if reads_ids(network):
            x = rng.integers(0, vocabulary(network), (64, *input_dims(network)), dtype=numpy.int64)
        else:
            x = rng.random((64, *input_dims(network)), dtype=numpy.float32)
    ours = network.predict_proba(x)
    ours = ours.reshape(-1, ours.shape[-1])
    theirs = run_onnxruntime(model, x).reshape(ours.shape)
    return {"examples": len(x), "max_abs_diff": float(numpy.abs(ours.astype(numpy.float64) - theirs).max()),
            "same_class": float((ours.argmax(1) == theirs.argmax(1)).mean())}
