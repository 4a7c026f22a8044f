"""Rule disentangle_scores: latent-classifier predictions -> the long score table."""
import pandas as pd

from myoflow.latents import latent_scores
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file

log = log_to_file(snakemake.log[0])
p = snakemake.params
parts = []
for path in snakemake.input.predictions:
    fold = int(path.rsplit("fold-", 1)[1].split(".")[0])
    keys = {"study": p.study, "dataset": p.dataset, "variant": p.measure, "protocol": p.protocol, "fold": fold}
    parts.append(latent_scores(pd.read_csv(path), keys))
scores = pd.concat(parts, ignore_index=True)
with atomic_path(snakemake.output[0]) as tmp:
    scores.to_csv(tmp, index=False, float_format="%.6g")
