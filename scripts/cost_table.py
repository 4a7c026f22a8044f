"""Rule cost_table: CPU time, wall time and peak memory per rule and study, from the run's
benchmark files (benchmarks/<study>/<rule>/...)."""
from pathlib import Path

import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file

#: benchmark folders of one study (or the audit); everything else is a shared data stage
STAGES = ("crossuser", "disentangle", "hdcnn", "audit")

log = log_to_file(snakemake.log[0])
rows = []
for path in sorted(Path(snakemake.params.benchmarks).rglob("*.tsv")):
    parts = path.relative_to(snakemake.params.benchmarks).parts
    # benchmarks/<study>/<rule>/... for the studies and the audit; benchmarks/<rule>/... for
    # the shared data stages
    if parts[0] in STAGES:
        study, rule = parts[0], parts[1].removesuffix(".tsv")
    else:
        study, rule = "data", parts[0].removesuffix(".tsv")
    try:
        b = pd.read_csv(path, sep="\t")
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        log.warning("%s: not a benchmark file (%s), skipped", path, exc)
        continue
    if b.empty or "s" not in b:
        continue
    rows.append({"study": study, "rule": rule, "wall_s": float(b["s"].iloc[-1]),
                 "cpu_s": float(pd.to_numeric(b.get("cpu_time", pd.Series([float("nan")])), errors="coerce").iloc[-1]),
                 "max_rss_mb": float(pd.to_numeric(b.get("max_rss", pd.Series([float("nan")])),
                                                   errors="coerce").iloc[-1])})
jobs = pd.DataFrame(rows, columns=["study", "rule", "wall_s", "cpu_s", "max_rss_mb"])
table = (jobs.groupby(["study", "rule"], sort=True)
         .agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"),
              max_rss_mb=("max_rss_mb", "max"))
         .reset_index().sort_values(["study", "cpu_s"], ascending=[True, False]))
total = pd.DataFrame([{"study": "all", "rule": "all", "jobs": int(table["jobs"].sum()),
                       "wall_s": table["wall_s"].sum(), "cpu_s": table["cpu_s"].sum(),
                       "max_rss_mb": table["max_rss_mb"].max()}])
table = pd.concat([table, total], ignore_index=True)
log.info("%d benchmark files, %.0f s CPU in all", len(jobs), total["cpu_s"].iloc[0])
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False, float_format="%.3f")
