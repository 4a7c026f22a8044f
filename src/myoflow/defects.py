"""The source codebases' defects, each a named switch, and the protocols built from them.

Every defect that changed a published number is registered on :data:`DEFECTS` with its study,
the source file it lives in, what the source did and what the corrected protocol does instead.
A *protocol* is a set of switched-on defects, named in a study's ``protocols`` config list:

- ``corrected``: none (the default);
- ``as_published``: every defect of the study;
- a defect's name: the corrected protocol with only that defect switched on (what the audit
  compares against ``corrected`` on the same folds).

The protocol name is a column of every run sheet and score table, so two protocols' results
never mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError
from .registry import Registry

__all__ = ["Defect", "DEFECTS", "CORRECTED", "AS_PUBLISHED", "study_defects", "protocol_defects",
           "protocol_names"]

CORRECTED = "corrected"
AS_PUBLISHED = "as_published"


@dataclass(frozen=True)
class Defect:
    """One defect of a source codebase.

    Attributes
    ----------
    name : str
        The config name (unique across studies).
    study : str
        ``crossuser``, ``disentangle`` or ``hdcnn``.
    source : str
        Repository and file where the source does it.
    published : str
        What the source does.
    corrected : str
        What myoflow does by default instead.
    """

    name: str
    study: str
    source: str
    published: str
    corrected: str


#: name -> :class:`Defect`
DEFECTS: Registry[Defect] = Registry("defect")


def _register(defect: Defect) -> None:
    DEFECTS.register(defect.name, defect)


_HD_SOURCE = "MIC-Laboratory/CNN-HD-sEMG-Classifier"
_register(Defect(
    name="storage_order_images", study="hdcnn",
    source=f"{_HD_SOURCE}: data_preprocessing/CSL_dataset.py",
    published="each frame's channel vector is reshaped to the image in storage order, which for "
              "CSL-HDEMG is not the physical electrode grid (and keeps the dead bipolar channels' "
              "positions out of place)",
    corrected="values are placed on the physical grid of the dataset's layout",
))
_register(Defect(
    name="weights_carried_over", study="hdcnn",
    source=f"{_HD_SOURCE}: train.py (K-fold version, before commit 94c7ebc)",
    published="`model_orginal_weight = model.state_dict().copy()` is a shallow copy whose tensors "
              "the optimiser updates in place, so `load_state_dict` at each fold restores nothing: "
              "fold k starts from fold k-1's trained weights (which saw fold k's test samples)",
    corrected="every fold starts from a fresh, seeded initialisation",
))
_register(Defect(
    name="test_set_checkpoint", study="hdcnn",
    source=f"{_HD_SOURCE}: train.py",
    published="the test set is evaluated after every epoch and the checkpoint with the best test "
              "accuracy is the one saved (and named with that accuracy)",
    corrected="no epoch is chosen on test data: the last epoch's weights are kept",
))


_DIS_SOURCE = "Open-EXG/HandDisentanglement"
_register(Defect(
    name="no_adversarial_term", study="disentangle",
    source=f"{_DIS_SOURCE}: models.py (training_step of the GAN-enhanced model)",
    published="the discriminator is trained on real vs reconstructed maps, but its loss never "
              "reaches the encoders or the decoder: the published \"GAN-enhanced\" model has no "
              "adversarial term",
    corrected="the generator's loss adds disentangle.model.adversarial_weight x the "
              "discriminator's BCE on its reconstructions",
))
_register(Defect(
    name="storage_order_maps", study="disentangle",
    source=f"{_DIS_SOURCE}: data_module.py",
    published="a physical electrode ordering is defined but never used: each sample's channel "
              "vector is reshaped to 16 x 16 in storage order",
    corrected="values are placed on the physical 16 x 16 mosaic of the four 8 x 8 arrays",
))
_register(Defect(
    name="test_set_epoch", study="disentangle",
    source=f"{_DIS_SOURCE}: step1_test_classifier.py (train_ann)",
    published="the network latent classifiers (ANN, CNN, LSTM) are evaluated on the test set "
              "after every epoch and the best test accuracy is the one reported",
    corrected="their epoch is chosen on a validation split of the training subjects (gesture "
              "target) or of the fitting gestures (subject target)",
))


def study_defects(study: str) -> list[str]:
    """Names of the registered defects of ``study``, in registration order."""
    return [name for name in DEFECTS.names() if DEFECTS.get(name).study == study]


def protocol_names(study: str) -> list[str]:
    """Every protocol name ``study`` accepts: corrected, as_published and its defects."""
    return [CORRECTED, AS_PUBLISHED, *study_defects(study)]


def protocol_defects(study: str, protocol: str) -> frozenset[str]:
    """The defects switched on by ``protocol`` of ``study``.

    Raises
    ------
    ConfigError
        ``protocol`` is not a protocol of ``study`` (the message lists those it has).
    """
    if protocol == CORRECTED:
        return frozenset()
    if protocol == AS_PUBLISHED:
        return frozenset(study_defects(study))
    if protocol in study_defects(study):
        return frozenset({protocol})
    raise ConfigError(f"{study}.protocols: {protocol!r} is not a protocol of the {study} study; "
                      f"expected one of {protocol_names(study)}")
