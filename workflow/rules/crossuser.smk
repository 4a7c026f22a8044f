# Study 1, cross-user zero-shot classification: the whole study's part of the DAG.
# stores -> windows (per variant) -> features (per variant x group) -> fold tables -> one model per
# (protocol, train variant, model, fold) -> predictions on every test variant -> scores -> figures.
# Every job is a row of results/crossuser/runs.tsv (myoflow.runsheets.crossuser_sheet).

# CROSSUSER_PRIORITY (common.smk): the study's chain is scheduled first.


rule crossuser:
    """Every result of the cross-user study (`snakemake crossuser`)."""
    input:
        study_targets("crossuser"),
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 500 * attempt,
        runtime=1,


rule crossuser_run_sheet:
    """The cross-user jobs, one row per prediction job, every grid key a column."""
    output:
        report(
            "results/crossuser/runs.tsv",
            caption="../report/run_sheet.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "run sheet"},
        ),
    log:
        "logs/crossuser/runs.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    params:
        sheet=lambda w: crossuser_sheet().to_dict("records"),
    script:
        "../../scripts/write_run_sheet.py"


rule crossuser_windows:
    """Sliding windows over the repetitions of one variant (raw, segmented, relabeled, standard)."""
    input:
        stores=lambda w: store_files(CU["dataset"], CU["sessions"]),
    output:
        "results/crossuser/windows/{variant}.h5",
    log:
        "logs/crossuser/windows/{variant}.log",
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        windows=CU["windows"],
        defects=sorted(CU_DEFECTS),
        # only the threshold variants read the split: it is fitted on the training users
        training_subjects=lambda w: (
            crossuser_user_split()["train"] if w.variant in THRESHOLD_VARIANTS else []
        ),
        # the source thinned each split's windows on its own (defect metadata_misaligned)
        split_groups=lambda w: (
            list(crossuser_user_split().values())
            if "metadata_misaligned" in CU_DEFECTS
            else []
        ),
    script:
        "../../scripts/crossuser_windows.py"


rule crossuser_features:
    """LibEMG-defined hand-crafted features of every window, one group per file."""
    input:
        "results/crossuser/windows/{variant}.h5",
    output:
        "results/crossuser/features/{variant}/{group}.h5",
    log:
        "logs/crossuser/features/{variant}/{group}.log",
    benchmark:
        "benchmarks/crossuser/features/{variant}/{group}.tsv"
    priority: CROSSUSER_PRIORITY
    group:
        "features"
    conda:
        "../../envs/data.yaml"
    threads: config["resources"]["feature_threads"]
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        pieces=None,
        features=lambda w: crossuser_group_features(w.group),
    script:
        "../../scripts/extract_features.py"


rule crossuser_subwindow_features:
    """The same features per consecutive time piece of every window, (windows, pieces, F), for the
    temporal feature models (LSTM_HCF, CNN_HCF)."""
    input:
        "results/crossuser/windows/{variant}.h5",
    output:
        "results/crossuser/subwindow_features/{variant}/{group}.h5",
    log:
        "logs/crossuser/subwindow_features/{variant}/{group}.log",
    benchmark:
        "benchmarks/crossuser/subwindow_features/{variant}/{group}.tsv"
    priority: CROSSUSER_PRIORITY
    group:
        "features"
    conda:
        "../../envs/data.yaml"
    threads: config["resources"]["feature_threads"]
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        pieces=CU["subwindows"]["pieces"],
        features=lambda w: crossuser_group_features(w.group),
    script:
        "../../scripts/extract_features.py"


rule crossuser_folds:
    """The fixed user split (protocol crossuser), an incremental cell, or the within-user split of
    one r of the repetition sweep (within_user_r<r>, within_user_finetune_r<r>): every user in
    one fold, each trained and tested on its own repetitions."""
    input:
        unpack(crossuser_folds_inputs),
    output:
        "results/crossuser/folds/{protocol}.csv",
    log:
        "logs/crossuser/folds/{protocol}.log",
    wildcard_constraints:
        protocol="crossuser|within_user_(finetune_)?r[0-9]+|incremental_[a-z_]+_u[0-9]+_r[0-9]+",
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    params:
        spec=lambda w: crossuser_fold_params(w.protocol),
    script:
        "../../scripts/crossuser_folds.py"


