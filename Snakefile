# myoflow: raw sEMG recordings -> every table and figure of three gesture-recognition studies.
# `snakemake --cores 2` runs the default config (synthetic recordings); see README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/windows.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/splits.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        study_targets(),
        **dataset_targets(),
