# Config validation, input functions and helpers shared by every rule file.
# Whatever depends on a dataset's recordings (dataset_recordings and the functions built on it) is
# called from input and params functions only, never at parse time, because a dataset with
# `source: download` has no files to list until its download (a checkpoint) ran.
import os
from pathlib import Path

from myoflow.config import validate_config
from myoflow.readers import get_reader
from myoflow import synthetic


validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))


wildcard_constraints:
    dataset=r"[a-z0-9_]+",
    subject=r"\d+",
    session=r"\d+",
    fold=r"\d+",
    model=r"[A-Za-z0-9_]+",
    variant=r"[a-z_]+",
    group=r"[A-Za-z0-9_]+",
    protocol=r"[a-z_]+",
    measure=r"[a-z]+",
    split=r"[a-z]+",
    width=r"[0-9.]+",


def dataset_config(dataset):
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ValueError(
            f"dataset {dataset!r} is not configured under 'datasets' (configured: {sorted(config['datasets'])})"
        ) from None


def raw_dir(dataset):
    """Folder of the dataset's raw files: made by a rule (synthetic, download), else the user's."""
    source = dataset_config(dataset)["source"]
    if source == "synthetic":
        return f"resources/synthetic/{dataset}"
    if source == "download":
        return f"resources/raw/{dataset}"
    if not os.path.isdir(source):
        raise ValueError(
            f"datasets.{dataset}.source: folder {source!r} does not exist; put the raw "
            f"{dataset_config(dataset)['reader']} files there, or set source: download (fetch them "
            "from the original source) or source: synthetic"
        )
    return source


def listable_raw_dir(dataset):
    """raw_dir once its files can be listed.

    A download is the checkpoint download_dataset: before it ran, this raises Snakemake's
    IncompleteCheckpointException, so an input function calling it waits for the download and is
    evaluated again after it. Call it from input functions only, never at parse time.
    """
    if dataset_config(dataset)["source"] == "download":
        return checkpoints.download_dataset.get(dataset=dataset).output[0]
    return raw_dir(dataset)


def download_input(dataset):
    """For `source: download`, the downloaded folder, through the checkpoint; else nothing.

    An input of the rules whose params list the dataset's recordings, so that those params are
    evaluated after the download ran.
    """
    if dataset_config(dataset)["source"] != "download":
        return []
    return [listable_raw_dir(dataset)]


# a missing source folder stops the run at start-up, naming the key
for _dataset in config["datasets"]:
    raw_dir(_dataset)


def dataset_recordings(dataset):
    """(subject, session) pairs of a dataset.

    Known from the config for synthetic data, else listed from the raw folder (for a download, once
    it is there: see listable_raw_dir).
    """
    cfg = dataset_config(dataset)
    if cfg["source"] == "synthetic":
        params = {**synthetic.default_params(cfg["reader"]), **cfg["synthetic"]}
        return synthetic.expected_recordings(cfg["reader"], params)
    return get_reader(cfg["reader"]).list_recordings(listable_raw_dir(dataset), cfg["options"])


def store_path(dataset, subject, session):
    return f"results/store/{dataset}/sub-{subject:03d}_ses-{session}.h5"


def study_store_path(dataset, subject, session):
    """The store a study reads: preprocessed when the dataset has preprocessing steps."""
    if dataset_config(dataset)["preprocess"]:
        return f"results/store/{dataset}/preprocessed/sub-{subject:03d}_ses-{session}.h5"
    return store_path(dataset, subject, session)


def store_files(dataset, session=None):
    return [
        study_store_path(dataset, s, ses)
        for s, ses in dataset_recordings(dataset)
        if session is None or ses == session
    ]


def subjects_of(dataset, session=None):
    return sorted({s for s, ses in dataset_recordings(dataset) if session is None or ses == session})


# ---- study 1: cross-user -------------------------------------------------------------------
CU = config["crossuser"]


def epn_training_users():
    """Number of trainingJSON users: they train; user ids of testingJSON users follow them."""
    cfg = dataset_config(CU["dataset"])
    if cfg["source"] == "synthetic":
        return {**synthetic.default_params("epn612"), **cfg["synthetic"]}["n_training_users"]
    users = Path(listable_raw_dir(CU["dataset"]), "trainingJSON").glob("user*")
    return len([p for p in users if p.is_dir()])


