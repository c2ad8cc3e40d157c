"""What every generative model kind shares: the composite file (several networks and named arrays in
one checked .npz), the kind registry, ``nndl train --model`` and ``nndl sample --n --label --out``,
exercised with a toy kind defined here; every bad input one line."""
import numpy as np
import pytest

from nndl import io
from nndl.cli.main import main
from nndl.errors import NndlError
from nndl.image_grid import save_png, tile
from nndl.models import composite, generative
from nndl.network import Network
from nndl.spec import parse_spec


class ToyMixture(generative.GenerativeModel):
    """Each class's mean image; sampling draws Bernoulli pixels from one (a conditional toy)."""

    kind = "toy"
    conditional = True
    classes = 10

    def __init__(self, smoothing: float = 1.0):
        if not smoothing > 0:
            raise NndlError(f"smoothing must be > 0, got {smoothing}")
        self.smoothing = float(smoothing)
        self.means = np.full((10, 784), 0.5, dtype=np.float32)
        self.decoder = Network(parse_spec("dense(3) sigmoid", (2,)), (2,), seed=1)

    @classmethod
    def from_command(cls, smoothing: float = 1.0):
        return cls(smoothing)

    def fit_command(self, splits, options):
        x, y = splits.train.x, splits.train.y
        for c in range(10):
            self.means[c] = (x[y == c].sum(0) + self.smoothing * 0.5) / ((y == c).sum() + self.smoothing)
        return {"epochs": options.get("epochs", 1), "mean_pixel": float(self.means.mean())}

    def parts(self):
        return {"smoothing": self.smoothing}, {"decoder": self.decoder}, {"means": self.means}

    @classmethod
    def from_parts(cls, stored):
        model = cls(stored.config["smoothing"])
        model.means = stored.array_of("means", (10, 784))
        model.decoder = stored.network("decoder")
        return model

    def sample(self, n, rng, label=None):
        labels = rng.integers(0, 10, n) if label is None else np.full(n, label)
        return (rng.random((n, 784)) < self.means[labels]).astype(np.float32)


@pytest.fixture
def toy_kind(monkeypatch):
    monkeypatch.setitem(generative.KINDS, "toy", __name__)
    return ToyMixture


def test_composite_round_trip_keeps_networks_and_arrays(tmp_path):
    net = Network(parse_spec("dense(4) relu dense(2) softmax", (3,)), (3,), seed=3)
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = composite.save(tmp_path / "c.npz", "toy", {"a": 1}, {"g": net}, {"w": w}, {"note": "x"})
    assert composite.read_kind(path) == "toy"
    back = composite.load(path)
    assert back.kind == "toy" and back.config == {"a": 1} and back.metadata == {"note": "x"}
    np.testing.assert_array_equal(back.array_of("w", (2, 3)), w)
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(back.network("g").feedforward(x), net.feedforward(x))


def test_composite_refusals(tmp_path):
    net = Network(parse_spec("dense(2) sigmoid", (2,)), (2,), seed=0)
    with pytest.raises(NndlError, match="NaN or infinity"):
        composite.save(tmp_path / "bad.npz", "toy", {}, arrays={"w": np.array([np.nan])})
    assert not (tmp_path / "bad.npz").exists()
    with pytest.raises(NndlError, match="name"):
        composite.save(tmp_path / "bad.npz", "toy", {}, arrays={"../w": np.zeros(2)})
    path = composite.save(tmp_path / "c.npz", "toy", {}, {"g": net}, {"w": np.zeros((2, 2))})
    stored = composite.load(path)
    with pytest.raises(NndlError, match=r"shape \(2, 2\), its config says \(3, 2\)"):
        stored.array_of("w", (3, 2))
    with pytest.raises(NndlError, match="no array 'v'"):
        stored.array_of("v", (2,))
    with pytest.raises(NndlError, match="holds a toy, not a gan"):
        composite.load(path, kinds=("gan",))
    plain = io.save(net, tmp_path / "plain.npz")
    assert composite.read_kind(plain) is None
    with pytest.raises(NndlError, match="not a composite nndl model"):
        composite.load(plain)


def test_composite_loader_bounds_what_it_reads(tmp_path):
    """A file whose JSON names an array that is not in it, or whose network's weights are missing."""
    import json
    import zipfile

    net = Network(parse_spec("dense(2) sigmoid", (2,)), (2,), seed=0)
    path = composite.save(tmp_path / "c.npz", "toy", {}, {"g": net}, {"w": np.zeros(2)})
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    config = json.loads(np.load(path)["nndl.json"].tobytes())
    for change, message in ((lambda c: c["arrays"].append("v"), "missing array"),
                            (lambda c: c["networks"].update(h=c["networks"]["g"]), "more than the file holds")):
        edited = json.loads(json.dumps(config))
        change(edited)
        bad = tmp_path / "edited.npz"
        with zipfile.ZipFile(bad, "w") as z:
            for name, data in members.items():
                if name != "nndl.json.npy":
                    z.writestr(name, data)
        np.savez(tmp_path / "j.npz", **{"nndl.json": np.frombuffer(json.dumps(edited).encode(), np.uint8)})
        with zipfile.ZipFile(tmp_path / "j.npz") as z, zipfile.ZipFile(bad, "a") as out:
            out.writestr("nndl.json.npy", z.read("nndl.json.npy"))
        with pytest.raises(NndlError, match=message):
            composite.load(bad)


