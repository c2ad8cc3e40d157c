"""A readable language for layer stacks, for the command line and for summaries.

The book's chapter 6 network reads

    conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu dropout(0.5) softmax(10)

Tokens, separated by spaces (arguments in parentheses, ``key=value`` for options):

=========================================  ===============================================
``conv(filters, kernel[, stride][, pad])``  :class:`~nndl.layers.Conv2D`; kernel ``5`` or ``3x5``;
                                            ``pad=valid|same|full|N``; ``init=NAME``; ``bias=false``
``pool(size[, stride])``, ``maxpool(..)``   max-pooling (``strict=true``: windows must tile the map)
``avgpool(..)``, ``l2pool(..)``             average and L2 pooling
``flatten``, ``reshape(d1, d2, ..)``        change the shape of each example
``dense(units)``                            a fully connected layer; ``init=NAME``, ``bias=false``
``dropout(p)``                              drop each input with probability p while training
``relu``, ``sigmoid``, ``tanh``,            an activation; ``leaky_relu(alpha=0.01)``
``leaky_relu``, ``linear``, ``softmax``
``softmax(units)``, ``sigmoid(units)``, ..  a dense layer with that activation (an output layer)
``bn``, ``batchnorm``                       batch normalization
=========================================  ===============================================

Rules:

* an activation right after ``conv(..)`` or ``dense(..)`` becomes that layer's own (fused)
  activation — the dense layer then shows the four backprop equations; anywhere else
  (after pooling, batch norm, ...) it is a layer of its own.  A conv or dense layer with
  no activation after it is linear;
* a ``flatten`` is put in automatically before a dense layer whose input is not flat;
* the layers are built against the input shape while parsing, so a spec that does not
  fit (a kernel larger than its input, say) fails here, with one line naming the token,
  before any training.

:func:`spec_of` writes the spec of a list of layers back (the inverse of :func:`parse_spec`).
"""
from __future__ import annotations

import inspect
import re

import numpy

from nndl.errors import NndlError
from nndl.layers import (ActivationLayer, AvgPool2D, Conv2D, Dense, Dropout, Flatten, L2Pool2D, Layer, MaxPool2D,
                         Reshape)

ACTIVATION_NAMES = ("relu", "sigmoid", "tanh", "leaky_relu", "linear", "softmax")
POOLS = {"pool": MaxPool2D, "maxpool": MaxPool2D, "avgpool": AvgPool2D, "l2pool": L2Pool2D}
LAYER_NAMES = ("conv", *POOLS, "flatten", "reshape", "dense", "dropout", "bn", "batchnorm")
KNOWN = tuple(sorted(LAYER_NAMES + ACTIVATION_NAMES))

_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\(([^()]*)\))?(?=\s|$)")
_INT = re.compile(r"[+-]?\d+$")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _Token:
    """One token of a spec: its name, arguments, 1-based position and text."""

    def __init__(self, name, args, kwargs, position, text):
        self.name, self.args, self.kwargs, self.position, self.text = name, args, kwargs, position, text

    def fail(self, message) -> NndlError:
        return NndlError(f"layer spec: {self.text} at position {self.position}: {message}")


def _value(text: str):
    """An argument: int, float, true/false, or a word (``same``, ``he``, ``3x5``)."""
    text = text.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    low = text.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    return low


def _tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i == len(text):
            return tokens
        match = _TOKEN.match(text, i)
        if match is None:
            bad = text[i:].split(None, 1)[0]
            raise NndlError(f"layer spec: cannot read {bad!r} at position {len(tokens) + 1}")
        name, arg_text = match.group(1).lower(), match.group(2)
        args, kwargs = [], {}
        if arg_text is not None and arg_text.strip():
            for part in arg_text.split(","):
                if not part.strip():
                    raise NndlError(f"layer spec: cannot read {match.group(0)!r} at position {len(tokens) + 1}"
                                    f" (empty argument)")
                if "=" in part:
                    key, _, value = part.partition("=")
                    kwargs[key.strip().lower()] = _value(value)
                elif kwargs:
                    raise NndlError(f"layer spec: cannot read {match.group(0)!r} at position {len(tokens) + 1}"
                                    f" (a plain argument after key=value)")
                else:
                    args.append(_value(part))
        tokens.append(_Token(name, args, kwargs, len(tokens) + 1, match.group(0)))
        i = match.end()


def _take(token: _Token, names: tuple[str, ...], required: int, aliases: dict | None = None,
          positional: int | None = None) -> dict:
    """Positional and keyword arguments of ``token`` as a dict over ``names``.

    The first ``required`` names must be given; only the first ``positional`` (default:
    all) may be given without ``key=``.
    """
    positional = len(names) if positional is None else positional
    usage = f"{token.name}({', '.join(names[:required])}" + "".join(
        f"[, {n}]" if k < positional else f"[, {n}=..]" for k, n in enumerate(names) if k >= required) + ")"
    if len(token.args) > positional:
        raise token.fail(f"too many arguments; use {usage}")
    values = dict(zip(names, token.args))
    for key, value in token.kwargs.items():
        key = (aliases or {}).get(key, key)
        if key not in names:
            raise token.fail(f"unknown option {key!r}; use {usage}")
        if key in values:
            raise token.fail(f"{key} given twice")
        values[key] = value
    missing = [n for n in names[:required] if n not in values]
    if missing:
        raise token.fail(f"missing {', '.join(missing)}; use {usage}")
    return values


