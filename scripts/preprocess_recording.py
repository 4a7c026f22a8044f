"""Rule preprocess_recording: configured preprocessing steps, recorded in the store's attributes."""
from myoflow.logutil import log_to_file
from myoflow.preprocess import preprocess_recording
from myoflow.store import read_recording, write_recording

log = log_to_file(snakemake.log[0])
rec = preprocess_recording(read_recording(snakemake.input[0]), list(snakemake.params.steps))
for step in rec.extra["preprocessing"]:
    log.info("%s", step)
write_recording(snakemake.output[0], rec)
