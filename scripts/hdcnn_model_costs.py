"""Rule hdcnn_model_costs: params and MACs per width beside the published table."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.models import build_model, count_params_and_macs

log = log_to_file(snakemake.log[0])
# The source's table (ICE Lab, 1 x 8 x 24 input, 8 classes): the architecture's hard check.
PUBLISHED_COSTS = {
    1.0: {"params": 2.314e6, "macs": 18.303e6, "accuracy": 0.99197},
    0.7: {"params": 1.712e6, "macs": 12.967e6, "accuracy": 0.98856},
    0.4: {"params": 1.110e6, "macs": 7.632e6, "accuracy": 0.97924},
    0.2: {"params": 0.8085e6, "macs": 4.964e6, "accuracy": 0.97252},
}
rows = []
for width in sorted(set(snakemake.params.widths) | set(PUBLISHED_COSTS)):
    params, macs = count_params_and_macs(build_model("mobilenetv2", (1, 8, 24), 8, width=width), (1, 8, 24))
    pub = PUBLISHED_COSTS.get(width, {})
    rows.append({"width": width, "params": params, "macs": macs,
                 "published_params": pub.get("params"), "published_macs": pub.get("macs"),
                 "published_accuracy": pub.get("accuracy")})
with atomic_path(snakemake.output[0]) as tmp:
    pd.DataFrame(rows).to_csv(tmp, index=False)
