"""Rule hdcnn_figure_accuracy: accuracy per split type and width, one panel per dataset."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_grouped_bar_panels

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
acc = scores[scores["metric"] == "accuracy"]
table = acc.assign(width="width " + acc["width"], split=acc["split"].replace({"sample": "sample (leaky)"}))
chance = {dataset: 1 / n for dataset, n in snakemake.params.n_classes.items()}
plot_grouped_bar_panels(table, snakemake.output[0], panel_cols=["dataset"], group_col="width",
                        hue_col="split", chance=chance, ncols=2,
                        suptitle="MobileNetV2 on HD-sEMG images: accuracy per split type (dashed: chance)")