rule crossuser_train:
    """Train one cross-user model with one loss on one fold of one training variant (a
    within-user protocol: one model per user, fine-tuned ones from the cross-user model).
    """
    input:
        unpack(crossuser_train_inputs),
    output:
        model=runsheets.crossuser_model_path(
            "{protocol}",
            "{train_variant}",
            "{features}",
            "{model}",
            "{loss}",
            "{fold}",
        ),
        validation=runsheets.crossuser_validation_path(
            "{protocol}",
            "{train_variant}",
            "{features}",
            "{model}",
            "{loss}",
            "{fold}",
        ),
    log:
        "logs/crossuser/train/{protocol}/{train_variant}/{features}/{model}/{loss}/fold-{fold}.log",
    benchmark:
        "benchmarks/crossuser/train/{protocol}/{train_variant}/{features}/{model}/{loss}/fold-{fold}.tsv"
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: lambda w: crossuser_model_threads(w.model)
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=120,
    params:
        model=crossuser_train_model_config,
        layout=lambda w: crossuser_feature_layout(w.model),
        per_subject=lambda w: runsheets.is_within_user(w.protocol),
        seed=config["seed"],
    script:
        "../../scripts/crossuser_train.py"


rule crossuser_predict:
    """Predict the fold's test windows of every test variant with one trained model, with each
    test-time normalisation (none; RunningNorm from the training users' statistics, reset per test
    user).

    One job per trained model (not per test variant or norm): a process start costs more than the
    prediction. Inputs are named by test variant, outputs by test variant and norm.
    """
    input:
        unpack(
            lambda w: crossuser_predict_inputs(
                w.protocol, w.train_variant, w.features, w.model, w.loss, w.fold
            )
        ),
    output:
        **{
            f"{variant}__{norm}": runsheets.crossuser_predictions_path(
                "{protocol}",
                "{train_variant}",
                "{features}",
                "{model}",
                "{loss}",
                variant,
                norm,
                "{fold}",
            )
            for variant in CU_TEST_VARIANTS
            for norm in CU["norms"]
        },
    log:
        "logs/crossuser/predict/{protocol}/{train_variant}/{features}/{model}/{loss}/fold-{fold}.log",
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: lambda w: crossuser_model_threads(w.model)
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=30,
    params:
        input_kind=lambda w: "windows" if w.features == "windows" else "features",
        layout=lambda w: crossuser_feature_layout(w.model),
        test_variants=CU_TEST_VARIANTS,
        norms=CU["norms"],
        running_norm=CU["running_norm"],
        per_subject=lambda w: runsheets.is_within_user(w.protocol),
    script:
        "../../scripts/crossuser_predict.py"


rule crossuser_scores:
    """Per-user scores of every prediction job of the run sheet (keys from the sheet's columns)."""
    input:
        sheet="results/crossuser/runs.tsv",
        predictions=lambda w: crossuser_sheet()["predictions"].tolist(),
    output:
        report(
            "results/crossuser/scores.csv",
            caption="../report/crossuser_scores.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "score table"},
        ),
    log:
        "logs/crossuser/scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        rest_label=0,
    script:
        "../../scripts/score_predictions.py"


rule crossuser_figure_per_user:
    """Per-user balanced accuracy of each headline pipeline (own input and variant, no norm), and
    the headline model's four metrics per user."""
    input:
        scores="results/crossuser/scores.csv",
    output:
        balanced_accuracy=report(
            "results/crossuser/figures/per_user_balanced_accuracy.png",
            caption="../report/crossuser_per_user.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "per-user balanced accuracy"},
        ),
        metrics=report(
            "results/crossuser/figures/per_user_metrics.png",
            caption="../report/crossuser_per_user_metrics.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "per-user metrics (headline model)"},
        ),
    log:
        "logs/crossuser/figures/per_user.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        n_classes=lambda w: get_dataset(
            dataset_config(CU["dataset"])["reader"]
        ).N_CLASSES,
        inputs={name: m["input"] for name, m in CU["models"].items()},
        model=CU_HEADLINE_MODEL,
        loss=CU_HEADLINE_LOSS,
        variant=CU["variants"][0],
    script:
        "../../scripts/crossuser_figure_per_user.py"


