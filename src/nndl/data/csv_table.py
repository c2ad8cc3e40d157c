"""Load the user's own table: a CSV file of numeric features and one or more target columns.

The file needs a header row.  Every column but the target (label) columns is a numeric
feature.  What the targets are — the task — is given or inferred from them:

==================  ==========================================================  ==========================
task                the target column(s)                                        inferred when
==================  ==========================================================  ==========================
``classification``  class names (``setosa``, ...; sorted to give class indices)  text, or at most
                    or integer class indices ``0..K-1``                         20 distinct integers
``binary``          two values (``benign``/``malignant``, 0/1): one output      exactly two distinct values
``regression``      real numbers, one output per column                         numbers with fractions,
                                                                                or more than 20 integers
``multilabel``      several columns of 0/1 (``--label a,b,c``)                  several 0/1 columns
==================  ==========================================================  ==========================

Rows are shuffled with a seeded generator and cut into training, validation and test
parts, stratified by class for classification (each part gets about its fraction of
every class).  Features are standardized with statistics of the training part only;
so are regression targets (the model maps its outputs back, see
:class:`nndl.models.Regressor`).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from nndl.data.dataset import DataSplits, Dataset
from nndl.errors import NndlError
from nndl.preprocessing import Standardize
from nndl.registry import lookup

#: Column names taken as the label when none is given (first match, case-insensitive).
LABEL_NAMES = ("label", "class", "species", "target")
_INTEGER = re.compile(r"[+-]?\d+")
TASKS = ("classification", "binary", "multilabel", "regression")
#: A column of at most this many distinct integers is taken for classes, of more for a quantity.
MAX_INFERRED_CLASSES = 20


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Return the header, the data rows (stripped cells) and each row's line number."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # blank line
                rows.append([cell.strip() for cell in row])
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NndlError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise NndlError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise NndlError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if header is None or not any(cell.strip() for cell in header):
        raise NndlError(f"{path}: the file is empty; a CSV table needs a header row and data rows")
    header = [cell.strip() for cell in header]
    if any(not name for name in header):
        raise NndlError(f"{path}: the header has an empty column name (column {header.index('') + 1})")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise NndlError(f"{path}: the header repeats column name(s) {', '.join(duplicates)}")
    if not rows:
        raise NndlError(f"{path}: only a header, no data rows")
    for row, line in zip(rows, lines):
        if len(row) != len(header):
            raise NndlError(f"{path}, line {line}: {len(row)} values but the header has "
                            f"{len(header)} columns")
    return header, rows, lines


def _label_columns(path: Path, header: list[str], label: str | None) -> list[int]:
    """Indices of the label columns: ``label`` if given (``"a,b,c"`` for several), else a usual
    name, else the last column."""
    if label is not None:
        names = [name.strip() for name in str(label).split(",")]
        for name in names:
            if name not in header:
                raise NndlError(f"{path}: no label column {name!r}; the columns are {', '.join(header)}")
        return [header.index(name) for name in names]
    lower = [name.lower() for name in header]
    for name in LABEL_NAMES:
        if name in lower:
            return [lower.index(name)]
    return [len(header) - 1]


def _parse_features(path: Path, header, rows, lines, columns) -> np.ndarray:
    """The feature columns as float64 (N, D); NndlError at the first bad cell."""
    cells = np.array([[row[j] for j in columns] for row in rows], dtype=str).reshape(len(rows), len(columns))
    try:
        x = cells.astype(np.float64)
    except ValueError:
        x = None
    if x is not None and np.isfinite(x).all():
        return x
    x = np.empty(cells.shape)
    for i, row in enumerate(cells.tolist()):  # slow path: parse cell by cell to say where it fails
        for j, cell in enumerate(row):
            where = f"{path}, line {lines[i]}, column {header[columns[j]]!r}"
            if cell == "":
                raise NndlError(f"{where}: empty cell; fill in or remove the row")
            try:
                value = float(cell)
            except ValueError:
                raise NndlError(f"{where}: {cell!r} is not a number") from None
            if not np.isfinite(value):
                raise NndlError(f"{where}: {cell!r} is not a finite number")
            x[i, j] = value
    return x


def _parse_labels(path: Path, column: str, rows, lines, index: int,
                  binary: bool = False) -> tuple[np.ndarray, list[str]]:
    """Class indices (N,) and class names: integers ``0..K-1`` as they are, text sorted.

    ``binary``: exactly two values, whatever they are, as 0 and 1 in sorted order.
    """
    values = [row[index] for row in rows]
    for value, line in zip(values, lines):
        if value == "":
            raise NndlError(f"{path}, line {line}, column {column!r}: empty label")
    if binary:
        numbers = _as_numbers(values)
        distinct = sorted(set(values)) if numbers is None else None
        if numbers is not None:
            uniques = np.unique(numbers)
            distinct = [f"{u:g}" for u in uniques]
            y = np.searchsorted(uniques, numbers)
        else:
            y = np.searchsorted(np.array(distinct), np.array(values))
        if len(distinct) != 2:
            raise NndlError(f"{path}, column {column!r}: a binary task needs exactly two distinct values, "
                            f"this column has {len(distinct)}")
        return y.astype(np.int64), distinct
    if all(_INTEGER.fullmatch(v) for v in values):
        y = np.array([int(v) for v in values], dtype=np.int64)
        if y.min() < 0:
            line = lines[int(y.argmin())]
            raise NndlError(f"{path}, line {line}, column {column!r}: negative class index {y.min()}")
        return y, [str(k) for k in range(int(y.max()) + 1)]
    names, y = np.unique(np.array(values, dtype=str), return_inverse=True)
    return y.astype(np.int64), [str(n) for n in names]


def _as_numbers(values) -> np.ndarray | None:
    """The cells as float64, or None if any is not a finite number."""
    try:
        v = np.array(values, dtype=np.float64)
    except ValueError:
        return None
    return v if np.isfinite(v).all() else None


def _infer_task(path: Path, names: list[str], columns: list[list[str]]) -> tuple[str, str]:
    """The task the target columns suggest, and a line saying why (see the module docstring)."""
    what = f"{path.name}: label column{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"
    numbers = [_as_numbers(c) for c in columns]
    if len(columns) > 1:
        if any(v is None for v in numbers):
            return "multilabel", f"{what}: several columns, not all numeric"
        if all(set(np.unique(v)) <= {0.0, 1.0} for v in numbers):
            return "multilabel", f"{what}: 0/1 in every column: task multilabel"
        return "regression", f"{what}: numbers: task regression"
    values, v = columns[0], numbers[0]
    distinct = len(set(values)) if v is None else len(np.unique(v))
    if distinct == 2:
        return "binary", f"{what}: two distinct values: task binary (one sigmoid output)"
    if v is None:
        return "classification", f"{what}: {distinct} distinct names: task classification"
    if (v != np.round(v)).any():
        return "regression", f"{what}: numbers with fractions: task regression"
    if distinct <= MAX_INFERRED_CLASSES:
        return "classification", f"{what}: {distinct} distinct integers: task classification"
    return "regression", f"{what}: {distinct} distinct integers: task regression"


def _parse_targets(path: Path, header, rows, lines, indices, task) -> tuple[str, np.ndarray, list, str | None]:
    """(task, targets, class or target names, what was inferred) for the label columns."""
    names = [header[j] for j in indices]
    columns = [[row[j] for row in rows] for j in indices]
    for name, column in zip(names, columns):
        for value, line in zip(column, lines):
            if value == "":
                raise NndlError(f"{path}, line {line}, column {name!r}: empty label")
    note = None
    if task is None:
        task, note = _infer_task(path, names, columns)
        note += " (--task to choose)"
    task = lookup({t: t for t in TASKS}, task, "task for a table", {"multi_label": "multilabel"})
    if len(indices) > 1 and task in ("classification", "binary"):
        raise NndlError(f"{path}: {len(indices)} label columns make a multilabel or regression task, not {task}")
    if task == "multilabel" and len(indices) < 2:
        raise NndlError(f"{path}: a multilabel task needs several 0/1 label columns (--label a,b,c)")
    if task in ("regression", "multilabel"):
        y = np.empty((len(rows), len(indices)))
        for k, (name, column) in enumerate(zip(names, columns)):
            v = _as_numbers(column)
            if v is None:
                bad = next(i for i, c in enumerate(column) if _as_numbers([c]) is None)
                raise NndlError(f"{path}, line {lines[bad]}, column {name!r}: {column[bad]!r} is not a number; "
                                f"a {task} target must be numeric")
            if task == "multilabel" and not set(np.unique(v)) <= {0.0, 1.0}:
                bad = int(np.argmax((v != 0) & (v != 1)))
                raise NndlError(f"{path}, line {lines[bad]}, column {name!r}: {column[bad]!r}; multilabel "
                                f"targets must be 0 or 1")
            y[:, k] = v
        return task, y, names, note
    y, class_names = _parse_labels(path, names[0], rows, lines, indices[0], binary=task == "binary")
    return task, y, class_names, note


def _check_fractions(split) -> tuple[float, float, float]:
    try:
        fractions = tuple(float(f) for f in split)
    except (TypeError, ValueError):
        raise NndlError(f"split must be (train, validation, test) fractions, got {split!r}") from None
    if len(fractions) == 2:
        fractions += (0.0,)
    if (len(fractions) != 3 or not all(np.isfinite(fractions)) or fractions[0] <= 0
            or min(fractions) < 0 or sum(fractions) > 1 + 1e-9):
        raise NndlError(f"split fractions {split!r} must be (train, validation, test), the training "
                        f"fraction positive, none negative, summing to at most 1")
    return fractions


def _stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of the rows in which every prefix holds each class in proportion.

    Rows are shuffled, ranked within their class, and sorted by (rank + ½) / class
    size, so cutting the order at any point takes about the same fraction of every class.
    """
    perm = rng.permutation(len(y))
    labels = y[perm]
    counts = np.bincount(labels)
    by_class = np.argsort(labels, kind="stable")
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(y))
    rank[by_class] = np.arange(len(y)) - np.repeat(starts, counts)
    key = (rank + 0.5) / counts[labels]
    return perm[np.argsort(key, kind="stable")]


