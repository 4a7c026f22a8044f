"""Rule disentangle_scores: latent-classifier predictions of every run-sheet row -> the score table."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.latents import latent_scores
from myoflow.logutil import log_to_file
from myoflow.runsheets import read_sheet, row_keys, sheet_part

log = log_to_file(snakemake.log[0])
# the study's own rows, or those run only for the protocol audit (rule audit_scores)
sheet = sheet_part(read_sheet(snakemake.input.sheet), snakemake.params.get("audit_only", False))
predictions = {path: pd.read_csv(path) for path in sorted(set(sheet["predictions"]))}
scores = pd.concat([latent_scores(predictions[row["predictions"]], row_keys(row))
                    for row in sheet.to_dict("records")], ignore_index=True)
log.info("%d score rows from %d prediction files", len(scores), len(predictions))
with atomic_path(snakemake.output[0]) as tmp:
    scores.to_csv(tmp, index=False, float_format="%.6g")
