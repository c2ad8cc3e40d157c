"""Fuzzing nndl's loaders: every mutated file is accepted or refused with one NndlError line,
within 2 s and 200 MB (see fuzz_harness.py).

The fast run (a few hundred cases per loader) is part of the default ``python -m pytest``;
the long run (thousands per loader, other cases) is marked slow::

    NNDL_FUZZ_SUMMARY=fuzz-summary.json python -m pytest -m slow tests/fuzz

Both print a one-line JSON summary of the counts at the end.  To add a loader, add a
:class:`Target`: its loader, seed files, mutators and, if it needs them, sibling files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import fuzz_formats as formats
from fuzz_harness import fuzz, generic_mutators

DATA_ROOT = Path(os.environ.get("NNDL_DATA") or "/nonexistent")


@dataclass
class Target:
    """One loader to fuzz: how to load a file, what to start from, how to mutate it."""

    name: str
    filename: str
    loader: Callable[[Path], object]
    seeds: Callable[[], list[bytes]]
    mutators: Callable[[list[bytes]], list]     # seeds -> mutators
    fast_cases: int = 500
    slow_cases: int = 5000
    prepare: Callable[[Path], None] | None = None   # writes sibling files into the work folder
    names_file: bool = True


def read_idx(path):
    from nndl.data import read_idx
    return read_idx(path)


def load_csv(path):
    from nndl.data import load_csv
    return load_csv(path)


def load_digit_image(path):
    from nndl.data import load_digit_image
    return load_digit_image(path)


def read_npz(path):
    from nndl.archive import read_npz
    return read_npz(path)


def load_model(path):
    """A model as ``nndl evaluate`` loads it, then one prediction (a loaded model must also run;
    its errors are named after the model, as the commands name it)."""
    from nndl import io
    from nndl.errors import NndlError
    net = io.load(path)
    x = np.zeros((2,) + tuple(net.input_shape), np.float32)
    try:
        if net.preprocessor is not None:
            x = net.preprocessor.transform(x.reshape(2, -1)).reshape((2,) + tuple(net.input_shape))
        return net.predict_proba(x, preprocessed=True)     # x has been through it just above
    except NndlError as exc:
        raise NndlError(f"{path}: {exc}") from None


def resume_checkpoint(path):
    """A checkpoint read and put back into a fresh trainer and model, as a resumed run does."""
    from nndl import io
    from nndl.callbacks import EarlyStopping, LearningRateSchedule
    from nndl.models import Classifier
    from nndl.optim import HalveOnPlateau, Momentum
    from nndl.trainer import Trainer
    net, state = io.read_checkpoint(path)
    trainer = Trainer(8, [EarlyStopping("validation_accuracy", patience=5), LearningRateSchedule(HalveOnPlateau(2))])
    io.restore(trainer, Classifier(net, Momentum(0.1, 0.5)), state)
    return trainer


def evaluate_command(path):
    """``nndl evaluate MODEL --json`` run as a user runs it: a refusal is its one stderr line."""
    import contextlib
    import io as text_io

    from nndl.cli.main import main
    from nndl.errors import NndlError
    out, err = text_io.StringIO(), text_io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["evaluate", str(path), "--json"])
    if status != 0:
        lines = err.getvalue().strip().splitlines()
        raise NndlError(lines[-1] if len(lines) == 1 else f"exit {status} with {len(lines)} lines: {lines!r}")
    return out.getvalue()


def load_text(path):
    """A character corpus as ``nndl train --data FILE.txt`` reads it, cut into training and validation pieces."""
    from nndl.data.text import CharCorpus
    corpus = CharCorpus(path, seq_length=16)
    return corpus.training(4), corpus.validation()


def text_seeds() -> list[bytes]:
    path = DATA_ROOT / "tinyshakespeare" / "input.txt"
    english = path.read_bytes()[:3000] if path.exists() else b"First Citizen:\nBefore we proceed any further.\n" * 40
    return [english, "Ünïcödé — text, ½ of it ✓\n".encode() * 30]


def serve_onnx(path):
    """An ONNX file as ``nndl serve MODEL.onnx`` reads it: loaded, fully checked, its input and classes read."""
    from nndl.cli.serve_cmd import model_for_page
    return model_for_page(path)


def onnx_seeds() -> list[bytes]:
    """Small exported models: a dense net for 28x28 digits (with its class names), a conv net with batch norm."""
    pytest.importorskip("onnx")
    from nndl.export.onnx import to_onnx
    from nndl.network import Network
    from nndl.spec import parse_spec
    dense = Network(parse_spec("dense(3) softmax(10)", (784,)), (784,))
    dense.class_names = [str(i) for i in range(10)]
    conv = Network(parse_spec("conv(2,4,2) bn relu pool(2) softmax(10)", (1, 28, 28)), (1, 28, 28))
    return [to_onnx(dense).SerializeToString(), to_onnx(conv).SerializeToString()]


def follow_run_log(path):
    """A run's JSON lines as the live view follows them: read in two polls (the file grows in between)."""
    from nndl.serve.runlog import RunLog
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    log = RunLog(path)
    log.poll()
    path.write_bytes(data)
    state = log.poll()
    assert all(isinstance(e.get("epoch"), int) for e in state["epochs"])
    return state


