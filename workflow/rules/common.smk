# Config validation, the datasets' recordings, the three run sheets, and helpers shared by the rules.
#
# Whatever depends on a dataset's recordings (dataset_recordings and everything built on it, the
# run sheets included) is called from input and params functions only, never at parse time,
# because a dataset with `source: download` has no files to list until its download (a
# checkpoint) ran. Each is computed once per Snakemake process (functools.cache).
import functools
import os
import sys

from myoflow import defects, runsheets
from myoflow.defects import CROSSUSER_AUDIT
from myoflow.config import validate_config
from myoflow.datasets import (
    get_dataset,
    has_synthetic,
    listing_problems,
    synthetic_params,
    synthetic_recordings,
)
from myoflow.errors import ConfigError
from myoflow.features import libemg_group_as_run, resolve_features
from myoflow.inputs.crossuser import THRESHOLD_VARIANTS
from myoflow.latents import LATENT_CLASSIFIERS
from myoflow.studies.hdcnn import PUBLISHED as HD_PUBLISHED

validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))


wildcard_constraints:
    dataset=r"[a-z0-9_]+",
    subject=r"\d+",
    session=r"\d+",
    fold=r"\d+",
    model=r"[A-Za-z0-9_]+",
    train_variant=r"[a-z_]+",
    test_variant=r"[a-z_]+",
    variant=r"[a-z_]+",
    group=r"[A-Za-z0-9_]+",
    features=r"[A-Za-z0-9_]+",
    protocol=r"[a-z0-9_]+",
    loss=r"[a-z0-9_]+",
    measure=r"[a-z_]+",
    classifier=r"[a-z_]+",
    split=r"[a-z_]+",
    width=r"[0-9.]+",
    study=r"crossuser|disentangle|hdcnn",


CU = config["crossuser"]

# The cross-user chain (recordings -> windows -> features -> train -> predict) is the longest
# serial path of the default run: scheduled first, from its recordings on (a priority does not
# pass to a job's inputs), it overlaps the other studies' many small jobs instead of running
# alone at the end.
CROSSUSER_PRIORITY = 10
# The disentanglement chain (segments -> samples -> train -> classify) is the next longest: it
# was the run's tail, so it goes before the HD-CNN study's short jobs, which fill the gaps.
DISENTANGLE_PRIORITY = 5


def dataset_priority(w):
    """The cross-user dataset's recordings are made first, the disentanglement study's next."""
    if w.dataset == CU["dataset"]:
        return CROSSUSER_PRIORITY
    return DISENTANGLE_PRIORITY if w.dataset == config["disentangle"]["dataset"] else 0


DIS = config["disentangle"]
HD = config["hdcnn"]
AUDIT = config["audit"]

# parameters the schema cannot know (they are the classifiers' own) are checked at start-up too
for _name, _params in DIS["classifier_params"].items():
    LATENT_CLASSIFIERS.check_params(
        _name, _params, exclude={"seed"}, where=f"disentangle.classifiers.{_name}"
    )


if len(DIS["model"]["decoder_channels"]) != len(DIS["model"]["encoder_channels"]) - 1:
    raise ConfigError(
        "disentangle.model.decoder_channels needs one entry fewer than encoder_channels, got "
        f"{DIS['model']['decoder_channels']} and {DIS['model']['encoder_channels']}"
    )


def dataset_config(dataset):
    try:
        return config["datasets"][dataset]
    except KeyError:
        raise ConfigError(
            f"dataset {dataset!r} is not configured under 'datasets' (configured: {sorted(config['datasets'])})"
        ) from None


