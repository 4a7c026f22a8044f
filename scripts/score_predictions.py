"""Rules crossuser_scores, hdcnn_scores: every prediction file of the run sheet -> the long score table.

Each row of the sheet names its predictions file and carries its grid keys as columns.
"""
import pandas as pd

from myoflow.evaluation import score_predictions
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.runsheets import read_sheet, row_keys, sheet_part

log = log_to_file(snakemake.log[0])
# the study's own rows, or those run only for the protocol audit (rule audit_scores)
sheet = sheet_part(read_sheet(snakemake.input.sheet), snakemake.params.get("audit_only", False))
parts = [score_predictions(pd.read_csv(row["predictions"]), row_keys(row), rest_label=snakemake.params.rest_label)
         for row in sheet.to_dict("records")]
scores = pd.concat(parts, ignore_index=True)
log.info("%d score rows from %d prediction files", len(scores), len(parts))
with atomic_path(snakemake.output[0]) as tmp:
    scores.to_csv(tmp, index=False, float_format="%.6g")
