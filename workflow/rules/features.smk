# Window sets -> feature sets (one file per variant x feature group).


rule crossuser_features:
    """LibEMG-defined hand-crafted features of every window, one group per file."""
    input:
        "results/crossuser/windows/{variant}.h5",
    output:
        "results/crossuser/features/{variant}/{group}.h5",
    log:
        "logs/crossuser/features/{variant}/{group}.log",
    benchmark:
        "benchmarks/crossuser/features/{variant}/{group}.tsv"
    conda:
        "../../envs/data.yaml"
    group:
        "features"
    threads: config["resources"]["feature_threads"]
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    script:
        "../../scripts/extract_features.py"
