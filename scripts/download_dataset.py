"""Rule download_dataset: fetch a public dataset from its original source, check it, put it in place."""
import sys

from myoflow.download import download_dataset
from myoflow.errors import MyoflowError
from myoflow.logutil import log_to_file

log = log_to_file(snakemake.log[0])
settings = snakemake.params.download
try:
    download_dataset(
        snakemake.params.reader,
        snakemake.output[0],
        mirror=settings["mirror"],  # None: $MYOFLOW_MIRROR, else the original servers
        timeout=settings["timeout_s"],
        manifest=settings["checksums"],
    )
except (MyoflowError, FileExistsError) as exc:
    log.error("%s", exc)
    # Snakemake names only the log file: say on the terminal, too, where to put the files by hand
    print(f"\ndownload_dataset {snakemake.wildcards.dataset}: {exc}\n", file=sys.__stderr__)
    sys.exit(1)
