"""Model kinds: each a network, its optimizer, and the training step of its task.

``TASKS`` maps the command line's ``--task`` names to model classes.
"""
from nndl.models.autoencoder import Autoencoder
from nndl.models.base import Model
from nndl.models.classifier import BinaryClassifier, Classifier, MultiLabelClassifier
from nndl.models.regressor import Regressor
from nndl.models.ntm import NTM, TuringMachine
from nndl.models.seq2seq import EncoderDecoder, Seq2Seq
from nndl.models.sequence import SequenceClassifier
from nndl.registry import lookup

TASKS: dict[str, type] = {cls.task: cls for cls in (Classifier, BinaryClassifier, MultiLabelClassifier, Regressor,
                                                     Autoencoder, SequenceClassifier)}


def model_for_task(task) -> type:
    """The model class of a task name (``"classification"``, ``"regression"``, ...)."""
    return lookup(TASKS, task, "task", {"multi_label": "multilabel", "classify": "classification",
                                        "regress": "regression", "autoencoder": "reconstruction"})


__all__ = ["Autoencoder", "BinaryClassifier", "EncoderDecoder", "Classifier", "Model", "MultiLabelClassifier", "NTM", "Regressor",
           "Seq2Seq", "SequenceClassifier", "TASKS", "TuringMachine",
           "model_for_task"]
