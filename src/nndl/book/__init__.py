"""The book's own interfaces: ``mnist_loader``, ``network`` (chapter 1), ``network2`` (chapter 3), ``network3`` (chapter 6).

Code written for Michael Nielsen's *Neural Networks and Deep Learning* runs here with
one changed import::

    from nndl.book import mnist_loader, network

    training_data, validation_data, test_data = mnist_loader.load_data_wrapper()
    net = network.Network([784, 30, 10])
    net.SGD(training_data, 30, 10, 3.0, test_data=test_data)

These modules are thin adapters.  The mathematics — feedforward, backpropagation,
the costs, the SGD step and L2 weight decay — is nndl's single implementation in
:mod:`nndl.network`, :mod:`nndl.trainer`, :mod:`nndl.costs` and :mod:`nndl.optim`;
the adapters only translate the book's data format (lists of column vectors) and
its printed lines.  Differences from the book's Python 2 code:

* MNIST is read from the original IDX files through :mod:`nndl.data` (no pickle);
* the functions return lists, not ``zip`` objects;
* parameters are float32, and the random numbers come from a seeded generator
  (``seed=0`` unless you pass another), so runs are reproducible;
* ``SGD`` does not shuffle your ``training_data`` list in place.
"""
from nndl.book import mnist_loader, network, network2, network3

__all__ = ["mnist_loader", "network", "network2", "network3"]
