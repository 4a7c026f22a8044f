"""Rule crossuser_architectures: the architecture comparison. A feature-grid model enters on the
feature group with the best mean validation balanced accuracy (validation items only); every
model is then scored on the test users (first variant, no test-time normalisation): table,
Friedman and Holm-corrected pairwise tests, critical-difference diagram."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_critical_difference
from myoflow.studies.crossuser import best_feature_groups, factor_table, factor_tests, own_variant_rows

log = log_to_file(snakemake.log[0])
p = snakemake.params
candidates = pd.DataFrame(p.candidates)
order = list(dict.fromkeys(candidates["model"]))
several = candidates.groupby("model")["features"].transform("size") > 1  # feature-grid models
picked = pd.DataFrame(columns=["model", "features"])
if several.any():
    validation = pd.concat([pd.read_csv(c.validation_file).assign(model=c.model, features=c.features)
                            for c in candidates[several].itertuples(index=False)], ignore_index=True)
    picked = best_feature_groups(validation)
selection = pd.concat([picked, candidates.loc[~several, ["model", "features"]]], ignore_index=True)
selection = selection.merge(candidates[["model", "features", "loss"]], on=["model", "features"])
selection = selection.set_index("model").loc[order].reset_index()
with atomic_path(snakemake.output.selection) as tmp:
    selection.to_csv(tmp, index=False, float_format="%.6g")
log.info("selection (validation items only):\n%s", selection.to_string())

scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
rows = own_variant_rows(scores, p.variant).merge(selection[["model", "features", "loss"]],
                                                 on=["model", "features", "loss"])
label = rows["model"].where(rows["features"] == "windows", rows["model"] + " (" + rows["features"] + ")")
rows = rows.assign(architecture=label)
labels = [lab for m in order for lab in dict.fromkeys(label[rows["model"] == m])]
table = factor_table(rows, "architecture", [], labels)
tests, ranks = factor_tests(rows, "architecture", [], seed=p.seed)
for name, frame in (("table", table), ("tests", tests)):
    with atomic_path(snakemake.output[name]) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.6g")
log.info("architectures:\n%s", table.to_string())
pairwise = tests[tests["comparison"] == "pairwise"]
n = int(rows["subject"].nunique())
plot_critical_difference(ranks.set_index("architecture")["mean_rank"], pairwise, snakemake.output.figure_cd,
                         title=f"architectures, {p.variant} -> {p.variant}, no norm: mean rank over {n} test "
                               "users (1 = best); bars: Holm p \u2265 0.05")
