"""The book's experiments: every quick run writes its figures and result.json, and shows what the book shows.

All experiments run once per session (quick versions: seconds each) into a temporary
folder; the tests then look at the files and at the numbers.  The assertions are on
what each experiment demonstrates, not on exact values.
"""
from __future__ import annotations

import json
import math
import sys
import time

import numpy as np
import pytest

from nndl.errors import NndlError
from nndl.experiments import EXPERIMENTS, by_chapter, get, load_results, row, run_experiment
from nndl.experiments.ch6 import LADDER, read_run
from nndl.experiments.report import fmt, write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="session")
def book_runs(data_root, tmp_path_factory):
    """Every experiment's quick run, into one folder: (folder, {name: result}, {name: seconds})."""
    out = tmp_path_factory.mktemp("book")
    ladder = tmp_path_factory.mktemp("ch6-results")
    # One saved ladder run (as `nndl train --preset ch6-shallow --json` prints it); the others are missing.
    (ladder / "ch6-shallow.json").write_text(
        '{"epoch": 1, "validation_accuracy": 0.95}\n{"epoch": 2, "validation_accuracy": 0.97}\n'
        '{"final": true, "test_accuracy": 0.9781, "best_epoch": 2, "best_validation_accuracy": 0.97, '
        '"seconds_total": 12.5, "model": "ch6-shallow.npz"}\n')
    results, seconds = {}, {}
    for name in EXPERIMENTS:
        start = time.perf_counter()
        results[name] = run_experiment(name, out, quick=True, seed=0, results_dir=ladder)
        seconds[name] = time.perf_counter() - start
    total = sum(seconds.values())
    print(f"\nquick suite: {total:.1f} s; " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()), file=sys.stderr)
    return out, results, seconds


# -- the registry ---------------------------------------------------------------------------------
def test_registry_covers_every_chapter():
    chapters = by_chapter()
    assert sorted(chapters) == [1, 2, 3, 4, 5, 6, 7]              # 7: the course notes' recurrent nets
    for exp in EXPERIMENTS.values():
        book = exp.url.startswith("http://neuralnetworksanddeeplearning.com/chap")
        assert exp.title and (book if exp.chapter <= 6 else exp.url.startswith("http"))
        assert exp.book, f"{exp.name} registers no book numbers"


def test_unknown_experiment_names_the_choices():
    with pytest.raises(NndlError) as err:
        get("no-such-experiment")
    message = str(err.value)
    assert "\n" not in message
    assert "universality-1d" in message and "overfitting" in message


def test_row_turns_nan_into_none():
    r = row("x", float("nan"), np.float32(1.5), "%")
    assert r == {"quantity": "x", "book": None, "nndl": 1.5, "unit": "%"}


def test_plotting_without_matplotlib_says_how_to_install(monkeypatch):
    from nndl.experiments import plotting

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(NndlError, match=r"pip install nndl\[plot\]"):
        plotting.pyplot()


# -- every quick run: files -------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_quick_run_writes_figures_and_json(book_runs, name):
    out, results, _ = book_runs
    folder = out / name
    data = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert data["name"] == name and data["quick"] is True
    assert data["figures"], f"{name} wrote no figures"
    for fig in data["figures"]:
        raw = (folder / fig).read_bytes()
        assert len(raw) > 1000 and raw.startswith(PNG_MAGIC), fig
    assert data["rows"] and all({"quantity", "book", "nndl"} <= set(r) for r in data["rows"])
    assert data["book"] and data["nndl"]
    assert data["seconds"] > 0 and data["command"].startswith(f"nndl book run {name} --quick")
    assert data["environment"]["nndl"]


# -- every quick run: what it shows ------------------------------------------------------------------
def test_perceptrons_truth_tables(book_runs):
    r = book_runs[1]["perceptrons"]["nndl"]
    assert r["nand_outputs"] == [1, 1, 1, 0]
    assert r["adder_sum"] == [0, 1, 1, 0] and r["adder_carry"] == [0, 0, 0, 1]
    assert r["adder_perceptrons"] == 5


