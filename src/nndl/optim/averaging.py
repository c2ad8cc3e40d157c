"""An exponential moving average of a network's weights (Polyak averaging of the iterates).

After every optimizer step, each averaged parameter moves a little toward the live one:

    θ̄ ← d θ̄ + (1 − d) θ,

so θ̄ is a weighted mean of the last ~1/(1 − d) iterates (d = 0.999: about the last thousand
steps).  The noise of the last steps averages out while the drift of training is followed.
Polyak & Juditsky (1992) average SGD's iterates this way; GANs sample from such an average of
the generator (Yazıcı et al. 2019), since a generator's last step chases the discriminator's.

Buffers (batch norm's running mean and variance) are averaged the same way, so the averaged net
normalizes with statistics of (roughly) the weights it has.
"""
from __future__ import annotations

from nndl import validation


def check_decay(decay) -> float:
    """d in [0, 1): 0 is no averaging (θ̄ = θ after every step)."""
    return validation.number("the average's decay d", decay, 0.0, 1.0, high_open=True)


def update_average(average, live, decay: float) -> None:
    """θ̄ ← d θ̄ + (1 − d) θ for every parameter and buffer of ``average`` from ``live`` (the same layers)."""
    for mine, theirs in zip(average.params, live.params):
        mine.value *= decay
        mine.value += (1.0 - decay) * theirs.value
    buffers = average.buffers
    for key, value in live.buffers.items():
        buffers[key] *= decay
        buffers[key] += (1.0 - decay) * value
