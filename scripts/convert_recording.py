"""Rule convert_recording: one subject x session from native files into the recording store."""
from myoflow.datasets import get_dataset
from myoflow.logutil import log_to_file
from myoflow.store import write_recording

log = log_to_file(snakemake.log[0])
dataset = get_dataset(snakemake.params.reader)
subject, session = int(snakemake.wildcards.subject), int(snakemake.wildcards.session)
rec = dataset.read_recording(snakemake.input.raw, subject, session, dict(snakemake.params.options))
log.info("read %s subject %d session %d: emg %s, %d trials", rec.dataset, subject, session,
         rec.emg.shape, len(rec.trials))
write_recording(snakemake.output[0], rec)
