"""nndl sweep: search spaces, the embedded journal storage with parallel workers, pruning, results."""
from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest

from nndl.errors import NndlError
from nndl.sweep.space import load_space
from sweeps import (check_accounted_for, iris_space, journal_study, kill, nndl, start, states,
                    wait_for_running_trial)


REPO_DOCS = Path(__file__).resolve().parents[1] / "docs"


def sample(space, sampler, trials=6):
    """The settings ``trials`` trials of an in-memory study sample from ``space``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    seen = []

    def objective(trial):
        settings = space.sample(trial)
        seen.append(settings)
        return float(len(str(settings)))
    study.optimize(objective, n_trials=trials)
    return seen


# -- the search space -------------------------------------------------------------------------------------
def test_a_space_fills_placeholders_and_samples_conditional_choices(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text('[fixed]\nepochs = 3\nlayers = "784,{hidden},10"\n'
                    '[params]\nhidden = "int(30, 100, 10)"\nlmbda = { low = 0.1, high = 10, log = true }\n'
                    '[params.optimizer]\nchoices = ["sgd", "adam"]\n'
                    'when.sgd = { eta = "log(0.05, 5)" }\nwhen.adam = { eta = "log(1e-4, 1e-2)" }\n')
    space = load_space(path)
    seen = sample(space, optuna.samplers.RandomSampler(seed=3), trials=12)
    for s in seen:
        hidden = int(s["layers"].split(",")[1])
        assert s["layers"] == f"784,{hidden},10" and 30 <= hidden <= 100 and hidden % 10 == 0
        assert 0.1 <= s["lmbda"] <= 10 and s["epochs"] == 3
        low, high = (0.05, 5) if s["optimizer"] == "sgd" else (1e-4, 1e-2)
        assert low <= s["eta"] <= high
    assert {s["optimizer"] for s in seen} == {"sgd", "adam"}


def test_a_placeholder_is_sampled_only_when_the_chosen_text_uses_it():
    space = load_space(params=["net=choice('dense({h}) relu dense(10) softmax', "
                               "'dense({h}) relu dense({h2}) relu dense(10) softmax')",
                               "h=int(10,50)", "h2=int(5,20)"], fixed=["epochs=2"])
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(10):
        trial = study.ask()
        settings = space.sample(trial)
        assert ("h2" in trial.params) == (settings["net"].count("dense(") == 3)
        assert "{" not in settings["net"]
        study.tell(trial, 0.0)


def test_sampling_is_reproducible_from_the_seed():
    space = load_space(params=["eta=log(0.01,3)", "h=int(3,50)", "batch_size=choice(5,10,20)"],
                       fixed=["layers=4,{h},3"])
    for make in (lambda seed: optuna.samplers.TPESampler(seed=seed, n_startup_trials=3),
                 lambda seed: optuna.samplers.RandomSampler(seed=seed)):
        first, again, other = (sample(space, make(seed), trials=8) for seed in (7, 7, 8))
        assert first == again
        assert first != other


@pytest.mark.parametrize("params, fixed, message", [
    (["etaa=log(0.1,1)"], [], "unknown option 'etaa': not an option of nndl train (did you mean eta?)"),
    (["eta=log(2,2)"], [], "empty range: low 2 is not below high 2"),
    (["eta=float(3,1)"], [], "empty range: low 3 is not below high 1"),
    (["eta=log(0,1)"], [], "a log range must start above 0"),
    (["batch_size=choice()"], [], "empty choice"),
    (["eta=between(1,2)"], [], "write float(a,b), log(a,b)"),
    (["h=int(2,9)"], [], "unknown option 'h'"),
    (["eta=log(0.1,1)"], ["layers=4,{h},3"], "{h} is used in a setting but no parameter"),
    (["out=choice(a,b)"], [], "out is set by the sweep"),
    ([], ["epochs=3"], "no parameters to search"),
])
def test_a_bad_space_is_one_line(params, fixed, message):
    with pytest.raises(NndlError) as info:
        load_space(params=params, fixed=fixed)
    assert message in str(info.value)


def test_bad_sweeps_are_one_line_before_any_trial(tmp_path, iris_csv):
    cases = [
        (["--param", "etta=log(0.1,1)", "--trials", "2"], "unknown option 'etta'"),
        (["--param", "eta=log(1,0.5)", "--trials", "2"], "empty range"),
        (["--param", "eta=log(0.1,1)"], "give a budget"),
    ]
    for args, message in cases:
        done = nndl("sweep", *args, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr
    done = nndl("sweep", "--set", f"data={iris_csv}", "--set", "layers=4,7,2", "--param", "eta=log(0.1,1)",
                "--trials", "1", cwd=tmp_path)
    assert done.returncode == 2 and "would not train" in done.stderr and "ends with 2 outputs" in done.stderr


def test_a_storage_that_cannot_connect_names_host_and_port_but_not_the_password(tmp_path):
    from services import free_port

    port = free_port()
    done = nndl("sweep", "--storage", f"postgresql://nndl:pa55-w0rd-xyz@127.0.0.1:{port}/nndl",
                "--param", "eta=log(0.1,1)", "--trials", "1", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "cannot connect" in lines[0]
    assert "pa55-w0rd-xyz" not in done.stderr + done.stdout


# -- sweeps on the embedded journal ------------------------------------------------------------------------
def test_pruning_fires_on_a_deliberately_bad_range(tmp_path, iris_csv):
    """η from 10⁻⁴ (far too small: nothing is learned in 20 epochs) to 3: the median pruner stops the
    slow trials early, and they are the small-η ones; a diverging η (1000) is pruned with its reason."""
    done = nndl("sweep", *iris_space(iris_csv, eta="log(1e-4,3)"), "--sampler", "random", "--pruner", "median",
                "--trials", "14", "--seed", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study = journal_study(tmp_path / "sweeps")
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert len(pruned) >= 3, states(study)
    assert all(len(t.intermediate_values) < 20 for t in pruned)
    assert max(t.params["eta"] for t in pruned) < sorted(t.params["eta"] for t in complete)[len(complete) // 2]
    assert all(t.user_attrs["reason"].startswith("pruned after epoch") for t in pruned)

    done = nndl("sweep", "--set", f"data={iris_csv}", "--set", "layers=4,8,3", "--set", "epochs=10",
                "--param", "eta=choice(0.5,1000)", "--param", "batch_size=choice(5,10)", "--sampler", "grid",
                "--study", "diverge", "--trials", "10", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study = journal_study(tmp_path / "sweeps", "diverge")
    wild = [t for t in study.trials if t.params["eta"] == 1000]
    assert wild and all(t.state.name == "PRUNED" and "diverged" in t.user_attrs["reason"] for t in wild)
    assert any(t.state.name == "COMPLETE" for t in study.trials if t.params["eta"] == 0.5)
    assert len(study.trials) == 4              # the grid sampler stops once its 2 × 2 points are covered


def test_parallel_local_workers_share_the_journal(tmp_path, iris_csv):
    done = nndl("sweep", *iris_space(iris_csv, epochs=30), "--workers", "2", "--trials", "10", "--pruner", "none",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study = journal_study(tmp_path / "sweeps")
    check_accounted_for(study, 10, workers=2)
    assert len({t.user_attrs["pid"] for t in study.trials}) == 2
    assert len({tuple(sorted(t.params.items())) for t in study.trials}) == len(study.trials)   # seeds differ
    for t in study.trials:
        lines = [json.loads(line) for line in open(t.user_attrs["log"])]
        assert lines[-1]["final"] and lines[-1]["state"] == "complete" and lines[0]["epoch"] == 1
        assert (tmp_path / "sweeps" / "sweep" / f"trial-{t.number:05d}" / "model.npz").is_file()


def test_a_killed_local_worker_s_trial_is_retried(tmp_path, iris_csv):
    proc = start("sweep", *iris_space(iris_csv, epochs=150), "--workers", "2", "--trials", "5", "--pruner", "none",
                 "--heartbeat", "1", "--grace", "3", "--quiet", cwd=tmp_path)
    trial, pid = wait_for_running_trial(lambda: journal_study(tmp_path / "sweeps"))
    kill(pid)
    assert proc.wait(timeout=240) == 1           # a worker was killed: said so; the study still completed
    study = journal_study(tmp_path / "sweeps")
    check_accounted_for(study, 5, workers=2)
    assert study.trials[trial.number].state.name == "FAIL"
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == trial.number]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE" and retry[0].params == trial.params


def test_a_study_keeps_its_search_space(tmp_path, iris_csv):
    assert nndl("sweep", *iris_space(iris_csv, epochs=2), "--trials", "1", cwd=tmp_path).returncode == 0
    done = nndl("sweep", *iris_space(iris_csv, epochs=2), "--param", "lmbda=log(0.1,1)", "--trials", "2",
                cwd=tmp_path)
    assert done.returncode == 2 and "was created for another search space" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_show_draws_figures_and_the_top_trials_make_an_ensemble(tmp_path, iris_csv):
    assert nndl("sweep", *iris_space(iris_csv), "--trials", "6", "--pruner", "none", cwd=tmp_path).returncode == 0
    done = nndl("sweep", "show", "sweep", "--top", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.splitlines()
    assert rows[0].split()[:2] == ["trial", "validation_accuracy"] and len(rows) >= 5
    for name in ("history.png", "curves.png", "importances.png"):
        assert (tmp_path / "sweeps" / "sweep" / "figures" / name).stat().st_size > 1000
    done = nndl("ensemble", "--from-study", "sweep", "--top", "3", "--split", "validation", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    study = journal_study(tmp_path / "sweeps")
    best = sorted((t for t in study.trials if t.state.name == "COMPLETE"), key=lambda t: -t.value)[:3]
    assert result["models"] == [t.user_attrs["model"] for t in best]
    assert result["accuracy"] >= 0.9 and len(result["model_accuracies"]) == 3
    done = nndl("sweep", "show", "nosuch", cwd=tmp_path)
    assert done.returncode == 2 and "no study named 'nosuch'" in done.stderr and "sweep" in done.stderr


def test_two_objectives_with_nsga2_draw_a_pareto_front(tmp_path, iris_csv):
    done = nndl("sweep", *iris_space(iris_csv, epochs=10), "--objectives", "validation_accuracy,params",
                "--sampler", "nsga2", "--trials", "6", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study = journal_study(tmp_path / "sweeps")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for t in study.trials:
        h = t.params["h"]
        assert t.values[1] == 4 * h + h + h * 3 + 3      # the parameters of [4, h, 3]
    assert nndl("sweep", "show", "sweep", cwd=tmp_path).returncode == 0
    assert (tmp_path / "sweeps" / "sweep" / "figures" / "pareto.png").is_file()


def test_k_fold_cross_validation_as_the_objective(tmp_path, iris_csv):
    done = nndl("sweep", *iris_space(iris_csv, epochs=10), "--folds", "3", "--trials", "2", "--pruner", "none",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for t in journal_study(tmp_path / "sweeps").trials:
        lines = [json.loads(line) for line in open(t.user_attrs["log"])]
        assert {line.get("fold") for line in lines[:-1]} == {1, 2, 3}
        assert lines[-1]["best_validation_accuracy"] == pytest.approx(sum(lines[-1]["fold_scores"]) / 3)
        assert t.value == pytest.approx(lines[-1]["best_validation_accuracy"])


def test_the_gaussian_process_sampler(tmp_path, iris_csv):
    from oracles import oracle

    oracle("torch")                # Optuna's GP sampler computes with PyTorch (an optional extra of nndl)
    done = nndl("sweep", *iris_space(iris_csv, epochs=5), "--sampler", "gp", "--trials", "7", "--pruner", "none",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert states(journal_study(tmp_path / "sweeps")) == {"COMPLETE": 7}


def test_a_switch_chooses_between_layer_specs():
    space = load_space(REPO_DOCS / "sweeps" / "iris.toml")
    seen = sample(space, optuna.samplers.RandomSampler(seed=0), trials=16)
    shapes = {s["layers"].count(",") for s in seen}
    assert shapes == {2, 3}                      # one and two hidden layers
    assert all("{" not in s["layers"] and "depth" not in s for s in seen)


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_the_journal_heartbeat_finds_dead_trials_only(tmp_path):
    import time

    from nndl.sweep.storage import HeartbeatJournalStorage, open_storage

    storage = open_storage(None, tmp_path, heartbeat=1, grace=3)
    study = optuna.create_study(storage=storage, study_name="hb")
    alive, dead = study.ask(), study.ask()
    # An old heartbeat on a trial that has just started (a retry inherits its crashed trial's): not dead yet.
    storage.set_trial_system_attr(dead._trial_id, HeartbeatJournalStorage.KEY, time.time() - 60)
    assert storage._get_stale_trial_ids(study._study_id) == []
    time.sleep(3.5)
    storage.record_heartbeat(alive._trial_id)
    assert storage._get_stale_trial_ids(study._study_id) == [dead._trial_id]
    optuna.storages.fail_stale_trials(study)
    states_now = {t.number: t.state.name for t in study.get_trials()}
    assert states_now[alive.number] == "RUNNING" and states_now[dead.number] == "FAIL"
    retry = [t for t in study.get_trials() if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retry) == 1 and retry[0].state.name == "WAITING"


def test_a_trial_that_nndl_train_refuses_fails_with_its_reason_and_the_sweep_goes_on(tmp_path, iris_csv):
    done = nndl("sweep", "--set", f"data={iris_csv}", "--set", "epochs=3", "--param",
                "net=choice('dense(8) sigmoid dense(3) sigmoid', 'dense(8) sigmoid dense(4) sigmoid')",
                "--sampler", "grid", "--trials", "5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    trials = journal_study(tmp_path / "sweeps").trials
    assert sorted(t.state.name for t in trials) == ["COMPLETE", "FAIL"]
    failed = next(t for t in trials if t.state.name == "FAIL")
    assert "dense(4)" in failed.params["net"] and "4 outputs" in failed.user_attrs["reason"]
