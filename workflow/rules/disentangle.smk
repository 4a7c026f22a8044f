# Study 2, pattern / subject disentanglement on HD-sEMG: the whole study's part of the DAG.
# stores -> samples (per input measure, mosaic or storage order) -> fold table (per split) -> one
# model per (protocol, measure, split, fold) -> latents -> one classification job per (protocol,
# measure, split): every latent classifier on every fold -> scores -> figures. Protocols whose
# defects do not change training share the corrected protocol's models.
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
    """The disentanglement jobs: one row per (protocol, split, measure, fold, classifier, latent)."""
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


rule disentangle_segments:
    """Trials, preprocessed (decimated, band-passed, notched), cut into segments and the kept last
    part of each: done once for every input measure."""
    input:
        stores=lambda w: store_files(DIS["dataset"], DIS["sessions"]),
    output:
        "results/disentangle/segments.h5",
    log:
        "logs/disentangle/segments.log",
    benchmark:
        "benchmarks/disentangle/segments.tsv"
    priority: DISENTANGLE_PRIORITY
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 6000 * attempt,
        runtime=60,
    params:
        segment_s=DIS["segment_s"],
        keep_last_s=DIS["keep_last_s"],
        segment_hop_s=DIS["segment_hop_s"],
        preprocess=DIS["preprocess"],
    script:
        "../../scripts/disentangle_segments.py"


rule disentangle_samples:
    """One input measure of every segment as (N, F, 16, 16) maps: on the physical mosaic, or in
    storage order (defect storage_order_maps)."""
    input:
        segments="results/disentangle/segments.h5",
    output:
        "results/disentangle/samples/{order}/{measure}.h5",
    log:
        "logs/disentangle/samples/{order}/{measure}.log",
    wildcard_constraints:
        order="grid|storage",
    priority: DISENTANGLE_PRIORITY
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
        physical_layout=lambda w: w.order == "grid",
    script:
        "../../scripts/disentangle_samples.py"


rule disentangle_folds:
    """The fold table of one split: leave one subject out within each configured session,
    cross-session, or within-session over repetitions (fold order of the run sheet)."""
    input:
        unpack(disentangle_folds_inputs),
    output:
        "results/disentangle/folds/{split}.csv",
    log:
        "logs/disentangle/folds/{split}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    params:
        subjects_by_session=lambda w: disentangle_subjects_by_session(),
        within_session_folds=DIS["within_session_folds"],
    script:
        "../../scripts/disentangle_folds.py"