def _kernel(token: _Token, value):
    """``5`` -> 5, ``3x5`` -> (3, 5)."""
    if isinstance(value, str) and re.fullmatch(r"\d+x\d+", value):
        h, w = value.split("x")
        return int(h), int(w)
    if isinstance(value, int):
        return value
    raise token.fail(f"{value!r} is not a size (an int, or HxW like 3x5)")


def _int(token: _Token, what: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise token.fail(f"{what} must be an int ≥ {low}, got {value!r}")
    return value


def _bool(token: _Token, what: str, value) -> bool:
    if value in (True, False, 0, 1):
        return bool(value)
    raise token.fail(f"{what} must be true or false, got {value!r}")


def _padding(token: _Token, value):
    if isinstance(value, int) and not isinstance(value, bool):
        return _int(token, "pad", value, low=0)
    if isinstance(value, str) and re.fullmatch(r"\d+x\d+", value):
        return _kernel(token, value)
    if value in ("valid", "same", "full"):
        return value
    raise token.fail(f"pad must be valid, same, full or an int, got {value!r}")


def _activation_spec(token: _Token):
    """The activation of an activation token (``leaky_relu(alpha=0.1)`` keeps its alpha)."""
    if token.name == "leaky_relu" and "alpha" in token.kwargs:
        return {"name": "leaky_relu", "alpha": float(token.kwargs["alpha"])}
    return token.name


def _make(token: _Token) -> tuple[Layer | None, str | dict | None]:
    """The layer of one token, or (None, activation) for a bare activation token."""
    name = token.name
    try:
        if name == "conv":
            v = _take(token, ("filters", "kernel", "stride", "pad", "init", "bias"), 2, {"padding": "pad"}, 4)
            return Conv2D(_int(token, "filters", v["filters"]), _kernel(token, v["kernel"]),
                          stride=_kernel(token, v.get("stride", 1)), padding=_padding(token, v.get("pad", "valid")),
                          activation="linear", init=v.get("init", "default"),
                          use_bias=_bool(token, "bias", v.get("bias", True))), None
        if name in POOLS:
            v = _take(token, ("size", "stride", "strict"), 1, positional=2)
            stride = v.get("stride")
            return POOLS[name](_kernel(token, v["size"]), None if stride is None else _kernel(token, stride),
                               strict=_bool(token, "strict", v.get("strict", False))), None
        if name == "flatten":
            _take(token, (), 0)
            return Flatten(), None
        if name == "reshape":
            if token.kwargs or not token.args:
                raise token.fail("use reshape(d1, d2, ...)")
            return Reshape([_int(token, "a dimension", d) if d != -1 else -1 for d in token.args]), None
        if name == "dense":
            v = _take(token, ("units", "init", "bias"), 1, positional=1)
            return Dense(_int(token, "units", v["units"]), activation="linear", init=v.get("init", "default"),
                         use_bias=_bool(token, "bias", v.get("bias", True))), None
        if name == "dropout":
            v = _take(token, ("p",), 1)
            return Dropout(float(v["p"])), None
        if name in ("bn", "batchnorm"):
            try:
                from nndl.layers.batchnorm import BatchNorm
            except ImportError:
                raise token.fail("batch normalization (nndl.layers.batchnorm.BatchNorm) is not available "
                                 "in this version of nndl") from None
            if token.args:
                raise token.fail("batch norm takes only key=value options")
            return BatchNorm(**token.kwargs), None
        if name in ACTIVATION_NAMES:
            if token.args:                                 # softmax(10), sigmoid(10): a dense layer
                v = _take(token, ("units", "init", "bias", "alpha"), 1, positional=1)
                act = {"name": name, "alpha": float(v["alpha"])} if "alpha" in v else name
                return Dense(_int(token, "units", v["units"]), activation=act, init=v.get("init", "default"),
                             use_bias=_bool(token, "bias", v.get("bias", True))), None
            _take(token, ("alpha",) if name == "leaky_relu" else (), 0, positional=0)
            return None, _activation_spec(token)
    except NndlError as exc:
        message = str(exc)
        if message.startswith("layer spec:"):
            raise
        raise token.fail(message) from None
    except (TypeError, ValueError) as exc:                 # e.g. dropout(half), bn(size=3)
        raise token.fail(f"bad argument ({exc})") from None
    raise NndlError(f"layer spec: unknown layer {token.text!r} at position {token.position}; "
                    f"known: {', '.join(KNOWN)}")


def parse_spec(text: str, input_shape) -> list[Layer]:
    """The layers of a spec such as ``"conv(20,5) pool(2) relu dense(100) relu softmax(10)"``.

    The layers are built against ``input_shape`` (one example, no batch axis, e.g.
    ``(1, 28, 28)``) to check that they fit; a :class:`~nndl.network.Network` builds them
    again with its own seeded generator.  Raises :class:`NndlError` (one line, naming the
    token and its position) for anything that does not parse or fit.
    """
    if not isinstance(text, str) or not text.strip():
        raise NndlError("layer spec is empty; e.g. 'conv(20,5) pool(2) relu dense(100) relu softmax(10)'")
    # Pass 1: tokens -> (token, layer), fusing an activation into the conv/dense before it.
    items: list[tuple[_Token, Layer]] = []
    fusable = False
    for token in _tokenize(text):
        layer, activation = _make(token)
        if layer is None:
            if fusable:
                prev_token, prev = items[-1]
                try:
                    fused = type(prev)(**{**_ctor_args(prev), "activation": activation})
                except NndlError as exc:
                    raise token.fail(str(exc)) from None
                items[-1] = (_Token(prev_token.name, prev_token.args, prev_token.kwargs, prev_token.position,
                                    f"{prev_token.text} {token.text}"), fused)
                fusable = False
                continue
            layer = ActivationLayer(activation)
        items.append((token, layer))
        fusable = isinstance(layer, (Conv2D, Dense)) and token.name in ("conv", "dense")
    # Pass 2: build against the input shape, flattening before a dense layer where needed.
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise NndlError(f"layer spec: input shape {input_shape!r} is not a tuple of ints") from None
    rng = numpy.random.default_rng(0)
    layers: list[Layer] = []
    for token, layer in items:
        if isinstance(layer, Dense) and len(shape) != 1:
            flatten = Flatten()
            shape = flatten.build(shape, rng)
            layers.append(flatten)
        try:
            shape = layer.build(shape, rng)
        except NndlError as exc:
            message = re.sub(r"^[a-z0-9_]+\([^)]*\): ", "", str(exc))
            raise NndlError(f"layer spec: layer {token.position} {token.text}: {message}") from None
        layers.append(layer)
    return layers


def _ctor_args(layer) -> dict:
    """Constructor arguments of a conv or dense layer (its config without the type)."""
    cfg = layer.config()
    cfg.pop("type")
    return cfg


# --------------------------------------------------------------------------- writing back
def _fmt(value) -> str:
    if isinstance(value, (list, tuple)):
        return "x".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _activation_text(activation) -> str:
    cfg = activation.config()
    if isinstance(cfg, dict):
        options = ",".join(f"{k}={_fmt(v)}" for k, v in cfg.items() if k != "name")
        return f"{cfg['name']}({options})" if options else cfg["name"]
    return cfg


def _options(layer) -> list[str]:
    opts = []
    if layer.init.name != "default":
        opts.append(f"init={layer.init.name}")
    if not layer.use_bias:
        opts.append("bias=false")
    return opts


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
        if isinstance(layer, Conv2D):
            cfg = layer.config()
            args = [str(layer.filters), _fmt(cfg["kernel_size"])]
            if layer.stride != (1, 1):
                args.append(f"stride={_fmt(cfg['stride'])}")
            if cfg["padding"] != "valid":
                args.append(f"pad={_fmt(cfg['padding'])}")
            words.append(f"conv({','.join(args + _options(layer))})")
            act = _activation_text(layer.activation)
            if act != "linear" or isinstance(nxt, ActivationLayer):
                words.append(act)
        elif isinstance(layer, Dense):
            act = _activation_text(layer.activation)
            args = ",".join([str(layer.units)] + _options(layer))
            if act == "softmax":
                words.append(f"{act}({args})")
            else:
                words.append(f"dense({args})")
                if act != "linear" or isinstance(nxt, ActivationLayer):
                    words.append(act)
        elif isinstance(layer, (MaxPool2D, AvgPool2D, L2Pool2D)):
            name = {MaxPool2D: "pool", AvgPool2D: "avgpool", L2Pool2D: "l2pool"}[type(layer)]
            args = [_fmt(_square(layer.size))]
            if layer.stride != layer.size:
                args.append(_fmt(_square(layer.stride)))
            if layer.strict:
                args.append("strict=true")
            words.append(f"{name}({','.join(args)})")
        elif isinstance(layer, Flatten):
            if not isinstance(nxt, Dense):
                words.append("flatten")
        elif isinstance(layer, Reshape):
            words.append(f"reshape({','.join(str(d) for d in layer.shape)})")
        elif isinstance(layer, Dropout):
            words.append(f"dropout({_fmt(layer.p)})")
        elif isinstance(layer, ActivationLayer):
            words.append(_activation_text(layer.activation))
        elif getattr(layer, "type", None) == "batchnorm":
            defaults = {k: p.default for k, p in inspect.signature(type(layer).__init__).parameters.items()
                        if p.default is not inspect.Parameter.empty}
            cfg = {k: v for k, v in layer.config().items()
                   if k != "type" and isinstance(v, (int, float, str, bool)) and defaults.get(k, None) != v}
            options = ",".join(f"{k}={_fmt(v)}" for k, v in cfg.items())
            words.append(f"bn({options})" if options else "bn")
        else:
            raise NndlError(f"spec_of: no spec word for a {type(layer).__name__} layer")
    return " ".join(words)


def _square(pair):
    return pair[0] if pair[0] == pair[1] else pair
