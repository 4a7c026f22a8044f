"""Rule crossuser_figure_per_user: per-user balanced accuracy bars, sorted, with the mean line, one
panel per headline pipeline; and the headline model's four metrics (2 x 2 panels).

Headline pipelines: every model on its own input (the feature grid's other groups have their own
figure), tested on the variant it was trained on (the cross-variant figure shows the rest),
without test-time normalisation (the loss table shows the norms); within-user models (trained
from scratch and fine-tuned) at every r.
"""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_per_user_bars
from myoflow.stats import per_subject_long

log = log_to_file(snakemake.log[0])
p = snakemake.params
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
headline = scores[(scores["train_variant"] == scores["test_variant"]) & (scores["norm"] == "none")
                  & (scores["features"] == scores["model"].map(p.inputs))
                  & scores["protocol"].isin(["crossuser", "within_user", "within_user_finetune"])]  # incremental: its heat maps
if headline.empty:
    raise ValueError(f"{snakemake.input.scores}: no scores of a model on its own input "
                     f"({p.inputs}) tested on its training variant without norm")
per_user = per_subject_long(headline, "balanced_accuracy",
                            ["protocol", "train_repetitions", "train_variant", "features", "model", "loss"])
plot_per_user_bars(per_user, snakemake.output.balanced_accuracy, "balanced accuracy", chance=1 / p.n_classes)

# the four metrics of the headline model (cross-user, first variant, no norm), one panel each
cell = headline[(headline["protocol"] == "crossuser") & (headline["model"] == p.model)
                & (headline["loss"] == p.loss) & (headline["train_variant"] == p.variant)]
if cell.empty:
    raise ValueError(f"no cross-user scores of {p.model} ({p.loss}) on {p.variant} for the four-metric figure")
metrics = (cell.groupby(["metric", "subject"], sort=False)["value"].mean().reset_index()
           .rename(columns={"metric": "pipeline"}))
order = {m: i for i, m in enumerate(["accuracy", "balanced_accuracy", "active_accuracy", "macro_f1"])}
metrics = metrics.sort_values("pipeline", key=lambda s: s.map(order), kind="stable")
plot_per_user_bars(metrics, snakemake.output.metrics, "score", ncols=2)
log.info("%d headline pipelines; four metrics of %s (%s) over %d test users", per_user["pipeline"].nunique(),
         p.model, p.loss, cell["subject"].nunique())
