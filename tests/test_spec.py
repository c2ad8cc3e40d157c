"""The layer-spec language and the chapter 6 presets."""
from __future__ import annotations

import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.layers import (ActivationLayer, AvgPool2D, Conv2D, Dense, Dropout, Flatten, L2Pool2D, MaxPool2D,
                         Reshape)
from nndl.network import Network
from nndl.presets import PRESETS, get_preset
from nndl.spec import parse_spec, spec_of

CH6 = "conv(20,5) relu pool(2) conv(40,5) relu pool(2) dense(100) relu dropout(0.5) softmax(10)"
MNIST = (1, 28, 28)


def test_chapter6_spec_types_and_shapes():
    layers = parse_spec(CH6, MNIST)
    assert not any(layer.built for layer in layers)          # a network builds them, with its own seed
    layers = Network(layers, MNIST).layers
    assert [type(layer) for layer in layers] == [Conv2D, MaxPool2D, Conv2D, MaxPool2D, Flatten, Dense, Dropout,
                                                 Dense]
    assert [layer.output_shape for layer in layers] == [(20, 24, 24), (20, 12, 12), (40, 8, 8), (40, 4, 4),
                                                        (640,), (100,), (100,), (10,)]
    assert [layer.activation.name for layer in layers if hasattr(layer, "activation")] == \
        ["relu", "relu", "relu", "softmax"]
    assert layers[0].W.shape == (20, 1, 5, 5) and layers[2].W.shape == (40, 20, 5, 5)
    assert layers[5].W.shape == (100, 640)
    assert layers[6].p == 0.5


def test_activation_after_pooling_is_its_own_layer():
    layers = parse_spec("conv(20,5) pool(2) relu dense(10) softmax", MNIST)
    assert [type(layer) for layer in layers] == [Conv2D, MaxPool2D, ActivationLayer, Flatten, Dense]
    assert layers[0].activation.name == "linear"
    assert layers[2].activation.name == "relu"
    assert layers[4].activation.name == "softmax"            # fused into dense(10)


def test_only_the_first_activation_is_fused():
    layers = parse_spec("dense(30) sigmoid tanh softmax(10)", (784,))
    assert [type(layer) for layer in layers] == [Dense, ActivationLayer, Dense]
    assert layers[0].activation.name == "sigmoid" and layers[1].activation.name == "tanh"
    layers = parse_spec("softmax(10) relu", (784,))             # softmax(10) already has its activation
    assert [type(layer) for layer in layers] == [Dense, ActivationLayer]


def test_dense_and_conv_without_activation_are_linear():
    layers = parse_spec("conv(4,3) dense(10) dropout(0.2) dense(3)", (1, 8, 8))
    assert [layer.activation.name for layer in layers if hasattr(layer, "activation")] == ["linear"] * 3


def test_flatten_is_inserted_only_where_needed():
    layers = parse_spec("conv(4,3) pool(2) dense(10) dense(5)", (1, 8, 8))
    assert [type(layer) for layer in layers] == [Conv2D, MaxPool2D, Flatten, Dense, Dense]
    layers = parse_spec("conv(4,3) flatten dense(10)", (1, 8, 8))
    assert [type(layer) for layer in layers] == [Conv2D, Flatten, Dense]
    layers = parse_spec("dense(10)", (784,))
    assert [type(layer) for layer in layers] == [Dense]


def test_options_and_other_layers():
    layers = parse_spec("conv(8,3x5,2,same,init=he) leaky_relu(alpha=0.1) avgpool(2,1) l2pool(3,2,strict=true) "
                        "maxpool(2) reshape(8,-1) flatten dense(10,init=glorot,bias=false) tanh sigmoid(3)",
                        (1, 28, 28))
    layers = Network(layers, (1, 28, 28), cost="quadratic").layers
    conv = layers[0]
    assert (conv.kernel_size, conv.stride, conv.padding, conv.init.name) == ((3, 5), (2, 2), "same", "he")
    assert conv.activation.name == "leaky_relu" and conv.activation.alpha == 0.1
    assert isinstance(layers[1], AvgPool2D) and layers[1].stride == (1, 1)
    assert isinstance(layers[2], L2Pool2D) and layers[2].strict and layers[2].output_shape == (8, 6, 6)
    assert isinstance(layers[4], Reshape)
    dense = layers[6]
    assert dense.init.name == "glorot_normal" and not dense.use_bias and dense.activation.name == "tanh"
    assert layers[-1].activation.name == "sigmoid" and layers[-1].units == 3
    assert Network(parse_spec("conv(4,3,pad=1)", (1, 8, 8)), (1, 8, 8)).output_shape == (4, 8, 8)
    assert Network(parse_spec("conv(4,3,padding=full)", (1, 8, 8)), (1, 8, 8)).output_shape == (4, 10, 10)
    assert parse_spec("  relu   dense(3)  ", (4,))[0].activation.name == "relu"
    assert parse_spec("CONV(4,3) ReLU", (1, 8, 8))[0].activation.name == "relu"


