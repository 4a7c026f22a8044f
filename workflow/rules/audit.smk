# The protocol audit: for each defect of the three source codebases (myoflow.defects), the
# corrected pipeline and the same pipeline with only that defect on, on the same folds; the
# paired difference per subject, one table and one forest plot across the studies.
# Cross-user: one job per (dataset, defect) fits both arms. Disentanglement and HD-CNN: the
# defects' protocols run in those studies' own rules on the audited pipeline only (the run
# sheets' audit_only rows), scored here apart from the studies' score tables.


rule audit:
    """Every result of the protocol audit (`snakemake audit`)."""
    input:
        AUDIT_TARGETS,
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 500 * attempt,
        runtime=1,


rule crossuser_audit_defect:
    """One cross-user defect on one dataset: the audited pipeline trained and tested on the
    fixed user split, corrected and with the defect on."""
    input:
        stores=lambda w: store_files(w.dataset, crossuser_audit_sessions(w.dataset)),
    output:
        "results/audit/crossuser/{dataset}/{defect}.csv",
    log:
        "logs/audit/crossuser/{dataset}/{defect}.log",
    benchmark:
        "benchmarks/audit/crossuser_audit_defect/{dataset}/{defect}.tsv"
    wildcard_constraints:
        defect="|".join(CU_AUDITED_DEFECTS) or "no-defect",
    conda:
        "../../envs/torch.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=120,
    params:
        split=lambda w: crossuser_audit_split(w.dataset),
        model=lambda w: crossuser_audit_model(w.defect),
        pipeline=lambda w: crossuser_audit_pipeline_name(w.defect),
        windows=CU["windows"],
        pieces=CU["subwindows"]["pieces"],
        seed=config["seed"],
    script:
        "../../scripts/crossuser_audit_defect.py"


rule audit_scores_disentangle:
    """Per-subject latent-classifier accuracies of the disentanglement rows run only for the audit."""
    input:
        sheet="results/disentangle/runs.tsv",
        predictions=lambda w: sorted(set(disentangle_audit_rows()["predictions"])),
    output:
        "results/audit/disentangle_scores.csv",
    log:
        "logs/audit/disentangle_scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        audit_only=True,
    script:
        "../../scripts/disentangle_scores.py"


rule audit_scores_hdcnn:
    """Per-subject scores of the HD-CNN training jobs run only for the audit."""
    input:
        sheet="results/hdcnn/runs.tsv",
        predictions=lambda w: hdcnn_audit_rows()["predictions"].tolist(),
    output:
        "results/audit/hdcnn_scores.csv",
    log:
        "logs/audit/hdcnn_scores.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        audit_only=True,
        rest_label=None,
    script:
        "../../scripts/score_predictions.py"


rule audit_table:
    """The audit table (one row per study, dataset and defect), the per-subject pairs, the
    cross-user defects across datasets (mixed model + Stouffer) and the forest plot."""
    input:
        unpack(audit_table_inputs),
    output:
        table=report(
            "results/audit/table.csv",
            caption="../report/audit_table.rst",
            category="Protocol audit",
            labels={"table": "audit table"},
        ),
        pairs="results/audit/pairs.csv",
        across_datasets=report(
            "results/audit/across_datasets.csv",
            caption="../report/audit_across_datasets.rst",
            category="Protocol audit",
            labels={"table": "cross-user defects across datasets"},
        ),
        forest=report(
            "results/audit/figures/forest.png",
            caption="../report/audit_forest.rst",
            category="Protocol audit",
            labels={"figure": "forest plot"},
        ),
    log:
        "logs/audit/table.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        defects=AUDITED_DEFECTS,
        disentangle=lambda w: runsheets.disentangle_audit_pipeline(DIS, AUDIT),
        hdcnn=lambda w: runsheets.hdcnn_audit_pipeline(HD, AUDIT),
        disentangle_dataset=DIS["dataset"],
        bootstrap=AUDIT["bootstrap"],
        seed=config["seed"],
    script:
        "../../scripts/audit_table.py"
