"""The Neural Turing Machine's head operations (Graves, Wayne & Danihelka, 2014, §3), each a forward
and a backward function.

The memory of each sequence in a batch is a matrix M of N locations (rows) of M numbers; a head
reads and writes through a weighting w over the locations (w_i ≥ 0, Σ_i w_i = 1).  A head emits,
at every step, a key k (M), a key strength β > 0, an interpolation gate g ∈ (0, 1), a shift
distribution s over the shifts −1, 0, +1 and a sharpening exponent γ ≥ 1, and its weighting is
built in four stages (the paper's figure 2):

    content addressing   w^c_i = exp(β K(k, M_i)) / Σ_j exp(β K(k, M_j)),                  (5)
                         K(u, v) = u·v / (‖u‖ ‖v‖)                                        (6)
    interpolation        w^g = g w^c + (1 − g) w_{t−1}                                     (7)
    circular shift       w̃_i = Σ_j w^g_j s((i − j) mod N)                                 (8)
    sharpening           w_i = w̃_i^γ / Σ_j w̃_j^γ                                          (9)

and then reads or writes:

    read                 r = Σ_i w_i M_i                                                   (2)
    erase, then add      M̃_i = M_i ⊙ (1 − w_i e),   M'_i = M̃_i + w_i a                   (3), (4)

with the erase vector e ∈ (0, 1)^M and the add vector a.  Norms carry a small ε inside the square
root, ‖u‖ = √(u·u + ε), so K is smooth at u = 0; the sharpening divides w̃ by its largest entry
before raising it to γ (the same weighting, without underflow).

Every array is batch-major: k, e, a (B, M); β, g, γ (B, 1); s (B, 3); w (B, N); the memory
(B, N, M).  Each ``*_forward`` returns its result and a cache; each ``*_backward`` takes ∂C/∂(result)
and the cache and returns ∂C/∂(each input), in the order of the forward's arguments.
"""
from __future__ import annotations

from nndl.backend import xp

#: ε inside the norms of the cosine similarity.
NORM_EPS = 1e-8
#: The smallest w̃ raised to γ (a floor against log 0; never reached in float64 checks).
TINY = 1e-30


# -- content addressing -----------------------------------------------------------------------------------------------
def content_forward(k, beta, memory):
    """w^c = softmax_i(β K(k, M_i)), K the cosine similarity (equations 5 and 6).

    k (B, M), beta (B, 1), memory (B, N, M)  →  w^c (B, N).
    """
    kn = xp.sqrt((k * k).sum(axis=1, keepdims=True) + NORM_EPS)           # ‖k‖          (B, 1)
    mn = xp.sqrt((memory * memory).sum(axis=2) + NORM_EPS)                # ‖M_i‖        (B, N)
    dot = (memory @ k[:, :, None])[:, :, 0]                               # k·M_i        (B, N)
    similarity = dot / (kn * mn)                                          # K(k, M_i)
    z = beta * similarity
    z -= z.max(axis=1, keepdims=True)
    w = xp.exp(z)
    w /= w.sum(axis=1, keepdims=True)
    return w, (k, beta, memory, kn, mn, similarity, w)


def content_backward(dw, cache):
    """∂C/∂k, ∂C/∂β, ∂C/∂M of content addressing, given ∂C/∂w^c (B, N):

        δz_i = w_i (∂C/∂w_i − Σ_j ∂C/∂w_j w_j)              (the softmax)
        ∂C/∂β = Σ_i δz_i K_i,      ∂C/∂K_i = β δz_i
        ∂C/∂k = Σ_i ∂C/∂K_i M_i / (‖k‖‖M_i‖) − (Σ_i ∂C/∂K_i K_i) k / ‖k‖²
        ∂C/∂M_i = ∂C/∂K_i (k / (‖k‖‖M_i‖) − K_i M_i / ‖M_i‖²)
    """
    k, beta, memory, kn, mn, similarity, w = cache
    dz = dw - (dw * w).sum(axis=1, keepdims=True)
    dz *= w
    dbeta = (dz * similarity).sum(axis=1, keepdims=True)
    dk_i = beta * dz                                                      # ∂C/∂K_i      (B, N)
    scaled = dk_i / (kn * mn)                                             # ∂C/∂K_i / (‖k‖‖M_i‖)
    dk = (scaled[:, None, :] @ memory)[:, 0] - (dk_i * similarity).sum(axis=1, keepdims=True) * k / (kn * kn)
    dmemory = scaled[:, :, None] * k[:, None, :] - (dk_i * similarity / (mn * mn))[:, :, None] * memory
    return dk, dbeta, dmemory


