# Figures: read the score tables, predictions / latents and the stats tables; compute no tests.


rule crossuser_figure_per_user:
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
    script:
        "../../scripts/crossuser_figure_per_user.py"


rule disentangle_figure_maps:
    input:
        latents=lambda w: expand(
            "results/disentangle/latents/{measure}/fold-{fold}.h5",
            measure=DIS["measure"],
            fold=disentangle_folds(),
        ),
    output:
        report(
            "results/disentangle/figures/reconstruction_maps.png",
            caption="../report/disentangle_maps.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "pattern reconstruction maps"},
        ),
    log:
        "logs/disentangle/figures/maps.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    script:
        "../../scripts/disentangle_figure_maps.py"


rule disentangle_figure_latents:
    input:
        scores="results/disentangle/scores.csv",
    output:
        report(
            "results/disentangle/figures/latent_accuracy.png",
            caption="../report/disentangle_latents.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "latent classifiers"},
        ),
    log:
        "logs/disentangle/figures/latents.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    script:
        "../../scripts/disentangle_figure_latents.py"


rule hdcnn_figure_accuracy:
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
    script:
        "../../scripts/hdcnn_figure_accuracy.py"