rule crossuser_figure_cross_variant:
    """Mean balanced accuracy of each model: training variant x test variant."""
    input:
        scores="results/crossuser/scores.csv",
    output:
        report(
            "results/crossuser/figures/cross_variant.png",
            caption="../report/crossuser_cross_variant.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "train variant x test variant"},
        ),
    log:
        "logs/crossuser/figures/cross_variant.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        inputs={name: m["input"] for name, m in CU["models"].items()},
    script:
        "../../scripts/crossuser_figure_cross_variant.py"


rule crossuser_losses:
    """The loss experiment: every loss of crossuser.loss_sweep on each swept model, tested on every
    variant with and without RunningNorm; mean +- sd table, tests and figures."""
    input:
        scores="results/crossuser/scores.csv",
    output:
        table=report(
            "results/crossuser/losses/table.csv",
            caption="../report/crossuser_loss_table.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "loss x variant x norm"},
        ),
        tests=report(
            "results/crossuser/losses/tests.csv",
            caption="../report/crossuser_loss_tests.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "loss tests"},
        ),
        ranks="results/crossuser/losses/ranks.csv",
        figure_table=report(
            "results/crossuser/figures/loss_table.png",
            caption="../report/crossuser_loss_table.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "loss x variant x norm"},
        ),
        figure_cd=report(
            "results/crossuser/figures/loss_critical_difference.png",
            caption="../report/crossuser_loss_cd.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "losses: critical difference"},
        ),
    log:
        "logs/crossuser/losses.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        models=CU["loss_sweep"]["models"],
        losses=CU["loss_sweep"]["losses"],
        reference="ce",
        variant=CU["variants"][0],
        seed=config["seed"],
    script:
        "../../scripts/crossuser_losses.py"


rule crossuser_training_curves:
    """Training and validation loss and validation accuracy per epoch of every torch model."""
    input:
        lambda w: [m["model_file"] for m in crossuser_torch_models()],
    output:
        table="results/crossuser/training_curves.csv",
        figure=report(
            "results/crossuser/figures/training_curves.png",
            caption="../report/crossuser_training_curves.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "training curves"},
        ),
    log:
        "logs/crossuser/figures/training_curves.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        models=lambda w: crossuser_torch_models(),
    script:
        "../../scripts/crossuser_training_curves.py"


rule crossuser_feature_grid:
    """The feature experiment: every model of crossuser.feature_grid on every feature group,
    trained and tested on the first variant; mean +- sd table, tests and figure."""
    input:
        scores="results/crossuser/scores.csv",
    output:
        table=report(
            "results/crossuser/feature_grid/table.csv",
            caption="../report/crossuser_feature_grid.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "feature grid"},
        ),
        tests=report(
            "results/crossuser/feature_grid/tests.csv",
            caption="../report/crossuser_feature_grid_tests.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "feature grid tests"},
        ),
        ranks="results/crossuser/feature_grid/ranks.csv",
        figure=report(
            "results/crossuser/figures/feature_grid.png",
            caption="../report/crossuser_feature_grid.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "feature grid"},
        ),
    log:
        "logs/crossuser/feature_grid.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        models=lambda w: runsheets.crossuser_feature_grid(CU)[0],
        groups=lambda w: runsheets.crossuser_feature_grid(CU)[1],
        variant=CU["variants"][0],
        seed=config["seed"],
    script:
        "../../scripts/crossuser_feature_grid.py"