def crossuser_split_bounds():
    """(first validation id, first test id) of the fixed user split.

    Subjects with smaller ids train, those in between validate, the rest test. With
    ``crossuser.split.training_users`` null (EMG-EPN-612) the trainingJSON users train; otherwise
    the first ``training_users`` of the sorted subjects train and the next ``validation_users``
    validate.
    """
    split = CU["split"]
    n_val = split["validation_users"]
    if split.get("training_users") is None:
        first_val = epn_training_users()
        return first_val, first_val + n_val
    subjects = subjects_of(CU["dataset"])
    n_train = split["training_users"]
    if n_train + n_val >= len(subjects):
        raise ValueError(
            f"crossuser.split: training_users {n_train} + validation_users {n_val} leave no test "
            f"users among the {len(subjects)} subjects of dataset {CU['dataset']!r}"
        )
    return subjects[n_train], subjects[n_train + n_val]


def crossuser_test_users():
    first_test = crossuser_split_bounds()[1]
    return [s for s in subjects_of(CU["dataset"]) if s >= first_test]


def crossuser_folds(protocol):
    if protocol == "crossuser":
        return [0]
    return list(range(len(crossuser_test_users())))


def crossuser_model_input(wildcards):
    model = CU["models"][wildcards.model]
    if model["input"] == "windows":
        return f"results/crossuser/windows/{wildcards.variant}.h5"
    return f"results/crossuser/features/{wildcards.variant}/{model['input']}.h5"


def crossuser_runs():
    """(protocol, variant, model, fold) of every cross-user training job."""
    runs = []
    for variant in CU["variants"]:
        for model in CU["models"]:
            runs += [("crossuser", variant, model, f) for f in crossuser_folds("crossuser")]
        for model in CU["within_user"]["models"]:
            runs += [("within_user", variant, model, f) for f in crossuser_folds("within_user")]
    return runs


def crossuser_predictions():
    return [
        f"results/crossuser/predictions/{p}/{v}/{m}/fold-{f}.csv.gz" for p, v, m, f in crossuser_runs()
    ]


def crossuser_prediction_keys():
    return [
        {"study": "crossuser", "dataset": CU["dataset"], "variant": v,
         "features": CU["models"][m]["input"], "model": m,
         "loss": CU["models"][m]["params"].get("loss", "ce") if CU["models"][m]["estimator"] == "torch" else "none",
         "protocol": p, "fold": f}
        for p, v, m, f in crossuser_runs()
    ]


# ---- study 2: disentanglement --------------------------------------------------------------
DIS = config["disentangle"]


def disentangle_folds():
    return list(range(len(subjects_of(DIS["dataset"], DIS["session"]))))


# ---- study 3: HD-CNN -----------------------------------------------------------------------
HD = config["hdcnn"]


def hdcnn_runs():
    return [
        (d, s, w, f)
        for d in HD["datasets"]
        for s in HD["splits"]
        for w in HD["widths"]
        for f in range(HD["folds"])
    ]


def hdcnn_predictions():
    return [f"results/hdcnn/predictions/{d}/{s}/w{w}/fold-{f}.csv.gz" for d, s, w, f in hdcnn_runs()]


def hdcnn_prediction_keys():
    return [
        {"study": "hdcnn", "dataset": d, "variant": HD["images"]["mode"], "features": "image",
         "model": f"MobileNetV2_w{w}", "loss": "ce", "protocol": s, "fold": f}
        for d, s, w, f in hdcnn_runs()
    ]


# ---- final targets -------------------------------------------------------------------------
def study_targets():
    return [
        "results/crossuser/scores.csv",
        "results/crossuser/stats/pairwise.csv",
        "results/crossuser/figures/per_user_balanced_accuracy.png",
        "results/disentangle/scores.csv",
        "results/disentangle/stats/pairwise.csv",
        "results/disentangle/figures/reconstruction_maps.png",
        "results/disentangle/figures/latent_accuracy.png",
        "results/hdcnn/scores.csv",
        "results/hdcnn/stats/pairwise.csv",
        "results/hdcnn/model_costs.csv",
        "results/hdcnn/figures/accuracy_by_split.png",
    ]


def dataset_targets():
    """Named input functions (one per configured dataset, giving its stores) for the target rule.

    Every configured dataset is converted, even one no study reads yet. One function each, so a
    download (a checkpoint) holds back only its own dataset's jobs, and a dry run shows the rest.
    """

    def stores_of(dataset):
        return lambda wildcards: store_files(dataset) + [
            store_path(dataset, s, ses) for s, ses in dataset_recordings(dataset)
        ]

    return {f"stores_{dataset}": stores_of(dataset) for dataset in config["datasets"]}