def raw_dir(dataset):
    """Folder of the dataset's raw files: made by a rule (synthetic, download), else the user's."""
    cfg = dataset_config(dataset)
    source = cfg["source"]
    if source == "synthetic":
        if not has_synthetic(cfg["reader"]):
            raise ConfigError(
                f"datasets.{dataset}.source: synthetic, but dataset module {cfg['reader']!r} has no "
                "synthetic writer; set source to the folder of its files or to download"
            )
        return f"resources/synthetic/{dataset}"
    if source == "download":
        return f"resources/raw/{dataset}"
    if not os.path.isdir(source):
        alternatives = "source: download (fetch them from the original source)"
        if has_synthetic(cfg["reader"]):
            alternatives += " or source: synthetic"
        raise ConfigError(
            f"datasets.{dataset}.source: folder {source!r} does not exist; put the raw "
            f"{cfg['reader']} files there, or set {alternatives}"
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


# an unknown dataset module, a missing source folder, or a synthetic source without a writer stops
# the run at start-up, naming the key
for _dataset, _cfg in config["datasets"].items():
    try:
        get_dataset(_cfg["reader"])
    except ConfigError as exc:
        raise ConfigError(f"datasets.{_dataset}.reader: {exc}") from None
    raw_dir(_dataset)


@functools.cache
def dataset_recordings(dataset):
    """(subject, session) pairs of a dataset, sorted.

    Known from the config for synthetic data, else listed from the raw folder (for a download, once
    it is there: see listable_raw_dir). Documented subjects or sessions absent from a listing are
    reported on the terminal.
    """
    cfg = dataset_config(dataset)
    if cfg["source"] == "synthetic":
        return tuple(
            synthetic_recordings(
                cfg["reader"], synthetic_params(cfg["reader"], cfg["synthetic"])
            )
        )
    recordings = tuple(
        get_dataset(cfg["reader"]).list_recordings(
            listable_raw_dir(dataset), cfg["options"]
        )
    )
    for note in listing_problems(cfg["reader"], recordings):
        print(f"myoflow: datasets.{dataset} ({cfg['source']}): {note}", file=sys.stderr)
    return recordings


def store_path(dataset, subject, session):
    return f"results/store/{dataset}/sub-{subject:03d}_ses-{session}.h5"


def study_store_path(dataset, subject, session):
    """The store a study reads: preprocessed when the dataset has preprocessing steps."""
    if dataset_config(dataset)["preprocess"]:
        return (
            f"results/store/{dataset}/preprocessed/sub-{subject:03d}_ses-{session}.h5"
        )
    return store_path(dataset, subject, session)


def store_files(dataset, sessions=None):
    return [
        study_store_path(dataset, s, ses)
        for s, ses in dataset_recordings(dataset)
        if sessions is None or ses in sessions
    ]


def subjects_of(dataset, sessions=None):
    return sorted(
        {
            s
            for s, ses in dataset_recordings(dataset)
            if sessions is None or ses in sessions
        }
    )


_SHEETS_AS_TEXT = {}


def run_sheet_rows(sheet, **keys):
    """Rows of a run sheet matching the given column values (wildcards are text)."""
    # the sheets are cached, so their text form is made once, not once per input-function call
    text = _SHEETS_AS_TEXT.get(id(sheet))
    if text is None or text[0] is not sheet:
        text = _SHEETS_AS_TEXT[id(sheet)] = (sheet, sheet.astype(str))
    mask = True
    for column, value in keys.items():
        mask = mask & (text[1][column] == str(value))
    return sheet[mask]


# ---- study 1: cross-user -------------------------------------------------------------------
def _published_training_users(dataset, key):
    cfg = dataset_config(dataset)
    dataset_module = get_dataset(cfg["reader"])
    if not hasattr(dataset_module, "published_training_subjects"):
        raise ConfigError(
            f"{key}.training_users: dataset {dataset!r} ({cfg['reader']}) has no published "
            "user split; give training_users as a list of subject ids or a count"
        )
    if cfg["source"] == "synthetic":
        return dataset_module.synthetic_training_subjects(
            synthetic_params(cfg["reader"], cfg["synthetic"])
        )
    return dataset_module.published_training_subjects(
        listable_raw_dir(dataset), cfg["options"]
    )


def _ids(key, value, subjects, dataset, sessions):
    missing = sorted(set(value) - set(subjects))
    if missing:
        raise ConfigError(
            f"{key}: subject id(s) {missing} are not in dataset {dataset!r} "
            f"(sessions {sessions or 'all'}: {len(subjects)} subjects, ids {subjects[:5]}...{subjects[-3:]})"
        )
    return sorted(value)


def user_split_of(dataset, split, sessions=None, key="crossuser.split"):
    """{"train", "validation", "test"} -> subject ids of a fixed user split of ``dataset``.

    Ids or counts from ``split`` (a crossuser.split-shaped mapping); a listed id absent from the
    data is an error (a missing subject folder must not silently shift a split).
    """
    subjects = subjects_of(dataset, sessions)
    train = split["training_users"]
    if train is None:
        train = [s for s in _published_training_users(dataset, key) if s in subjects]
    elif isinstance(train, int):
        train = subjects[:train]
    else:
        train = _ids(f"{key}.training_users", train, subjects, dataset, sessions)
    rest = [s for s in subjects if s not in set(train)]
    validation = split["validation_users"]
    if isinstance(validation, int):
        validation = rest[:validation]
    else:
        validation = _ids(
            f"{key}.validation_users", validation, rest, dataset, sessions
        )
    test = split["test_users"]
    if test is None:
        test = [s for s in rest if s not in set(validation)]
    else:
        test = _ids(
            f"{key}.test_users",
            test,
            [s for s in rest if s not in set(validation)],
            dataset,
            sessions,
        )
    if not train or not test:
        raise ConfigError(
            f"{key} leaves {len(train)} training and {len(test)} test users among the "
            f"{len(subjects)} subjects of dataset {dataset!r}"
        )
    return {"train": train, "validation": validation, "test": test}


@functools.cache
def crossuser_user_split():
    """The cross-user study's fixed user split (crossuser.split)."""
    return user_split_of(CU["dataset"], CU["split"], CU["sessions"])


@functools.cache
def crossuser_sheet():
    return runsheets.crossuser_sheet(CU, CU["dataset"])


def crossuser_torch_models():
    """One record per trained torch model of the cross-user protocol (for the training curves)."""
    sheet = crossuser_sheet()
    rows = sheet[(sheet["estimator"] == "torch") & (sheet["protocol"] == "crossuser")]
    keys = ["model_file", "model", "loss", "features", "train_variant"]
    return rows[keys].drop_duplicates("model_file").to_dict("records")


def crossuser_model_input(variant, model, features):
    """The data file model ``model`` reads for ``features`` (raw windows, one feature group per
    window, or per sub-window: crossuser.models.<model>.features_over)."""
    if features == "windows":
        return f"results/crossuser/windows/{variant}.h5"
    if crossuser_feature_layout(model) == "pieces":
        return f"results/crossuser/subwindow_features/{variant}/{features}.h5"
    return f"results/crossuser/features/{variant}/{features}.h5"


#: the cross-user defects switched on in the main grid (crossuser.as_published: every one)
CU_DEFECTS = (
    frozenset(defects.study_defects("crossuser")) if CU["as_published"] else frozenset()
)


def crossuser_group_features(group):
    """The features of group ``group`` the feature rules compute: the group's, or as the
    source ran LibEMG (COMB without AR9) under defect comb_without_ar9."""
    if "comb_without_ar9" in CU_DEFECTS:
        return libemg_group_as_run(group)
    return resolve_features(group)


def crossuser_feature_layout(model):
    """How model ``model`` reads its features: "window" (N, F), "pieces" (N, pieces, F, the
    corrected sub-window features) or "source_reshape" (the source's (N, 8, F / 8) reshape of the
    window's features, crossuser.subwindows.layout or as_published)."""
    if CU["models"][model].get("features_over", "window") == "window":
        return "window"
    if "source_reshape" in CU_DEFECTS:
        return "source_reshape"
    return CU["subwindows"]["layout"]


CU_TEST_VARIANTS = runsheets.crossuser_test_variants(CU)

#: the model of the four-metric figure: MHCNN (the study's proposed model) where configured,
#: else the first torch model, else the first model
CU_HEADLINE_MODEL = (
    "MHCNN"
    if "MHCNN" in CU["models"]
    else next(
        (n for n, m in CU["models"].items() if m["estimator"] == "torch"),
        next(iter(CU["models"])),
    )
)


def _headline_loss():
    """The headline model's loss: its own where it trains with it, else the first it trains with
    (a loss sweep without its own loss)."""
    losses = [
        loss
        for name, loss, _ in runsheets.crossuser_trained_models(CU)
        if name == CU_HEADLINE_MODEL
    ]
    own = runsheets.crossuser_model_loss(CU["models"][CU_HEADLINE_MODEL])
    return own if own in losses or not losses else losses[0]


CU_HEADLINE_LOSS = _headline_loss()


def crossuser_predict_inputs(protocol, train_variant, features, model, loss, fold):
    """Named inputs of one prediction job: the model, the fold table, one data file per test
    variant and the training data (RunningNorm starts from the training users' statistics).
    """
    return {
        "model": runsheets.crossuser_model_path(
            protocol, train_variant, features, model, loss, fold
        ),
        "folds": f"results/crossuser/folds/{protocol}.csv",
        "train_data": crossuser_model_input(train_variant, model, features),
        **{
            f"data_{v}": crossuser_model_input(v, model, features)
            for v in CU_TEST_VARIANTS
        },
    }


@functools.cache
def crossuser_architecture_candidates():
    """Per model of crossuser.architectures.models: the trained (features, loss, validation file)
    candidates on the first variant (several for a feature-grid model: one per group; its own
    loss, or ce for a loss-swept model)."""
    sheet = crossuser_sheet()
    rows = sheet[
        (sheet["protocol"] == "crossuser")
        & (sheet["train_variant"] == CU["variants"][0])
    ]
    out = []
    for name in CU["architectures"]["models"]:
        mine = rows[rows["model"] == name]
        if mine.empty:
            raise ConfigError(
                f"crossuser.architectures.models: {name!r} is not a trained cross-user model "
                f"({sorted(set(rows['model']))})"
            )
        own = runsheets.crossuser_model_loss(CU["models"][name])
        loss = (
            own
            if own in set(mine["loss"])
            else ("ce" if "ce" in set(mine["loss"]) else mine["loss"].iloc[0])
        )
        mine = mine[mine["loss"] == loss].drop_duplicates("model_file")
        out += [
            {"model": name, "features": f, "loss": loss, "validation_file": v}
            for f, v in zip(mine["features"], mine["validation_file"])
        ]
    return out


def crossuser_architecture_validation_files():
    return [c["validation_file"] for c in crossuser_architecture_candidates()]


def crossuser_within_users():
    """Whose within-user models train: the test users, or every user of the split."""
    split = crossuser_user_split()
    if CU["within_user"]["users"] == "all":
        return sorted(split["train"] + split["validation"] + split["test"])
    return list(split["test"])


#: fold-table name of each r of the within-user sweep -> r
CU_WITHIN_PROTOCOLS = {
    runsheets.within_user_protocol(r, fine_tune): r
    for r in runsheets.within_user_repetitions(CU)
    for fine_tune in (False, True)
}


#: fold-table name of each cell of the incremental sweep -> the cell
CU_INCREMENTAL = {c["protocol"]: c for c in runsheets.incremental_cells(CU)}


def crossuser_ranking_model():
    """The within-user model whose scores order the training users for the incremental sweep."""
    inc = CU["incremental"]
    model = inc["ranking_model"] or next(iter(CU["within_user"]["models"]), None)
    if model is None or model not in CU["models"]:
        raise ConfigError(
            f"crossuser.incremental.ranking_model: {model!r} is not a crossuser.models entry "
            "(null takes the first of crossuser.within_user.models, which is empty)"
        )
    return model


def crossuser_folds_inputs(w):
    inputs = {
        "windows": f"results/crossuser/windows/{CU['variants'][0]}.h5",
        "raw": download_input(CU["dataset"]),
    }
    if w.protocol in CU_INCREMENTAL:
        inputs["ranking"] = "results/crossuser/incremental/user_ranking.csv"
    return inputs


def crossuser_fold_params(protocol):
    """Only what the protocol's fold table needs, so other changes do not re-run its jobs."""
    if protocol in CU_INCREMENTAL:
        return {
            "users": crossuser_user_split(),
            "cell": CU_INCREMENTAL[protocol],
            "seed": config["seed"],
        }
    if protocol == "crossuser":
        return {
            "users": crossuser_user_split(),
            "validation": CU["split"]["validation"],
            "validation_repetitions": CU["split"]["validation_repetitions"],
        }
    if protocol not in CU_WITHIN_PROTOCOLS:
        raise ConfigError(
            f"crossuser fold table {protocol!r}: not one of {['crossuser', *CU_WITHIN_PROTOCOLS]}"
        )
    return {
        "users": {"within": crossuser_within_users()},
        "train_repetitions": CU_WITHIN_PROTOCOLS[protocol],
        # every r is tested on the same repetitions: those after the largest r (and validation)
        "first_held_out": max(CU_WITHIN_PROTOCOLS.values()),
        "validation_repetitions": CU["within_user"]["validation_repetitions"],
        "pooled": True,
    }


def crossuser_train_inputs(w):
    """The model's input set and fold table; a fine-tuned within-user model also starts from
    its cross-user model (trained on the same variant with its own loss, fold 0)."""
    inputs = {
        "data": crossuser_model_input(w.train_variant, w.model, w.features),
        "folds": f"results/crossuser/folds/{w.protocol}.csv",
    }
    if runsheets.is_fine_tuned(w.protocol):
        inputs["init"] = runsheets.crossuser_model_path(
            "crossuser", w.train_variant, w.features, w.model, w.loss, 0
        )
    return inputs


def crossuser_train_model_config(w):
    """The estimator config of one training job (the within-user one for a within-user protocol)."""
    if runsheets.is_within_user(w.protocol):
        return runsheets.within_user_model_config(
            CU, w.model, runsheets.is_fine_tuned(w.protocol)
        )
    return runsheets.crossuser_model_config(CU, w.model, w.loss, w.features)


def crossuser_model_threads(model):
    """resources.train_threads for a torch model; one thread for a scikit-learn one (an LDA job
    holding two cores would keep a second job waiting for nothing)."""
    if CU["models"][model]["estimator"] == "torch":
        return config["resources"]["train_threads"]
    return 1


# ---- study 2: disentanglement --------------------------------------------------------------
@functools.cache
def disentangle_folds_inputs(w):
    """The within-session split reads the repetitions present from the segments; the others
    need only the subjects (the raw folder's listing)."""
    if w.split == "within_session":
        return {"segments": "results/disentangle/segments.h5"}
    return {"raw": download_input(DIS["dataset"])}


def disentangle_subjects_by_session():
    return {ses: subjects_of(DIS["dataset"], [ses]) for ses in DIS["sessions"]}


@functools.cache
def disentangle_sheet():
    return runsheets.disentangle_sheet(
        DIS, DIS["dataset"], disentangle_subjects_by_session(), AUDIT
    )


def _one_row(rows, what, w):
    if rows.empty:
        raise ConfigError(f"disentangle: no run-sheet row for the {what} job {dict(w)}")
    return rows.iloc[0]


def disentangle_train_row(w):
    """A run-sheet row of one training job (any of the protocols that share its model)."""
    rows = run_sheet_rows(
        disentangle_sheet(),
        model_protocol=w.protocol,
        measure=w.measure,
        split=w.split,
        fold=w.fold,
    )
    return _one_row(rows, "training", w)


def disentangle_classify_rows(w):
    """Run-sheet rows of one classification job (every fold of a protocol, measure and split)."""
    rows = run_sheet_rows(
        disentangle_sheet(), protocol=w.protocol, measure=w.measure, split=w.split
    )
    if rows.empty:
        raise ConfigError(f"no classification job in the run sheet for {dict(w)}")
    return rows


def disentangle_n_classes():
    """Gestures of the study (Hyser: the ``gestures`` reader option; else the reader's count)."""
    gestures = dataset_config(DIS["dataset"]).get("options", {}).get("gestures")
    return len(gestures) if gestures else reader_n_classes(DIS["dataset"])


def disentangle_first_rows(**keys):
    """Rows of the first protocol and split (the figures that show one of them)."""
    return run_sheet_rows(
        disentangle_sheet(),
        protocol=runsheets.study_protocols(DIS)[0],
        split=DIS["splits"][0],
        **keys,
    )


# ---- study 3: HD-CNN -----------------------------------------------------------------------
@functools.cache
def hdcnn_sheet():
    sheet, skipped = runsheets.hdcnn_sheet(
        HD, {d: dataset_recordings(d) for d in HD["datasets"]}, AUDIT
    )
    for note in skipped:
        print(f"myoflow: {note}", file=sys.stderr)
    return sheet


@functools.cache
def hdcnn_study_rows():
    """The HD-CNN sheet's rows of the study's own grid (not those run only for the audit)."""
    return runsheets.sheet_part(hdcnn_sheet(), audit_only=False)


def hdcnn_split_params(split):
    """What one split type's fold table needs (K only for the K-fold splits, so that changing it
    does not re-run the session and subject folds)."""
    if split == "repetition":
        return {"k": HD["folds"]}
    if split == "sample":
        return {"k": HD["folds"], "seed": config["seed"]}
    if split == "finetune":
        return {"repetitions": HD["finetune"]["repetitions"]}
    return {}


def hdcnn_row(w):
    """The run-sheet row of one HD-CNN training job (its wildcards)."""
    rows = run_sheet_rows(
        hdcnn_sheet(),
        protocol=w.protocol,
        dataset=w.dataset,
        split=w.split,
        width=w.width,
        fold=w.fold,
    )
    if len(rows) != 1:
        raise ConfigError(
            f"hdcnn: no run-sheet row for {dict(w)} (the run sheet has {len(rows)} such rows)"
        )
    return rows.iloc[0]


def hdcnn_train_inputs(w):
    row = hdcnn_row(w)
    inputs = {
        "images": row["images"],
        "folds": f"results/hdcnn/folds/{w.dataset}/{w.split}.csv",
    }
    if row["init_from"]:
        inputs["init_from"] = row["init_from"]
    return inputs


def hdcnn_job(w):
    """The keys the training script takes from its row (typed: the sheet's values are objects)."""
    row = hdcnn_row(w)
    return {
        "split": row["split"],
        "width": float(row["width"]),
        "fold": int(row["fold"]),
        "select_on_test": bool(row["select_on_test"]),
    }


def hdcnn_export_jobs(w):
    """The training jobs whose models one export job converts: one (protocol, dataset, width)."""
    rows = run_sheet_rows(
        hdcnn_sheet(), protocol=w.protocol, dataset=w.dataset, width=w.width
    )
    if rows.empty:
        raise ConfigError(f"hdcnn: no trained model for the export {dict(w)}")
    return rows


@functools.cache
def hdcnn_latency_rows():
    """One row per (dataset, width): the first training job of that pair (latency, params and
    MACs depend on the architecture and the image size, not on the weights)."""
    return (
        hdcnn_study_rows()
        .drop_duplicates(["dataset", "width"])
        .set_index(["dataset", "width"])
    )


def hdcnn_latency_inputs(w):
    row = hdcnn_latency_rows().loc[(w.dataset, w.width)]
    return {"model": row["model_file"], "export_dir": row["export_dir"]}


def hdcnn_latency_onnx(w):
    """The ONNX file (inside its export directory) whose latency one latency job measures."""
    return hdcnn_latency_rows().loc[(w.dataset, w.width)]["onnx"]


def hdcnn_latency_files():
    return [
        f"results/hdcnn/latency/{dataset}/w{width}.json"
        for dataset, width in hdcnn_latency_rows().index
    ]


def reader_n_classes(dataset):
    return get_dataset(dataset_config(dataset)["reader"]).N_CLASSES


# ---- the protocol audit ---------------------------------------------------------------------
AUDITED_DEFECTS = defects.audited_defects(AUDIT["defects"])
CU_AUDITED_DEFECTS = [
    d for d in AUDITED_DEFECTS if d in defects.study_defects("crossuser")
]
DIS_AUDITED_DEFECTS = [
    d for d in AUDITED_DEFECTS if d in defects.study_defects("disentangle")
]
HD_AUDITED_DEFECTS = [
    d for d in AUDITED_DEFECTS if d in defects.study_defects("hdcnn", switch=None)
]
#: the cross-user audit's datasets: the study's own, then audit.crossuser.datasets
CU_AUDIT_DATASETS = list(
    dict.fromkeys([CU["dataset"], *AUDIT["crossuser"]["datasets"]])
)
for _name in CU_AUDIT_DATASETS:
    if _name not in config["datasets"]:
        raise ConfigError(
            f"audit.crossuser.datasets: {_name!r} is not a configured dataset "
            f"(datasets: {sorted(config['datasets'])})"
        )
for _key in ("model", "sequence_model"):
    if AUDIT["crossuser"][_key] not in CU["models"]:
        raise ConfigError(
            f"audit.crossuser.{_key}: {AUDIT['crossuser'][_key]!r} is not among crossuser.models "
            f"({sorted(CU['models'])})"
        )


def crossuser_audit_sessions(dataset):
    return CU["sessions"] if dataset == CU["dataset"] else None


@functools.cache
def crossuser_audit_split(dataset):
    """The fixed user split a cross-user defect is audited on: the study's for its own dataset,
    else audit.crossuser.datasets.<dataset> over crossuser.split's defaults."""
    if dataset == CU["dataset"]:
        return crossuser_user_split()
    given = AUDIT["crossuser"]["datasets"].get(dataset) or {}
    split = {
        "training_users": None,
        "validation_users": 2,
        "test_users": None,
        **given,
    }
    return user_split_of(dataset, split, key=f"audit.crossuser.datasets.{dataset}")


def crossuser_audit_model_name(defect):
    return AUDIT["crossuser"][CROSSUSER_AUDIT[defect]["model"]]


def crossuser_audit_model(defect):
    """The estimator config of the model a cross-user defect is audited on (its own loss)."""
    name = crossuser_audit_model_name(defect)
    return runsheets.crossuser_model_config(
        CU, name, runsheets.crossuser_model_loss(CU["models"][name])
    )


def crossuser_audit_pipeline_name(defect):
    spec = CROSSUSER_AUDIT[defect]
    name = crossuser_audit_model_name(defect)
    group = spec["features"] or CU["models"][name]["input"]
    return f"{name} on {group}, {spec['variant']} -> {spec['variant']}"


@functools.cache
def disentangle_study_rows():
    """The disentanglement sheet's rows of the study's own grid (not those run only for the audit)."""
    return runsheets.sheet_part(disentangle_sheet(), audit_only=False)


@functools.cache
def disentangle_audit_rows():
    """The disentanglement sheet's rows run only for the audit."""
    return runsheets.sheet_part(disentangle_sheet(), audit_only=True)


@functools.cache
def hdcnn_audit_rows():
    """The HD-CNN sheet's rows run only for the audit."""
    return runsheets.sheet_part(hdcnn_sheet(), audit_only=True)


def audit_table_inputs(w):
    inputs = {
        "crossuser": [
            f"results/audit/crossuser/{d}/{x}.csv"
            for d in CU_AUDIT_DATASETS
            for x in CU_AUDITED_DEFECTS
        ]
    }
    if DIS_AUDITED_DEFECTS:
        inputs["disentangle"] = ["results/disentangle/scores.csv"]
        if not disentangle_audit_rows().empty:
            inputs["disentangle"].append("results/audit/disentangle_scores.csv")
    if "unpaired_uncorrected_tests" in AUDITED_DEFECTS:
        inputs["measure_tests"] = "results/disentangle/stats/measure_tests.csv"
    if HD_AUDITED_DEFECTS:
        inputs["hdcnn"] = ["results/hdcnn/scores.csv"]
        if not hdcnn_audit_rows().empty:
            inputs["hdcnn"].append("results/audit/hdcnn_scores.csv")
    return inputs


AUDIT_TARGETS = (
    [
        "results/audit/table.csv",
        "results/audit/across_datasets.csv",
        "results/audit/figures/forest.png",
    ]
    if AUDITED_DEFECTS
    else []
)


# ---- the report's own tables ---------------------------------------------------------------
def _git_revision():
    """The checkout's commit, with git describe's -dirty suffix where tracked files have
    uncommitted changes, or "unknown" outside a git checkout."""
    import subprocess

    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=workflow.basedir,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            cwd=workflow.basedir,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}-dirty" if dirty else rev


