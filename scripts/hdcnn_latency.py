"""Rule hdcnn_latency: single-frame ONNX Runtime latency of one width on one dataset's images,
with its params and MACs."""
import os

from myoflow.deploy import measure_latency, write_json
from myoflow.estimators import load_estimator
from myoflow.logutil import log_to_file
from myoflow.models import count_params_and_macs

log = log_to_file(snakemake.log[0])
deploy = snakemake.params.deploy
onnx = snakemake.params.onnx  # inside the export job's directory (input export_dir)
est = load_estimator(snakemake.input.model, device="cpu")
params, macs = count_params_and_macs(est.model_, est.input_shape_)
latency = measure_latency(onnx, est.input_shape_, runs=deploy["latency_runs"],
                          warmup=deploy["warmup_runs"], threads=deploy["threads"], seed=snakemake.params.seed)
log.info("%s: %d params, %d MACs, latency %s", onnx, params, macs, latency)
write_json(snakemake.output[0], {**snakemake.params.row_keys, "params": params, "macs": macs,
                                 "onnx_bytes": os.path.getsize(onnx),
                                 "input_shape": list(est.input_shape_), "n_classes": len(est.classes_),
                                 **latency})
