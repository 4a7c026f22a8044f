"""Rule crossuser_losses: the loss experiment's table (loss x variant x norm, mean +- sd over test
users), its tests (Friedman; every loss vs CE and all pairs, Holm) and figures."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_critical_difference, plot_score_table
from myoflow.studies.crossuser import LOSS_KEYS, loss_rows, loss_table, loss_tests

log = log_to_file(snakemake.log[0])
p = snakemake.params
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = loss_rows(scores, p.models)
table = loss_table(rows, p.losses)
tests, ranks = loss_tests(rows, reference=p.reference, seed=p.seed)
for name, frame in (("table", table), ("tests", tests), ("ranks", ranks)):
    with atomic_path(snakemake.output[name]) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
log.info("loss table:\n%s", table.to_string())

plot_score_table(table.assign(variants=table["train_variant"] + " -> " + table["test_variant"]),
                 snakemake.output.figure_table, row_col="loss", column_cols=["model", "variants", "norm"],
                 reference=p.reference, title="loss x train -> test variant x norm: mean \u00b1 sd over test users")

# the critical-difference diagram of the headline cell: the first model, trained and tested on
# the first variant, without test-time normalisation
cell = dict(zip(LOSS_KEYS, (p.models[0], p.variant, p.variant, "none")))


def in_cell(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[(frame[LOSS_KEYS] == pd.Series(cell)).all(axis=1)]


pairwise = in_cell(tests)
pairwise = pairwise[pairwise["comparison"] == "pairwise"]
cell_ranks = in_cell(ranks).set_index("loss")["mean_rank"]
n = int(in_cell(rows)["subject"].nunique())
plot_critical_difference(cell_ranks, pairwise, snakemake.output.figure_cd,
                         title=f"{cell['model']}, {p.variant} -> {p.variant}, no norm: mean rank over "
                               f"{n} test users (1 = best); bars: Holm p \u2265 0.05")
