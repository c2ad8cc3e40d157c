"""A readable language for layer stacks, for the command line and for summaries.

The book's chapter 6 network reads

    conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu dropout(0.5) softmax(10)

Words, separated by spaces, each a name with optional arguments in parentheses
(``key=value`` for options; the grammar of :func:`nndl.registry.parse_call`).  A word is
either a layer — every registered layer names its own words (``Layer.spec_names``) and
takes their arguments (``Layer.from_spec``), so a new layer needs no change here — or an
activation.  The layers of nndl itself:

=========================================  ===============================================
``conv(filters, kernel[, stride][, pad])``  :class:`~nndl.layers.Conv2D`; kernel ``5`` or ``3x5``;
                                            ``pad=valid|same|full|N``; ``init=NAME``; ``bias=false``
``convpool(filters, kernel[, pool])``       :class:`~nndl.layers.ConvPool2D`, the book's ConvPoolLayer: conv,
                                            max-pool (2 by default) and the activation after it, as one layer
``pool(size[, stride])``, ``maxpool(..)``   max-pooling (``strict=true``: windows must tile the map)
``avgpool(..)``, ``l2pool(..)``             average and L2 pooling
``flatten``, ``reshape(d1, d2, ..)``        change the shape of each example
``dense(units)``                            a fully connected layer; ``init=NAME``, ``bias=false``
``dropout(p)``                              drop each input with probability p while training
``vanilla_dropout(p)``                      the same, unscaled, and scaled by 1 − p at test time
``bn``, ``batchnorm``                       batch normalization
``maxout(units, pieces)``                   maxout units, the largest of k affine pieces
``rbf(units[, kernel][, width])``           radial basis units (gaussian, ricker), k-means centres;
                                            ``solve_output=true``: least-squares softmax start
``prelu``, ``rrelu(lower, upper)``          PReLU (learned α), randomized leaky ReLU
``kmaxpool(k)``                             the k largest values of each example (channel), in order
``relu``, ``sigmoid``, ``tanh``,            an activation; ``leaky_relu(alpha=0.01)``
``leaky_relu``, ``hard_tanh``, ``linear``,
``softmax``
``softmax(units)``, ``sigmoid(units)``, ..  a dense layer with that activation (an output layer)
``embedding(D[, vocabulary=V])``            token ids (T,) → vectors (T, D)
``rnn(H)``, ``lstm(H)``, ``gru(H)``         recurrent layers over (T, D) (:mod:`nndl.layers.recurrent`):
                                            ``sequences=false``, ``initial=learned``, ``stateful=true``,
                                            ``bidirectional=true``; lstm ``peepholes=true``, ``coupled=true``
=========================================  ===============================================

Rules:

* an activation right after a layer that applies one itself (``fuses_activation``:
  ``conv(..)``, ``convpool(..)``, ``dense(..)``) becomes that layer's own activation — the dense layer then
  shows the four backprop equations; anywhere else (after pooling, batch norm, ...) it
  is a layer of its own.  A conv or dense layer with no activation after it is linear;
* a ``flatten`` is put in automatically before a layer that needs flat input (dense) —
  except after a layer whose output is a sequence (an embedding, a recurrent layer with its
  whole sequence): there the dense layer runs at every time step (``TimeDistributed``);
* the layers are built against the input shape while parsing, so a spec that does not
  fit (a kernel larger than its input, say) fails here, with one line naming the word,
  before any training.

:func:`spec_of` writes the spec of a list of layers back (the inverse of :func:`parse_spec`).
"""
from __future__ import annotations

import re

import numpy

from nndl.activations import ACTIVATIONS, get_activation
from nndl.errors import NndlError
from nndl.layers import SPEC_NAMES, ActivationLayer, Dense, Flatten, Layer, layer_from_config
from nndl.registry import CallSyntaxError, call_with, normalize, parse_call, split_calls


def known_words() -> list[str]:
    """Every word of the language: the registered layers' and the activations'."""
    return sorted(set(SPEC_NAMES) | set(ACTIVATIONS))


class _Word:
    """One word of a spec: its parsed call, its 1-based position and its text."""

    def __init__(self, call, position):
        self.call, self.position, self.text = call, position, call.text

    def where(self) -> str:
        return f"layer spec: {self.text} at position {self.position}"

    def fail(self, message) -> NndlError:
        return NndlError(f"{self.where()}: {message}")


def _make(word: _Word) -> tuple[Layer | None, object]:
    """The layer of one word, or (None, activation) for a bare activation word."""
    call = word.call
    if call.name in SPEC_NAMES:
        cls = SPEC_NAMES[call.name]
        kwargs = {cls.spec_aliases.get(k, k): v for k, v in call.kwargs.items()}
        factory = cls.from_spec if cls.from_spec.__func__ is not Layer.from_spec.__func__ else cls
        return call_with(factory, call.args, kwargs, word.where(), call.name), None
    if call.name in ACTIVATIONS:
        # softmax(10), sigmoid(10, init=he): a dense layer with that activation; relu: an activation
        options = {k: v for k, v in call.kwargs.items() if k == "alpha"}
        try:
            activation = get_activation({"name": call.name, **options}) if options else get_activation(call.name)
        except NndlError as exc:
            raise word.fail(str(exc)) from None
        dense_options = {k: v for k, v in call.kwargs.items() if k != "alpha"}
        if not call.args:
            if dense_options:
                raise word.fail(f"unknown option {next(iter(dense_options))!r} for an activation")
            return None, activation
        return call_with(Dense.from_spec, call.args, {**dense_options, "activation": activation}, word.where(),
                         call.name), None
    raise NndlError(f"layer spec: unknown layer {word.text!r} at position {word.position}; "
                    f"known: {', '.join(known_words())}")


