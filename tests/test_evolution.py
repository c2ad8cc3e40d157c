"""The rest of neuroevolution: the GA, cart-pole's physics (against gymnasium when it is installed),
HyperNEAT's painting, NSGA-II's sort and crowding on hand-made points, serial == parallel, saved
genomes and their checked loader, bad input, and ``nndl evolve`` run for real."""
import json
import math

import numpy as np
import pytest
from test_cli import nndl

from nndl.errors import NndlError
from nndl.evolution import cartpole, storage
from nndl.evolution.cppn import cppn_config, query
from nndl.evolution.evaluate import Evaluator
from nndl.evolution.ga import GAConfig, GeneticAlgorithm, NetworkDecoder, flatten, tournament, unflatten
from nndl.evolution.genome import ConnectionGene, Genome, NEATConfig, NodeGene
from nndl.evolution.hyperneat import HyperNEATDecoder, Substrate, express
from nndl.evolution.neat import NEAT
from nndl.evolution.nsga2 import (NSGA2, CostAndSize, SparseNetworks, crowded_tournament, crowding_distance,
                                  dominates, non_dominated_sort, survivors)
from nndl.evolution.phenotype import FeedForward
from nndl.evolution.runner import setup
from nndl.evolution.tasks import CartPoleBalance, Classification, FunctionTask, XOR
from oracles import oracle


# --------------------------------------------------------------------------- the GA
def test_flatten_and_unflatten_are_inverse():
    decoder = NetworkDecoder([3, 4, 2])
    theta = np.arange(decoder.parameters, dtype=float) / 10
    unflatten(decoder.network, theta)
    np.testing.assert_allclose(flatten(decoder.network), theta, rtol=1e-6)
    with pytest.raises(NndlError, match="26 parameters"):
        unflatten(decoder.network, theta[:-1])


def test_tournament_picks_the_fittest_drawn():
    rng = np.random.default_rng(0)
    fitnesses = np.arange(10.0)
    wins = [tournament(fitnesses, 3, rng) for _ in range(2000)]
    assert np.mean(wins) > 6.0                               # E[max of 3 uniform draws of 0..9] ≈ 6.8
    assert all(tournament(fitnesses, 200, rng) == 9 for _ in range(5))


def test_the_ga_learns_xor():
    decoder = NetworkDecoder([2, 3, 1])
    ga = GeneticAlgorithm(decoder.parameters, GAConfig(population=100), seed=0)
    with Evaluator(decoder, XOR()) as evaluate:
        result = ga.run(evaluate, 60)
    assert result["solved"]
    y = decoder(result["best"])(XOR.x)[:, 0]
    assert np.all((y > 0.5) == XOR.t.astype(bool))
    assert ga.history[-1]["best_fitness"] > ga.history[0]["best_fitness"]


# --------------------------------------------------------------------------- cart-pole
def test_cartpole_one_step_by_hand():
    s = np.array([[0.01, -0.02, 0.03, 0.04]])
    x, x_dot, th, th_dot = s[0]
    temp = (10.0 + 0.05 * th_dot ** 2 * math.sin(th)) / 1.1
    th_acc = (9.8 * math.sin(th) - math.cos(th) * temp) / (0.5 * (4 / 3 - 0.1 * math.cos(th) ** 2 / 1.1))
    x_acc = temp - 0.05 * th_acc * math.cos(th) / 1.1
    want = [x + 0.02 * x_dot, x_dot + 0.02 * x_acc, th + 0.02 * th_dot, th_dot + 0.02 * th_acc]
    np.testing.assert_allclose(cartpole.step(s, np.array([True]))[0], want, rtol=1e-14)


def test_a_linear_controller_balances_and_a_constant_push_does_not():
    task = CartPoleBalance(episodes=5, seed=0)
    steps = task.steps(lambda o: o[:, 0:1] * 0.1 + o[:, 1:2] * 0.5 + o[:, 2:3] * 3 + o[:, 3:4] + 0.5)
    assert list(steps) == [500] * 5
    pushed = task.steps(lambda o: np.ones((len(o), 1)))
    assert pushed.max() < 30 and pushed.min() >= 1
    assert task.evaluate(lambda o: np.ones((len(o), 1))) == (pytest.approx(pushed.mean()), False)


