"""Rule crossuser_figure_cross_variant: balanced accuracy, training variant x test variant, per
cross-user model (on its own input, with each loss it trains with), without test-time
normalisation (the loss table has the norms; the feature grid the other groups)."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_variant_matrix

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = scores[(scores["metric"] == "balanced_accuracy") & (scores["protocol"] == "crossuser")
              & (scores["norm"] == "none") & (scores["features"] == scores["model"].map(snakemake.params.inputs))]
if rows.empty:
    raise ValueError(f"{snakemake.input.scores}: no cross-user scores of a model on its own input without norm")
plot_variant_matrix(rows, snakemake.output[0], panel_cols=("model", "loss"))
