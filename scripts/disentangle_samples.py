"""Rule disentangle_samples: Hyser dynamic samples of one input measure on the 16x16 mosaic."""
from myoflow.inputs.disentangle import hyser_sample_set
from myoflow.logutil import log_to_file
from myoflow.sets import write_set
from myoflow.store import read_recording

log = log_to_file(snakemake.log[0])
p = snakemake.params
pre = dict(p.preprocess)
pre["band_hz"] = tuple(pre["band_hz"])
samples = hyser_sample_set(
    (read_recording(path) for path in snakemake.input.stores),
    measure=snakemake.wildcards.measure, frame=p.frame, raw_points=p.raw_points, segment_s=p.segment_s,
    keep_last_s=p.keep_last_s, envelope_window=p.envelope_window, envelope_points=p.envelope_points,
    stft_window=p.stft_window,
    physical_layout=not p.as_published,  # as published: channel vectors reshaped in storage order
    **pre,
)
log.info("%d samples of shape %s", len(samples), samples.arrays["samples"].shape[1:])
write_set(snakemake.output[0], samples)
