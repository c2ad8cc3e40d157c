"""MNIST: find (or download) the four IDX files, decode them once, split them.

Where the data live
-------------------
The data root is ``$NNDL_DATA`` if set, else ``$XDG_CACHE_HOME/nndl`` or
``~/.cache/nndl``; MNIST lives in ``<root>/mnist/`` as the four original files
(``train-images-idx3-ubyte.gz`` ...), gzipped or already decompressed.  Missing files
are downloaded from :data:`MIRRORS` unless offline (``download=False`` or
``NNDL_OFFLINE=1``).

Splits
------
``"book"``: the first 50,000 training images train, the last 10,000 validate, and the
10,000 test images test — the split of the book's ``mnist.pkl.gz``.  ``"standard"``:
all 60,000 train, no validation.  The images are decoded once per process (cached),
stored read-only, and every split is a view into them.

Any folder holding four files with MNIST's names and layout (e.g. Fashion-MNIST)
loads with :func:`load_idx_folder`; :func:`load_data` picks the loader for a
``--data`` value.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from nndl.data.dataset import DataSplits, Dataset
from nndl.data.download import download as download_file
from nndl.data.download import sha256_file
from nndl.data.idx import read_idx
from nndl.errors import NndlError

#: The four MNIST files: key -> (canonical file name, SHA-256 of that .gz file).
MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}

#: Sizes in bytes of the four .gz files (a mirror sending more is cut off).
MNIST_GZ_SIZES = {"train_images": 9_912_422, "train_labels": 28_881,
                  "test_images": 1_648_877, "test_labels": 4_542}

#: Sizes in bytes of the four files decompressed (checked for decompressed copies).
MNIST_RAW_SIZES = {"train_images": 47_040_016, "train_labels": 60_008,
                   "test_images": 7_840_016, "test_labels": 10_008}

#: Public mirrors of the four files, tried in order.
MIRRORS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

#: Most classes an IDX folder may have: labels are class indices, and a label of 10**9 would
#: otherwise make a network with 10**9 outputs.  65536 is far beyond any labelled image set.
MAX_CLASSES = 65536

#: Validation examples split off the end of the training set by the book split.
BOOK_VALIDATION = 10_000
SPLITS = ("book", "standard")

# file_key(path) -> SHA-256 of files already hashed in this process.
_hash_cache: dict[tuple, str] = {}


def data_root() -> Path:
    """Return the data root: ``$NNDL_DATA``, else ``$XDG_CACHE_HOME/nndl`` or ``~/.cache/nndl``."""
    env = os.environ.get("NNDL_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(cache).expanduser() if cache else Path.home() / ".cache") / "nndl"


def mnist_dir(root=None) -> Path:
    """Return the MNIST folder: ``<root>/mnist`` (``root`` defaults to :func:`data_root`).

    If there is no ``<root>/mnist`` folder and ``root`` is itself the MNIST folder (it holds
    one of the four files, or is named ``mnist``), ``root`` is returned: so ``NNDL_DATA``
    may point at the data root or at the MNIST folder in it.
    """
    base = Path(root).expanduser() if root is not None else data_root()
    folder = base / "mnist"
    if not folder.is_dir() and (base.name.lower() == "mnist" or _holds_mnist(base)):
        return base
    return folder


def _holds_mnist(folder: Path) -> bool:
    """True if ``folder`` holds at least one of the four MNIST files (under any accepted name)."""
    return any(find_file(folder, canonical) is not None for canonical, _ in MNIST_FILES.values())


def offline(download: bool | None = None) -> bool:
    """True if downloads are off: ``download=False``, or ``download=None`` and ``NNDL_OFFLINE`` set."""
    if download is not None:
        return not download
    return os.environ.get("NNDL_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def candidate_names(canonical: str) -> list[str]:
    """File names accepted for one MNIST file: gzipped or decompressed, ``-idx`` or ``.idx``."""
    stem = canonical[: -len(".gz")]
    dotted = stem.replace("-idx", ".idx")
    return [canonical, stem, dotted + ".gz", dotted]


def find_file(folder: Path, canonical: str) -> Path | None:
    """Return the first of :func:`candidate_names` present in ``folder``, or None."""
    for name in candidate_names(canonical):
        if (folder / name).is_file():
            return folder / name
    return None


def file_key(path: Path) -> tuple:
    """(absolute path, size, mtime, ctime, inode): changes whenever the file is rewritten or replaced."""
    stat = path.stat()
    return (str(path.absolute()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)


def file_sha256(path: Path) -> str:
    """SHA-256 of ``path``, cached per :func:`file_key` so a file is hashed once per process."""
    key = file_key(path)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(path)
    return _hash_cache[key]


def check_sha256(path: Path, expected: str) -> None:
    """Raise NndlError naming ``path`` unless its SHA-256 is ``expected``."""
    got = file_sha256(path)
    if got != expected:
        raise NndlError(f"{path} is corrupt or not the MNIST file: SHA-256 {got} instead of "
                        f"{expected}; delete it and run `nndl data download`")


def check_raw_size(path: Path, key: str) -> None:
    """Raise NndlError unless a decompressed (or gzipped non-canonical) MNIST file has the right size."""
    if path.name.endswith(".gz"):
        return  # only the canonical .gz files have a known checksum; the decoder checks the rest
    size, expected = path.stat().st_size, MNIST_RAW_SIZES[key]
    if size != expected:
        raise NndlError(f"{path} has {size} bytes but the decompressed MNIST file has {expected}; "
                        f"delete it and run `nndl data download`")


def _missing_message(folder: Path, missing: list[str]) -> str:
    names = ", ".join(name for name, _ in MNIST_FILES.values())
    if len(missing) == len(MNIST_FILES):
        head = f"MNIST not found in {folder}"
    else:
        head = f"MNIST is incomplete in {folder} (missing {', '.join(missing)})"
    return (f"{head}; download it with `nndl data download` or put the four files {names} there "
            f"(gzipped or not)")


def ensure_mnist(root=None, download: bool | None = None, timeout: float = 30) -> Path:
    """Make sure the four MNIST files are in ``<root>/mnist`` and return that folder.

    Files present under their canonical ``.gz`` names are checked against their
    SHA-256 (once per process); decompressed copies are checked by size only.
    Missing files are downloaded from :data:`MIRRORS` and verified, unless offline.

    Parameters
    ----------
    root : str or Path, optional
        Data root; default :func:`data_root`.
    download : bool, optional
        False: never download; True: download missing files even if ``NNDL_OFFLINE``
        is set; None: download unless ``NNDL_OFFLINE=1``.
    timeout : float
        Seconds per connection attempt.

    Raises
    ------
    NndlError
        If a file is missing and downloads are off (the message says how to get the
        files), if no mirror serves it, or if a present ``.gz`` file has the wrong SHA-256.
    """
    folder = mnist_dir(root)
    missing = []
    for key, (canonical, sha) in MNIST_FILES.items():
        path = find_file(folder, canonical)
        if path is None:
            missing.append(canonical)
        elif path.name == canonical:
            check_sha256(path, sha)
        else:
            check_raw_size(path, key)
    if missing and offline(download):
        raise NndlError(_missing_message(folder, missing))
    for key, (canonical, sha) in MNIST_FILES.items():
        if canonical in missing:
            try:
                download_file([mirror + canonical for mirror in MIRRORS], folder / canonical, sha,
                              timeout=timeout, size=MNIST_GZ_SIZES[key])
            except NndlError as exc:
                names = ", ".join(name for name, _ in MNIST_FILES.values())
                raise NndlError(f"{exc} (MNIST needs the four files {names} in {folder})") from None
            file_sha256(folder / canonical)  # remember the verified file
    return folder


def _folder_files(folder: Path) -> dict[str, Path]:
    """The four IDX files of an MNIST-layout folder; NndlError if any is missing."""
    if not folder.is_dir():
        raise NndlError(f"{folder}: no such folder")
    files, missing = {}, []
    for key, (canonical, _) in MNIST_FILES.items():
        path = find_file(folder, canonical)
        if path is None:
            missing.append(canonical[: -len(".gz")])
        files[key] = path
    if missing:
        raise NndlError(f"{folder}: missing {', '.join(missing)} (.gz or not); a folder of IDX data "
                        f"needs the four files of MNIST's layout")
    return files


def _decode_images(path: Path) -> tuple[np.ndarray, tuple[int, int]]:
    """Read IDX images (N, H, W) of uint8 into read-only float32 rows (N, H*W) in [0, 1], and (H, W)."""
    images = read_idx(path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise NndlError(f"{path}: expected images, a 3-D IDX array of unsigned bytes, got shape "
                        f"{images.shape} of {images.dtype}")
    if images.shape[0] == 0:
        raise NndlError(f"{path}: the file holds no images")
    if 0 in images.shape[1:]:
        raise NndlError(f"{path}: the images are {images.shape[1]}x{images.shape[2]} pixels: empty")
    scale = np.arange(256, dtype=np.float32) / np.float32(255)  # byte value -> [0, 1]
    x = scale[images.reshape(images.shape[0], -1)]
    x.flags.writeable = False
    return x, images.shape[1:]


def _check_label_range(path: Path, labels: np.ndarray) -> None:
    """Labels are class indices: refuse a negative one or one of :data:`MAX_CLASSES` or more."""
    if len(labels) == 0:
        return
    if labels.min() < 0:
        raise NndlError(f"{path}: negative label {int(labels.min())}")
    if labels.max() >= MAX_CLASSES:
        i = int(labels.argmax())
        raise NndlError(f"{path}: label number {i + 1} is {int(labels[i])}, not a class index below "
                        f"{MAX_CLASSES}; labels must be class indices 0..K-1")


def _decode_labels(path: Path, count: int, images: Path) -> np.ndarray:
    """Read IDX labels into a read-only int64 array, checking there are ``count`` of them."""
    labels = read_idx(path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise NndlError(f"{path}: expected labels, a 1-D IDX array of integers, got shape "
                        f"{labels.shape} of {labels.dtype}")
    if len(labels) != count:
        raise NndlError(f"{path}: {len(labels)} labels but {images.name} has {count} images")
    _check_label_range(path, labels)
    y = labels.astype(np.int64)
    y.flags.writeable = False
    return y


@functools.lru_cache(maxsize=4)
def _decode_folder(files: tuple[tuple, ...]):
    """Decode the four files of an IDX folder, once per process.

    ``files`` holds :func:`file_key` of the training images and labels and the
    test images and labels, so a file that changes is decoded again.
    """
    train_images, train_labels, test_images, test_labels = (Path(key[0]) for key in files)
    x_train, hw_train = _decode_images(train_images)
    y_train = _decode_labels(train_labels, len(x_train), train_images)
    x_test, hw_test = _decode_images(test_images)
    y_test = _decode_labels(test_labels, len(x_test), test_images)
    if hw_train != hw_test:
        raise NndlError(f"{train_images.parent}: training images are {hw_train[0]}x{hw_train[1]} "
                        f"but test images are {hw_test[0]}x{hw_test[1]}")
    return x_train, y_train, x_test, y_test, hw_train


def clear_cache() -> None:
    """Forget decoded data sets and remembered checksums (frees their memory)."""
    _decode_folder.cache_clear()
    _hash_cache.clear()


def load_idx_folder(folder, name: str | None = None, num_classes: int | None = None
                    ) -> tuple[Dataset, Dataset]:
    """Load a folder of four IDX files in MNIST's layout as (training, test) data sets.

    Parameters
    ----------
    folder : str or Path
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each ``.gz`` or not).
    name : str, optional
        Data set name for messages; default the folder's name.
    num_classes : int, optional
        At least this many classes (10 for MNIST); default ``max label + 1``.

    Returns
    -------
    (Dataset, Dataset)
        Training and test data: float32 pixels in [0, 1] (byte / 255), flattened to
        ``(N, H*W)`` with ``image_shape == (1, H, W)``; read-only arrays shared with
        an in-process cache.

    Raises
    ------
    NndlError
        If a file is missing or malformed, images are not 3-D bytes, labels not 1-D,
        image and label counts differ, or training and test images differ in size.
    """
    folder = Path(folder).expanduser()
    name = name or folder.resolve().name
    files = _folder_files(folder)
    keys = tuple(file_key(path) for path in files.values())
    x_train, y_train, x_test, y_test, hw = _decode_folder(keys)
    k = max(int(y_train.max()), int(y_test.max())) + 1
    k = max(k, num_classes or 0)
    shape = (1,) + tuple(hw)
    train = Dataset(x_train, y_train, k, None, f"{name} (training)", shape)
    test = Dataset(x_test, y_test, k, None, f"{name} (test)", shape)
    return train, test


def split_validation(train: Dataset, validation_size: int) -> tuple[Dataset, Dataset]:
    """Split the last ``validation_size`` examples off ``train`` (views): (training, validation)."""
    n = len(train)
    if not 0 < validation_size < n:
        raise NndlError(f"{train.name}: cannot keep {validation_size} of {n} examples for validation")
    base = train.name.removesuffix(" (training)")
    return (train.slice(0, n - validation_size),
            train.slice(n - validation_size, n, f"{base} (validation)"))


def _splits(train: Dataset, test: Dataset, split: str, validation_size: int) -> DataSplits:
    if split == "standard":
        return DataSplits(train, None, test)
    if split == "book":
        training, validation = split_validation(train, validation_size)
        return DataSplits(training, validation, test)
    raise NndlError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")


def load_mnist(root=None, split: str = "book", download: bool | None = None) -> DataSplits:
    """Load MNIST (finding or downloading it first) as training/validation/test splits.

    Parameters
    ----------
    root : str or Path, optional
        Data root; default :func:`data_root`.
    split : {"book", "standard"}
        ``"book"``: 50,000 training, the last 10,000 training images as validation,
        10,000 test.  ``"standard"``: 60,000 training, no validation, 10,000 test.
    download : bool, optional
        See :func:`ensure_mnist`.

    Returns
    -------
    DataSplits
        Views into one read-only decoded copy of the data.
    """
    if split not in SPLITS:
        raise NndlError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    folder = ensure_mnist(root, download)
    train, test = load_idx_folder(folder, name="mnist", num_classes=10)
    return _splits(train, test, split, BOOK_VALIDATION)


def load_data(spec, root=None, split: str = "book", download: bool | None = None, *,
              label: str | None = None, fractions=(0.7, 0.15, 0.15), seed: int = 0,
              standardize: bool = True, task: str | None = None, standardize_targets: bool = True) -> DataSplits:
    """Load the data named by a ``--data`` value.

    Parameters
    ----------
    spec : str or Path
        ``"mnist"``; a folder of IDX files in MNIST's layout (the last 10,000 training
        examples validate if there are more than 20,000, else the last sixth); or a
        ``.csv`` table (see :func:`nndl.data.csv_table.load_csv`).
    root, split, download
        For MNIST and IDX folders (``split`` is ``"book"`` or ``"standard"``).
    label, fractions, seed, standardize, task, standardize_targets
        For CSV tables: label column(s), (train, validation, test) fractions, shuffling
        seed, whether to standardize the features, the task (inferred if None), and
        whether to standardize regression targets.

    Returns
    -------
    DataSplits
        ``preprocessor`` is set when the loader fitted one (CSV standardization).
    """
    text = str(spec).strip()
    if text.lower() == "mnist":
        return load_mnist(root, split, download)
    path = Path(text).expanduser()
    if path.is_dir():
        train, test = load_idx_folder(path)
        n = len(train)
        validation = BOOK_VALIDATION if n > 2 * BOOK_VALIDATION else n // 6
        return _splits(train, test, split, validation)
    if path.suffix.lower() == ".csv":
        from nndl.data.csv_table import load_csv

        splits, _ = load_csv(path, label=label, split=fractions, seed=seed, standardize=standardize, task=task,
                             standardize_targets=standardize_targets)
        return splits
    if not path.exists():
        raise NndlError(f"data {text!r}: no such file or folder; use 'mnist', a folder of IDX "
                        f"files or a .csv file")
    raise NndlError(f"data {text!r}: not 'mnist', a folder of IDX files or a .csv file")