def _with_activation(word: _Word, layer: Layer, activation) -> Layer:
    """``layer`` (a conv or dense layer) rebuilt with ``activation`` as its own."""
    config = layer.config()
    config.pop("type")
    config["activation"] = activation
    return call_with(type(layer), [], config, word.where(), word.call.name)


def parse_spec(text: str, input_shape) -> list[Layer]:
    """The layers of a spec such as ``"conv(20,5) pool(2) relu dense(100) relu softmax(10)"``.

    The layers are built against ``input_shape`` (one example, no batch axis, e.g.
    ``(1, 28, 28)``) to check that they fit, and returned unbuilt, so that a
    :class:`~nndl.network.Network` builds them with its own seeded generator.  Raises
    :class:`NndlError` (one line, naming the word and its position) for anything that
    does not parse or fit.
    """
    if not isinstance(text, str) or not text.strip():
        raise NndlError("layer spec is empty; e.g. 'conv(20,5) pool(2) relu dense(100) relu softmax(10)'")
    words = []
    for position, piece in enumerate(split_calls(text, "layer spec"), start=1):
        try:
            words.append(_Word(parse_call(piece, "layer spec"), position))
        except CallSyntaxError as exc:
            raise NndlError(f"layer spec: cannot read {piece!r} at position {position} ({exc.reason})") from None
    # Pass 1: words -> (word, layer), fusing an activation into the conv/dense layer before it.
    items: list[tuple[_Word, Layer]] = []
    fusable = False
    for word in words:
        layer, activation = _make(word)
        if layer is None:
            if fusable:
                prev_word, prev = items[-1]
                merged = _Word(prev_word.call, prev_word.position)
                merged.text = f"{prev_word.text} {word.text}"
                items[-1] = (merged, _with_activation(word, prev, activation))
                fusable = False
                continue
            layer = ActivationLayer(activation)
        items.append((word, layer))
        fusable = getattr(layer, "fuses_activation", False) and word.call.name in SPEC_NAMES
    # Pass 2: build against the input shape, flattening before a layer that needs flat input.
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise NndlError(f"layer spec: input shape {input_shape!r} is not a tuple of ints") from None
    rng = numpy.random.default_rng(0)
    layers: list[Layer] = []
    in_sequence = False                             # the shape is (T, D), time steps of a sequence
    for word, layer in items:
        if getattr(layer, "needs_flat_input", False) and in_sequence:
            from nndl.layers import TimeDistributed

            layer = TimeDistributed(layer)          # a dense layer after a sequence runs at every step
        elif getattr(layer, "needs_flat_input", False) and len(shape) != 1:
            flatten = Flatten()
            shape = flatten.build(shape, rng)
            layers.append(flatten)
        before = shape
        try:
            shape = layer.build(shape, rng)
        except NndlError as exc:
            message = re.sub(r"^[a-z0-9_]+\([^)]*\): ", "", str(exc))
            raise NndlError(f"layer spec: layer {word.position} {word.text}: {message}") from None
        declared = getattr(layer, "sequence_output", None)
        in_sequence = declared if declared is not None else (in_sequence and shape == before)
        layers.append(layer)
    return [layer_from_config(layer.config()) for layer in layers]


# --------------------------------------------------------------------------- writing back
def _fmt(value) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _word(name: str, args, options) -> str:
    inner = ",".join([_fmt(a) for a in args] + [f"{k}={_fmt(v)}" for k, v in options.items()])
    return f"{name}({inner})" if inner else name


def _activation_text(activation) -> str:
    cfg = activation.config()
    if isinstance(cfg, dict):
        return _word(cfg["name"], [], {k: v for k, v in cfg.items() if k != "name"})
    return cfg


def spec_of(layers) -> str:
    """The spec of a list of layers (built or not): ``parse_spec(spec_of(layers), shape)`` gives
    layers with the same configs.

    A flatten right before a dense layer is left out (``parse_spec`` puts it back), and a
    linear conv/dense layer followed by an activation layer is written ``... linear relu``
    so the two stay separate layers.
    """
    layers = list(layers)
    words = []
    for i, layer in enumerate(layers):
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, ActivationLayer):
            words.append(_activation_text(layer.activation))
            continue
        if isinstance(layer, Flatten) and getattr(nxt, "needs_flat_input", False):
            continue
        if not layer.spec_names:
            raise NndlError(f"spec_of: no spec word for a {type(layer).__name__} layer")
        args, options = layer.spec_args()
        if getattr(layer, "fuses_activation", False):
            act = _activation_text(layer.activation)
            if isinstance(layer, Dense) and act == "softmax":
                words.append(_word(act, args, options))
                continue
            words.append(_word(layer.spec_names[0], args, options))
            if act != "linear" or isinstance(nxt, ActivationLayer):
                words.append(act)
            continue
        words.append(_word(layer.spec_names[0], args, options))
    return " ".join(words)


__all__ = ["known_words", "normalize", "parse_spec", "spec_of"]
