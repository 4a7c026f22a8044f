"""The disentanglement study's latent classifiers: the six classifiers on hand-built latents, the
network classifiers' shapes (the source's layer sizes), and where their epoch is chosen."""
import numpy as np
import pandas as pd
import pytest
import torch

from myoflow.errors import ConfigError
from myoflow.latents import LATENT_CLASSIFIERS, NETWORK_CLASSIFIERS, latent_classification
from myoflow.models import LatentANN, LatentCNN, LatentLSTM, build_model
from myoflow.sets import ArraySet

FAST = {"max_epochs": 25, "lr": 3e-3, "batch_size": 32}


def latents(seed=0, n_gestures=4, n_subjects=4, reps=6, d=32, noise=0.6):
    """Pattern latent = a code per gesture + noise; subject latent = a code per subject + noise;
    the last subject is the fold's test subject."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_gestures), n_subjects * reps)
    s = np.tile(np.repeat(np.arange(1, n_subjects + 1), reps), n_gestures)
    rep = np.tile(np.arange(reps), n_gestures * n_subjects)
    gcode, scode = rng.normal(0, 1, (n_gestures, d)), rng.normal(0, 1, (n_subjects + 1, d))
    meta = pd.DataFrame({"subject": s, "label": g, "repetition": rep,
                         "part": np.where(s == n_subjects, "test", "train")})
    return ArraySet({"pattern": (gcode[g] + rng.normal(0, noise, (len(g), d))).astype(np.float32),
                     "subject": (scode[s] + rng.normal(0, noise, (len(g), d))).astype(np.float32)}, meta)


def accuracy(table, target, latent):
    rows = table[(table.target == target) & (table.latent == latent)]
    return float((rows.y_true == rows.y_pred).mean())


@pytest.mark.parametrize("name", ["knn", "svm", "rf", "ann", "cnn", "lstm"])
def test_each_classifier_reads_gesture_from_pattern_and_subject_from_subject_latents(name):
    params = {"n_estimators": 50} if name == "rf" else FAST if name in NETWORK_CLASSIFIERS else {}
    table = latent_classification(latents(), name, params, seed=3)
    assert set(table.target) == {"gesture", "subject"} and set(table.latent) == {"pattern", "subject"}
    assert accuracy(table, "gesture", "pattern") > accuracy(table, "gesture", "subject") + 0.3
    assert accuracy(table, "subject", "subject") > accuracy(table, "subject", "pattern") + 0.3
    # the gesture target is tested on the held-out subject only, the subject target on training subjects
    assert set(table[table.target == "gesture"].subject) == {4}
    assert 4 not in set(table[table.target == "subject"].subject)


def test_corrected_epoch_choice_never_sees_the_test_labels():
    data = latents(noise=1.5)
    relabeled = ArraySet(dict(data.arrays), data.meta.copy())
    test = (relabeled.meta.part == "test").to_numpy()
    relabeled.meta.loc[test, "label"] = np.random.default_rng(9).permutation(relabeled.meta.label[test].to_numpy())
    gesture_rows = lambda t: (t.target == "gesture").to_numpy()  # noqa: E731
    a = latent_classification(data, "ann", FAST, seed=1)
    b = latent_classification(relabeled, "ann", FAST, seed=1)
    # corrected: the test subject's labels reach only the scoring, never the fit or the epoch choice
    np.testing.assert_array_equal(a.y_pred[gesture_rows(a)], b.y_pred[gesture_rows(b)])
    # as published (test_set_epoch), the epoch follows the test labels; on this fold and seed its
    # test accuracy is at least the corrected one's (the optimism the audit measures)
    leaky = latent_classification(data, "ann", FAST, seed=1, select_on_test=True)
    leaky_relabeled = latent_classification(relabeled, "ann", FAST, seed=1, select_on_test=True)
    assert (leaky.y_pred[gesture_rows(leaky)].to_numpy() != leaky_relabeled.y_pred[gesture_rows(leaky)].to_numpy()).any()
    assert accuracy(leaky, "gesture", "pattern") >= accuracy(a, "gesture", "pattern") - 1e-9


def test_subject_target_on_unseen_ids_as_published_scores_zero():
    """Defect subject_ids_unseen: the subject classifier fitted on the training subjects and
    tested on the held-out one can never name it; the gesture target is unchanged."""
    corrected = latent_classification(latents(), "knn", seed=3)
    leaky = latent_classification(latents(), "knn", seed=3, subject_on_unseen_ids=True)
    assert set(leaky[leaky.target == "subject"].subject) == {4}
    assert accuracy(leaky, "subject", "subject") == 0.0 < accuracy(corrected, "subject", "subject")
    pd.testing.assert_frame_equal(leaky[leaky.target == "gesture"].reset_index(drop=True),
                                  corrected[corrected.target == "gesture"].reset_index(drop=True))


def test_network_classifiers_match_the_source_layer_sizes():
    # the source: 512-value latents (128 x 2 x 2), CNN on (2, 16, 16) with a 3136-wide flatten
    cnn = LatentCNN((512,), 10)
    assert cnn.head[1].num_features == 3136 and cnn(torch.zeros(4, 512)).shape == (4, 10)
    lstm = LatentLSTM((512,), 10)
    assert lstm.lstm.input_size == 256 and lstm.lstm.hidden_size == 48 and lstm.head[0].in_features == 6
    assert lstm(torch.zeros(3, 512)).shape == (3, 10)
    ann = LatentANN((512,), 10)
    assert [m.out_features for m in ann.net if isinstance(m, torch.nn.Linear)] == [256, 256, 10]
    # the reduced default latent (32 x 2 x 2 = 128) runs the same layers on (2, 8, 8)
    assert build_model("latent_cnn", (128,), 5)(torch.zeros(2, 128)).shape == (2, 5)
    with pytest.raises(ValueError, match=r"D = 2 \* s \* s"):
        LatentCNN((96,), 5)
    with pytest.raises(ValueError, match="D even"):
        LatentLSTM((7,), 5)


def test_unknown_classifier_options_are_named():
    with pytest.raises(ConfigError, match="disentangle.classifiers.ann"):
        latent_classification(latents(), "ann", {"epochs": 3})
    with pytest.raises(ConfigError, match="input_normalization 'l1' unknown"):
        latent_classification(latents(), "ann", {**FAST, "input_normalization": "l1"})
    assert set(NETWORK_CLASSIFIERS) <= set(LATENT_CLASSIFIERS.names())


def test_measure_table_averages_subjects_within_folds_then_folds_and_sits_beside_the_published():
    from myoflow.studies.disentangle import PUBLISHED_MEASURE_ACCURACY, measure_table

    rows = []
    for measure, accs in (("rms", [0.6, 0.8]), ("mav", [0.5, 0.5])):
        for classifier, shift in (("knn", 0.0), ("svm", 0.1)):
            for fold, acc in enumerate(accs):
                for subject, delta in ((fold + 1, -0.05), (fold + 10, 0.05)):  # two subjects per fold
                    for latent, value in (("pattern", acc + shift + delta), ("subject", 0.1)):
                        rows.append({"protocol": "corrected", "split": "loso", "measure": measure,
                                     "classifier": classifier, "fold": fold, "subject": subject,
                                     "latent": latent, "metric": "gesture_accuracy", "value": value})
    scores = pd.DataFrame(rows)
    scores = pd.concat([scores, scores.assign(metric="subject_accuracy", value=0.99)])
    table = measure_table(scores).set_index("measure")
    assert table.loc["rms", "knn_mean"] == pytest.approx(0.7) and table.loc["rms", "svm_mean"] == pytest.approx(0.8)
    assert table.loc["rms", "knn_sd"] == pytest.approx(np.std([0.6, 0.8], ddof=1))  # over folds
    assert table.loc["rms", "knn"] == "70.00 +- 14.14"
    assert table.loc["rms", "best_classifier"] == "svm" and table.loc["rms", "n_folds"] == 2
    assert table.loc["rms", "published"] == PUBLISHED_MEASURE_ACCURACY["rms"]
    assert np.isnan(table.loc["mav", "published"])  # an extra of this workflow
    with pytest.raises(ValueError, match="no gesture_accuracy rows"):
        measure_table(scores[scores.metric == "subject_accuracy"])


def _fold_set(subject, maps, rng, noise=0.3, reps=3):
    """One fold's latents: the held-out ``subject``'s recon_pattern = its gesture maps + noise."""
    n_g = len(maps)
    g = np.repeat(np.arange(n_g), reps)
    recon = np.stack([maps[k] + rng.normal(0, noise, maps[k].shape) for k in g]).astype(np.float32)
    meta = pd.DataFrame({"subject": subject, "label": g, "repetition": np.tile(np.arange(reps), n_g), "part": "test"})
    return ArraySet({"recon_pattern": recon}, meta)


def test_correlation_array_diagonal_above_off_diagonal_when_patterns_are_shared():
    from myoflow.disentangle import correlation_array

    rng = np.random.default_rng(0)
    shared = rng.normal(0, 1, (4, 2, 16, 16))  # one map per gesture, the same for every subject
    sets = [_fold_set(s, shared + 0.3 * rng.normal(0, 1, shared.shape), rng) for s in (1, 2, 3)]
    m, gestures = correlation_array(sets)
    assert gestures == [0, 1, 2, 3] and m.shape == (5, 5)
    assert np.diag(m)[:4].min() > 0.8 > m[4, 4]  # same gesture across people vs different gestures
    assert m[4, 4] == pytest.approx(m[:4, :4][~np.eye(4, dtype=bool)].mean())
    assert m[0, 4] == pytest.approx(np.mean(m[0, 1:4]))
    # subject-specific maps, nothing shared across people: the diagonal is no higher than the rest
    private = [_fold_set(s, rng.normal(0, 1, (4, 2, 16, 16)), rng) for s in (1, 2, 3)]
    p, _ = correlation_array(private)
    assert np.diag(p)[:4].mean() < p[4, 4] + 0.1
    # the source's form: subject-averaged maps, diagonal 1
    src, _ = correlation_array(sets, mode="gesture_means")
    assert np.allclose(np.diag(src)[:4], 1.0)
    with pytest.raises(ValueError, match=">= 2 held-out subjects"):
        correlation_array(sets[:1])
