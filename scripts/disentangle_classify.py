"""Rule disentangle_classify: one latent classifier on pattern vs subject latents, gesture and subject."""
from myoflow.estimators import write_predictions
from myoflow.latents import latent_classification
from myoflow.logutil import log_to_file
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
latents = read_set(snakemake.input.latents, arrays=["pattern", "subject"])
table = latent_classification(latents, snakemake.wildcards.classifier,
                              dict(snakemake.params.classifier_params), seed=snakemake.params.seed)
log.info("accuracy by target and latent:\n%s",
         table.assign(ok=table.y_true == table.y_pred).groupby(["target", "latent"])["ok"].mean())
write_predictions(snakemake.output.predictions, table)
