"""Rules crossuser_features and crossuser_subwindow_features: one feature group of every window,
or of every consecutive time piece of every window (params.pieces)."""
from threadpoolctl import threadpool_limits

from myoflow.errors import ConfigError
from myoflow.features import extract_features, extract_subwindow_features
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
    pieces = snakemake.params.pieces
    if pieces:
        values, names = extract_subwindow_features(windows.arrays["windows"], snakemake.params.features,
                                                   pieces=int(pieces), threads=snakemake.threads, fs=fs)
    else:
        values, names = extract_features(windows.arrays["windows"], snakemake.params.features,
                                         threads=snakemake.threads, fs=fs)
log.info("%s (%s) at %g Hz: features of shape %s (pieces: %s)", snakemake.wildcards.group,
         "+".join(snakemake.params.features), fs, values.shape, pieces)
write_set(snakemake.output[0], ArraySet(
    {"features": values}, windows.meta,
    {**windows.attrs, "feature_group": snakemake.wildcards.group, "feature_names": names,
     "subwindow_pieces": int(pieces or 0)},
))
