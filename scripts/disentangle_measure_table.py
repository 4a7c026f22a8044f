"""Rule disentangle_measure_table: gesture accuracy from the pattern latent per input measure and
classifier (mean +- sd over folds) beside the published column, as a table and a figure."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_grouped_bar_panels
from myoflow.studies.disentangle import PUBLISHED_MEASURE_ACCURACY, measure_table

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
table = measure_table(scores)
log.info("\n%s", table.to_string())
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
rows = scores[(scores["metric"] == "gesture_accuracy") & (scores["latent"] == "pattern")]
per_fold = rows.groupby(["protocol", "split", "measure", "classifier", "fold"], sort=False)["value"].mean().reset_index()
panels = [c for c in ("protocol", "split") if per_fold[c].nunique() > 1]
plot_grouped_bar_panels(
    per_fold, snakemake.output.figure, panel_cols=panels, group_col="measure", hue_col="classifier",
    unit_col="fold", chance=1 / snakemake.params.n_classes, ncols=2,
    reference=PUBLISHED_MEASURE_ACCURACY, reference_label="published (best classifier)",
    suptitle="gesture accuracy from the pattern latent per input measure (points: folds; "
             "dashed: chance; red: published)",
)