def test_cartpole_matches_gymnasium_step_for_step():
    gymnasium = oracle("gymnasium")
    env = gymnasium.make("CartPole-v1")
    rng = np.random.default_rng(3)
    for episode in range(5):
        obs, _ = env.reset(seed=episode)
        ours = np.array(env.unwrapped.state, dtype=float)[None, :]
        steps = 0
        while True:
            action = int(rng.random() < 0.5) if episode < 3 else int(ours[0, 2] + 0.5 * ours[0, 3] > 0)
            obs, reward, terminated, truncated, _ = env.step(action)
            ours = cartpole.step(ours, np.array([action == 1]))
            steps += 1
            np.testing.assert_allclose(ours[0], env.unwrapped.state, rtol=0, atol=1e-12)
            np.testing.assert_allclose(ours[0].astype(np.float32), obs)
            assert bool(cartpole.failed(ours)[0]) == terminated
            if terminated or truncated:
                break
        assert truncated == (steps == 500) and steps <= 500
    env.close()


# --------------------------------------------------------------------------- HyperNEAT
def cppn_genome(w_x1, bias_w=0.0):
    """A CPPN without hidden nodes: weight output tanh(w_x1 · x1 + x2), bias output tanh(bias_w · x2)."""
    g = Genome(4, 2)
    for i in range(4):
        g.nodes[i] = NodeGene(i, "input")
    g.nodes[4] = NodeGene(4, "output", 0.0, "tanh")
    g.nodes[5] = NodeGene(5, "output", 0.0, "tanh")
    g.connections[0] = ConnectionGene(0, 0, 4, w_x1)
    g.connections[1] = ConnectionGene(1, 2, 4, 1.0)
    g.connections[2] = ConnectionGene(2, 2, 5, bias_w)
    return g


def test_hyperneat_paints_the_substrate_with_an_expression_threshold():
    substrate = Substrate([Substrate.row(3), Substrate.row(2)])       # x = −1, 0, 1 → x = −1, 1
    decoder = HyperNEATDecoder(substrate, threshold=0.2, weight_max=5.0, bias_max=2.0)
    g = cppn_genome(0.5, bias_w=1.0)
    (w, b), = decoder.paint(g)
    raw = np.tanh(0.5 * np.array([-1.0, 0.0, 1.0])[None, :] + np.array([-1.0, 1.0])[:, None])
    want = np.where(np.abs(raw) > 0.2, np.sign(raw) * (np.abs(raw) - 0.2) / 0.8 * 5.0, 0.0)
    np.testing.assert_allclose(w, want, rtol=1e-12)
    np.testing.assert_allclose(b, 2.0 * np.tanh(np.array([-1.0, 1.0])), rtol=1e-12)
    assert decoder.connections(g) == int(np.count_nonzero(want))
    net = decoder.network(g)                                           # an nndl Network with those weights
    x = np.array([[0.5, -1.0, 2.0]])
    np.testing.assert_allclose(net.forward(x), 1 / (1 + np.exp(-(x @ want.T + b))), rtol=1e-5)
    np.testing.assert_allclose(express(np.array([0.1, -0.1, 0.6, -1.0]), 0.2, 1.0), [0.0, 0.0, 0.5, -1.0])


def test_one_cppn_paints_substrates_of_any_resolution():
    g = Genome(4, 4)                                   # two weight outputs, two bias outputs
    for i in range(4):
        g.nodes[i] = NodeGene(i, "input")
    for j in range(4, 8):
        g.nodes[j] = NodeGene(j, "output", 0.1, "tanh")
        g.connections[j] = ConnectionGene(j, j - 4, j, 1.0)
    for rows in (3, 5, 9):
        decoder = HyperNEATDecoder(Substrate.for_task(2, 1, hidden=(rows, rows)))
        (w1, b1), (w2, b2) = decoder.paint(g)
        assert w1.shape == (rows * rows, 2) and w2.shape == (1, rows * rows) and b1.shape == (rows * rows,)
        assert decoder(g)(np.zeros((3, 2))).shape == (3, 1)


