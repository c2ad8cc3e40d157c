"""``nndl serve``: a draw-a-digit page that runs the model in the browser, and a live view of training.

:mod:`nndl.serve.app` (the Flask app and its server), :mod:`nndl.serve.runlog` (following a run's
JSON lines), :mod:`nndl.serve.snapshot` (filters and mistakes of a model file); the pages are in
``static/`` with onnxruntime-web vendored in ``static/ort/``.
"""
