"""Rules *_run_sheet: the study's jobs, one row per job with every grid key a column."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.runsheets import write_sheet

log = log_to_file(snakemake.log[0])
sheet = pd.DataFrame(list(snakemake.params.sheet))
log.info("%d rows, columns %s", len(sheet), list(sheet.columns))
write_sheet(snakemake.output[0], sheet)