def run_log_seeds() -> list[bytes]:
    return [(Path(__file__).resolve().parents[2] / "docs" / "results" / "onnx" / "live-conv.jsonl").read_bytes()]


def sample_generative(path):
    """A generative model as ``nndl sample MODEL`` loads it, then two examples drawn from it."""
    from nndl.models import generative
    return generative.load(path).sample(2, np.random.default_rng(0))


def generative_seeds() -> list[bytes]:
    """Small models of three kinds: an RBM (arrays only), a VAE and a conditional GAN (networks)."""
    import tempfile

    from nndl.models.gan import GAN
    from nndl.models.rbm import RBM
    from nndl.models.vae import VAE
    with tempfile.TemporaryDirectory() as folder:
        models = (RBM(784, 6), VAE(hidden=(6,), latent=2), GAN(latent=3, hidden=6, d_hidden=6, conditional=True))
        return [m.save(Path(folder) / f"{m.kind}.npz").read_bytes() for m in models]


def load_ntm(path):
    """A Neural Turing Machine file, loaded and run on one short copy sequence."""
    from nndl.models.ntm import model as ntm
    machine = ntm.load(path)
    return machine


def ntm_seeds() -> list[bytes]:
    import tempfile

    from nndl.models.ntm import model as ntm
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ntm.npz"
        ntm.save(ntm.TuringMachine(4, 3, locations=8, width=4, units=6), path)
        return [path.read_bytes()]


def load_idx_folder(path):
    """Load the folder the mutated file sits in (decoding afresh: the cache is cleared)."""
    from nndl.data import clear_cache, load_idx_folder
    clear_cache()
    return load_idx_folder(path.parent)


FOLDER_FILES = {  # a tiny MNIST-layout folder: 30 training and 10 test images of 5x5
    "train-images-idx3-ubyte.gz": (np.arange(30 * 25) % 256).reshape(30, 5, 5),
    "train-labels-idx1-ubyte.gz": np.arange(30) % 3,
    "t10k-images-idx3-ubyte.gz": (np.arange(10 * 25) % 256).reshape(10, 5, 5),
    "t10k-labels-idx1-ubyte.gz": np.arange(10) % 3,
}


def idx_folder(mutated: str) -> Callable[[Path], None]:
    """A ``prepare`` that writes the good folder files except ``mutated``."""
    def prepare(folder: Path) -> None:
        from nndl.data import write_idx
        for name, array in FOLDER_FILES.items():
            if name != mutated:
                write_idx(folder / name, array.astype(np.uint8))
    return prepare


def folder_seed(name: str) -> list[bytes]:
    raw = formats.idx_bytes(FOLDER_FILES[name].astype(np.uint8))
    return [raw, __import__("gzip").compress(raw, mtime=0)]


