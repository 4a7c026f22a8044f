"""Rule audit_table: the per-subject pairs of every audited defect -> the audit table, the
cross-user defects across datasets, and the forest plot."""
import pandas as pd

from myoflow.audit import (audit_table, crossuser_across_datasets, crossuser_pairs, disentangle_pairs, hdcnn_pairs,
                           test_decisions)
from myoflow.defects import DEFECTS
from myoflow.errors import ConfigError, DataFormatError
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_forest

#: the metric each study's audit compares (the forest plot's one scale)
HEADLINE_METRICS = ("balanced_accuracy", "gesture_accuracy", "accuracy")

log = log_to_file(snakemake.log[0])
defects = list(snakemake.params.defects)
parts, notes, extra = [], {}, []
for path in snakemake.input.get("crossuser", []):
    table = pd.read_csv(path)  # one (dataset, defect) job's per-user scores, its keys as columns
    missing = sorted({"subject", "corrected", "defect_on", "dataset", "defect", "pipeline", "note"} - set(table))
    if missing or table.empty:
        raise DataFormatError(f"{path}: not a cross-user audit table (lacks columns {missing} or rows); remake it "
                              "with snakemake --forcerun crossuser_audit_defect")
    first = table.iloc[0]
    note = "" if pd.isna(first["note"]) else str(first["note"])
    if note:
        notes[(first["dataset"], first["defect"])] = note
        continue
    parts.append(crossuser_pairs(table[["subject", "corrected", "defect_on"]], first["dataset"], first["defect"],
                                 first["pipeline"]))
if "disentangle" in snakemake.input.keys():
    scores = pd.concat([pd.read_csv(p) for p in snakemake.input.disentangle], ignore_index=True)
    parts.append(disentangle_pairs(scores, snakemake.params.disentangle,
                                   [d for d in defects if DEFECTS.get(d).study == "disentangle"]))
if "measure_tests" in snakemake.input.keys():
    pipeline = snakemake.params.disentangle
    extra.append(test_decisions(pd.read_csv(snakemake.input.measure_tests), pipeline["classifier"],
                                pipeline["split"], snakemake.params.disentangle_dataset))
if "hdcnn" in snakemake.input.keys():
    scores = pd.concat([pd.read_csv(p) for p in snakemake.input.hdcnn], ignore_index=True)
    hd_defects = [d for d in defects if DEFECTS.get(d).study == "hdcnn"]
    if "sample" not in set(scores["split"]) and "sample_kfold" in hd_defects:
        hd_defects.remove("sample_kfold")
        for dataset in sorted(set(scores["dataset"])):
            notes[(dataset, "sample_kfold")] = "not run: hdcnn.splits has no sample split"
    parts.append(hdcnn_pairs(scores, snakemake.params.hdcnn, hd_defects))
pairs = pd.concat(parts, ignore_index=True)
table = audit_table(pairs, notes, n_boot=snakemake.params.bootstrap, seed=snakemake.params.seed, extra_rows=extra)
for row in table.itertuples(index=False):
    log.info("%s / %s / %s: n %d, corrected %.4f, defect %.4f, difference %+.4f [%.4f, %.4f] p %.3g %s",
             row.study, row.dataset, row.defect, row.n, row.corrected, row.defect_on, row.mean_difference,
             row.ci_low, row.ci_high, row.p, row.note)
across = crossuser_across_datasets(pairs)
with atomic_path(snakemake.output.pairs) as tmp:
    pairs.to_csv(tmp, index=False, float_format="%.6g")
with atomic_path(snakemake.output.across_datasets) as tmp:
    across.to_csv(tmp, index=False, float_format="%.6g")
# the forest plot: the studies' headline metrics (not the share of significant tests, nor the
# subject accuracy of subject_ids_unseen, which are in the table)
run = table[(table["n"] > 0) & table["metric"].isin(HEADLINE_METRICS)]
if run.empty:
    raise ConfigError("audit: no audited defect has scores under both protocols (audit.defects "
                      f"{defects}); see {snakemake.log[0]}")
forest = run.assign(label=run["defect"] + " (" + run["dataset"] + ")")
plot_forest(forest, snakemake.output.forest, label_col="label", group_col="study", metric_name="headline metric",
            title="What each defect added to its study's headline metric (defect minus corrected)")
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
