"""Rule convert_recording: one subject x session from native files into the recording store."""
from myoflow.logutil import log_to_file
from myoflow.readers import get_reader
from myoflow.store import write_recording

log = log_to_file(snakemake.log[0])
reader = get_reader(snakemake.params.reader)
subject, session = int(snakemake.wildcards.subject), int(snakemake.wildcards.session)
rec = reader.read_recording(snakemake.input.raw, subject, session, dict(snakemake.params.options))
log.info("read %s subject %d session %d: emg %s, %d trials", rec.dataset, subject, session,
         rec.emg.shape, len(rec.trials))
write_recording(snakemake.output[0], rec)
