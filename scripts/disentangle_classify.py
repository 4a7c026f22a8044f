"""Rule disentangle_classify: every latent classifier on every fold's pattern and subject latents
of one (protocol, measure, split), for gesture and for subject."""
import pandas as pd

from myoflow.estimators import write_predictions
from myoflow.latents import latent_classification
from myoflow.logutil import log_to_file
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
tables = []
for path in snakemake.input.latents:
    latents = read_set(path, arrays=["pattern", "subject"])
    fold = int(latents.attrs["fold"])  # the training job wrote its fold into the file
    for classifier, params in snakemake.params.classifiers.items():
        table = latent_classification(latents, classifier, dict(params), seed=snakemake.params.seed,
                                      select_on_test=snakemake.params.select_on_test,
                                      subject_on_unseen_ids=snakemake.params.subject_on_unseen_ids)
        log.info("fold %d, %s: accuracy by target and latent:\n%s", fold, classifier,
                 table.assign(ok=table.y_true == table.y_pred).groupby(["target", "latent"])["ok"].mean())
        tables.append(table.assign(classifier=classifier, fold=fold))
write_predictions(snakemake.output.predictions, pd.concat(tables, ignore_index=True))
