# Shared stage: score table -> statistical tests over subjects (summary, omnibus, pairwise with Holm).
# A pipeline is identified by the run sheet's grid columns (myoflow.runsheets.STUDY_DESIGN) and
# pipelines are compared within families (e.g. one dataset), so any grid is accepted.
from myoflow.runsheets import STUDY_DESIGN


rule study_stats:
    """Per-pipeline summary, Friedman omnibus and Holm-corrected pairwise tests of one study."""
    input:
        scores="results/{study}/scores.csv",
    output:
        summary=report(
            "results/{study}/stats/summary.csv",
            caption="../report/stats_summary.rst",
            category="Statistical tests",
            labels={"study": "{study}", "table": "summary"},
        ),
        omnibus="results/{study}/stats/omnibus.csv",
        pairwise=report(
            "results/{study}/stats/pairwise.csv",
            caption="../report/stats_pairwise.rst",
            category="Statistical tests",
            labels={"study": "{study}", "table": "pairwise tests"},
        ),
    log:
        "logs/{study}/stats.log",
    conda:
        "../../envs/stats.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        design=lambda w: STUDY_DESIGN[w.study],
        seed=config["seed"],
    script:
        "../../scripts/study_stats.py"
