"""Rule crossuser_features: one feature group of every window."""
from threadpoolctl import threadpool_limits

from myoflow.errors import ConfigError
from myoflow.features import extract_features
from myoflow.logutil import log_to_file
from myoflow.sets import ArraySet, read_set, write_set

log = log_to_file(snakemake.log[0])
windows = read_set(snakemake.input[0])
# the frequency-dependent features (MDF, MNF, SM, DFTR, wavelets) need the recordings' rate;
# LibEMG's 1000 Hz default would be silently wrong for the Myo's 200 Hz
fs = windows.attrs.get("fs")
if fs is None:
    raise ConfigError(f"{snakemake.input[0]} has no sampling rate (attrs 'fs'): it was written before windows "
                      "carried one; remake it (snakemake --forcerun crossuser_windows)")
with threadpool_limits(snakemake.threads):  # no BLAS threads beyond the job's
    values, names = extract_features(windows.arrays["windows"], snakemake.wildcards.group,
                                     threads=snakemake.threads, fs=fs)
log.info("%s at %g Hz: %d windows x %d features", snakemake.wildcards.group, fs, *values.shape)
write_set(snakemake.output[0], ArraySet(
    {"features": values}, windows.meta,
    {**windows.attrs, "feature_group": snakemake.wildcards.group, "feature_names": names},
))
