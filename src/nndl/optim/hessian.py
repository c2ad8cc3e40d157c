"""Curvature of the cost: Hessian-vector products, the Hessian, and the output Jacobian.

**The R-operator** (Pearlmutter, 1994, "Fast exact multiplication by the Hessian").  For a
direction v in weight space write R{f} = ∂/∂r f(w + r v) at r = 0, the directional
derivative of anything the passes compute.  Applying R to every line of the forward pass
and of backpropagation gives Hv = R{∇C} exactly, for about the cost of two gradients.
For a dense layer zˡ = aˡ⁻¹ Wᵀ + b, aˡ = σ(zˡ), with Vˡ, vᵇ the parts of v for W and b:

    forward:   R{zˡ} = R{aˡ⁻¹} Wᵀ + aˡ⁻¹ Vᵀ + vᵇ,      R{aˡ} = σ'(zˡ) ⊙ R{zˡ}
               (softmax: R{a} = a ⊙ (R{z} − Σⱼ aⱼ R{z}ⱼ));  R{a⁰} = 0
    output:    δᴸ = (aᴸ − y)/m  ⇒  R{δᴸ} = R{aᴸ}/m      (the cost/activation pairs where σ' cancels)
               quadratic cost:  gᴸ = (aᴸ − y)/m,  R{gᴸ} = R{aᴸ}/m
    backward:  δˡ = gˡ ⊙ σ'(zˡ),   R{δˡ} = R{gˡ} ⊙ σ'(zˡ) + gˡ ⊙ σ''(zˡ) ⊙ R{zˡ}
               gˡ⁻¹ = δˡ W,        R{gˡ⁻¹} = R{δˡ} W + δˡ V
               R{∂C/∂W} = R{δˡ}ᵀ aˡ⁻¹ + δˡᵀ R{aˡ⁻¹},   R{∂C/∂b} = Σₓ R{δˡ}
    penalty:   L2's R = (λ/2n) Σ w² adds (λ/n) v for the weights.

This needs σ'' (sigmoid: σ'(1 − 2σ); tanh: −2 tanh · tanh'; 0 for the piecewise-linear
units) and a network of dense layers only.  Anything else falls back to **central
differences of the gradient**,

    Hv ≈ (∇C(w + εv) − ∇C(w − εv)) / 2ε,     error O(ε²),

which works for any network; the two are checked against each other in float64.

**The output Jacobian** J = ∂aᴸ/∂w, one row per example and output unit, for
Gauss–Newton: backpropagation of each output unit alone, keeping every example's own
gradient (the outer products δˡₓ ⊗ aˡ⁻¹ₓ, not their sum).
"""
from __future__ import annotations

import numpy

from nndl.backend import to_numpy
from nndl.errors import NndlError

#: σ'' of the elementwise activations the exact R-operator knows, from (a, σ').
_SECOND = {
    "sigmoid": lambda a, d1: d1 * (1.0 - 2.0 * a),
    "tanh": lambda a, d1: -2.0 * a * d1,
    "linear": lambda a, d1: numpy.zeros_like(a),
    "relu": lambda a, d1: numpy.zeros_like(a),
    "leaky_relu": lambda a, d1: numpy.zeros_like(a),
    "hard_tanh": lambda a, d1: numpy.zeros_like(a),
}
#: (cost, output activation) pairs whose output error is δᴸ = a − y.
_CANONICAL = {("cross_entropy", "sigmoid"), ("log_likelihood", "softmax"), ("quadratic", "linear")}


def _dense_chain(network):
    """The network's layers if they are all dense (else None)."""
    from nndl.layers.dense import Dense

    layers = list(getattr(network, "layers", ()))
    return layers if layers and all(type(layer) is Dense for layer in layers) else None


