# Predictions -> one long score table per study (one row per subject x metric x pipeline x fold).


rule crossuser_scores:
    input:
        predictions=lambda w: crossuser_predictions(),
    output:
        report(
            "results/crossuser/scores.csv",
            caption="../report/crossuser_scores.rst",
            category="Cross-user (EMG-EPN-612)",
            labels={"table": "score table"},
        ),
    params:
        run_keys=lambda w: crossuser_prediction_keys(),
        rest_label=0,
    log:
        "logs/crossuser/scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    script:
        "../../scripts/score_predictions.py"


rule disentangle_scores:
    input:
        predictions=lambda w: expand(
            "results/disentangle/predictions/{measure}/fold-{fold}.csv.gz",
            measure=DIS["measure"],
            fold=disentangle_folds(),
        ),
    output:
        report(
            "results/disentangle/scores.csv",
            caption="../report/disentangle_scores.rst",
            category="Disentanglement (Hyser)",
            labels={"table": "score table"},
        ),
    params:
        study="disentangle",
        dataset=DIS["dataset"],
        measure=DIS["measure"],
        protocol="loso",
    log:
        "logs/disentangle/scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    script:
        "../../scripts/disentangle_scores.py"


rule hdcnn_scores:
    input:
        predictions=hdcnn_predictions(),
    output:
        report(
            "results/hdcnn/scores.csv",
            caption="../report/hdcnn_scores.rst",
            category="HD-CNN (MobileNetV2)",
            labels={"table": "score table"},
        ),
    params:
        run_keys=hdcnn_prediction_keys(),
        rest_label=None,
    log:
        "logs/hdcnn/scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
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
    params:
        widths=HD["widths"],
    log:
        "logs/hdcnn/model_costs.log",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    script:
        "../../scripts/hdcnn_model_costs.py"
