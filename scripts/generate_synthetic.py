"""Rule generate_synthetic: synthetic recordings in the dataset's native format."""
from myoflow import synthetic
from myoflow.logutil import log_to_file

log = log_to_file(snakemake.log[0])
kind = snakemake.params.kind
params = {**synthetic.default_params(kind), **snakemake.params.synthetic}
log.info("generating synthetic %s recordings with %s", kind, params)
synthetic.generate_dataset(kind, snakemake.output[0], params, seed=snakemake.params.seed)
