"""Rule crossuser_feature_grid: every feature-grid model on every feature group (trained and
tested on the first variant, no test-time normalisation): mean +- sd over test users, and per
model the Friedman test over the groups with Holm-corrected pairwise tests."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_score_table
from myoflow.studies.crossuser import factor_table, factor_tests, own_variant_rows

log = log_to_file(snakemake.log[0])
p = snakemake.params
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = own_variant_rows(scores, p.variant)
rows = rows[rows["model"].isin(p.models) & rows["features"].isin(p.groups)]
table = factor_table(rows, "features", ["model"], p.groups)
tests, ranks = factor_tests(rows, "features", ["model"], seed=p.seed)
for name, frame in (("table", table), ("tests", tests), ("ranks", ranks)):
    with atomic_path(snakemake.output[name]) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
log.info("feature grid:\n%s", table.to_string())
plot_score_table(table, snakemake.output.figure, row_col="features", column_cols=["model"],
                 title=f"feature group x model ({p.variant}, no norm): mean \u00b1 sd over test users")