def test_cppn_query_covers_every_pair():
    g = cppn_genome(1.0)
    out = query(FeedForward(g), [[0.0, 0.0], [1.0, 0.0]], [[0.5, 0.5]])
    assert out.shape == (1, 2, 2)
    np.testing.assert_allclose(out[0, :, 0], np.tanh([0.0 + 0.5, 1.0 + 0.5]))


def test_cppns_use_the_pattern_functions():
    config = cppn_config(population=20, add_node_rate=1.0)
    neat = NEAT(4, 2, config, seed=0)
    for g in neat.population:
        for _ in range(5):
            g.mutate(config, neat.innovations, neat.rng)
    used = {n.activation for g in neat.population for n in g.nodes.values() if n.kind == "hidden"}
    assert {"sin", "gauss", "sigmoid"} <= used


def test_hyperneat_solves_xor():
    s = setup("hyperneat", "xor", population=100, seed=0)
    with Evaluator(s.decoder, s.task) as evaluate:
        result = s.algorithm.run(evaluate, 40)
    assert result["solved"]


# --------------------------------------------------------------------------- NSGA-II
POINTS = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0],      # front 1
                   [2.0, 5.0], [3.0, 4.0], [5.0, 2.0],      # front 2
                   [6.0, 6.0],                              # front 3
                   [2.0, 3.0]])                             # a copy of point 1: also front 1


def test_dominance_and_the_non_dominated_sort_on_hand_made_points():
    assert dominates([1, 2], [2, 2]) and not dominates([1, 2], [1, 2]) and not dominates([1, 3], [2, 2])
    assert non_dominated_sort(POINTS) == [[0, 1, 2, 7], [3, 4, 5], [6]]


def test_crowding_distance_by_hand():
    front = np.array([[1.0, 5.0], [2.0, 3.0], [4.0, 1.0], [3.0, 2.5]])
    d = crowding_distance(front)
    assert d[0] == np.inf and d[2] == np.inf
    # point 1 (2, 3): neighbours by f1 are 1 and 3, by f2 2.5 and 5 → (3 − 1)/3 + (5 − 2.5)/4
    assert d[1] == pytest.approx(2 / 3 + 2.5 / 4)
    # point 3 (3, 2.5): by f1 between 2 and 4, by f2 between 1 and 3 → 2/3 + 2/4
    assert d[3] == pytest.approx(2 / 3 + 2 / 4)
    assert crowding_distance(front[:2]).tolist() == [np.inf, np.inf]


def test_crowded_tournament_and_survival():
    rank = np.array([0, 0, 1])
    crowd = np.array([1.0, 5.0, np.inf])
    rng = np.random.default_rng(0)
    wins = [crowded_tournament(rank, crowd, rng) for _ in range(300)]
    counts = np.bincount(wins, minlength=3)
    assert counts[1] > counts[0] > counts[2]                    # rank first, then crowding
    keep = survivors(POINTS, 5)
    assert sorted(keep[:4]) == [0, 1, 2, 7] and keep[4] in (3, 5)   # the extremes of front 2 survive


def test_nsga2_trades_cost_against_connections_on_iris(iris_csv):
    from nndl.data.csv_table import load_csv

    splits, _ = load_csv(iris_csv, split=(0.7, 0.0, 0.3), standardize=True, seed=0)
    task = Classification(splits.train.x, splits.train.y, 3)
    problem = SparseNetworks([4, 6, 3])
    nsga = NSGA2(problem, population=40, seed=0)
    with Evaluator(problem, CostAndSize(task)) as evaluate:
        front = nsga.run(evaluate, 30)
    objectives = nsga.objectives[front]
    assert len(front) >= 3
    assert all(not dominates(objectives[i], objectives[j]) for i in range(len(front)) for j in range(len(front)))
    best = front[0]                                             # lowest cost
    assert task.scores(problem(nsga.population[best]))[1] >= 0.85     # chance: 0.33
    assert objectives[:, 1].min() < objectives[0, 1]           # smaller networks on the front too