def test_batchnorm_token():
    from nndl.layers.batchnorm import BatchNorm

    layers = parse_spec("conv(4,3,bias=false) bn relu dense(10,bias=false) batchnorm relu softmax(10)", (1, 8, 8))
    assert [type(layer) for layer in layers] == [Conv2D, BatchNorm, ActivationLayer, Flatten, Dense, BatchNorm,
                                                 ActivationLayer, Dense]
    assert layers[0].activation.name == "linear"


@pytest.mark.parametrize("text, match", [
    ("conv(20 relu", r"^layer spec: cannot read 'conv\(20' at position 1$"),
    ("conv(20,5) relu pool(2", r"^layer spec: cannot read 'pool\(2' at position 3$"),
    ("dense(10,,3)", r"cannot read 'dense\(10,,3\)' at position 1"),
    ("conv(20,5)relu", r"cannot read 'conv\(20,5\)relu' at position 1"),
    ("conv(20,5) 7", r"cannot read '7' at position 2"),
])
def test_syntax_errors_name_the_token(text, match):
    with pytest.raises(NndlError, match=match):
        parse_spec(text, MNIST)


def test_unknown_layer_lists_the_known_ones():
    with pytest.raises(NndlError, match=r"unknown layer 'convolution\(20,5\)' at position 2; known: .*conv.*dense"):
        parse_spec("flatten convolution(20,5)", MNIST)


@pytest.mark.parametrize("text, match", [
    ("conv(20,5) relu pool(2) conv(40,5) pool(2) pool(2) pool(2) pool(2)",
     r"^layer spec: layer 8 pool\(2\): window 2x2 is larger than the input \(40, 1, 1\)$"),
    ("conv(20,5) pool(2) conv(40,5) pool(2) conv(80,5)",
     r"^layer spec: layer 5 conv\(80,5\): kernel 5x5 is larger than the padded input 4x4 .*\(40, 4, 4\)"),
    ("conv(20,3,2)", r"layer 1 conv\(20,3,2\): stride 2 does not fit input \(1, 28, 28\)"),
    ("pool(2,strict=true) pool(2,strict=true) pool(2,strict=true)",
     r"layer 3 pool\(2,strict=true\): windows 2x2 .* \(1, 7, 7\) exactly"),
])
def test_shapes_that_do_not_chain(text, match):
    with pytest.raises(NndlError, match=match):
        parse_spec(text, MNIST)


def test_conv_on_flat_input_says_so():
    with pytest.raises(NndlError, match=r"layer 1 conv\(20,5\): .*\(channels, height, width\), got \(784,\)"):
        parse_spec("conv(20,5)", (784,))


@pytest.mark.parametrize("text, match", [
    ("conv(20)", r"conv\(20\) at position 1: missing kernel; use conv\(filters, kernel"),
    ("conv(20,5,1,valid,he)", r"too many arguments"),
    ("conv(20,5,size=3)", r"unknown option 'size'"),
    ("conv(20,5,pad=middle)", r"pad must be valid, same, full or an int, got 'middle'"),
    ("conv(0,5)", r"filters=0 must be a whole number ≥ 1"),
    ("dense(1.5)", r"units=1.5 must be a whole number ≥ 1"),
    ("dense(10,init=zeros)", r"dense\(10,init=zeros\) at position 1: unknown initializer 'zeros'"),
    ("dropout(1.5)", r"dropout\(1.5\) at position 1: dropout probability"),
    ("dropout(0.1,0.2)", r"too many arguments"),
    ("flatten(2)", r"too many arguments"),
    ("relu(alpha=0.1)", r"relu\(alpha=0.1\) at position 1: .*unknown option 'alpha'"),
    ("conv(4,3) softmax", r"softmax at position 2: a conv layer takes an element-wise activation"),
    ("pool(2,stride=2,2)", r"a plain argument after key=value"),
    ("dropout(half)", r"dropout\(half\) at position 1: dropout probability p='half' is not a number"),
    ("dense(3,bias=maybe)", r"bias must be true or false, got 'maybe'"),
    ("", r"layer spec is empty"),
])
def test_argument_errors_name_the_token(text, match):
    with pytest.raises(NndlError, match=match):
        parse_spec(text, MNIST)


def test_a_bare_dropout_word_drops_half():
    assert parse_spec("dense(10) dropout", (784,))[1].p == 0.5


