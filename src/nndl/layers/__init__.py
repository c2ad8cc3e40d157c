"""Layers: each one a forward pass, a backward pass and its parameters (see ``base``)."""
from nndl.layers.activation import ActivationLayer
from nndl.layers.attention import Attention
from nndl.layers.base import (LAYER_TYPES, SPEC_NAMES, Layer, Parameter, layer_from_config, no_grad, recording,
                              register_layer)
from nndl.layers.batchnorm import BatchNorm
from nndl.layers.conv import Conv2D
from nndl.layers.conv_pool import ConvPool2D
from nndl.layers.dense import Dense
from nndl.layers.dropout import Dropout, VanillaDropout
from nndl.layers.embedding import Embedding
from nndl.layers.kmax import KMaxPool
from nndl.layers.minibatch_std import MinibatchStd
from nndl.layers.pooling import AvgPool2D, L2Pool2D, MaxPool2D
from nndl.layers.rbf import RBF
from nndl.layers.reshape import Flatten, Reshape
from nndl.layers.recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed
from nndl.layers.tied import TiedDense
from nndl.layers.units import Maxout, PReLU, RandomizedLeakyReLU

__all__ = ["ActivationLayer", "Attention", "AvgPool2D", "BatchNorm", "Bidirectional", "Conv2D", "ConvPool2D", "Dense", "Dropout", "Embedding",
           "Flatten", "GRU", "KMaxPool", "L2Pool2D", "LAYER_TYPES", "LSTM", "Layer", "MaxPool2D", "Maxout",
           "MinibatchStd", "PReLU", "Parameter", "RBF", "RandomizedLeakyReLU", "Reshape", "SPEC_NAMES", "SimpleRNN", "TiedDense",
           "TimeDistributed", "VanillaDropout",
           "layer_from_config", "no_grad", "recording", "register_layer"]
