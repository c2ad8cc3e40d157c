"""Layers: each one a forward pass, a backward pass and its parameters (see ``base``)."""
from nndl.layers.activation import ActivationLayer
from nndl.layers.base import LAYER_TYPES, Layer, Parameter, layer_from_config, register_layer
from nndl.layers.dense import Dense
from nndl.layers.dropout import Dropout

__all__ = ["ActivationLayer", "Dense", "Dropout", "Layer", "Parameter", "LAYER_TYPES", "layer_from_config",
           "register_layer"]
