"""Second-order training: Newton's method with the exact Hessian, Levenberg–Marquardt for
least squares, and L-BFGS (the course notes on second-order methods; Nocedal & Wright,
*Numerical Optimization*, 2006, ch. 3, 7 and 10; Hagan & Menhaj, 1994).

Near a minimum the cost is nearly the quadratic of its Taylor series,

    C(w + d) ≈ C(w) + gᵀd + ½ dᵀHd,      g = ∇C(w),  H = ∇²C(w),

whose minimum is the **Newton step** d = −H⁻¹g: on a quadratic it lands on the minimum,
and near a minimum with H positive definite the error squares at every step (quadratic
convergence).

* **Newton** (``newton``): H column by column from Hessian-vector products
  (:mod:`nndl.optim.hessian`); away from a minimum H need not be positive definite, so the
  step solves (H + τI) d = −g with the smallest τ ≥ 0 (0, then β, 2β, 4β, ...) for which
  the Cholesky factorization succeeds (Nocedal & Wright's Algorithm 3.3), and a backtracking
  line search halves α from α₀ = ``eta`` until the Armijo condition
  C(w + αd) ≤ C(w) + 10⁻⁴ α gᵀd holds.  N weights cost N products and an N×N solve per
  step: small nets only (``max_params``).
* **Levenberg–Marquardt** (``levenberg_marquardt``): for the quadratic cost
  C = (1/2m) Σₓ ‖aₓ − yₓ‖² the Hessian is JᵀJ/m plus terms in the residuals r = a − y, which
  vanish as the fit gets good; Gauss–Newton keeps JᵀJ/m (J = ∂a/∂w, one row per example and
  output) and the damping μ blends it with gradient descent:

      (JᵀJ/m + μI) d = −Jᵀr/m;   μ → μ/10 if C(w + d) < C(w) (keep d), else μ → 10μ (try again)

  ``eta`` *is* μ (its starting value, and in each epoch's record its current one).
* **L-BFGS** (``lbfgs``): the quasi-Newton method that builds an approximation of H⁻¹ from
  the last ``memory`` pairs of weight and gradient changes, run on the flattened weights by
  SciPy's ``minimize(method="L-BFGS-B", jac=True)`` for ``iterations`` iterations per
  training step (its memory starts afresh at each step).  ``eta`` is not used: the line
  search chooses the step.

All three need the cost to be a function of the weights alone (no dropout, no batch
normalization) and are meant for full batches.
"""
from __future__ import annotations

import numpy

from nndl import validation
from nndl.errors import NndlError
from nndl.optim.hessian import hessian, output_jacobian
from nndl.optim.objective import CostOptimizer


def _scipy_optimize():
    try:
        from scipy import optimize
    except ImportError:
        raise NndlError("the lbfgs optimizer runs SciPy's L-BFGS-B, and SciPy is not installed; install it with "
                        "pip install 'nndl[second-order]'") from None
    return optimize


def _count_params(model) -> int:
    return sum(int(p.value.size) for p in model.network.trainable_params)


def damped_newton_direction(H, g, beta: float = 1e-3):
    """d solving (H + τI) d = −g for the smallest τ in 0, β·s, 2β·s, ... (s = max |Hᵢᵢ|, at least 1)
    that makes H + τI positive definite; returns (d, τ)."""
    diag = numpy.diag(H)
    step = beta * max(1.0, float(numpy.abs(diag).max()) if diag.size else 1.0)
    tau = 0.0 if diag.size == 0 or diag.min() > 0 else -float(diag.min()) + step
    eye = numpy.eye(len(g))
    for _ in range(80):
        try:
            L = numpy.linalg.cholesky(H + tau * eye)
        except numpy.linalg.LinAlgError:
            tau = max(2.0 * tau, step)
            continue
        y = numpy.linalg.solve(L, -g)
        return numpy.linalg.solve(L.T, y), tau
    raise NndlError("Newton's method: the Hessian stays indefinite however it is damped (are the weights finite?)")


