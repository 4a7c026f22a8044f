"""Rule published_vs_reproduced: one study's published numbers beside the project's."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.published import published_vs_reproduced

log = log_to_file(snakemake.log[0])
table = published_vs_reproduced(snakemake.wildcards.study, pd.read_csv(snakemake.input.scores),
                                snakemake.params.data)
for row in table.itertuples(index=False):
    log.info("%s: published %.4f, reproduced %.4f (n %d, %s)", row.what, row.published, row.reproduced,
             row.n_subjects, row.pipeline)
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False, float_format="%.4g")
