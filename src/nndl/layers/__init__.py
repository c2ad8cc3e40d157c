"""Layers: each one a forward pass, a backward pass and its parameters (see ``base``)."""
from nndl.layers.activation import ActivationLayer
from nndl.layers.base import LAYER_TYPES, Layer, Parameter, layer_from_config, register_layer
from nndl.layers.conv import Conv2D
from nndl.layers.dense import Dense
from nndl.layers.dropout import Dropout
from nndl.layers.pooling import AvgPool2D, L2Pool2D, MaxPool2D
from nndl.layers.reshape import Flatten, Reshape

__all__ = ["ActivationLayer", "Dense", "Dropout", "Layer", "Parameter", "LAYER_TYPES", "layer_from_config",
           "register_layer"]
__all__ += ["Conv2D", "MaxPool2D", "AvgPool2D", "L2Pool2D", "Flatten", "Reshape"]
