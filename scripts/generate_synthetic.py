"""Rule generate_synthetic: synthetic recordings in the dataset's native format."""
from myoflow.datasets import write_synthetic
from myoflow.logutil import log_to_file

log = log_to_file(snakemake.log[0])
kind = snakemake.params.kind
params = dict(snakemake.params.synthetic)  # the dataset module's defaults merged with the config's
log.info("generating synthetic %s recordings with %s", kind, params)
write_synthetic(kind, snakemake.output[0], params, seed=snakemake.params.seed)