def backtrack(objective, w, d, cost: float, slope: float, alpha: float, c1: float = 1e-4):
    """Armijo backtracking from ``alpha``: halve until C(w + αd) ≤ C(w) + c₁ α gᵀd; returns (α, C).
    The test allows the rounding error of C itself (a few ulps of |C|: near a minimum the decrease
    is smaller than the cost can show).  If no α > 10⁻¹⁰ passes, the weights stay at w (α = 0)."""
    dtype = objective.params[0].value.dtype if objective.params else numpy.float64
    rounding = 4.0 * float(numpy.finfo(dtype).eps) * abs(cost)
    while alpha > 1e-10:
        objective.set_vector(w + alpha * d)
        new = objective.cost()
        if new <= cost + c1 * alpha * slope + rounding:
            return alpha, new
        alpha *= 0.5
    objective.set_vector(w)
    return 0.0, cost


class Newton(CostOptimizer):
    """Newton's method with the exact Hessian, damped to positive definiteness, and a line search.

    ``eta`` is the first step length α₀ tried (1: the full Newton step), ``iterations`` the Newton
    steps per training step, ``method`` how Hessian-vector products are made (``"auto"``: the
    R-operator where it applies, else differences of gradients), ``max_params`` the largest net;
    once ‖g‖ ≤ ``gtol`` the weights are at a minimum as far as the cost can tell (in float32 the
    gradient is not much more exact than that), and a step does nothing more (and builds no Hessian).
    """

    name = "newton"
    default_hyperparameters = {"eta": 1.0, "iterations": 1, "method": "auto", "max_params": 2000, "gtol": 1e-5}

    def __init__(self, eta: float = 1.0, iterations: int = 1, method: str = "auto", max_params: int = 2000,
                 gtol: float = 1e-5, **options):
        super().__init__(eta, **options)
        self.gtol = validation.number("newton gtol", gtol, 0.0)
        self.iterations = validation.whole("newton iterations per step", iterations, low=1)
        if method not in ("auto", "exact", "differences"):
            raise NndlError(f"newton method={method!r}: use auto, exact or differences")
        self.method = method
        self.max_params = validation.whole("newton max_params", max_params, low=1)
        #: The gradient norm ‖g‖ before each Newton step (for convergence plots and tests).
        self.gradient_norms: list[float] = []

    def check_model(self, model) -> None:
        super().check_model(model)
        n = _count_params(model)
        if n > self.max_params:
            raise NndlError(f"the {self.name} optimizer builds the {n}×{n} Hessian of this network's {n} weights, "
                            f"more than max_params={self.max_params}; use lbfgs for a network this size")

    def minimize(self, objective) -> dict:
        products, damping = 0, 0.0
        cost = objective.cost()
        for _ in range(self.iterations):
            cost = objective.gradient()
            g = objective.gradient_vector()
            self.gradient_norms.append(float(numpy.linalg.norm(g)))
            if self.gradient_norms[-1] <= self.gtol:
                break
            H = hessian(objective, self.method)
            products += objective.size
            self.hessian_products += objective.size
            d, damping = damped_newton_direction(H, g)
            alpha, cost = backtrack(objective, objective.vector(), d, cost, float(g @ d), self.eta)
            self.t += 1
            if alpha == 0.0:
                break
        data = cost - objective.model.regularization_cost()
        return self.counted(objective, {"cost": data, "hessian_products": products, "damping": damping})