TARGETS = [
    Target("idx", "data-idx3-ubyte", read_idx, lambda: formats.idx_seeds(DATA_ROOT),
           lambda seeds: generic_mutators(seeds) + formats.idx_mutators() * 3, slow_cases=10_000),
    Target("idx-folder-labels", "train-labels-idx1-ubyte.gz", load_idx_folder,
           lambda: folder_seed("train-labels-idx1-ubyte.gz"),
           lambda seeds: generic_mutators(seeds) + [formats.crafted_labels(30)] * 6 + formats.idx_mutators(),
           fast_cases=250, prepare=idx_folder("train-labels-idx1-ubyte.gz"), names_file=False),
    Target("idx-folder-images", "train-images-idx3-ubyte.gz", load_idx_folder,
           lambda: folder_seed("train-images-idx3-ubyte.gz"),
           lambda seeds: generic_mutators(seeds) + [formats.crafted_images(30)] * 6 + formats.idx_mutators(),
           fast_cases=250, prepare=idx_folder("train-images-idx3-ubyte.gz"), names_file=False),
    Target("csv", "table.csv", load_csv, lambda: formats.csv_seeds(DATA_ROOT),
           lambda seeds: generic_mutators(seeds) + formats.csv_mutators() * 4),
    Target("image", "digit.png", load_digit_image, formats.image_seeds,
           lambda seeds: generic_mutators(seeds) + formats.image_mutators() * 2),
    Target("npz", "model.npz", read_npz, formats.npz_seeds,
           lambda seeds: generic_mutators(seeds) + formats.npz_mutators() * 4),
    Target("model", "model.npz", load_model, formats.model_seeds,
           lambda seeds: generic_mutators(seeds) + formats.model_mutators() * 3),
    Target("checkpoint", "run.ckpt.npz", resume_checkpoint, formats.checkpoint_seeds,
           lambda seeds: generic_mutators(seeds) + formats.model_mutators() * 3, fast_cases=400),
    Target("text", "corpus.txt", load_text, text_seeds, generic_mutators, fast_cases=300),
    Target("onnx for nndl serve", "model.onnx", serve_onnx, onnx_seeds, generic_mutators, fast_cases=300,
           slow_cases=3000),
    Target("run log (live view)", "run.jsonl", follow_run_log, run_log_seeds, generic_mutators, fast_cases=300,
           slow_cases=3000),
    Target("generative model (nndl sample)", "model.npz", sample_generative, generative_seeds,
           lambda seeds: generic_mutators(seeds) + formats.model_mutators() * 3, fast_cases=300, slow_cases=3000),
    Target("neural turing machine", "ntm.npz", load_ntm, ntm_seeds,
           lambda seeds: generic_mutators(seeds) + formats.model_mutators() * 2, fast_cases=200, slow_cases=2000),
    Target("nndl evaluate", "model.npz", evaluate_command, lambda: formats.command_model_seeds(DATA_ROOT),
           lambda seeds: generic_mutators(seeds) + formats.model_mutators() * 3, fast_cases=200, slow_cases=2000,
           names_file=False),
]


def run(target: Target, workdir: Path, cases: int, seed: int):
    if target.name == "image":
        pytest.importorskip("PIL")
    if target.prepare is not None:
        target.prepare(workdir)
    seeds = target.seeds()
    return fuzz(target.name, target.loader, seeds, target.mutators(seeds), cases=cases, workdir=workdir,
                filename=target.filename, seed=seed, names_file=target.names_file)


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_fuzz(target, tmp_path, fuzz_summaries):
    report = run(target, tmp_path, target.fast_cases, seed=0)
    fuzz_summaries.append({"run": "fast", **report.counts()})
    assert not report.failures, report.summary()


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_fuzz_long(target, tmp_path, fuzz_summaries):
    report = run(target, tmp_path, target.slow_cases, seed=1)
    fuzz_summaries.append({"run": "slow", **report.counts()})
    assert not report.failures, report.summary()
