"""Rule study_stats: summary, omnibus (Friedman) and Holm-corrected pairwise tests over subjects.

Pipelines are identified by the run sheet's grid columns and compared within families (pipelines
scored on the same subjects, e.g. one dataset), as myoflow.runsheets.STUDY_DESIGN says.
"""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.stats import compare_families

log = log_to_file(snakemake.log[0])
design = snakemake.params.design
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
summary, omnibus, pairwise = compare_families(scores, design["metric"], list(design["pipeline"]),
                                              list(design["family"]), seed=snakemake.params.seed)
log.info("summary:\n%s", summary.to_string())
for name, table in (("summary", summary), ("omnibus", omnibus), ("pairwise", pairwise)):
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
