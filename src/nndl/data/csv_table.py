"""Load the user's own table: a CSV file of numeric features and one or more target columns.

The file needs a header row.  Every column but the target (label) columns is a numeric
feature.  What the targets are — the task — is given or inferred from them:

==================  ==========================================================  ===================
Limits, checked before anything is parsed into arrays: at most :data:`MAX_CSV_BYTES` of
UTF-8 text without NUL bytes, :data:`MAX_COLUMNS` columns, :data:`MAX_CELL_CHARS`
characters a cell and :data:`MAX_CLASSES` classes.  Each broken limit or malformed row is
one :class:`~nndl.errors.NndlError` line naming the file (and the line where there is one).
"""
from __future__ import annotations

import csv
import io
import re
from collections import Counter
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

#: Largest file read, in bytes: parsing takes 15 to 30 times the file's size in memory, and
#: 100 MB is 400 times the biggest table in the shared data.
MAX_CSV_BYTES = 100 << 20
#: Most columns in a table: more than any table of features this loader is meant for.
MAX_COLUMNS = 100_000
#: Longest cell, in characters: a number needs at most about 30, a class name a few dozen.
MAX_CELL_CHARS = 256
#: Most classes: a label column of class indices with one value 10**9 would otherwise make a
#: network with 10**9 outputs; 65536 is far beyond any labelled table.
MAX_CLASSES = 65536
#: Column names listed in a message at most.
SHOWN_NAMES = 20