def _part_sizes(path: Path, n: int, fractions) -> list[int]:
    """Row counts of the parts; the test part takes the rounding remainder if fractions sum to 1."""
    sizes = [int(round(n * f)) for f in fractions]
    if abs(sum(fractions) - 1) < 1e-9:
        sizes[2] = n - sizes[0] - sizes[1]
    for size, fraction, part in zip(sizes, fractions, ("training", "validation", "test")):
        if fraction > 0 and size <= 0:
            raise NndlError(f"{path}: {n} rows are too few for the split {tuple(fractions)}: "
                            f"the {part} part would be empty")
    return sizes


def load_csv(path, label: str | None = None, split=(0.7, 0.15, 0.15), seed: int = 0,
             standardize: bool = True, task: str | None = None,
             standardize_targets: bool = True) -> tuple[DataSplits, Standardize | None]:
    """Load a CSV table as training/validation/test data sets.

    Parameters
    ----------
    path : str or Path
        CSV file with a header row.
    label : str, optional
        Name of the label column (``"a,b,c"`` for several).  Default: a column named
        label, class, species or target (any case), else the last column.
    split : (float, float, float)
        Fractions of the rows for training, validation and test (a zero fraction
        leaves that part out); positive training fraction, sum at most 1.
    seed : int
        Seeds the shuffle of the rows.
    standardize : bool
        Fit :class:`~nndl.preprocessing.Standardize` on the training features and
        apply it to all parts.
    standardize_targets : bool
        The same for regression targets (``splits.target_preprocessor``).
    task : str, optional
        ``classification``, ``binary``, ``multilabel`` or ``regression``; inferred from
        the label columns if not given (``splits.note`` says how).

    Returns
    -------
    (DataSplits, Standardize or None)
        The parts (names like ``"iris.csv (training)"``, ``preprocessor`` set) and the
        fitted standardization, to save with a model trained on these data.

    Raises
    ------
    NndlError
        Naming the file (and line and column where it applies): missing file, no header
        or no rows, a missing label column, a non-numeric, empty or NaN feature value,
        bad split fractions.
    """
    path = Path(path).expanduser()
    fractions = _check_fractions(split)
    header, rows, lines = _read_rows(path)
    label_indices = _label_columns(path, header, label)
    columns = [j for j in range(len(header)) if j not in label_indices]
    if not columns:
        raise NndlError(f"{path}: only the label column(s) {', '.join(header[j] for j in label_indices)}, "
                        f"no feature columns")
    x = _parse_features(path, header, rows, lines, columns)
    task, y, names, note = _parse_targets(path, header, rows, lines, label_indices, task)
    classes = len(names) if task in ("classification", "binary") else None

    rng = np.random.default_rng(seed)
    order = _stratified_order(y, rng) if classes is not None else rng.permutation(len(y))
    sizes = _part_sizes(path, len(y), fractions)
    bounds = np.cumsum([0] + sizes)
    picks = [order[bounds[i]:bounds[i + 1]] for i in range(3)]

    pre = Standardize().fit(x[picks[0]]) if standardize else None
    target_pre = Standardize().fit(y[picks[0]]) if task == "regression" and standardize_targets else None
    parts = []
    for pick, part in zip(picks, ("training", "validation", "test")):
        if len(pick) == 0:
            parts.append(None)
            continue
        features = pre.transform(x[pick]) if pre is not None else x[pick].astype(np.float32)
        targets = target_pre.transform(y[pick]) if target_pre is not None else y[pick]
        parts.append(Dataset(features, targets, classes, names, f"{path.name} ({part})", task=task))
    splits = DataSplits(parts[0], parts[1], parts[2], preprocessor=pre, target_preprocessor=target_pre, note=note)
    return splits, pre