def exact_supported(objective) -> str | None:
    """None if :func:`hessian_vector_product_exact` handles this objective, else why not."""
    net = objective.network
    layers = _dense_chain(net)
    if layers is None:
        return "the exact R-operator handles networks of dense layers only"
    for layer in layers[:-1]:
        if layer.activation.name not in _SECOND:
            return f"no second derivative for the hidden activation {layer.activation.name}"
    out = layers[-1].activation.name
    if (net.cost.name, out) not in _CANONICAL and not (net.cost.name == "quadratic" and out in _SECOND):
        return f"the {net.cost.name} cost with a {out} output is not one the R-operator knows"
    for reg in objective.model.regularizers:
        if reg.name != "l2" and reg.lmbda > 0:
            return f"the {reg.name} penalty has no Hessian the R-operator knows"
    return None


def _host(a):
    return numpy.asarray(to_numpy(a))


def _forward_r(layers, x, directions):
    """Forward and R-forward passes; ``directions`` maps each Parameter to its part of v (or absent: 0).
    Returns the per-layer records (input a, R{a}, z, R{z}, output a, σ', σ'')."""
    a, ra, records = _host(x), None, []
    for layer in layers:
        W = _host(layer.W.value)
        z = a @ W.T
        rz = a @ directions.get(layer.W, numpy.zeros_like(W)).T
        if layer.use_bias:
            z = z + _host(layer.b.value)
            if layer.b in directions:
                rz = rz + directions[layer.b]
        if ra is not None:
            rz = rz + ra @ W.T
        act = layer.activation
        out = _host(act.forward(z))
        if act.name == "softmax":
            d1 = d2 = None
            rout = out * (rz - (out * rz).sum(axis=1, keepdims=True))
        else:
            d1 = _host(act.prime(z, out))
            second = _SECOND.get(act.name)
            d2 = None if second is None else second(out, d1)
            rout = d1 * rz
        records.append((a, ra, z, rz, out, d1, d2))
        a, ra = out, rout
    return records


def hessian_vector_product_exact(objective, v) -> numpy.ndarray:
    """Hv at the current weights by the R-operator (dense networks; see :func:`exact_supported`)."""
    why = exact_supported(objective)
    if why:
        raise NndlError(f"exact Hessian-vector products: {why}; use method='differences'")
    net, layers = objective.network, _dense_chain(objective.network)
    v = numpy.asarray(v, dtype=numpy.float64)
    directions = dict(zip(objective.params, objective.split(v)))
    records = _forward_r(layers, objective.x, directions)
    y = _host(objective.t)
    m = len(y)
    a, ra, z, rz, out, d1, d2 = records[-1]
    r_out = d1 * rz if d1 is not None else out * (rz - (out * rz).sum(axis=1, keepdims=True))
    if (net.cost.name, layers[-1].activation.name) in _CANONICAL:
        delta, rdelta = (out - y) / m, r_out / m
    else:                                                # quadratic cost, elementwise output
        g, rg = (out - y) / m, r_out / m
        delta, rdelta = g * d1, rg * d1 + g * d2 * rz
    hv = {}
    for i in range(len(layers) - 1, -1, -1):
        layer = layers[i]
        a, ra, z, rz, out, d1, d2 = records[i]
        if i < len(layers) - 1:                          # δˡ from gˡ = δˡ⁺¹ Wˡ⁺¹
            delta, rdelta = g * d1, rg * d1 + g * d2 * rz
        rW = rdelta.T @ a
        if ra is not None:
            rW = rW + delta.T @ ra
        hv[layer.W] = hv.get(layer.W, 0.0) + rW
        if layer.use_bias:
            hv[layer.b] = hv.get(layer.b, 0.0) + rdelta.sum(axis=0)
        if i > 0:
            W = _host(layer.W.value)
            V = directions.get(layer.W, numpy.zeros_like(W))
            g, rg = delta @ W, rdelta @ W + delta @ V
    n = objective.n
    lam = sum(reg.lmbda for reg in objective.model.regularizers if reg.name == "l2")
    parts = []
    for p, vp in zip(objective.params, objective.split(v)):
        h = numpy.asarray(hv.get(p, numpy.zeros(p.value.shape)), dtype=numpy.float64)
        if lam and p.regularize:
            h = h + (lam / n) * vp
        parts.append(h.ravel())
    return numpy.concatenate(parts)


