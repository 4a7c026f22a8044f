"""Rule crossuser_features: one feature group of every window."""
from threadpoolctl import threadpool_limits

from myoflow.features import extract_features
from myoflow.logutil import log_to_file
from myoflow.sets import ArraySet, read_set, write_set

log = log_to_file(snakemake.log[0])
windows = read_set(snakemake.input[0])
with threadpool_limits(snakemake.threads):  # no BLAS threads beyond the job's
    values, names = extract_features(windows.arrays["windows"], snakemake.wildcards.group,
                                     threads=snakemake.threads)
log.info("%s: %d windows x %d features", snakemake.wildcards.group, *values.shape)
write_set(snakemake.output[0], ArraySet(
    {"features": values}, windows.meta,
    {**windows.attrs, "feature_group": snakemake.wildcards.group, "feature_names": names},
))
