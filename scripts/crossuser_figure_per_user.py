"""Rule crossuser_figure_per_user: per-user balanced accuracy bars, sorted, with the mean line.

One panel per pipeline tested on the variant it was trained on (the cross-variant figure shows
the rest).
"""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_per_user_bars
from myoflow.stats import per_subject_long

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
own_variant = scores[scores["train_variant"] == scores["test_variant"]]
per_user = per_subject_long(own_variant, "balanced_accuracy",
                            ["protocol", "train_variant", "features", "model", "loss", "norm"])
plot_per_user_bars(per_user, snakemake.output[0], "balanced accuracy", chance=1 / snakemake.params.n_classes)
