# Study 3, width-scaled MobileNetV2 on HD-sEMG images: the whole study's part of the DAG.
# stores -> images (per dataset) -> fold tables (per dataset x split type) -> one model per
# (dataset, split, width, fold) -> predictions -> scores -> figures; params and MACs per width.
# Every job is a row of results/hdcnn/runs.tsv (myoflow.runsheets.hdcnn_sheet).


rule hdcnn:
    """Every result of the HD-CNN study (`snakemake hdcnn`)."""
    input:
        study_targets("hdcnn"),
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 500 * attempt,
        runtime=1,


rule hdcnn_run_sheet:
    """The HD-CNN jobs: one row per (dataset, split type, width, fold)."""
    output:
        report(
            "results/hdcnn/runs.tsv",
            caption="../report/run_sheet.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"table": "run sheet"},
        ),
    log:
        "logs/hdcnn/runs.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    params:
        sheet=lambda w: hdcnn_sheet().to_dict("records"),
    script:
        "../../scripts/write_run_sheet.py"


rule hdcnn_images:
    """HD-sEMG images (one value per electrode on the physical grid) of one dataset."""
    input:
        stores=lambda w: store_files(w.dataset),
    output:
        "results/hdcnn/images/{dataset}.h5",
    log:
        "logs/hdcnn/images/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        images=HD["images"],
        as_published=HD["as_published"],
    script:
        "../../scripts/hdcnn_images.py"


rule hdcnn_folds:
    """The fold table of one split type (sample: leaky as published; repetition, session, subject)."""
    input:
        images="results/hdcnn/images/{dataset}.h5",
    output:
        "results/hdcnn/folds/{dataset}/{split}.csv",
    log:
        "logs/hdcnn/folds/{dataset}/{split}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    params:
        split_params=lambda w: hdcnn_split_params(w.split),
        n_folds=lambda w: int(
            run_sheet_rows(hdcnn_sheet(), dataset=w.dataset, split=w.split)[
                "fold"
            ].nunique()
        ),
    script:
        "../../scripts/hdcnn_folds.py"


rule hdcnn_train:
    """Width-scaled MobileNetV2 on one fold of HD-sEMG images (weights initialised afresh)."""
    input:
        images="results/hdcnn/images/{dataset}.h5",
        folds="results/hdcnn/folds/{dataset}/{split}.csv",
    output:
        model="results/hdcnn/models/{dataset}/{split}/w{width}/fold-{fold}.model",
        predictions="results/hdcnn/predictions/{dataset}/{split}/w{width}/fold-{fold}.csv.gz",
    log:
        "logs/hdcnn/train/{dataset}/{split}/w{width}/fold-{fold}.log",
    benchmark:
        "benchmarks/hdcnn/train/{dataset}/{split}/w{width}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    params:
        train=HD["train"],
        width=lambda w: float(w.width),
        seed=config["seed"],
    script:
        "../../scripts/hdcnn_train.py"


rule hdcnn_scores:
    """Per-subject scores of every training job of the run sheet."""
    input:
        sheet="results/hdcnn/runs.tsv",
        predictions=lambda w: hdcnn_sheet()["predictions"].tolist(),
    output:
        report(
            "results/hdcnn/scores.csv",
            caption="../report/hdcnn_scores.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"table": "score table"},
        ),
    log:
        "logs/hdcnn/scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        rest_label=None,
    script:
        "../../scripts/score_predictions.py"


rule hdcnn_model_costs:
    """Parameters and MACs of each width (the published table is the hard check)."""
    output:
        report(
            "results/hdcnn/model_costs.csv",
            caption="../report/hdcnn_model_costs.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"table": "params and MACs"},
        ),
    log:
        "logs/hdcnn/model_costs.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        widths=HD["widths"],
    script:
        "../../scripts/hdcnn_model_costs.py"


rule hdcnn_figure_accuracy:
    """Accuracy per split type and width for each dataset (the leakage question)."""
    input:
        scores="results/hdcnn/scores.csv",
    output:
        report(
            "results/hdcnn/figures/accuracy_by_split.png",
            caption="../report/hdcnn_accuracy.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"figure": "accuracy per split and width"},
        ),
    log:
        "logs/hdcnn/figures/accuracy.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        n_classes={d: hdcnn_n_classes(d) for d in HD["datasets"]},
    script:
        "../../scripts/hdcnn_figure_accuracy.py"
