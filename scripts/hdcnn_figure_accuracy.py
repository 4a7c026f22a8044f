"""Rule hdcnn_figure_accuracy: accuracy per split kind and width."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_accuracy_by_split

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores)
acc = scores[scores["metric"] == "accuracy"]
table = pd.DataFrame({
    "width": acc["model"].str.extract(r"_w([0-9.]+)$")[0].astype(float),
    "split": acc["protocol"], "fold": acc["fold"], "subject": acc["subject"], "value": acc["value"],
})
n_classes = 7
plot_accuracy_by_split(table, snakemake.output[0], chance=1 / n_classes,
                       title="MobileNetV2 on HD-sEMG images")