# -- interpolation ----------------------------------------------------------------------------------------------------
def interpolate_forward(g, w_content, w_prev):
    """w^g = g w^c + (1 − g) w_{t−1} (equation 7).  g (B, 1), w^c and w_{t−1} (B, N)."""
    return w_prev + g * (w_content - w_prev), (g, w_content, w_prev)


def interpolate_backward(dw, cache):
    """∂C/∂g = Σ_i ∂C/∂w^g_i (w^c_i − w_{t−1,i}),  ∂C/∂w^c = g ∂C/∂w^g,  ∂C/∂w_{t−1} = (1 − g) ∂C/∂w^g."""
    g, w_content, w_prev = cache
    dg = (dw * (w_content - w_prev)).sum(axis=1, keepdims=True)
    return dg, g * dw, (1.0 - g) * dw


# -- circular shift ---------------------------------------------------------------------------------------------------
def _roll(w, shift):
    """(roll(w, shift))_i = w_{(i − shift) mod N} along the locations (axis 1)."""
    if shift == 0:
        return w
    return xp.concatenate([w[:, -shift:], w[:, :-shift]], axis=1)


#: The shifts a head may make, in the order of the columns of s.
SHIFTS = (-1, 0, 1)


def shift_forward(w, s):
    """w̃_i = Σ_j w_j s((i − j) mod N), the circular convolution of equation 8 with s over the shifts
    −1, 0, +1:  w̃ = s₋₁ roll(w, −1) + s₀ w + s₊₁ roll(w, +1)  (s₊₁ moves the weight one location on).

    w (B, N), s (B, 3) → w̃ (B, N).
    """
    rolled = [_roll(w, shift) for shift in SHIFTS]
    out = s[:, 0:1] * rolled[0]
    for j in range(1, len(SHIFTS)):
        out = out + s[:, j:j + 1] * rolled[j]
    return out, (s, rolled)


def shift_backward(dw, cache):
    """∂C/∂w = Σ_j s_j roll(∂C/∂w̃, −shift_j),  ∂C/∂s_j = Σ_i ∂C/∂w̃_i roll(w, shift_j)_i."""
    s, rolled = cache
    ds = xp.stack([(dw * r).sum(axis=1) for r in rolled], axis=1)
    dprev = s[:, 0:1] * _roll(dw, -SHIFTS[0])
    for j in range(1, len(SHIFTS)):
        dprev = dprev + s[:, j:j + 1] * _roll(dw, -SHIFTS[j])
    return dprev, ds


# -- sharpening -------------------------------------------------------------------------------------------------------
def sharpen_forward(w, gamma):
    """w_i = w̃_i^γ / Σ_j w̃_j^γ (equation 9).  w̃ (B, N), γ (B, 1) ≥ 1.

    Computed as p_i = (w̃_i / max_j w̃_j)^γ, w = p / Σ p — the same numbers, since the quotient does not
    change when every w̃_j is scaled by one factor, but the largest p is 1, so a large γ cannot make
    every w̃_j^γ underflow to 0 (w̃_i = 0.1 and γ = 40 give 1e-40, below float32's range).
    """
    base = xp.maximum(w, TINY)
    p = (base / base.max(axis=1, keepdims=True)) ** gamma
    total = p.sum(axis=1, keepdims=True)
    out = p / total
    return out, (base, gamma, p, total, out)