def _reason(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _shown(name: str) -> str:
    """A column name as a message shows it: as it is if it is short and printable, else its repr."""
    return name if name.isprintable() and len(name) <= 40 else repr(name[:40])


def _shown_names(names) -> str:
    """Up to :data:`SHOWN_NAMES` names joined by commas, then how many more there are."""
    names = list(names)
    text = ", ".join(_shown(n) for n in names[:SHOWN_NAMES])
    return text + (f" and {len(names) - SHOWN_NAMES} more" if len(names) > SHOWN_NAMES else "")


def _line_of(raw: bytes, offset: int) -> int:
    """The line number (from 1) of byte ``offset``."""
    return raw.count(b"\n", 0, offset) + 1


def _read_at_most(f, limit: int) -> bytearray:
    """The rest of the binary file ``f``, or its next ``limit + 1`` bytes if it is longer
    (read a megabyte at a time: no buffer of ``limit`` bytes for a small file)."""
    data = bytearray()
    while len(data) <= limit:
        block = f.read(min(1 << 20, limit + 1 - len(data)))
        if not block:
            break
        data += block
    return data


def _read_text(path: Path) -> str:
    """The file as text: at most :data:`MAX_CSV_BYTES`, no NUL bytes, UTF-8 (a BOM is dropped)."""
    try:
        with open(path, "rb") as f:
            raw = _read_at_most(f, MAX_CSV_BYTES)
    except FileNotFoundError:
        raise NndlError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise NndlError(f"{path}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise NndlError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_CSV_BYTES:
        raise NndlError(f"{path}: more than {MAX_CSV_BYTES} bytes; nndl reads CSV tables of up to "
                        f"{MAX_CSV_BYTES >> 20} MB")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise NndlError(f"{path}, line {_line_of(raw, nul)}: a NUL byte; not a UTF-8 text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NndlError(f"{path}, line {_line_of(raw, exc.start)}: not a UTF-8 text file "
                        f"(byte 0x{raw[exc.start]:02x})") from None


def _check_cells(path: Path, row: list[str], line: int) -> None:
    """Refuse a row of more than :data:`MAX_COLUMNS` cells or with a cell over :data:`MAX_CELL_CHARS`."""
    if len(row) > MAX_COLUMNS:
        raise NndlError(f"{path}, line {line}: {len(row)} columns; nndl reads tables of at most "
                        f"{MAX_COLUMNS} columns")
    if row and max(map(len, row)) > MAX_CELL_CHARS:
        j = max(range(len(row)), key=lambda k: len(row[k]))
        raise NndlError(f"{path}, line {line}, column {j + 1}: a cell of {len(row[j])} characters; "
                        f"nndl reads cells of at most {MAX_CELL_CHARS}")


def _check_header(path: Path, header: list[str]) -> None:
    """No empty or repeated column names (counted, so a wide header takes linear time)."""
    if any(not name for name in header):
        raise NndlError(f"{path}: the header has an empty column name (column {header.index('') + 1})")
    duplicates = sorted(name for name, n in Counter(header).items() if n > 1)
    if duplicates:
        raise NndlError(f"{path}: the header repeats column name(s) {_shown_names(duplicates)}")


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Return the header, the data rows (stripped cells) and each row's line number.

    The file's size, its encoding, and the number and length of the cells in every row
    are checked as it is read (:func:`_read_text`, :func:`_check_cells`).
    """
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    header, rows, lines = None, [], []
    try:
        header = next(reader, None)
        if header is not None:
            _check_cells(path, header, reader.line_num)
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            _check_cells(path, row, reader.line_num)
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise NndlError(f"{path}, line {reader.line_num}: not a readable CSV file ({_reason(exc)})") from None
    if header is None or not any(cell.strip() for cell in header):
        raise NndlError(f"{path}: the file is empty; a CSV table needs a header row and data rows")
    header = [cell.strip() for cell in header]
    _check_header(path, header)
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
                raise NndlError(f"{path}: no label column {name!r}; the columns are {_shown_names(header)}")
        return [header.index(name) for name in names]
    lower = [name.lower() for name in header]
    for name in LABEL_NAMES:
        if name in lower:
            return [lower.index(name)]
    return [len(header) - 1]


def _parse_features(path: Path, header, rows, lines, columns) -> np.ndarray:
    """The feature columns as float64 (N, D); NndlError at the first bad cell.

    The cells go straight from the Python strings to float64 (a text array of N x D cells
    as long as the longest one could be hundreds of times the file's size).
    """
    values = [[row[j] for j in columns] for row in rows]
    try:
        x = np.array(values, dtype=np.float64).reshape(len(rows), len(columns))
    except ValueError:
        x = None
    if x is not None and np.isfinite(x).all():
        return x
    x = np.empty((len(rows), len(columns)))
    for i, row in enumerate(values):  # slow path: parse cell by cell to say where it fails
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


def _class_indices(path: Path, column: str, values: list[str], lines: list[int]) -> np.ndarray:
    """Integer labels as int64 class indices, each in ``0 .. MAX_CLASSES - 1`` (checked before
    NumPy sees them: ``10**30`` does not fit in an int64, ``10**9`` would make 10**9 classes)."""
    numbers = [int(v) for v in values]
    low, high = min(numbers), max(numbers)
    if low < 0:
        line = lines[numbers.index(low)]
        raise NndlError(f"{path}, line {line}, column {column!r}: negative class index {low}")
    if high >= MAX_CLASSES:
        line = lines[numbers.index(high)]
        raise NndlError(f"{path}, line {line}, column {column!r}: class index {high} is too large; "
                        f"labels are class indices 0..K-1 with K at most {MAX_CLASSES}")
    return np.array(numbers, dtype=np.int64)


def _class_names(path: Path, column: str, values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Text labels: the sorted distinct names (at most :data:`MAX_CLASSES`) and each row's index
    among them (as ``numpy.unique`` gives, without a text array as wide as the longest name)."""
    names = sorted(set(values))
    if len(names) > MAX_CLASSES:
        raise NndlError(f"{path}, column {column!r}: {len(names)} different labels; nndl handles at "
                        f"most {MAX_CLASSES} classes")
    index = {name: k for k, name in enumerate(names)}
    return np.array([index[v] for v in values], dtype=np.int64), names


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
        if numbers is None:
            y, distinct = _class_names(path, column, values)
        else:
            uniques = np.unique(numbers)
            y, distinct = np.searchsorted(uniques, numbers), [f"{u:g}" for u in uniques]
        if len(distinct) != 2:
            raise NndlError(f"{path}, column {column!r}: a binary task needs exactly two distinct values, "
                            f"this column has {len(distinct)}")
        return y.astype(np.int64), distinct
    if all(_INTEGER.fullmatch(v) for v in values):
        y = _class_indices(path, column, values, lines)
        return y, [str(k) for k in range(int(y.max()) + 1)]
    return _class_names(path, column, values)


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
        bad split fractions, a broken limit (size, columns, cell length, classes), a NUL
        byte or text that is not UTF-8.
    """
    path = Path(path).expanduser()
    fractions = _check_fractions(split)
    header, rows, lines = _read_rows(path)
    label_indices = _label_columns(path, header, label)
    columns = [j for j in range(len(header)) if j not in label_indices]
    if not columns:
        raise NndlError(f"{path}: only the label column(s) {_shown_names([header[j] for j in label_indices])}, "
                        f"no feature columns")
    x = _parse_features(path, header, rows, lines, columns)
    task, y, names, note = _parse_targets(path, header, rows, lines, label_indices, task)
    classes = len(names) if task in ("classification", "binary") else None

    rng = np.random.default_rng(seed)
    order = _stratified_order(y, rng) if classes is not None else rng.permutation(len(y))
    sizes = _part_sizes(path, len(y), fractions)
    if standardize and sizes[0] < 2:
        raise NndlError(f"{path}: {len(y)} rows leave {sizes[0]} for training; standardizing the "
                        f"features needs at least 2")
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
