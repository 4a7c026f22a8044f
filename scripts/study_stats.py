"""Rule study_stats: summary, omnibus (Friedman) and Holm-corrected pairwise tests over subjects."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.stats import compare_pipelines, summarize

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores)
metric, cols = snakemake.params.metric, list(snakemake.params.pipeline)
summary = summarize(scores, metric, cols)
omnibus, pairwise = compare_pipelines(scores, metric, cols, seed=snakemake.params.seed)
log.info("summary:\n%s", summary.to_string())
for name, table in (("summary", summary), ("omnibus", omnibus), ("pairwise", pairwise)):
    with atomic_path(snakemake.output[name]) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