# --------------------------------------------------------------------------- serial == parallel
def test_seeded_runs_reproduce_with_any_number_of_workers():
    for method, task in (("neat", "xor"), ("ga", "cartpole")):
        runs, best = [], []
        for workers in (1, 2, 1):
            s = setup(method, task, population=20, seed=4)
            with Evaluator(s.decoder, s.task, workers=workers) as evaluate:
                result = s.algorithm.run(evaluate, 3)
            runs.append(s.algorithm.history)
            best.append(storage.genome_to_dict(result["best"]) if method == "neat" else result["best"].tolist())
        assert runs[0] == runs[1] == runs[2], method
        assert best[0] == best[1] == best[2]


# --------------------------------------------------------------------------- saved genomes
def test_saved_genomes_come_back(tmp_path):
    for method, task in (("neat", "xor"), ("ga", "xor"), ("hyperneat", "cartpole")):
        s = setup(method, task, population=20, seed=1)
        with Evaluator(s.decoder, s.task) as evaluate:
            result = s.algorithm.run(evaluate, 2)
        path = storage.save(tmp_path / f"{method}.json", method, task, result["best"], s.decoder, 1.0)
        m, t, individual, decoder, _ = storage.load(path)
        assert (m, t) == (method, task)
        x = np.random.default_rng(0).normal(size=(5, s.task.inputs))
        np.testing.assert_allclose(decoder(individual)(x), s.decoder(result["best"])(x), rtol=1e-6)


