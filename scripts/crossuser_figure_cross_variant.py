"""Rule crossuser_figure_cross_variant: balanced accuracy, training variant x test variant, per model."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_variant_matrix

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = scores[scores["metric"] == "balanced_accuracy"]
plot_variant_matrix(rows, snakemake.output[0], panel_cols=("protocol", "model", "loss", "norm"))
