# The report's own tables: published vs reproduced per study, provenance (resolved config,
# package versions, git revision) and the cost of the run (CPU time per rule from benchmark/).


rule published_vs_reproduced:
    """The seeds' and the field's numbers beside the project's on the same protocol and metric."""
    input:
        scores="results/{study}/scores.csv",
    output:
        report(
            "results/report/published_{study}.csv",
            caption="../report/published_vs_reproduced.rst",
            category="Published vs reproduced",
            labels={"study": "{study}", "table": "published vs reproduced"},
        ),
    log:
        "logs/report/published_{study}.log",
    wildcard_constraints:
        study="crossuser|disentangle|hdcnn",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=5,
    params:
        data=lambda w: study_data_sources(w.study),
    script:
        "../../scripts/published_vs_reproduced.py"


rule provenance:
    """What made these results: the resolved config, the package versions and the git revision."""
    output:
        config=report(
            "results/report/config.yaml",
            caption="../report/provenance_config.rst",
            category="Provenance and cost",
            labels={"table": "resolved config"},
        ),
        versions=report(
            "results/report/provenance.csv",
            caption="../report/provenance.rst",
            category="Provenance and cost",
            labels={"table": "packages and revision"},
        ),
    log:
        "logs/report/provenance.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    params:
        # params, so a changed config or revision re-runs the job
        config=config,
        revision=GIT_REVISION,
    script:
        "../../scripts/provenance.py"


rule cost_table:
    """CPU and wall time per rule and study, summed over the run's benchmark files."""
    input:
        # everything else, so that every benchmark file of the run is written
        STUDY_AND_AUDIT_TARGETS,
    output:
        report(
            "results/report/cost.csv",
            caption="../report/cost.rst",
            category="Provenance and cost",
            labels={"table": "cost per rule"},
        ),
    log:
        "logs/report/cost.log",
    localrule: True
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=5,
    params:
        benchmarks="benchmarks",
    script:
        "../../scripts/cost_table.py"
