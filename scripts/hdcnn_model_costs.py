"""Rule hdcnn_model_costs: params and MACs per width beside the published table."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.models import build_model, count_params_and_macs
from myoflow.studies.hdcnn import PUBLISHED

log = log_to_file(snakemake.log[0])
rows = []
for width in sorted(set(snakemake.params.widths) | set(PUBLISHED)):
    # the published configuration: ICE Lab images 1 x 8 x 24, 8 classes
    params, macs = count_params_and_macs(build_model("mobilenetv2", (1, 8, 24), 8, width=width), (1, 8, 24))
    pub = PUBLISHED.get(width, {})
    rows.append({"width": width, "params": params, "macs": macs,
                 "published_params": pub.get("params"), "published_macs": pub.get("macs"),
                 "published_accuracy": pub.get("accuracy")})
with atomic_path(snakemake.output[0]) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