def test_errors_are_one_line():
    for text in ["conv(20", "foo", "conv(20,5) pool(2) conv(40,13)", "dense(0)"]:
        with pytest.raises(NndlError) as info:
            parse_spec(text, MNIST)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", [
    CH6,
    "conv(20,5) pool(2) relu conv(40,5) pool(2) relu dense(100) relu softmax(10)",
    "conv(8,3,stride=2,pad=same,init=he) tanh avgpool(3,1) l2pool(2,strict=true) dense(10,bias=false) sigmoid",
    "conv(4,3x5,pad=1x2) leaky_relu(alpha=0.2) pool(3,2) flatten dropout(0.25) dense(7) linear relu dense(3) sigmoid",
    "dense(30) sigmoid softmax(10)",
    "reshape(1,28,28) conv(4,5) relu flatten",
])
def test_spec_of_round_trip(text):
    shape = (784,) if text.startswith(("dense", "reshape")) else MNIST
    layers = parse_spec(text, shape)
    written = spec_of(layers)
    again = parse_spec(written, shape)
    assert [layer.config() for layer in again] == [layer.config() for layer in layers]
    assert spec_of(again) == written


def test_spec_of_canonical_forms():
    assert spec_of(parse_spec(CH6, MNIST)) == CH6
    assert spec_of(parse_spec("conv(4,3) relu flatten sigmoid(10)", (1, 8, 8))) == "conv(4,3) relu dense(10) sigmoid"
    assert spec_of([Dense(10, activation="softmax")]) == "softmax(10)"
    assert spec_of([Conv2D(3, 3), ActivationLayer("relu")]) == "conv(3,3) linear relu"


def test_a_spec_network_follows_its_seed():
    weights = [Network(parse_spec("conv(2,3) dense(3) dropout(0.5) softmax(2)", (1, 5, 5)), (1, 5, 5),
                       seed=seed).get_weights()[0] for seed in (1, 1, 2)]
    np.testing.assert_array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_parsed_layers_train_in_a_network():
    layers = parse_spec("conv(4,5) pool(2) relu dense(10) softmax", MNIST)
    net = Network(layers, MNIST, cost="log_likelihood")
    x = np.random.default_rng(0).random((4, 784)).astype(np.float32)
    a = net.backprop(net.as_input(x), net.one_hot(np.array([0, 1, 2, 3])))
    assert a.shape == (4, 10)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-5)


# --------------------------------------------------------------------------- presets
BOOK = {"ch6-shallow": 97.80, "ch6-conv1": 98.78, "ch6-conv2": 99.06, "ch6-relu": 99.23, "ch6-expanded": 99.37,
        "ch6-dropout": 99.60}


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_parses_and_builds(name):
    preset = PRESETS[name]
    keys = {"net", "cost", "eta", "lmbda", "epochs", "batch_size", "init", "expand", "augment", "description"}
    assert keys <= set(preset)
    layers = parse_spec(preset["net"], MNIST)
    net = Network(layers, MNIST, cost=preset["cost"])
    assert net.output_shape == (10,)
    assert spec_of(net.layers) == preset["net"]
    assert "\n" not in preset["description"] and preset["description"]


def test_chapter6_ladder_settings():
    assert set(BOOK) | {"fast"} <= set(PRESETS)
    for name, accuracy in BOOK.items():
        assert PRESETS[name]["book"] == accuracy
        assert PRESETS[name]["cost"] == "log_likelihood"
    conv1 = PRESETS["ch6-conv1"]
    assert (conv1["eta"], conv1["batch_size"], conv1["epochs"]) == (0.1, 10, 60)
    assert [type(x) for x in parse_spec(conv1["net"], MNIST)] == [Conv2D, MaxPool2D, ActivationLayer, Flatten,
                                                                  Dense, Dense]
    relu = PRESETS["ch6-relu"]
    # network3.py's lmbda=0.1 is divided by n/m mini-batches: nndl's λ = 0.1 · m = 1.0 at m = 10
    assert (relu["eta"], relu["lmbda"], relu["expand"]) == (0.03, 1.0, False)
    assert PRESETS["ch6-expanded"]["expand"] and PRESETS["ch6-dropout"]["expand"]
    dropout = parse_spec(PRESETS["ch6-dropout"]["net"], MNIST)
    assert [x.units for x in dropout if isinstance(x, Dense)] == [1000, 1000, 10]
    assert sum(isinstance(x, Dropout) for x in dropout) == 3
    assert PRESETS["ch6-dropout"]["epochs"] == 40
    with pytest.raises(NndlError, match="unknown preset 'ch7'; choose one of ch6-shallow"):
        get_preset("ch7")
    assert get_preset("CH6-relu") == PRESETS["ch6-relu"] and get_preset("fast") is not PRESETS["fast"]