rule crossuser_architectures:
    """The architecture comparison: each model of crossuser.architectures.models, a feature-grid
    model on its best feature group by validation balanced accuracy; table, tests and figure.
    """
    input:
        scores="results/crossuser/scores.csv",
        validation=lambda w: crossuser_architecture_validation_files(),
    output:
        selection=report(
            "results/crossuser/architectures/selection.csv",
            caption="../report/crossuser_architecture_selection.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "architectures: feature group chosen"},
        ),
        table=report(
            "results/crossuser/architectures/table.csv",
            caption="../report/crossuser_architectures.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "architectures"},
        ),
        tests=report(
            "results/crossuser/architectures/tests.csv",
            caption="../report/crossuser_architecture_tests.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "architecture tests"},
        ),
        figure_cd=report(
            "results/crossuser/figures/architectures_critical_difference.png",
            caption="../report/crossuser_architecture_cd.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "architectures: critical difference"},
        ),
    log:
        "logs/crossuser/architectures.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        candidates=lambda w: crossuser_architecture_candidates(),
        variant=CU["variants"][0],
        seed=config["seed"],
    script:
        "../../scripts/crossuser_architectures.py"


rule crossuser_figure_embeddings:
    """PCA (4 components) of the headline model's test embeddings, as a pair grid by class."""
    input:
        model=runsheets.crossuser_model_path(
            "crossuser",
            CU["variants"][0],
            CU["models"][CU_HEADLINE_MODEL]["input"],
            CU_HEADLINE_MODEL,
            CU_HEADLINE_LOSS,
            0,
        ),
        data=crossuser_model_input(
            CU["variants"][0],
            CU_HEADLINE_MODEL,
            CU["models"][CU_HEADLINE_MODEL]["input"],
        ),
        folds="results/crossuser/folds/crossuser.csv",
    output:
        table="results/crossuser/embeddings/pca.csv.gz",
        figure=report(
            "results/crossuser/figures/embeddings_pca.png",
            caption="../report/crossuser_embeddings.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "test embeddings (PCA)"},
        ),
    log:
        "logs/crossuser/figures/embeddings.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        model=CU_HEADLINE_MODEL,
        loss=CU_HEADLINE_LOSS,
        variant=CU["variants"][0],
        class_names=lambda w: list(
            get_dataset(dataset_config(CU["dataset"])["reader"]).GESTURES
        ),
        n_components=4,
        max_points=4000,
        seed=config["seed"],
    script:
        "../../scripts/crossuser_figure_embeddings.py"


rule crossuser_user_ranking:
    """Each training user's within-user balanced accuracy (the ranking model fitted on its first
    r repetitions, tested on held-out ones): the order the incremental sweep adds users in.
    """
    input:
        data=lambda w: crossuser_model_input(
            CU["variants"][0],
            crossuser_ranking_model(),
            CU["models"][crossuser_ranking_model()]["input"],
        ),
    output:
        "results/crossuser/incremental/user_ranking.csv",
    log:
        "logs/crossuser/incremental/user_ranking.log",
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=120,
    params:
        model=lambda w: runsheets.crossuser_model_config(
            CU,
            crossuser_ranking_model(),
            runsheets.crossuser_model_loss(CU["models"][crossuser_ranking_model()]),
        ),
        layout=lambda w: crossuser_feature_layout(crossuser_ranking_model()),
        training_users=lambda w: crossuser_user_split()["train"],
        train_repetitions=max(CU_WITHIN_PROTOCOLS.values()),
        validation_repetitions=CU["within_user"]["validation_repetitions"],
        seed=config["seed"],
    script:
        "../../scripts/crossuser_user_ranking.py"


rule crossuser_incremental:
    """The incremental sweep: mean +- sd over test users of every (ordering, training users,
    repetitions) cell, and one heat map (users x repetitions) per ordering."""
    input:
        scores="results/crossuser/scores.csv",
        ranking="results/crossuser/incremental/user_ranking.csv",
    output:
        table=report(
            "results/crossuser/incremental/table.csv",
            caption="../report/crossuser_incremental.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "incremental sweep"},
        ),
        figure=report(
            "results/crossuser/figures/incremental.png",
            caption="../report/crossuser_incremental.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "incremental heat maps"},
        ),
    log:
        "logs/crossuser/incremental/table.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        model=CU["incremental"]["model"],
        orderings=CU["incremental"]["orderings"],
        variant=CU["variants"][0],
    script:
        "../../scripts/crossuser_incremental.py"
