"""Rule disentangle_classify: kNN on pattern vs subject latents, for gesture and for subject."""
from myoflow.latents import latent_classification
from myoflow.logutil import log_to_file
from myoflow.pipelines import write_predictions
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
latents = read_set(snakemake.input.latents, arrays=["pattern", "subject"])
table = latent_classification(latents, n_neighbors=snakemake.params.knn_neighbors)
log.info("accuracy by target and latent:\n%s",
         table.assign(ok=table.y_true == table.y_pred).groupby(["target", "latent"])["ok"].mean())
write_predictions(snakemake.output.predictions, table)
