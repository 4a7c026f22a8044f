# Score table -> statistical tests over subjects (summary, omnibus, pairwise with Holm).

STATS = {
    "crossuser": {"metric": "balanced_accuracy", "pipeline": ["variant", "features", "model", "protocol"]},
    "disentangle": {"metric": "gesture_accuracy", "pipeline": ["features", "model"]},
    "hdcnn": {"metric": "accuracy", "pipeline": ["dataset", "model", "protocol"]},
}


rule study_stats:
    input:
        scores="results/{study}/scores.csv",
    output:
        summary=report(
            "results/{study}/stats/summary.csv",
            caption="../report/stats_summary.rst",
            category="Statistics",
            labels={"study": "{study}", "table": "summary"},
        ),
        omnibus="results/{study}/stats/omnibus.csv",
        pairwise=report(
            "results/{study}/stats/pairwise.csv",
            caption="../report/stats_pairwise.rst",
            category="Statistics",
            labels={"study": "{study}", "table": "pairwise tests"},
        ),
    params:
        metric=lambda w: STATS[w.study]["metric"],
        pipeline=lambda w: STATS[w.study]["pipeline"],
        seed=config["seed"],
    wildcard_constraints:
        study="crossuser|disentangle|hdcnn",
    log:
        "logs/{study}/stats.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    script:
        "../../scripts/study_stats.py"
