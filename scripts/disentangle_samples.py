"""Rule disentangle_samples: one input measure of every Hyser segment as maps on the 16x16 mosaic."""
from myoflow.inputs.disentangle import measure_sample_set
from myoflow.logutil import log_to_file
from myoflow.sets import read_set, write_set

log = log_to_file(snakemake.log[0])
p = snakemake.params
samples = measure_sample_set(
    read_set(snakemake.input.segments), measure=snakemake.wildcards.measure, frame=p.frame,
    raw_points=p.raw_points, envelope_window=p.envelope_window, envelope_points=p.envelope_points,
    stft_window=p.stft_window,
    physical_layout=p.physical_layout,  # False (defect storage_order_maps): storage order
)
log.info("%d samples of shape %s", len(samples), samples.arrays["samples"].shape[1:])
write_set(snakemake.output[0], samples)