def test_sigmoid_neurons_approach_perceptrons(book_runs):
    gaps = book_runs[1]["sigmoid-vs-step"]["nndl"]["nand_max_gap_by_c"]
    assert gaps["1"] > gaps["5"] > gaps["100"] and gaps["100"] < 1e-6


def test_average_darkness_is_about_22_percent(book_runs):
    r = book_runs[1]["baselines"]["nndl"]
    assert abs(r["average_darkness_accuracy"] - 22.25) < 0.5
    svm = r["svm"]
    try:
        import sklearn  # noqa: F401
        assert not svm["skipped"] and svm["accuracy"] > 80
    except ImportError:
        assert svm["skipped"] and "scikit-learn" in svm["reason"]


def test_network_py_learns(book_runs):
    r = book_runs[1]["network-py"]["nndl"]
    assert r["peak_test_accuracy"] > 60


def test_eta_100_fails_to_learn(book_runs):
    runs = book_runs[1]["bad-learning-rates"]["nndl"]["runs"]
    assert runs["100"]["final"] < 20           # about chance (10%): it does not learn
    assert book_runs[1]["bad-learning-rates"]["nndl"]["eta_100_failed_to_learn"]


def test_per_example_and_matrix_gradients_are_equal(book_runs):
    r = book_runs[1]["backprop-matrix"]["nndl"]
    assert r["max_gradient_relative_error"] < 1e-12
    assert r["weights_max_abs_difference_after_training"] < 1e-9    # the same SGD steps, up to rounding
    assert r["seconds_per_epoch"]["per_example"] > 0 and r["seconds_per_epoch"]["matrix"] > 0


def test_gradient_check_passes_for_every_tensor(book_runs):
    r = book_runs[1]["gradient-check"]["nndl"]
    assert r["all_passed"] and r["max_relative_error"] < 1e-5
    assert len(r["table"]) >= 8
    assert r["backprop_in_forward_passes"] < 10


def test_cross_entropy_learns_faster_early_from_a_bad_start(book_runs):
    r = book_runs[1]["learning-slowdown"]["nndl"]
    key = "relative_cost_drop_first_30_epochs"
    quad, xent = r["w=2.0, b=2.0 / quadratic"], r["w=2.0, b=2.0 / cross-entropy"]
    assert xent[key] > quad[key] + 0.5
    assert r["cross_entropy_faster_early_from_2_2"]
    # The book's end points of the quadratic-cost neuron: 0.09 and 0.20 after 300 epochs.
    assert abs(r["w=0.6, b=0.9 / quadratic"]["output_after_300"] - 0.09) < 0.01
    assert abs(quad["output_after_300"] - 0.20) < 0.01


def test_unregularized_1000_image_run_overfits(book_runs):
    r = book_runs[1]["overfitting"]["nndl"]
    assert r["final_training_accuracy"] > 95
    assert r["final_training_accuracy"] - r["final_test_accuracy"] > 10
    cost = r["curves"]["test_cost"]
    assert r["test_cost_minimum_epoch"] < len(cost) and cost[-1] > min(cost)   # the test cost turns up


def test_regularized_runs_report_both_lambdas(book_runs):
    runs = book_runs[1]["regularization-50000"]["nndl"]["runs"]
    assert set(runs) == {"0", "5"}
    assert book_runs[1]["regularization-1000"]["nndl"]["peak_test_accuracy"] > 50


def test_weight_init_and_learning_rates_curves(book_runs):
    runs = book_runs[1]["weight-init"]["nndl"]["runs"]
    assert set(runs) == {"30/large", "30/default", "100/large", "100/default"}
    lr = book_runs[1]["learning-rates"]["nndl"]["runs"]
    assert set(lr) == {"0.025", "0.25", "2.5"}
    assert lr["0.25"]["final_cost"] < lr["0.025"]["final_cost"]


def test_more_data_helps(book_runs):
    acc = book_runs[1]["more-data"]["nndl"]["validation_accuracy"]
    assert acc[-1] > acc[0]


