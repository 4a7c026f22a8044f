"""Rule disentangle_classify: every latent classifier on one fold's pattern and subject latents,
for gesture and for subject."""
import pandas as pd

from myoflow.estimators import write_predictions
from myoflow.latents import latent_classification
from myoflow.logutil import log_to_file
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
latents = read_set(snakemake.input.latents, arrays=["pattern", "subject"])
tables = []
for classifier, params in snakemake.params.classifiers.items():
    table = latent_classification(latents, classifier, dict(params), seed=snakemake.params.seed,
                                  select_on_test=snakemake.params.select_on_test)
    log.info("%s: accuracy by target and latent:\n%s", classifier,
             table.assign(ok=table.y_true == table.y_pred).groupby(["target", "latent"])["ok"].mean())
    tables.append(table.assign(classifier=classifier))
write_predictions(snakemake.output.predictions, pd.concat(tables, ignore_index=True))
