"""Rule disentangle_figure_latents: gesture / subject accuracy from pattern vs subject latents."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_latent_accuracy

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores)
rows = scores[scores["metric"].isin(["gesture_accuracy", "subject_accuracy"])]
table = pd.DataFrame({
    "latent": rows["features"].str.replace("_latent", "", regex=False),
    "target": rows["metric"].str.replace("_accuracy", "", regex=False),
    "subject": rows["subject"],
    "value": rows["value"],
})
plot_latent_accuracy(table, snakemake.output[0], title="kNN on disentangled latents")
