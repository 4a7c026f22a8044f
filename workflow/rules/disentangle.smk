# Study 2, pattern / subject disentanglement on HD-sEMG: the whole study's part of the DAG.
# stores -> samples (per input measure) -> fold table (per protocol) -> one model per (measure,
# protocol, fold) -> latents -> one prediction job per latent classifier -> scores -> figures.
# Every job is a row of results/disentangle/runs.tsv (myoflow.runsheets.disentangle_sheet).


rule disentangle:
    """Every result of the disentanglement study (`snakemake disentangle`)."""
    input:
        study_targets("disentangle"),
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 500 * attempt,
        runtime=1,


rule disentangle_run_sheet:
    """The disentanglement jobs: one row per (measure, protocol, fold, classifier, latent)."""
    output:
        report(
            "results/disentangle/runs.tsv",
            caption="../report/run_sheet.rst",
            category="Disentanglement (Hyser)",
            labels={"table": "run sheet"},
        ),
    log:
        "logs/disentangle/runs.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    params:
        sheet=lambda w: disentangle_sheet().to_dict("records"),
    script:
        "../../scripts/write_run_sheet.py"


rule disentangle_samples:
    """Hyser dynamic samples, preprocessed, as (N, F, 16, 16) tensors of one input measure."""
    input:
        stores=lambda w: store_files(DIS["dataset"], DIS["sessions"]),
    output:
        "results/disentangle/samples/{measure}.h5",
    log:
        "logs/disentangle/samples/{measure}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    params:
        frame=DIS["frame"],
        raw_points=DIS["raw_points"],
        envelope_window=DIS["envelope_window"],
        envelope_points=DIS["envelope_points"],
        stft_window=DIS["stft_window"],
        segment_s=DIS["segment_s"],
        keep_last_s=DIS["keep_last_s"],
        preprocess=DIS["preprocess"],
        as_published=DIS["as_published"],
    script:
        "../../scripts/disentangle_samples.py"


rule disentangle_folds:
    """Leave-one-subject-out within each configured session (fold order of the run sheet)."""
    input:
        raw=lambda w: download_input(DIS["dataset"]),
    output:
        "results/disentangle/folds/{protocol}.csv",
    log:
        "logs/disentangle/folds/{protocol}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    params:
        subjects_by_session=lambda w: disentangle_subjects_by_session(),
    script:
        "../../scripts/disentangle_folds.py"


rule disentangle_train:
    """Dual-encoder disentanglement model on one fold -> latents and reconstructions."""
    input:
        samples="results/disentangle/samples/{measure}.h5",
        folds="results/disentangle/folds/{protocol}.csv",
    output:
        model="results/disentangle/models/{measure}/{protocol}/fold-{fold}.pt",
        latents="results/disentangle/latents/{measure}/{protocol}/fold-{fold}.h5",
    log:
        "logs/disentangle/train/{measure}/{protocol}/fold-{fold}.log",
    benchmark:
        "benchmarks/disentangle/train/{measure}/{protocol}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    params:
        model=DIS["model"],
        as_published=DIS["as_published"],
        seed=config["seed"],
    script:
        "../../scripts/disentangle_train.py"


rule disentangle_classify:
    """One latent classifier: gesture and subject from pattern latents and from subject latents."""
    input:
        latents="results/disentangle/latents/{measure}/{protocol}/fold-{fold}.h5",
    output:
        predictions="results/disentangle/predictions/{measure}/{protocol}/fold-{fold}/{classifier}.csv.gz",
    log:
        "logs/disentangle/classify/{measure}/{protocol}/fold-{fold}/{classifier}.log",
    group:
        "classical"
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        classifier_params=lambda w: DIS["classifier_params"].get(w.classifier, {}),
        seed=config["seed"],
    script:
        "../../scripts/disentangle_classify.py"


rule disentangle_scores:
    """Per-subject latent-classifier accuracies of every row of the run sheet."""
    input:
        sheet="results/disentangle/runs.tsv",
        predictions=lambda w: sorted(set(disentangle_sheet()["predictions"])),
    output:
        report(
            "results/disentangle/scores.csv",
            caption="../report/disentangle_scores.rst",
            category="Disentanglement (Hyser)",
            labels={"table": "score table"},
        ),
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


rule disentangle_figure_maps:
    """Pattern reconstruction per gesture on the electrode mosaic (first measure, held-out subjects)."""
    input:
        latents=lambda w: sorted(
            set(
                run_sheet_rows(disentangle_sheet(), measure=DIS["measures"][0])[
                    "latents"
                ]
            )
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
    params:
        measure=DIS["measures"][0],
    script:
        "../../scripts/disentangle_figure_maps.py"


rule disentangle_figure_latents:
    """Gesture and subject accuracy from each latent, per measure and classifier."""
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
