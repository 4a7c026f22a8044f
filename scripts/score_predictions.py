"""Rules *_scores: predictions of every fold x model -> the study's long score table."""
import pandas as pd

from myoflow.evaluation import score_predictions
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file

log = log_to_file(snakemake.log[0])
parts = []
for path, keys in zip(snakemake.input.predictions, snakemake.params.run_keys):
    parts.append(score_predictions(pd.read_csv(path), keys, rest_label=snakemake.params.rest_label))
scores = pd.concat(parts, ignore_index=True)
log.info("%d score rows from %d prediction files", len(scores), len(parts))
with atomic_path(snakemake.output[0]) as tmp:
    scores.to_csv(tmp, index=False, float_format="%.6g")
