"""A character corpus from any text file, cut into sequences for a recurrent net.

The vocabulary is the sorted set of the characters of the file; character k of it has
id k.  A character model reads ids x_1 .. x_T and learns to predict the next ones,
y_t = x_{t+1}.  By default the first 90% of the characters train and the last 10%
validate (the usual split of tiny Shakespeare: 1,003,854 and 111,540 characters).

For truncated backprop through time the training text is cut into B parallel streams
(one per row of a mini-batch), each cut into pieces of T steps; piece k of stream b is
example k·B + b.  Mini-batches of B taken in order then continue each other row by row,
so a stateful recurrent layer carries its state from one to the next (Karpathy's
char-rnn and PyTorch's word language model arrange their data the same way).

Bad input — a missing, empty or binary file, one too short for a sequence in each part,
characters outside a model's vocabulary — is one line (:class:`NndlError`).
"""
from __future__ import annotations

from pathlib import Path

import numpy

from nndl.errors import NndlError

#: The largest text file read (characters are held as int64 ids: 8 bytes each).
MAX_TEXT_BYTES = 256 * 1024 * 1024
#: Suffixes of the files ``nndl train --data`` reads as a character corpus.
TEXT_SUFFIXES = (".txt", ".text")


def is_text_file(path) -> bool:
    """Whether ``--data`` names a text corpus (by its suffix)."""
    return Path(str(path)).suffix.lower() in TEXT_SUFFIXES


class Vocabulary:
    """The characters of a corpus, in sorted order; ``encode`` and ``decode`` map text ↔ ids."""

    def __init__(self, chars):
        chars = list(chars)
        if not chars or len(set(chars)) != len(chars) or any(not isinstance(c, str) or len(c) != 1 for c in chars):
            raise NndlError("a vocabulary is a list of distinct single characters")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def of_text(cls, text: str) -> "Vocabulary":
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, what: str = "text"):
        """Ids (int64) of the characters of ``text``; a character not in the vocabulary is one line."""
        try:
            return numpy.fromiter((self.index[c] for c in text), dtype=numpy.int64, count=len(text))
        except KeyError as exc:
            ch = exc.args[0]
            raise NndlError(f"{what}: the character {ch!r} (at position {text.index(ch)}) is not in the "
                            f"model's vocabulary of {len(self)} characters") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def read_text(path) -> str:
    """The text of a file, checked: it exists, is not empty, is UTF-8 text and not binary."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise NndlError(f"{path}: no such text file")
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise NndlError(f"{path}: {size} bytes is more text than nndl reads ({MAX_TEXT_BYTES})")
    data = path.read_bytes()
    if not data:
        raise NndlError(f"{path}: the text file is empty")
    nul = data.find(b"\0")
    if nul >= 0:
        raise NndlError(f"{path}: not a text file (a NUL byte at offset {nul}: binary data)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NndlError(f"{path}: not a UTF-8 text file (byte {exc.start} cannot be decoded)") from None
    return text


def stream_pieces(ids, seq_length: int, streams: int = 1):
    """(x, y), each (K·B, T): the text as B parallel streams of K pieces of T steps, piece k of
    stream b at row k·B + b; y is x shifted by one character (the next character at every step)."""
    ids = numpy.asarray(ids)
    per_stream = (len(ids) - 1) // streams
    pieces = per_stream // seq_length
    if pieces < 1:
        raise NndlError(f"{len(ids)} characters make no sequence of {seq_length} steps (+1 for the last "
                        f"target) in each of {streams} streams")
    used = pieces * seq_length
    starts = numpy.arange(streams) * per_stream
    x = numpy.stack([ids[s:s + used] for s in starts])                     # (B, K·T)
    y = numpy.stack([ids[s + 1:s + 1 + used] for s in starts])
    shape = (streams, pieces, seq_length)
    x = x.reshape(shape).transpose(1, 0, 2).reshape(pieces * streams, seq_length)
    y = y.reshape(shape).transpose(1, 0, 2).reshape(pieces * streams, seq_length)
    return numpy.ascontiguousarray(x), numpy.ascontiguousarray(y)


class CharCorpus:
    """A text file as ids over its vocabulary, split into training and validation characters.

    Parameters
    ----------
    path : str or Path
    seq_length : int
        T, the steps of one sequence; each part must hold at least one (T + 1 characters).
    validation : float
        The share of the characters, at the end, that validate (default 0.1).
    vocabulary : Vocabulary, optional
        A model's vocabulary to encode with (its characters must cover the file's);
        default: the file's own.
    """

    def __init__(self, path, seq_length: int = 64, validation: float = 0.1, vocabulary: Vocabulary | None = None):
        if not 0.0 <= validation < 1.0:
            raise NndlError(f"the validation share must be in [0, 1), got {validation}")
        self.path = Path(str(path)).expanduser()
        self.seq_length = int(seq_length)
        if self.seq_length < 1:
            raise NndlError(f"--seq-length must be at least 1, got {seq_length}")
        text = read_text(self.path)
        self.vocabulary = vocabulary or Vocabulary.of_text(text)
        self.ids = self.vocabulary.encode(text, str(self.path))
        cut = int((1.0 - validation) * len(text))            # nanoGPT's n = int(0.9 * len(data))
        need = self.seq_length + 1
        if cut < need or (validation > 0 and len(text) - cut < need):
            raise NndlError(f"{self.path}: {len(text)} characters are too few for one sequence of "
                            f"{self.seq_length} steps (+1) in the training part and in the validation part "
                            f"(the last {validation:.0%}); use a longer text or a smaller --seq-length")
        self.train_ids, self.validation_ids = self.ids[:cut], self.ids[cut:]

    def training(self, streams: int):
        """Training (x, y) in stream order for mini-batches of ``streams`` rows (see :func:`stream_pieces`)."""
        return stream_pieces(self.train_ids, self.seq_length, streams)

    def validation(self, streams: int = 1):
        """Validation (x, y): the last part as ``streams`` streams of consecutive sequences of T steps
        (in stream order, see :func:`stream_pieces`)."""
        if not len(self.validation_ids):
            return None
        return stream_pieces(self.validation_ids, self.seq_length, streams)
