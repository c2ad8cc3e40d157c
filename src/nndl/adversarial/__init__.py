"""Adversarial examples: inputs changed a little that a network gets wrong, with confidence.

Goodfellow, Shlens & Szegedy (2014) explain them by linearity: for a linear unit w·x the change
η = ε sign(w) moves the activation by ε‖w‖₁, which grows with the input's dimension although no
pixel moves by more than ε.  A network is linear enough locally for the same step along the sign
of the cost's gradient to fool it.  The package:

* :mod:`~nndl.adversarial.pixels` — a saved classifier seen from pixel space: ∂C/∂x through the
  stored preprocessing (its Jacobian; no inverse is needed);
* :mod:`~nndl.adversarial.fgsm` — the fast gradient sign method, x′ = clip(x + ε sign ∇ₓC);
* :mod:`~nndl.adversarial.pgd` — projected gradient descent (iterated FGSM with a random start,
  Madry et al. 2018) in the L∞ or the L2 ball, untargeted or targeted;
* :mod:`~nndl.adversarial.fooling` — fooling images: noise driven to a chosen class;
* :mod:`~nndl.adversarial.attacks` — :class:`Attack`, one object for the command line and training;
* :mod:`~nndl.adversarial.training` — Goodfellow's mixed objective and Madry's PGD training;
* :mod:`~nndl.adversarial.robustness` — accuracy against ε, noise σ, rotation, stroke thickness.
"""
from nndl.adversarial.attacks import Attack
from nndl.adversarial.fgsm import fgsm
from nndl.adversarial.fooling import fooling_images
from nndl.adversarial.pgd import pgd
from nndl.adversarial.pixels import PixelClassifier

__all__ = ["Attack", "PixelClassifier", "fgsm", "fooling_images", "pgd"]
