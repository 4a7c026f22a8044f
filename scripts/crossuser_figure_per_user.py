"""Rule crossuser_figure_per_user: per-user balanced accuracy bars, sorted, with the mean line."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_per_user_bars
from myoflow.stats import per_subject_long

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores)
per_user = per_subject_long(scores, "balanced_accuracy", ["variant", "features", "model", "protocol"])
n_classes = 5  # EPN-612 classes: rest, fist, waveIn, waveOut, open
plot_per_user_bars(per_user, snakemake.output[0], "balanced accuracy", chance=1 / n_classes)
