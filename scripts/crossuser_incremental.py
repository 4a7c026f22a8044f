"""Rule crossuser_incremental: the incremental sweep's table (mean +- sd over test users per
ordering x training users x repetitions; first variant, no norm) and its heat maps."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_incremental_heatmaps
from myoflow.studies.crossuser import factor_table, own_variant_rows

log = log_to_file(snakemake.log[0])
p = snakemake.params
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str, "train_users": str, "train_repetitions": str})
rows = own_variant_rows(scores, p.variant, protocol="incremental")
rows = rows[rows["model"] == p.model].rename(columns={"split": "ordering"})
table = factor_table(rows, "ordering", ["train_users", "train_repetitions"], p.orderings)
table["train_users"] = table["train_users"].astype(int)
table["train_repetitions"] = table["train_repetitions"].astype(int)
table = table.sort_values(["ordering", "train_users", "train_repetitions"],
                          key=lambda c: c.map({o: i for i, o in enumerate(p.orderings)}) if c.name == "ordering" else c)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
log.info("incremental sweep (%s):\n%s", p.model, table.to_string(index=False))
plot_incremental_heatmaps(table, snakemake.output.figure, p.orderings,
                          title=f"{p.model}: balanced accuracy (mean over test users), {p.variant}, no norm")
