"""Rule disentangle_figure_latents: gesture / subject accuracy from pattern vs subject latents,
one panel per input measure x latent classifier."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_grouped_bar_panels

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = scores[scores["metric"].isin(["gesture_accuracy", "subject_accuracy"])]
table = rows.assign(target=rows["metric"].str.replace("_accuracy", "", regex=False))
plot_grouped_bar_panels(
    table, snakemake.output[0], panel_cols=["protocol", "measure", "classifier"], group_col="target",
    hue_col="latent", ncols=3,
    suptitle="latent classifiers: gesture (held-out subject) and subject (held-out gestures)",
)
