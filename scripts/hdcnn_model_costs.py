"""Rule hdcnn_model_costs: params and MACs per width beside the published table."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.models.mobilenetv2 import PUBLISHED_COSTS, MobileNetV2, count_params_and_macs

log = log_to_file(snakemake.log[0])
rows = []
for width in sorted(set(snakemake.params.widths) | set(PUBLISHED_COSTS)):
    params, macs = count_params_and_macs(MobileNetV2((1, 8, 24), n_classes=8, width=width), (1, 8, 24))
    pub = PUBLISHED_COSTS.get(width, {})
    rows.append({"width": width, "params": params, "macs": macs,
                 "published_params": pub.get("params"), "published_macs": pub.get("macs"),
                 "published_accuracy": pub.get("accuracy")})
with atomic_path(snakemake.output[0]) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