def test_unknown_and_unbuilt_kinds_are_one_line(monkeypatch):
    with pytest.raises(NndlError, match="unknown model kind 'boltzmann'; choose one of"):
        generative.kind_class("boltzmann")
    monkeypatch.setitem(generative.KINDS, "later", "nndl.models.not_written_yet")
    with pytest.raises(NndlError, match="not built yet"):
        generative.kind_class("later")


def test_train_model_then_sample_a_grid(toy_kind, tmp_path, data_root, capsys):
    out = tmp_path / "toy.npz"
    assert main(["train", "--model", "toy(smoothing=2)", "--train-size", "500", "--epochs", "1",
                 "--out", str(out), "--quiet"]) == 0
    model = generative.load(out)
    assert isinstance(model, ToyMixture) and model.smoothing == 2.0
    assert model.metadata["model"] == "toy(smoothing=2)"
    grid, arrays = tmp_path / "grid.png", tmp_path / "x.npz"
    assert main(["sample", str(out), "--n", "16", "--label", "3", "--out", str(grid), "--npz", str(arrays)]) == 0
    from PIL import Image

    image = Image.open(grid)
    assert image.size == (2 * (4 * 29 + 1), 2 * (4 * 29 + 1))
    x = np.load(arrays)["x"]
    assert x.shape == (16, 784)
    again = tmp_path / "again.npz"
    assert main(["sample", str(out), "--n", "16", "--label", "3", "--npz", str(again)]) == 0
    np.testing.assert_array_equal(np.load(again)["x"], x)           # same seed, same draws
    # a "3" drawn from the class mean looks like a three: close to the mean image of the threes
    assert np.abs(x.mean(0) - model.means[3]).mean() < 0.15


@pytest.mark.parametrize("argv, message", [
    (["--model", "toy(smoothing=-1)"], "smoothing must be > 0"),
    (["--model", "toy(3, 4)"], "toy"),
    (["--model", "toy(colour=1)"], "colour"),
    (["--model", "toy", "--net", "dense(3)"], "--net does not apply to a toy"),
    (["--model", "toy", "--lmbda", "1", "--dropout", "0.5"], "--dropout, --lmbda do not apply|--lmbda, --dropout do"),
    (["--model", "nothing(1)"], "unknown model kind 'nothing'"),
    (["--model", "toy(", "--epochs", "1"], "--model: cannot read"),
])
def test_train_model_bad_options_are_one_line(toy_kind, tmp_path, capsys, argv, message):
    out = tmp_path / "m.npz"
    assert main(["train", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    import re

    assert re.search(message, err), err
    assert not out.exists()


def test_sample_bad_requests_are_one_line(toy_kind, tmp_path, capsys):
    model = ToyMixture()
    path = model.save(tmp_path / "toy.npz")
    net = io.save(Network(parse_spec("dense(2) softmax", (2,)), (2,), seed=0), tmp_path / "net.npz")
    grid = str(tmp_path / "g.png")
    for argv, message in (([str(path), "--n", "4", "--label", "10", "--out", grid], "--label must be a class 0..9"),
                          ([str(path), "--n", "0", "--out", grid], "--n=0"),
                          ([str(path), "--n", "4"], "say where the examples go"),
                          ([str(path), "--temperature", "0.5", "--out", grid], "--temperature is for the other"),
                          ([str(net), "--n", "4", "--out", grid], "--n, --out are for the other"),
                          ([str(net)], "not a character model"),
                          ([str(tmp_path / "none.npz"), "--out", grid], "does not exist")):
        assert main(["sample", *argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (argv, err)


def test_network_commands_name_a_composite_file(toy_kind, tmp_path, capsys):
    path = ToyMixture().save(tmp_path / "toy.npz")
    with pytest.raises(NndlError, match="holds a toy .* not one network; nndl sample reads it"):
        io.load(path)
    assert main(["evaluate", str(path)]) == 2
    assert "holds a toy" in capsys.readouterr().err


def test_label_on_an_unconditional_model_is_one_line(toy_kind):
    model = ToyMixture()
    model.conditional = False
    with pytest.raises(NndlError, match="--label needs a conditional model"):
        model.check_label(3, "m.npz")


def test_tile_lays_out_images_row_by_row(tmp_path):
    images = np.stack([np.full(4, v) for v in (0.0, 0.25, 0.5, 1.0, 0.75)])
    grid = tile(images, (2, 2), columns=2, gap=1)
    assert grid.shape == (3 * 3 + 1, 2 * 3 + 1)
    assert grid[1, 1] == 0.0 and grid[1, 4] == 0.25 and grid[4, 1] == 0.5 and grid[7, 1] == 0.75
    assert grid[7, 4] == 1.0                                          # the empty sixth place is white
    with pytest.raises(NndlError, match="images of 2x2 pixels"):
        tile(np.zeros((3, 5)), (2, 2))
    with pytest.raises(NndlError, match="folder"):
        save_png(grid, tmp_path / "no" / "g.png")
