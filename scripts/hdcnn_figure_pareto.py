"""Rule hdcnn_figure_pareto: accuracy against MACs and against ONNX Runtime latency, per split."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_pareto

log = log_to_file(snakemake.log[0])
table = pd.read_csv(snakemake.input.deployment, dtype={"width": str})
splits = {"sample": "sample (leaky)", "repetition": "repetition", "session": "session",
          "subject": "subject", "finetune": "subject, fine-tuned"}
plot_pareto(table, snakemake.output[0], costs={"macs": "MACs", "p50_ms": "ONNX Runtime latency p50 (ms, 1 thread)"},
            accuracy_cols={f"accuracy_{s}": lab for s, lab in splits.items()},
            suptitle="Width-scaled MobileNetV2: accuracy against cost (filled points: Pareto front)")
