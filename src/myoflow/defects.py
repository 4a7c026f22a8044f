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

__all__ = ["Defect", "DEFECTS", "CORRECTED", "AS_PUBLISHED", "STUDIES", "CROSSUSER_AUDIT", "study_defects",
           "protocol_defects", "protocol_names", "audited_defects"]

#: the studies, in report order
STUDIES = ("crossuser", "disentangle", "hdcnn")

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
    switch : str
        ``protocol``: a protocol of the study switches it on (its own jobs, same folds);
        ``split``: it is one of the study's fold schemes (the audit compares that split with the
        corrected one, e.g. HD-CNN's sample-level K-fold against whole repetitions), so
        ``protocols`` does not accept it; ``stats``: a test of the study's statistics (the audit
        compares the two tests' decisions).
    """

    name: str
    study: str
    source: str
    published: str
    corrected: str
    switch: str = "protocol"


#: name -> :class:`Defect`
DEFECTS: Registry[Defect] = Registry("defect")


def _register(defect: Defect) -> None:
    DEFECTS.register(defect.name, defect)


_CU_SOURCE = "A-R-Hariri/EPN612_Cross_User"
_register(Defect(
    name="raw_cropped_to_ground_truth", study="crossuser",
    source=f"{_CU_SOURCE}: EPN612.py (_get_odh, prepare_data(segment=True)) and process_epn612.py",
    published="every active repetition is cropped to its ground-truth bounds when loaded, so the "
              "\"raw\" variant (and the segmented and standard variants cut from it) never sees the "
              "rest before and after a gesture, in training or test",
    corrected="raw is the whole repetition; samples outside the ground-truth bounds are rest",
))
_register(Defect(
    name="relabeled_from_cropped", study="crossuser",
    source=f"{_CU_SOURCE}: process_epn612.py (RELABELED)",
    published="the relabeled variant cuts its rest parts (before / after the energy segment) "
              "from the repetition already cropped to ground truth, so they hold little or no rest",
    corrected="the rest parts are cut from the whole repetition",
))
_register(Defect(
    name="metadata_misaligned", study="crossuser",
    source=f"{_CU_SOURCE}: rest thinning of the window sets (the spec's study-crossuser.md; the "
           "code is not in the public snapshot)",
    published="rest windows are thinned 4:1 but the metadata arrays are not thinned with them: the "
              "i-th kept window takes the i-th unthinned row's subject, session and repetition, "
              "so per-user scores (and the user-aware losses) mix users within each split",
    corrected="every metadata column is thinned with its windows",
))
_register(Defect(
    name="source_reshape", study="crossuser",
    source=f"{_CU_SOURCE}: cross_lstm.py, cross_cnnbasic.py (extract_features(...).reshape((N, 8, F // 8)))",
    published="the temporal feature models read the window's feature vector cut into 8 rows in "
              "storage order: a row mixes channels and features, and the axis the LSTM or "
              "convolution runs over is not time",
    corrected="features of 4 consecutive time pieces of each window, (N, 4, F)",
))
_register(Defect(
    name="comb_without_ar9", study="crossuser",
    source=f"{_CU_SOURCE}: LibEMG 2.0.3 FeatureExtractor (group COMB), as the source calls it",
    published="LibEMG's COMB group names AR9, which LibEMG does not implement and silently skips: "
              "COMB is WL, SSC and LD only",
    corrected="COMB is WL, SSC, LD and AR of order 9 (myoflow.features AR9)",
))


_HD_SOURCE = "MIC-Laboratory/CNN-HD-sEMG-Classifier"
_register(Defect(
    name="sample_kfold", study="hdcnn", switch="split",
    source=f"{_HD_SOURCE}: train.py (K-fold over shuffled samples)",
    published="images are shuffled and split K-fold sample by sample, so neighbouring, nearly "
              "identical frames of one repetition fall in training and test",
    corrected="K-fold over whole repetitions (hdcnn split repetition); the audit compares the "
              "sample split with it on the same subjects",
))
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


_register(Defect(
    name="subject_ids_unseen", study="disentangle",
    source=f"{_DIS_SOURCE}: step1_test_classifier.py (subject target)",
    published="the subject classifier on the latents is fitted on the training subjects and tested "
              "on the held-out subject, whose id it has never seen (its accuracy can only be 0)",
    corrected="among the training subjects: fitted on the even-numbered gestures, tested on the odd",
))
_register(Defect(
    name="unpaired_uncorrected_tests", study="disentangle", switch="stats",
    source=f"{_DIS_SOURCE}: step4_Statistical_Analysis.py (stattest)",
    published="measures are compared by an unpaired one-sided t-test (Wilcoxon where Shapiro "
              "rejects normality) on per-subject accuracies that are paired, with no correction "
              "for the many comparisons",
    corrected="paired tests over subjects with Holm's correction (the measure-test figure shows both)",
))


#: what each cross-user defect is audited on (myoflow.audit; here, beside the registry, so the
#: workflow reads it without importing the audit's statistics): the windowing variant both arms train and test on,
#: and which audited model (``model``: the window/feature model; ``sequence_model``: the temporal
#: feature model) with which feature group (None: the model's own input)
CROSSUSER_AUDIT: dict[str, dict] = {
    "raw_cropped_to_ground_truth": {"variant": "raw", "model": "model", "features": None},
    "relabeled_from_cropped": {"variant": "relabeled", "model": "model", "features": None},
    "metadata_misaligned": {"variant": "raw", "model": "model", "features": None},
    "source_reshape": {"variant": "raw", "model": "sequence_model", "features": None},
    "comb_without_ar9": {"variant": "raw", "model": "model", "features": "COMB"},
}


def study_defects(study: str, switch: str | None = "protocol") -> list[str]:
    """Names of the registered defects of ``study``, in registration order: those a protocol
    switches on (default), those of ``switch`` ``split``, or every one (``switch=None``)."""
    return [name for name in DEFECTS.names()
            if DEFECTS.get(name).study == study and (switch is None or DEFECTS.get(name).switch == switch)]


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


def audited_defects(names: list[str] | None) -> list[str]:
    """The defects the audit runs: ``audit.defects`` (null: every registered defect), checked,
    in registration order.

    Raises
    ------
    ConfigError
        A name is not a registered defect (the message lists them).
    """
    if names is None:
        return DEFECTS.names()
    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise ConfigError(f"audit.defects: {unknown} are not defects; expected some of {DEFECTS.names()}")
    return [n for n in DEFECTS.names() if n in set(names)]
