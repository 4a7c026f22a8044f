"""Rule hdcnn_export: one trained model to ONNX, with ONNX Runtime's logits checked against PyTorch's."""
from myoflow.deploy import export_onnx, onnx_parity, write_json
from myoflow.errors import ConfigError
from myoflow.estimators import load_estimator
from myoflow.logutil import log_to_file
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
deploy = snakemake.params.deploy
est = load_estimator(snakemake.input.model, device="cpu")
frames = read_set(snakemake.input.images).arrays["images"][: deploy["parity_frames"]]
export_onnx(est, snakemake.output.onnx, opset=deploy["opset"])
parity = onnx_parity(est, snakemake.output.onnx, frames)
log.info("ONNX parity: %s", parity)
if parity["max_abs_logit_diff"] > deploy["tolerance"]:
    raise ConfigError(f"{snakemake.output.onnx}: ONNX Runtime's logits differ from PyTorch's by "
                      f"{parity['max_abs_logit_diff']:.3g}, more than hdcnn.deploy.tolerance = {deploy['tolerance']}")
write_json(snakemake.output.parity, {**snakemake.params.row_keys, **parity, "tolerance": deploy["tolerance"]})
