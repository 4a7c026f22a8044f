"""Rule hdcnn_deployment: per width and dataset, params, MACs, ONNX size, latency and accuracy per split."""
import json

import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.runsheets import read_sheet
from myoflow.studies.hdcnn import deployment_table


def read_json(path):
    with open(path) as f:
        return json.load(f)


log = log_to_file(snakemake.log[0])
parity = pd.concat([pd.read_csv(p, dtype={"width": str}) for p in snakemake.input.parity])
table = deployment_table(read_sheet(snakemake.input.sheet), pd.read_csv(snakemake.input.scores, dtype={"width": str}),
                         [read_json(p) for p in snakemake.input.latency], parity.to_dict("records"))
log.info("\n%s", table.to_string())
with atomic_path(snakemake.output[0]) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
