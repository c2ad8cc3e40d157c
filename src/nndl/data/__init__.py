"""Data for nndl: MNIST and other IDX folders, CSV tables, digit images, baselines.

Everything here works on host NumPy arrays; the trainer moves them to the backend.

>>> from nndl.data import load_mnist
>>> splits = load_mnist()            # the book split: 50,000 / 10,000 / 10,000
>>> splits.train.x.shape, splits.train.y.shape
((50000, 784), (50000,))

``download_file`` is :func:`nndl.data.download.download` under a name that does
not hide the ``nndl.data.download`` module.
"""
from nndl.data.baseline import AverageDarkness
from nndl.data.csv_table import load_csv
from nndl.data.dataset import DataSplits, Dataset
from nndl.data.download import download as download_file
from nndl.data.download import sha256_file
from nndl.data.idx import read_idx, write_idx
from nndl.data.images import load_digit_image, load_digit_images
from nndl.data.mnist import (MIRRORS, MNIST_FILES, clear_cache, data_root, ensure_mnist, load_data,
                             load_idx_folder, load_mnist, mnist_dir, split_validation)

__all__ = [
    "AverageDarkness", "DataSplits", "Dataset", "MIRRORS", "MNIST_FILES", "clear_cache", "data_root",
    "download_file", "ensure_mnist", "load_csv", "load_data", "load_digit_image", "load_digit_images",
    "load_idx_folder", "load_mnist", "mnist_dir", "read_idx", "sha256_file", "split_validation",
    "write_idx",
]