def test_softmax_outputs_are_a_distribution(book_runs):
    r = book_runs[1]["softmax"]["nndl"]
    assert math.isclose(r["sum"], 1.0, abs_tol=1e-9) and r["monotone"]
    assert np.allclose(r["a"], [0.315, 0.009, 0.633, 0.043], atol=5e-4)
    assert np.allclose(r["test_output_sums"], 1.0, atol=1e-4)


def test_universality_error_shrinks_with_more_bumps(book_runs):
    r = book_runs[1]["universality-1d"]["nndl"]
    errors = r["max_error"]
    assert r["error_shrinks"] and all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < errors[0] / 5
    r2 = book_runs[1]["universality-2d"]["nndl"]
    assert r2["error_shrinks"] and r2["max_error"][-1] < r2["max_error"][0]


def test_first_hidden_layer_learns_slower_than_the_last(book_runs):
    r = book_runs[1]["vanishing-gradient"]["nndl"]
    for depth, speeds in r["initial_speeds"].items():
        assert speeds[0] < speeds[-1], depth
        assert len(speeds) == int(depth)
    assert all(r["first_layer_slower_than_last"].values())


def test_deep_networks_report_four_depths(book_runs):
    runs = book_runs[1]["deep-networks"]["nndl"]["runs"]
    assert sorted(runs) == ["1", "2", "3", "4"]


def test_conv_ladder_reads_saved_runs_and_lists_the_missing(book_runs):
    r = book_runs[1]["conv-ladder"]
    assert r["nndl"]["runs"]["ch6-shallow"]["test_accuracy"] == 97.81
    missing = r["nndl"]["missing"]
    assert "ch6-shallow" not in missing and len(missing) == len(LADDER) - 1
    assert any("missing saved runs" in note for note in r["notes"])
    shallow = next(x for x in r["rows"] if x["quantity"].startswith("ch6-shallow"))
    assert shallow["book"] == 97.80 and shallow["nndl"] == 97.81


def test_read_run_accepts_a_history_dict(tmp_path):
    path = tmp_path / "ch6-conv.json"
    path.write_text(json.dumps({"epochs": [{"epoch": 1, "validation_accuracy": 0.98}],
                                "final": {"test_accuracy": 0.9878, "best_epoch": 1}}))
    run = read_run(path)
    assert run["test_accuracy"] == 98.78 and run["epochs"] == 1
    bad = tmp_path / "ch6-bad.json"
    bad.write_text('{"epoch": 1}\n')
    with pytest.raises(NndlError, match="no final line"):
        read_run(bad)


def test_read_run_accepts_the_ensemble_command_output(tmp_path):
    path = tmp_path / "ch6-ensemble.json"
    path.write_text(json.dumps({"models": ["a.npz", "b.npz"], "vote": "mean", "split": "test",
                                "examples": 10000, "accuracy": 0.9971, "model_accuracies": [0.996, 0.9958]}))
    assert read_run(path)["test_accuracy"] == 99.71


# -- the report ---------------------------------------------------------------------------------------
def test_report_links_every_figure(book_runs, tmp_path):
    out, results, _ = book_runs
    page_dir = tmp_path / "docs"
    path = write_report(page_dir, results_dir=out)
    text = path.read_text(encoding="utf-8")
    assert "| chapter | experiment | quantity | book | nndl | wall time |" in text
    for name, result in results.items():
        assert f"### {name}:" in text
        assert result["book_url"] in text
        for fig in result["figures"]:
            assert f"{name}/{fig}" in text
    # Every image link resolves, relative to the page.
    import re

    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((page_dir / link).resolve().is_file() for link in links)
    assert "Quick runs" in text


def test_report_needs_results(tmp_path):
    with pytest.raises(NndlError, match="no experiment results"):
        write_report(tmp_path)
    assert load_results(tmp_path) == []


def test_table_cells():
    assert fmt(95.42, "%") == "95.42%"
    assert fmt(None) == "—"
    assert fmt(2225) == "2225"
    assert fmt("a|b") == "a\\|b"
    assert fmt(0.00012) == "0.00012"


