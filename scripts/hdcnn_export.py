"""Rule hdcnn_export: every trained model of one (protocol, dataset, width) to ONNX, with ONNX
Runtime's logits checked against PyTorch's; the job fails, naming the model, above the tolerance."""
import pandas as pd

from myoflow.deploy import export_and_check
from myoflow.errors import ConfigError
from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
deploy = snakemake.params.deploy
frames = read_set(snakemake.input.images).arrays["images"][: deploy["parity_frames"]]
try:
    rows = export_and_check(snakemake.params.jobs, frames, opset=deploy["opset"], tolerance=deploy["tolerance"])
except ValueError as exc:
    raise ConfigError(f"{exc} (hdcnn.deploy.tolerance)") from exc
table = pd.DataFrame(rows)
log.info("ONNX parity:\n%s", table.drop(columns=["model_file"]).to_string())
with atomic_path(snakemake.output.parity) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
