"""nndl sweep on a real PostgreSQL server (started by the tests, on 127.0.0.1): workers in separate
processes — as on separate machines — join one study by name; a SIGKILLed worker's trial is retried."""
from __future__ import annotations

import pytest

from services import postgres_server
from sweeps import check_accounted_for, iris_space, kill, nndl, start, wait_for_running_trial


@pytest.fixture(scope="session")
def postgres_url():
    with postgres_server() as url:
        yield url


def pg_study(url, name):
    import optuna

    return optuna.load_study(study_name=name, storage=url)


def test_two_workers_share_one_study(postgres_url, tmp_path, iris_csv):
    args = ["sweep", *iris_space(iris_csv, epochs=40), "--storage", postgres_url, "--study", "shared",
            "--trials", "8", "--pruner", "none", "--quiet"]
    first = start(*args, "--seed", "1", cwd=tmp_path)
    second = start(*args, "--seed", "2", cwd=tmp_path)
    assert first.wait(timeout=240) == 0 and second.wait(timeout=240) == 0
    study = pg_study(postgres_url, "shared")
    check_accounted_for(study, 8, workers=2)
    assert {t.user_attrs["pid"] for t in study.trials} == {first.pid, second.pid}
    assert all(t.state.name == "COMPLETE" for t in study.trials)


def test_a_sigkilled_worker_s_trial_is_retried_and_the_study_completes(postgres_url, tmp_path, iris_csv):
    args = ["sweep", *iris_space(iris_csv, epochs=150), "--storage", postgres_url, "--study", "killed",
            "--trials", "5", "--pruner", "none", "--heartbeat", "1", "--grace", "3", "--quiet"]
    victim = start(*args, "--seed", "1", cwd=tmp_path)
    survivor = start(*args, "--seed", "2", cwd=tmp_path)
    trial, _ = wait_for_running_trial(lambda: pg_study(postgres_url, "killed"), pids={victim.pid})
    kill(victim.pid)
    assert victim.wait(timeout=30) == -9
    assert survivor.wait(timeout=240) == 0
    study = pg_study(postgres_url, "killed")
    check_accounted_for(study, 5, workers=2)
    assert study.trials[trial.number].state.name == "FAIL"
    retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == trial.number]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE" and retry[0].params == trial.params
    assert retry[0].user_attrs["pid"] == survivor.pid


def test_a_study_of_another_search_space_is_refused(postgres_url, tmp_path, iris_csv):
    base = ["sweep", "--storage", postgres_url, "--study", "space", "--trials", "1", "--quiet"]
    assert nndl(*base, *iris_space(iris_csv, epochs=2), cwd=tmp_path).returncode == 0
    done = nndl(*base, *iris_space(iris_csv, epochs=3), cwd=tmp_path)
    assert done.returncode == 2 and "was created for another search space" in done.stderr
    assert "nndl-test-s3cret" not in done.stderr
    done = nndl("sweep", "show", "space", "--storage", postgres_url, cwd=tmp_path)
    assert done.returncode == 0 and "space: 1 complete" in done.stdout, done.stderr