GIT_REVISION = _git_revision()


def study_data_sources(study):
    """Where a study's recordings came from (synthetic, download or a folder), per dataset."""
    names = HD["datasets"] if study == "hdcnn" else [config[study]["dataset"]]
    return "; ".join(f"{d}: {dataset_config(d)['source']}" for d in names)


REPORT_TABLES = [
    *[f"results/report/published_{study}.csv" for study in defects.STUDIES],
    "results/report/config.yaml",
    "results/report/provenance.csv",
]


# ---- final targets -------------------------------------------------------------------------
STUDY_FIGURES = {
    "crossuser": [
        "results/crossuser/figures/per_user_balanced_accuracy.png",
        "results/crossuser/figures/per_user_metrics.png",
        *(
            ["results/crossuser/figures/embeddings_pca.png"]
            if CU["models"][CU_HEADLINE_MODEL]["estimator"] == "torch"
            and CU_HEADLINE_MODEL in runsheets.crossuser_enabled_models(CU)
            else []
        ),
        "results/crossuser/figures/cross_variant.png",
        "results/crossuser/figures/training_curves.png",
        *(
            [
                "results/crossuser/losses/table.csv",
                "results/crossuser/figures/loss_table.png",
                "results/crossuser/figures/loss_critical_difference.png",
            ]
            if CU["loss_sweep"]["models"]
            else []
        ),
        *(
            [
                "results/crossuser/feature_grid/table.csv",
                "results/crossuser/figures/feature_grid.png",
            ]
            if CU["feature_grid"]["models"]
            else []
        ),
        *(
            [
                "results/crossuser/incremental/table.csv",
                "results/crossuser/figures/incremental.png",
            ]
            if CU["incremental"]["model"]
            else []
        ),
        *(
            [
                "results/crossuser/architectures/table.csv",
                "results/crossuser/figures/architectures_critical_difference.png",
            ]
            if CU["architectures"]["models"]
            else []
        ),
    ],
    "disentangle": [
        "results/disentangle/figures/reconstruction_maps.png",
        "results/disentangle/figures/latent_accuracy.png",
        "results/disentangle/figures/measure_table.png",
        "results/disentangle/measure_table.csv",
        "results/disentangle/figures/correlation_array.png",
        "results/disentangle/figures/tsne.png",
        "results/disentangle/figures/measure_tests.png",
    ],
    "hdcnn": [
        "results/hdcnn/figures/accuracy_by_split.png",
        "results/hdcnn/figures/pareto.png",
        "results/hdcnn/deployment.csv",
        "results/hdcnn/model_costs.csv",
    ],
}


def study_targets(study):
    return [
        f"results/{study}/runs.tsv",
        f"results/{study}/scores.csv",
        f"results/{study}/stats/pairwise.csv",
        *STUDY_FIGURES[study],
    ]


def dataset_targets():
    """Named input functions (one per configured dataset, giving its stores) for the target rule.

    Every configured dataset is converted, even one no study reads yet. One function each, so a
    download (a checkpoint) holds back only its own dataset's jobs, and a dry run shows the rest.
    """

    def stores_of(dataset):
        return lambda wildcards: sorted(
            set(store_files(dataset))
            | {store_path(dataset, s, ses) for s, ses in dataset_recordings(dataset)}
        )

    return {f"stores_{dataset}": stores_of(dataset) for dataset in config["datasets"]}


#: every result but the cost table (which reads the benchmark files they leave)
STUDY_AND_AUDIT_TARGETS = [
    *(t for study in defects.STUDIES for t in study_targets(study)),
    *AUDIT_TARGETS,
    *REPORT_TABLES,
]
