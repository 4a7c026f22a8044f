"""Rule disentangle_segments: trials preprocessed and cut into segments, for every input measure."""
from myoflow.inputs.disentangle import trial_segment_set
from myoflow.logutil import log_to_file
from myoflow.sets import write_set
from myoflow.store import read_recording

log = log_to_file(snakemake.log[0])
p = snakemake.params
pre = dict(p.preprocess)
pre["band_hz"] = tuple(pre["band_hz"])
segments = trial_segment_set((read_recording(path) for path in snakemake.input.stores),
                             segment_s=p.segment_s, keep_last_s=p.keep_last_s,
                             segment_hop_s=p.segment_hop_s, **pre)
log.info("%d segments of %s (samples, channels) at %s Hz", len(segments), segments.arrays["segments"].shape[1:],
         segments.attrs["fs"])
write_set(snakemake.output[0], segments)