def test_conv_ladder_retrains_only_when_asked(tmp_path, monkeypatch, data_root):
    from nndl.experiments import ch6

    calls = []

    def fake_retrain(preset, results, quick):
        calls.append(preset)
        (results / f"{preset}.json").write_text('{"final": true, "test_accuracy": 0.5}\n')
        return None

    monkeypatch.setattr(ch6, "_retrain", fake_retrain)
    monkeypatch.setattr(ch6, "_demo_network", lambda data, quick, seed: (_ for _ in ()).throw(ImportError("no conv")))
    results = tmp_path / "results"
    results.mkdir()
    r = run_experiment("conv-ladder", tmp_path / "out", quick=False, results_dir=results)
    assert calls == [] and len(r["nndl"]["missing"]) == len(LADDER)
    r = run_experiment("conv-ladder", tmp_path / "out", quick=False, results_dir=results, retrain=True)
    trainable = [p for p, _, _ in LADDER if p in ch6.presets()]
    assert calls == trainable and all(p not in r["nndl"]["missing"] for p in trainable)
    assert "--retrain" in r["command"] and f"--ch6-results {results}" in r["command"]
    assert (tmp_path / "out" / "conv-ladder" / "ladder.png").stat().st_size > 0


def test_gradient_through_time_vanishes_for_small_gains_and_explodes_for_large(book_runs):
    r = book_runs[1]["vanishing-gradient-time"]["nndl"]["factor_per_step"]
    assert r["RNN, gain 0.9"] < 0.95 and r["RNN, gain 1.5"] > 1.0
    assert r["RNN, gain 0.9"] < r["RNN, gain 1"] < r["RNN, gain 1.5"]


def test_state_gradients_are_those_of_finite_differences():
    """‖∂C/∂h_t‖ of the experiment against central differences of C = Σ u·h_T in the state h_t."""
    from nndl.data.adding import adding_problem
    from nndl.experiments.notes_recurrent import recurrent_layer, state_gradients
    from nndl.layers import no_grad

    x, _ = adding_problem(3, 6, seed=1, dtype=np.float64)
    for cell in ("rnn", "lstm", "gru"):
        layer = recurrent_layer(cell, 4, 2, 6, 1.0, seed=2)
        u = np.random.default_rng(3).standard_normal((3, 4))
        norms, _ = state_gradients(layer, x, u)
        t = 2
        with no_grad():
            layer.forward(x[:, :t])
        start = tuple(s.copy() for s in layer.final_state)
        numeric = np.zeros((3, 4))
        for n in range(3):
            for j in range(4):
                values = []
                for sign in (1, -1):
                    state = tuple(s.copy() for s in start)
                    state[0][n, j] += sign * 1e-6
                    with no_grad():
                        values.append(float((layer.forward(x[:, t:], initial_state=state) * u).sum()))
                numeric[n, j] = (values[0] - values[1]) / 2e-6
        assert norms[t] == pytest.approx(np.linalg.norm(numeric, axis=1).mean(), rel=1e-6), cell


def test_the_lstm_learns_the_adding_problem(book_runs):
    r = book_runs[1]["adding-problem"]["nndl"]["lowest_test_mse"]
    assert r["lstm"] < 0.05 < 2 / 12                       # well under the mean predictor's 0.167


def test_attention_reverses_short_strings(book_runs):
    r = book_runs[1]["attention-reverse"]
    assert r["nndl"]["final"]["test_sequence_accuracy"] >= 0.9
    assert "attention_weights.png" in r["figures"]


def test_lower_temperatures_sample_likelier_words(book_runs):
    r = book_runs[1]["char-temperatures"]["nndl"]
    share = r["known_word_share"]
    assert share["0.5"] > share["1.0"]
    assert min(r["validation_cost"]) < math.log(65)
    assert all(text.startswith("ROMEO:") and len(text) == len("ROMEO:") + 300 for text in r["samples"].values())