def sharpen_backward(dw, cache):
    """With p_i = (w̃_i/μ)^γ, μ = max_j w̃_j, and S = Σ p:  ∂C/∂p_i = (∂C/∂w_i − Σ_j ∂C/∂w_j w_j) / S, then
    ∂C/∂γ = Σ_i ∂C/∂p_i p_i ln(w̃_i/μ)  and  ∂C/∂w̃_i = ∂C/∂p_i γ p_i / w̃_i.  (μ is held fixed: w does not
    depend on it, and indeed Σ_i ∂C/∂p_i p_i = 0, so the terms through μ vanish.)"""
    base, gamma, p, total, out = cache
    dp = (dw - (dw * out).sum(axis=1, keepdims=True)) / total
    dp *= p
    dgamma = (dp * xp.log(base / base.max(axis=1, keepdims=True))).sum(axis=1, keepdims=True)
    return dp * gamma / base, dgamma


# -- the whole address ------------------------------------------------------------------------------------------------
def address_forward(k, beta, g, s, gamma, w_prev, memory):
    """The weighting of one head (equations 5–9): content, interpolation, shift, sharpening."""
    wc, c1 = content_forward(k, beta, memory)
    wg, c2 = interpolate_forward(g, wc, w_prev)
    ws, c3 = shift_forward(wg, s)
    w, c4 = sharpen_forward(ws, gamma)
    return w, (c1, c2, c3, c4)


def address_backward(dw, cache):
    """∂C/∂(k, β, g, s, γ, w_{t−1}, M) of :func:`address_forward`, the four stages backwards."""
    c1, c2, c3, c4 = cache
    dws, dgamma = sharpen_backward(dw, c4)
    dwg, ds = shift_backward(dws, c3)
    dg, dwc, dw_prev = interpolate_backward(dwg, c2)
    dk, dbeta, dmemory = content_backward(dwc, c1)
    return dk, dbeta, dg, ds, dgamma, dw_prev, dmemory


# -- reading and writing ----------------------------------------------------------------------------------------------
def read_forward(w, memory):
    """r = Σ_i w_i M_i (equation 2).  w (B, N), memory (B, N, M) → r (B, M)."""
    return (w[:, None, :] @ memory)[:, 0], (w, memory)


def read_backward(dr, cache):
    """∂C/∂w_i = ∂C/∂r · M_i,  ∂C/∂M_i = w_i ∂C/∂r."""
    w, memory = cache
    return (memory @ dr[:, :, None])[:, :, 0], w[:, :, None] * dr[:, None, :]


def write_forward(memory, w, e, a):
    """M' = M ⊙ (1 − w eᵀ) + w aᵀ: erase, then add (equations 3 and 4).  memory (B, N, M), w (B, N),
    e, a (B, M) → M' (B, N, M)."""
    we = w[:, :, None] * e[:, None, :]
    out = memory * (1.0 - we)
    out += w[:, :, None] * a[:, None, :]
    return out, (memory, w, e, a, we)


def write_backward(dout, cache):
    """∂C/∂M = ∂C/∂M' ⊙ (1 − w eᵀ);  ∂C/∂w_i = Σ_m ∂C/∂M'_im (a_m − M_im e_m);
    ∂C/∂e_m = −Σ_i ∂C/∂M'_im M_im w_i;  ∂C/∂a_m = Σ_i ∂C/∂M'_im w_i."""
    memory, w, e, a, we = cache
    dm = dout * memory                                                    # ∂C/∂M'_im M_im
    dw = (dout @ a[:, :, None])[:, :, 0] - (dm @ e[:, :, None])[:, :, 0]
    de = -(w[:, None, :] @ dm)[:, 0]
    da = (w[:, None, :] @ dout)[:, 0]
    return dout * (1.0 - we), dw, de, da
