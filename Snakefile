# myoflow: raw sEMG recordings -> every table and figure of three gesture-recognition studies.
# `snakemake --cores 2` runs the default config (synthetic recordings); `snakemake crossuser`,
# `snakemake disentangle`, `snakemake hdcnn` run one study, `snakemake audit` the protocol audit. See README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# shared stages first, then one file per study holding that study's whole part of the DAG
include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/crossuser.smk"
include: "workflow/rules/disentangle.smk"
include: "workflow/rules/hdcnn.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/audit.smk"
include: "workflow/rules/report.smk"


localrules:
    all,
    crossuser,
    disentangle,
    hdcnn,
    audit,


rule all:
    """Every study's results and every configured dataset's recording store."""
    default_target: True
    input:
        rules.crossuser.input,
        rules.disentangle.input,
        rules.hdcnn.input,
        rules.audit.input,
        REPORT_TABLES,
        "results/report/cost.csv",
        **dataset_targets(),
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 500 * attempt,
        runtime=1,