class LevenbergMarquardt(CostOptimizer):
    """Levenberg–Marquardt for the quadratic cost: Gauss–Newton steps (JᵀJ/m + μI) d = −Jᵀr/m.

    ``eta`` is the damping μ (it starts at ``eta`` and adapts), ``iterations`` the accepted steps per
    training step, ``factor`` the ×/÷ of μ, ``tries`` the steps tried before giving up on one,
    ``max_params`` the largest net.
    """

    name = "levenberg_marquardt"
    default_hyperparameters = {"eta": 0.01, "iterations": 5, "factor": 10.0, "tries": 10, "max_params": 2000}

    def __init__(self, eta: float = 0.01, iterations: int = 5, factor: float = 10.0, tries: int = 10,
                 max_params: int = 2000, **options):
        super().__init__(eta, **options)
        self.iterations = validation.whole("levenberg_marquardt iterations per step", iterations, low=1)
        self.factor = validation.number("levenberg_marquardt factor", factor, 1.0, low_open=True)
        self.tries = validation.whole("levenberg_marquardt tries", tries, low=1)
        self.max_params = validation.whole("levenberg_marquardt max_params", max_params, low=1)

    def check_model(self, model) -> None:
        super().check_model(model)
        cost = model.network.cost.name
        if cost != "quadratic":
            raise NndlError(f"the {self.name} optimizer fits least squares: it needs the quadratic cost "
                            f"(--cost quadratic), not {cost}")
        n = _count_params(model)
        if n > self.max_params:
            raise NndlError(f"the {self.name} optimizer solves {n}×{n} systems for this network's {n} weights, more "
                            f"than max_params={self.max_params}; use lbfgs for a network this size")

    def minimize(self, objective) -> dict:
        model, n = objective.model, objective.n
        lam = sum(reg.lmbda for reg in model.regularizers if reg.name == "l2")
        if any(reg.name != "l2" and reg.lmbda > 0 for reg in model.regularizers):
            raise NndlError(f"the {self.name} optimizer takes the L2 penalty only (--lmbda), not --l1")
        mask = numpy.concatenate([numpy.full(p.value.size, float(p.regularize)) for p in objective.params])
        y = numpy.asarray(objective.t, dtype=numpy.float64)
        jacobians = 0
        cost = objective.cost()
        for _ in range(self.iterations):
            w = objective.vector()
            J, a = output_jacobian(objective, outputs=True)
            jacobians += 1
            self.jacobian_evaluations += 1
            m = len(a)
            J = J.reshape(-1, objective.size)
            r = (a - y).reshape(-1)
            g = J.T @ r / m + (lam / n) * mask * w                       # ∇C
            A = J.T @ J / m + numpy.diag((lam / n) * mask)               # the Gauss–Newton matrix
            eye = numpy.eye(objective.size)
            for _ in range(self.tries):
                d = numpy.linalg.solve(A + self.eta * eye, -g)
                objective.set_vector(w + d)
                new = objective.cost()
                if new < cost:
                    cost = new
                    self.eta = max(self.eta / self.factor, 1e-12)
                    break
                self.eta = min(self.eta * self.factor, 1e12)
            else:
                objective.set_vector(w)
                break
            self.t += 1
        data = cost - model.regularization_cost()
        return self.counted(objective, {"cost": data, "jacobian_evaluations": jacobians, "damping": self.eta})


class LBFGS(CostOptimizer):
    """L-BFGS on the flattened weights through SciPy's ``minimize(method="L-BFGS-B", jac=True)``.

    ``iterations`` L-BFGS iterations per training step, ``memory`` the correction pairs kept
    (SciPy's ``maxcor``); ``eta`` is not used.
    """

    name = "lbfgs"
    default_hyperparameters = {"eta": 1.0, "iterations": 20, "memory": 10}

    def __init__(self, eta: float = 1.0, iterations: int = 20, memory: int = 10, **options):
        super().__init__(eta, **options)
        self.iterations = validation.whole("lbfgs iterations per step", iterations, low=1)
        self.memory = validation.whole("lbfgs memory", memory, low=1)
        _scipy_optimize()                       # a missing SciPy is one line before training
        #: (gradient evaluations so far, total cost) after every evaluation, over the whole run.
        self.trace: list[tuple[int, float]] = []

    def minimize(self, objective) -> dict:
        optimize = _scipy_optimize()
        seen: dict[float, float] = {}

        def fun(w):
            objective.set_vector(w)
            total = objective.gradient()
            seen[total] = objective.data_cost
            self.trace.append((self.gradient_evaluations + objective.gradient_evaluations, total))
            return total, objective.gradient_vector()

        result = optimize.minimize(fun, objective.vector(), jac=True, method="L-BFGS-B",
                                   options={"maxiter": self.iterations, "maxcor": self.memory})
        objective.set_vector(result.x)
        self.t += int(result.nit)
        data = seen.get(float(result.fun))
        if data is None:
            data = objective.cost() - objective.model.regularization_cost()
        return self.counted(objective, {"cost": data, "iterations": int(result.nit)})
