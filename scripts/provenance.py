"""Rule provenance: the resolved config (every default filled in), the versions of the packages
the workflow uses, the git revision, Python and the platform."""
import platform
import sys
from importlib import metadata

import pandas as pd
import yaml

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file

#: the distributions whose versions change numbers or files
PACKAGES = ["myoflow", "snakemake", "torch", "numpy", "scipy", "scikit-learn", "pandas", "h5py", "statsmodels",
            "matplotlib", "onnx", "onnxruntime", "wfdb", "numba", "jsonschema", "threadpoolctl", "PyYAML"]

log = log_to_file(snakemake.log[0])
rows = [{"item": "git revision", "value": snakemake.params.revision},
        {"item": "python", "value": sys.version.split()[0]},
        {"item": "platform", "value": platform.platform()}]
for name in PACKAGES:
    try:
        version = metadata.version(name)
    except metadata.PackageNotFoundError:
        version = "not installed"
    rows.append({"item": name, "value": version})
with atomic_path(snakemake.output.versions) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
with atomic_path(snakemake.output.config) as tmp:
    tmp.write_text(yaml.safe_dump(dict(snakemake.params.config), sort_keys=False))
log.info("revision %s, %d packages", snakemake.params.revision, len(PACKAGES))