def hessian_vector_product_differences(objective, v, eps: float | None = None) -> numpy.ndarray:
    """Hv ≈ (∇C(w + εv) − ∇C(w − εv)) / 2ε at the current weights (two gradient evaluations); the
    weights are put back.  ε defaults to 10⁻⁴ (float64) or 10⁻² (float32), divided by ‖v‖."""
    v = numpy.asarray(v, dtype=numpy.float64)
    norm = float(numpy.linalg.norm(v))
    if norm == 0.0:
        return numpy.zeros_like(v)
    if eps is None:
        eps = 1e-4 if objective.params and objective.params[0].value.dtype == numpy.float64 else 1e-2
    eps = eps / norm
    w = objective.vector()
    try:
        objective.set_vector(w + eps * v)
        objective.gradient()
        plus = objective.gradient_vector()
        objective.set_vector(w - eps * v)
        objective.gradient()
        minus = objective.gradient_vector()
    finally:
        objective.set_vector(w)
    return (plus - minus) / (2.0 * eps)


def hessian_vector_product(objective, v, method: str = "auto") -> numpy.ndarray:
    """Hv at the current weights: ``"exact"`` (R-operator), ``"differences"``, or ``"auto"`` (exact when
    the network allows it)."""
    if method == "auto":
        method = "differences" if exact_supported(objective) else "exact"
    if method == "exact":
        return hessian_vector_product_exact(objective, v)
    if method == "differences":
        return hessian_vector_product_differences(objective, v)
    raise NndlError(f"Hessian-vector product method {method!r}: use 'exact', 'differences' or 'auto'")


def hessian(objective, method: str = "auto") -> numpy.ndarray:
    """The N×N Hessian of C at the current weights, column by column (He₁, ..., He_N), symmetrized."""
    size = objective.size
    H = numpy.empty((size, size))
    e = numpy.zeros(size)
    for j in range(size):
        e[j] = 1.0
        H[:, j] = hessian_vector_product(objective, e, method)
        e[j] = 0.0
    return 0.5 * (H + H.T)


def output_jacobian(objective, outputs: bool = False):
    """J[x, k, :] = ∂aᴸₖ(x)/∂w for every example x and output unit k, in the layout of
    ``objective.vector()`` (a dense network): shape (m, K, N), float64.  With ``outputs``,
    (J, aᴸ), the outputs of the same forward pass."""
    layers = _dense_chain(objective.network)
    if layers is None:
        raise NndlError("the output Jacobian is computed for networks of dense layers only")
    for layer in layers[:-1]:
        if layer.activation.name == "softmax":
            raise NndlError("the output Jacobian needs elementwise hidden activations, not softmax")
    records = _forward_r(layers, objective.x, {})
    m, K = records[-1][4].shape
    index = {id(p): j for j, p in enumerate(objective.params)}
    offsets = numpy.concatenate([[0], numpy.cumsum([p.value.size for p in objective.params])])
    J = numpy.zeros((m, K, objective.size))
    out, d1_out = records[-1][4], records[-1][5]
    for k in range(K):
        if d1_out is None:                               # softmax: ∂aₖ/∂z = aₖ (eₖ − a)
            delta = -out * out[:, k:k + 1]
            delta[:, k] += out[:, k]
        else:
            delta = numpy.zeros_like(out)
            delta[:, k] = d1_out[:, k]
        for i in range(len(layers) - 1, -1, -1):
            layer, a = layers[i], records[i][0]
            for p, per_example in ((layer.W, delta[:, :, None] * a[:, None, :]),
                                   (layer.b if layer.use_bias else None, delta)):
                if p is None or id(p) not in index:
                    continue
                j = index[id(p)]
                J[:, k, offsets[j]:offsets[j + 1]] += per_example.reshape(m, -1)
            if i > 0:
                delta = (delta @ _host(layer.W.value)) * records[i - 1][5]
    return (J, out) if outputs else J
