"""Rule disentangle_figure_latents: gesture and subject accuracy from the pattern and the subject
latent, per input measure, one panel per latent classifier (and protocol / split where several)."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_grouped_bar_panels

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = scores[scores["metric"].isin(["gesture_accuracy", "subject_accuracy"])]
target = rows["metric"].str.replace("_accuracy", "", regex=False)
table = rows.assign(reads=rows["latent"] + " latent -> " + target)
panels = [c for c in ("protocol", "split") if table[c].nunique() > 1] + ["classifier"]
plot_grouped_bar_panels(
    table, snakemake.output[0], panel_cols=panels, group_col="measure", hue_col="reads", ncols=3,
    suptitle="latent classifiers: gesture (held-out subject) and subject (held-out gestures) "
             "from the pattern and from the subject latent",
)
