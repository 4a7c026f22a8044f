"""Rule crossuser_audit_defect: one cross-user defect on one dataset, corrected and defect on,
per test user (myoflow.audit.crossuser_defect_scores)."""
import pandas as pd
from threadpoolctl import threadpool_limits

from myoflow.audit import crossuser_defect_scores
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.store import read_recording

log = log_to_file(snakemake.log[0])
recordings = [read_recording(p) for p in snakemake.input.stores]
split = snakemake.params.split
log.info("%s on %s: %d training, %d validation, %d test users", snakemake.wildcards.defect,
         snakemake.wildcards.dataset, len(split["train"]), len(split["validation"]), len(split["test"]))
with threadpool_limits(snakemake.threads):
    table = crossuser_defect_scores(recordings, split, snakemake.wildcards.defect, windows=snakemake.params.windows,
                                    model_cfg=snakemake.params.model, seed=snakemake.params.seed,
                                    threads=snakemake.threads, pieces=snakemake.params.pieces, log=log)
note = table.attrs.get("note", "")
if note:
    log.info("%s", note)
    table = pd.DataFrame({"subject": [pd.NA], "corrected": [pd.NA], "defect_on": [pd.NA]})
# the file carries its own keys: the audit table reads them from its columns
keys = {"dataset": snakemake.wildcards.dataset, "defect": snakemake.wildcards.defect,
        "pipeline": snakemake.params.pipeline, "note": note}
with atomic_path(snakemake.output[0]) as tmp:
    table.assign(**keys).to_csv(tmp, index=False, float_format="%.6g")
