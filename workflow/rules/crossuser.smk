# Study 1, cross-user zero-shot classification: the whole study's part of the DAG.
# stores -> windows (per variant) -> features (per variant x group) -> fold tables -> one model per
# (protocol, train variant, model, fold) -> predictions on every test variant -> scores -> figures.
# Every job is a row of results/crossuser/runs.tsv (myoflow.runsheets.crossuser_sheet).

# The study's chain (windows -> features -> train -> predict) is serial and its training jobs take
# both cores: scheduled first, it overlaps the other studies' many small jobs instead of running
# alone at the end.
CROSSUSER_PRIORITY = 10


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
        as_published=CU["as_published"],
        # only the standard variant reads the split: its threshold comes from the training users
        training_subjects=lambda w: (
            crossuser_user_split()["train"] if w.variant == "standard" else []
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
    script:
        "../../scripts/extract_features.py"


rule crossuser_folds:
    """The fixed user split (protocol crossuser) or one fold per test user (within_user)."""
    input:
        windows=f"results/crossuser/windows/{CU['variants'][0]}.h5",
        raw=lambda w: download_input(CU["dataset"]),
    output:
        "results/crossuser/folds/{protocol}.csv",
    log:
        "logs/crossuser/folds/{protocol}.log",
    wildcard_constraints:
        protocol="crossuser|within_user",
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
    """Train one cross-user model with one loss on one fold of one training variant."""
    input:
        data=lambda w: crossuser_model_input(w.train_variant, w.model),
        folds="results/crossuser/folds/{protocol}.csv",
    output:
        model=runsheets.crossuser_model_path(
            "{protocol}", "{train_variant}", "{model}", "{loss}", "{fold}"
        ),
    log:
        "logs/crossuser/train/{protocol}/{train_variant}/{model}/{loss}/fold-{fold}.log",
    benchmark:
        "benchmarks/crossuser/train/{protocol}/{train_variant}/{model}/{loss}/fold-{fold}.tsv"
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: lambda w: crossuser_model_threads(w.model)
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=120,
    params:
        model=lambda w: runsheets.crossuser_model_config(CU, w.model, w.loss),
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
                w.protocol, w.train_variant, w.model, w.loss, w.fold
            )
        ),
    output:
        **{
            f"{variant}__{norm}": runsheets.crossuser_predictions_path(
                "{protocol}",
                "{train_variant}",
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
        "logs/crossuser/predict/{protocol}/{train_variant}/{model}/{loss}/fold-{fold}.log",
    priority: CROSSUSER_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: lambda w: crossuser_model_threads(w.model)
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=30,
    params:
        input_kind=lambda w: CU["models"][w.model]["input"],
        test_variants=CU_TEST_VARIANTS,
        norms=CU["norms"],
        running_norm=CU["running_norm"],
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
    """Per-user balanced accuracy of each pipeline tested on its own training variant."""
    input:
        scores="results/crossuser/scores.csv",
    output:
        report(
            "results/crossuser/figures/per_user_balanced_accuracy.png",
            caption="../report/crossuser_per_user.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"figure": "per-user balanced accuracy"},
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
