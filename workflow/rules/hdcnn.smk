# Study 3, width-scaled MobileNetV2 on HD-sEMG images: the whole study's part of the DAG.
# stores -> images (per dataset, grid or storage order) -> fold tables (per dataset x split type)
# -> one model per (protocol, dataset, split, width, fold) -> predictions -> scores -> figures;
# each model -> ONNX (parity checked); per (dataset, width) latency, params, MACs -> the
# deployment table and the Pareto figure.
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
    """The HD-CNN jobs: one row per (protocol, dataset, split type, width, fold)."""
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
    """HD-sEMG images (one value per electrode) of one dataset: on the physical grid, or in
    storage order (defect storage_order_images)."""
    input:
        stores=lambda w: store_files(w.dataset),
    output:
        "results/hdcnn/images/{dataset}/{order}.h5",
    log:
        "logs/hdcnn/images/{dataset}/{order}.log",
    wildcard_constraints:
        order="grid|storage",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        images=HD["images"],
        order=lambda w: w.order,
    script:
        "../../scripts/hdcnn_images.py"


rule hdcnn_folds:
    """The fold table of one split type (sample: leaky as published; repetition, session,
    subject, finetune)."""
    input:
        images="results/hdcnn/images/{dataset}/grid.h5",
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
    """Width-scaled MobileNetV2 on one fold of HD-sEMG images (fresh seeded weights unless the
    run sheet's row names a model to start from)."""
    input:
        unpack(hdcnn_train_inputs),
    output:
        model="results/hdcnn/models/{protocol}/{dataset}/{split}/w{width}/fold-{fold}.model",
        predictions="results/hdcnn/predictions/{protocol}/{dataset}/{split}/w{width}/fold-{fold}.csv.gz",
    log:
        "logs/hdcnn/train/{protocol}/{dataset}/{split}/w{width}/fold-{fold}.log",
    benchmark:
        "benchmarks/hdcnn/train/{protocol}/{dataset}/{split}/w{width}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["small_model_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    params:
        train=HD["train"],
        finetune=lambda w: HD["finetune"] if w.split == "finetune" else None,
        job=lambda w: hdcnn_job(w),
        seed=config["seed"],
    script:
        "../../scripts/hdcnn_train.py"


rule hdcnn_export:
    """Every trained model of one (protocol, dataset, width) as ONNX; ONNX Runtime's logits
    checked against PyTorch's (one job per width: the torch/ONNX start-up dominates one export).
    """
    input:
        models=lambda w: hdcnn_export_jobs(w)["model_file"].tolist(),
        images="results/hdcnn/images/{dataset}/grid.h5",
    output:
        onnx=directory("results/hdcnn/onnx/{protocol}/{dataset}/w{width}"),
        parity="results/hdcnn/onnx/{protocol}/{dataset}/w{width}.parity.csv",
    log:
        "logs/hdcnn/export/{protocol}/{dataset}/w{width}.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        deploy=HD["deploy"],
        jobs=lambda w: hdcnn_export_jobs(w)[
            ["protocol", "dataset", "split", "width", "fold", "model_file", "onnx"]
        ].to_dict("records"),
    script:
        "../../scripts/hdcnn_export.py"


rule hdcnn_latency:
    """Single-frame ONNX Runtime latency (one thread, warm-up excluded) and the params and MACs
    of one width on one dataset's images."""
    input:
        unpack(hdcnn_latency_inputs),
    output:
        "results/hdcnn/latency/{dataset}/w{width}.json",
    log:
        "logs/hdcnn/latency/{dataset}/w{width}.log",
    benchmark:
        "benchmarks/hdcnn/latency/{dataset}/w{width}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        deploy=HD["deploy"],
        onnx=hdcnn_latency_onnx,
        row_keys=lambda w: {"dataset": w.dataset, "width": w.width},
        seed=config["seed"],
    script:
        "../../scripts/hdcnn_latency.py"


rule hdcnn_scores:
    """Per-subject scores of every training job of the run sheet."""
    input:
        sheet="results/hdcnn/runs.tsv",
        predictions=lambda w: hdcnn_study_rows()["predictions"].tolist(),
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


rule hdcnn_deployment:
    """Per width and dataset: params, MACs, ONNX size, latency, parity and accuracy per split."""
    input:
        sheet="results/hdcnn/runs.tsv",
        scores="results/hdcnn/scores.csv",
        latency=lambda w: hdcnn_latency_files(),
        # the study's own models (a defect run only for the audit is not exported)
        parity=lambda w: sorted(set(hdcnn_study_rows()["parity"])),
    output:
        report(
            "results/hdcnn/deployment.csv",
            caption="../report/hdcnn_deployment.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"table": "edge deployment"},
        ),
    log:
        "logs/hdcnn/deployment.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    script:
        "../../scripts/hdcnn_deployment.py"


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
    """Accuracy per split type and width for each dataset, beside the published accuracy (the
    leakage question)."""
    input:
        # the chance line counts the classes in each dataset's images (images_<dataset>): a
        # reduced synthetic set has fewer gestures than the dataset module's published list
        unpack(
            lambda w: {
                "scores": "results/hdcnn/scores.csv",
                **{
                    f"images_{d}": f"results/hdcnn/images/{d}/grid.h5"
                    for d in HD["datasets"]
                },
            }
        ),
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
        datasets=HD["datasets"],
        published_accuracy={w: v["accuracy"] for w, v in HD_PUBLISHED.items()},
    script:
        "../../scripts/hdcnn_figure_accuracy.py"


rule hdcnn_figure_pareto:
    """Accuracy against MACs and against ONNX Runtime latency (the Pareto front per split)."""
    input:
        deployment="results/hdcnn/deployment.csv",
    output:
        report(
            "results/hdcnn/figures/pareto.png",
            caption="../report/hdcnn_pareto.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"figure": "Pareto front"},
        ),
    log:
        "logs/hdcnn/figures/pareto.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    script:
        "../../scripts/hdcnn_figure_pareto.py"
