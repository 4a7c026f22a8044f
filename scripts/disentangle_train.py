"""Rule disentangle_train: dual-encoder model on one fold -> latents + reconstructions."""
from myoflow.disentangle import run_disentangle_fold
from myoflow.logutil import log_to_file
from myoflow.sets import read_set, write_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
samples = read_set(snakemake.input.samples)
folds = read_fold_table(snakemake.input.folds)
params = dict(snakemake.params.model)
params["adversarial_to_generator"] = snakemake.params.adversarial  # off: defect no_adversarial_term
model, latents = run_disentangle_fold(
    samples, folds, int(snakemake.wildcards.fold), params,
    seed=snakemake.params.seed, threads=snakemake.threads,
)
for epoch in model.history:
    log.info("epoch %s", epoch)
model.save(snakemake.output.model)
write_set(snakemake.output.latents, latents)