rule disentangle_train:
    """Dual-encoder disentanglement model on one fold -> latents and reconstructions."""
    input:
        samples=lambda w: disentangle_train_row(w)["samples"],
        folds="results/disentangle/folds/{split}.csv",
    output:
        model="results/disentangle/models/{protocol}/{measure}/{split}/fold-{fold}.pt",
        latents="results/disentangle/latents/{protocol}/{measure}/{split}/fold-{fold}.h5",
    log:
        "logs/disentangle/train/{protocol}/{measure}/{split}/fold-{fold}.log",
    benchmark:
        "benchmarks/disentangle/train/{protocol}/{measure}/{split}/fold-{fold}.tsv"
    priority: DISENTANGLE_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["small_model_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    params:
        model=DIS["model"],
        adversarial=lambda w: bool(disentangle_train_row(w)["adversarial"]),
        seed=config["seed"],
    script:
        "../../scripts/disentangle_train.py"


rule disentangle_classify:
    """Every latent classifier on every fold of one (protocol, measure, split): gesture and subject
    from pattern and subject latents (one job per measure: the start-up is paid once, not per fold).
    """
    input:
        latents=lambda w: sorted(set(disentangle_classify_rows(w)["latents"])),
    output:
        predictions="results/disentangle/predictions/{protocol}/{measure}/{split}.csv.gz",
    log:
        "logs/disentangle/classify/{protocol}/{measure}/{split}.log",
    benchmark:
        "benchmarks/disentangle/classify/{protocol}/{measure}/{split}.tsv"
    priority: DISENTANGLE_PRIORITY
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        # the classifiers of the job's rows (a protocol run only for the audit: its one classifier)
        classifiers=lambda w: {
            c: DIS["classifier_params"].get(c, {})
            for c in dict.fromkeys(disentangle_classify_rows(w)["classifier"])
        },
        select_on_test=lambda w: bool(
            disentangle_classify_rows(w)["select_on_test"].iloc[0]
        ),
        subject_on_unseen_ids=lambda w: bool(
            disentangle_classify_rows(w)["subject_on_unseen_ids"].iloc[0]
        ),
        seed=config["seed"],
    script:
        "../../scripts/disentangle_classify.py"


rule disentangle_scores:
    """Per-subject latent-classifier accuracies of every row of the run sheet."""
    input:
        sheet="results/disentangle/runs.tsv",
        predictions=lambda w: sorted(set(disentangle_study_rows()["predictions"])),
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
            set(disentangle_first_rows(measure=DIS["measures"][0])["latents"])
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


rule disentangle_measure_table:
    """The input-measure table: gesture accuracy from the pattern latent per measure and
    classifier, mean +- sd over folds, beside the published column; and its figure."""
    input:
        scores="results/disentangle/scores.csv",
    output:
        table=report(
            "results/disentangle/measure_table.csv",
            caption="../report/disentangle_measure_table.rst",
            category="Disentanglement (Hyser)",
            labels={"table": "input measures"},
        ),
        figure=report(
            "results/disentangle/figures/measure_table.png",
            caption="../report/disentangle_measure_table.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "input measures"},
        ),
    log:
        "logs/disentangle/measure_table.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        n_classes=disentangle_n_classes(),
    script:
        "../../scripts/disentangle_measure_table.py"


rule disentangle_figure_correlation:
    """Correlation array: |r| between the pattern maps of every pair of gestures (first measure,
    held-out subjects), with its average row and column."""
    input:
        latents=lambda w: sorted(
            set(disentangle_first_rows(measure=DIS["measures"][0])["latents"])
        ),
    output:
        table="results/disentangle/correlation_array.csv",
        figure=report(
            "results/disentangle/figures/correlation_array.png",
            caption="../report/disentangle_correlation.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "correlation array"},
        ),
    log:
        "logs/disentangle/figures/correlation.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        measure=DIS["measures"][0],
        mode=DIS["correlation"],
    script:
        "../../scripts/disentangle_figure_correlation.py"


rule disentangle_figure_tsne:
    """t-SNE of the data, the pattern latent and the subject latent of one fold (first measure)."""
    input:
        latents=lambda w: disentangle_first_rows(measure=DIS["measures"][0], fold=0)[
            "latents"
        ].iloc[0],
    output:
        report(
            "results/disentangle/figures/tsne.png",
            caption="../report/disentangle_tsne.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "t-SNE of data and latents"},
        ),
    log:
        "logs/disentangle/figures/tsne.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        measure=DIS["measures"][0],
        fold=0,
        perplexity=50,
        early_exaggeration=100.0,
        seed=config["seed"],
    script:
        "../../scripts/disentangle_figure_tsne.py"


rule disentangle_figure_stats:
    """Statistics heat map: measure x measure tests per latent classifier, paired with Holm
    (corrected) beside the source's unpaired t-test without correction."""
    input:
        scores="results/disentangle/scores.csv",
    output:
        table="results/disentangle/stats/measure_tests.csv",
        figure=report(
            "results/disentangle/figures/measure_tests.png",
            caption="../report/disentangle_stats.rst",
            category="Disentanglement (Hyser)",
            labels={"figure": "measure tests"},
        ),
    log:
        "logs/disentangle/figures/stats.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=10,
    params:
        tests=["paired_holm", "source"],
        seed=config["seed"],
    script:
        "../../scripts/disentangle_figure_stats.py"