def broken(tmp_path, change):
    s = setup("neat", "xor", population=10, seed=0)
    g = s.algorithm.population[0]
    g.mutate_add_node(s.algorithm.config, s.algorithm.innovations, s.algorithm.rng)
    path = storage.save(tmp_path / "g.json", "neat", "xor", g)
    obj = json.loads(path.read_text())
    change(obj)
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda o: o["genome"]["connections"].append({**o["genome"]["connections"][-1], "innovation": 99,
                                                   "source": 3, "target": 3}), "second gene|cycle"),
    (lambda o: o["genome"]["connections"][0].update(target=0), "cannot end at input"),
    (lambda o: o["genome"]["connections"][0].update(source=77), "node 77 is not among"),
    (lambda o: o["genome"]["nodes"].pop(2), "no node 2"),
    (lambda o: o["genome"]["nodes"][0].update(kind="hidden"), "must be an input node"),
    (lambda o: o["genome"]["nodes"][3].update(activation="eval"), "activation"),
    (lambda o: o["genome"]["connections"][0].update(weight="1"), "weight must be a number"),
    (lambda o: o.update(format="pickle"), "format"),
    (lambda o: o["genome"].update(nodes=[o["genome"]["nodes"][0]] * 10_001), "at most 10000"),
])
def test_a_bad_genome_file_is_one_line(tmp_path, change, message):
    path = broken(tmp_path, change)
    with pytest.raises(NndlError, match=message) as info:
        storage.load(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_genome_with_a_cycle_or_nan_is_refused(tmp_path):
    path = broken(tmp_path, lambda o: o["genome"]["connections"].extend([
        {"innovation": 50, "source": 3, "target": 4, "weight": 1.0, "enabled": True},
        {"innovation": 51, "source": 4, "target": 3, "weight": 1.0, "enabled": True}]))
    text = path.read_text()
    with pytest.raises(NndlError, match="cycle"):
        storage.load(path)
    path.write_text(text.replace('"weight": 1.0', '"weight": NaN', 1))
    with pytest.raises(NndlError, match="not valid JSON"):
        storage.load(path)
    path.write_bytes(b" " * (storage.MAX_BYTES + 1))
    with pytest.raises(NndlError, match="at most"):
        storage.load(path)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, message", [
    (lambda: NEATConfig(population=1), "population=1 must be a whole number ≥ 2"),
    (lambda: GAConfig(population=0), "population=0"),
    (lambda: GAConfig(mutation_rate=1.5), r"mutation_rate=1.5 is out of range; it must be in \[0, 1\]"),
    (lambda: NEATConfig(add_node_rate=-0.1), "add_node_rate"),
    (lambda: NEATConfig(compatibility_threshold=0.0), "compatibility_threshold=0.0"),
    (lambda: GAConfig(mutation_std=float("nan")), "mutation_std"),
    (lambda: NEATConfig(activation="softmax"), "activation='softmax'"),
    (lambda: HyperNEATDecoder(Substrate.for_task(2, 1), threshold=1.0), "threshold"),
    (lambda: HyperNEATDecoder(Substrate.for_task(2, 1), threshold=-0.5), "threshold"),
    (lambda: setup("neat", "pong"), "task='pong'"),
    (lambda: setup("backprop", "xor"), "method='backprop'"),
    (lambda: NSGA2(SparseNetworks([2, 2, 1]), population=1), "population=1"),
    (lambda: SparseNetworks([2, 2, 1], flip_rate=2.0), "flip_rate"),
])
def test_bad_settings_are_one_line(make, message):
    with pytest.raises(NndlError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_a_nan_fitness_is_one_line():
    task = FunctionTask(lambda net: float("nan"), 2, 1)
    neat = NEAT(2, 1, NEATConfig(population=4), seed=0)
    with Evaluator(FeedForward, task) as evaluate:
        with pytest.raises(NndlError, match="the fitness of individual 0 is nan; a fitness must be a finite number"):
            neat.run(evaluate, 3)
    with pytest.raises(NndlError, match="not a number"):
        with Evaluator(FeedForward, FunctionTask(lambda net: "good", 2, 1)) as evaluate:
            evaluate(neat.population)


# --------------------------------------------------------------------------- the command
def evolve(capsys, *args):
    """``nndl evolve ARGS`` in this process: (exit status, stdout, stderr)."""
    from nndl.cli.main import main

    status = main(["evolve", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_nndl_evolve_runs_saves_and_evaluates(tmp_path, capsys):
    out = tmp_path / "xor.json"
    r = nndl("evolve", "--task", "xor", "--method", "neat", "--generations", "60", "--seed", "0", "--workers", "2",
             "--json", "--out", out)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    summary = lines[-1]["summary"]
    assert summary["solved"] and summary["generations"] == len(lines) - 1
    assert summary["evaluations"] == 150 * summary["generations"]
    status, stdout, _ = evolve(capsys, "--evaluate", out, "--json")
    assert status == 0 and json.loads(stdout)["solved"]
    status, stdout, _ = evolve(capsys, "--task", "cartpole", "--method", "ga", "--population", "30",
                               "--generations", "20")
    assert status == 0 and "solved after" in stdout


@pytest.mark.parametrize("args, message", [
    (["--population", "1"], "--population=1 must be a whole number ≥ 2"),
    (["--mutation-rate", "1.5"], "--mutation-rate=1.5 is out of range"),
    (["--method", "sgd"], "method='sgd'"),
    (["--generations", "0"], "--generations=0"),
    (["--workers", "0"], "--workers=0"),
    (["--out", "/nonexistent/folder/g.json"], "does not exist"),
])
def test_nndl_evolve_bad_options_are_one_line(args, message, capsys):
    status, stdout, stderr = evolve(capsys, *args)
    assert status == 2 and stdout == ""
    assert message in stderr and len(stderr.strip().splitlines()) == 1, stderr


def test_nndl_evolve_refuses_a_bad_file(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text('{"format": "nndl-evolved"')
    status, _, stderr = evolve(capsys, "--evaluate", path)
    assert status == 2 and str(path) in stderr and len(stderr.strip().splitlines()) == 1
    s = setup("ga", "xor", population=4)
    storage.save(path, "ga", "cartpole", s.algorithm.population[0], s.decoder)      # an XOR network for cart-pole
    status, _, stderr = evolve(capsys, "--evaluate", path)
    assert status == 2 and "2 inputs and 1 outputs; cartpole needs 4 and 1" in stderr
