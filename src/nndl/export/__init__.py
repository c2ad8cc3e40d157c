"""Taking a model out of nndl: :mod:`nndl.export.onnx` writes it as an ONNX graph."""
