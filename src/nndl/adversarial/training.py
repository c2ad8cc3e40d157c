"""Adversarial training: learning from the attacks as they are made, mini-batch by mini-batch.

Goodfellow, Shlens & Szegedy (2014) train on the mixed objective

    C̃(θ, x, y) = α · C(θ, x, y) + (1 − α) · C(θ, x + ε sign(∇ₓ C(θ, x, y)), y),

with α = 0.5 and ε = 0.25 on MNIST: each step makes the FGSM examples of the current weights and
descends the weighted sum of the two costs.  Madry et al. (2018) train on the worst case in the
ball instead, min_θ E max_{‖δ‖∞≤ε} C(θ, x + δ, y), approximating the inner max by PGD with a
random start (α = 0 here: only the adversarial examples).  Both are one ``train_step``
(:class:`AdversarialClassifier`), nothing in the trainer changes; ``nndl train --adversarial``
names them:

    --adversarial "fgsm(0.25, alpha=0.5)"               Goodfellow et al.
    --adversarial "pgd(0.3, steps=7, step=0.1, ramp=2)"  Madry et al., ε ramped up over 2 epochs

``ramp`` (epochs) grows ε linearly from 0 over the first epochs, which keeps PGD training from
stalling at chance at the start.  The attacks run with the network in inference mode (no dropout,
batch norm's running statistics), on the pixels the network takes: a model trained with
``--preprocess`` is refused (its training inputs are not pixels).
"""
from __future__ import annotations

from nndl import validation
from nndl.adversarial.attacks import Attack
from nndl.adversarial.pixels import PixelClassifier
from nndl.errors import NndlError
from nndl.models import Classifier
from nndl.registry import create_from_text


class AdversarialObjective:
    """What a step trains on: α · C(x) + (1 − α) · C(attack(x)), with ε ramped over ``ramp`` epochs."""

    def __init__(self, attack: Attack, alpha: float, ramp: float = 0.0, spec: str = ""):
        self.attack = attack
        self.alpha = validation.number("alpha (the clean cost's weight)", alpha, 0.0, 1.0)
        if self.alpha == 1.0:
            raise NndlError("alpha=1 trains on the clean cost alone; leave --adversarial out")
        self.ramp = validation.number("ramp (epochs)", ramp, low=0.0)
        self.spec = spec

    def eps_after(self, seen: int, n: int) -> float:
        """ε after ``seen`` training examples of an epoch of ``n``: linear from 0 over ``ramp`` epochs."""
        if self.ramp == 0 or n == 0:
            return self.attack.eps
        return self.attack.eps * min(1.0, seen / (self.ramp * n))


def fgsm_objective(eps: float = 0.25, alpha: float = 0.5, ramp: float = 0.0) -> AdversarialObjective:
    """Goodfellow et al.'s objective: FGSM examples of size ε weighted 1 − α (default ε = 0.25, α = 0.5)."""
    return AdversarialObjective(Attack("fgsm", eps), alpha, ramp)


def pgd_objective(eps: float = 0.3, steps: int = 7, step: float | None = None, alpha: float = 0.0,
                  ramp: float = 0.0, norm: str = "linf") -> AdversarialObjective:
    """Madry et al.'s: K-step PGD examples with a random start (default ε = 0.3, K = 7, α = 0: adversarial only)."""
    return AdversarialObjective(Attack("pgd", eps, steps, step, norm), alpha, ramp)


OBJECTIVES = {"fgsm": fgsm_objective, "pgd": pgd_objective}


def parse_objective(text: str) -> AdversarialObjective:
    """``"fgsm(0.25, alpha=0.5)"`` or ``"pgd(0.3, steps=7, step=0.1)"`` as an objective; one line if bad."""
    objective = create_from_text(OBJECTIVES, text, "--adversarial")
    objective.spec = str(text).strip()
    return objective


class AdversarialClassifier(Classifier):
    """A classifier whose every step trains on adversarial examples of its current weights.

    One step on the batch (x, y), m examples:

    1. x′ = attack(x) with the current weights (in inference mode; ε ramped, see
       :class:`AdversarialObjective`);
    2. the gradients of α · (1/m) Σ C(x) + (1 − α) · (1/m) Σ C(x′), by two forward/backward passes
       that add into the same ``p.grad`` (:meth:`Network.backprop_add`);
    3. the regularizers, the optimizer's step and the constraints, as for any model.

    Logs the mixed cost, both costs, and the batch accuracy on x′.
    """

    def __init__(self, network, optimizer=None, regularizers=(), constraints=(), metrics=None, objective=None):
        if objective is None:
            raise NndlError("AdversarialClassifier needs an objective (fgsm_objective(...) or pgd_objective(...))")
        if network.preprocessor is not None:
            raise NndlError("--adversarial attacks the pixels the network takes; a model trained with --preprocess "
                            "takes preprocessed inputs (train without --preprocess)")
        super().__init__(network, optimizer, regularizers, constraints, metrics)
        self.objective = objective
        self.pixels = PixelClassifier(network)
        self.objective.attack.check(self.pixels)
        self.seen = 0
        import numpy

        self.rng = numpy.random.default_rng(network.seed + 15)

    def train_step(self, x, y) -> dict:
        net, obj = self.network, self.objective
        t = self.targets(x, y)
        eps = obj.eps_after(self.seen, self.training_size or len(x))
        attack = obj.attack if eps == obj.attack.eps else obj.attack.with_eps(eps)
        x_adv = attack(self.pixels, x, y, self.rng) if eps > 0 else x
        self.seen += len(x)
        net.zero_grad()
        m, alpha = len(x), obj.alpha
        logs = {}
        if alpha > 0:
            a, _ = net.backprop_add(x, t, alpha / m)
            logs["clean_cost"] = float(net.cost.fn(a, t))
        a_adv, _ = net.backprop_add(x_adv, t, (1.0 - alpha) / m)
        logs["adversarial_cost"] = float(net.cost.fn(a_adv, t))
        logs["adversarial_accuracy"] = float((a_adv.argmax(axis=1) == y).mean())
        logs["cost"] = alpha * logs.get("clean_cost", 0.0) + (1 - alpha) * logs["adversarial_cost"]
        self.apply_gradients()
        return logs

    def state(self) -> dict:
        return {**super().state(), "adversarial_seen": self.seen,
                "adversarial_rng": self.rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        self.seen = int(state.get("adversarial_seen", 0))
        if state.get("adversarial_rng") is not None:
            self.rng.bit_generator.state = state["adversarial_rng"]


def adversarial_model(spec: str, model):
    """``model`` (a Classifier from ``nndl train``'s settings) made to train on ``--adversarial spec``."""
    if not isinstance(model, Classifier) or type(model) is not Classifier:
        raise NndlError(f"--adversarial trains classifiers; this run's task is {model.task}")
    return AdversarialClassifier(model.network, model.optimizer, model.regularizers, model.constraints,
                                 objective=parse_objective(spec))
