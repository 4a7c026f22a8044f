"""Rule disentangle_figure_stats: measure x measure tests of the gesture accuracy from the pattern
latent, per latent classifier: paired tests with Holm (corrected) beside the source's unpaired
t-test without correction (as published)."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_signed_p_panels
from myoflow.stats import pairwise_matrix, per_subject

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = scores[(scores["latent"] == "pattern") & (scores["metric"] == "gesture_accuracy")]
labels = {"paired_holm": "paired, Holm", "source": "as published: unpaired t, uncorrected"}
panels, long = [], []
for (protocol, split, classifier), group in rows.groupby(["protocol", "split", "classifier"], sort=False):
    wide = per_subject(group, "gesture_accuracy", pipeline_cols=["measure"])
    for test in snakemake.params.tests:
        matrix = pairwise_matrix(wide, test, seed=snakemake.params.seed)
        where = "/".join(v for v, c in ((protocol, "protocol"), (split, "split")) if rows[c].nunique() > 1)
        panels.append((f"{classifier}{', ' + where if where else ''}: {labels[test]}", matrix))
        stacked = matrix.stack().rename("signed_p").reset_index()
        stacked.columns = ["measure_a", "measure_b", "signed_p"]
        long.append(stacked.assign(protocol=protocol, split=split, classifier=classifier, test=test,
                                   n_subjects=len(wide)))
table = pd.concat(long, ignore_index=True)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
plot_signed_p_panels(panels, snakemake.output.figure, ncols=len(snakemake.params.tests),
                     suptitle="measures compared: gesture accuracy from the pattern latent (* p < 0.05)")
