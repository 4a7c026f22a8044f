"""Rule hdcnn_figure_accuracy: accuracy per split type and width, one panel per dataset and
protocol, the published (ICE Lab, sample-level K-fold) accuracy of each width beside its bars."""
import pandas as pd

from myoflow.logutil import log_to_file
from myoflow.plots import plot_grouped_bar_panels
from myoflow.sets import read_set

log = log_to_file(snakemake.log[0])
scores = pd.read_csv(snakemake.input.scores, dtype={"width": str})
acc = scores[scores["metric"] == "accuracy"]
labels = {"sample": "sample (leaky)", "finetune": "subject, fine-tuned"}
table = acc.assign(width="width " + acc["width"], split=acc["split"].replace(labels))
# chance = 1 / the classes present in each dataset's images
chance = {}
for dataset in snakemake.params.datasets:
    labels = read_set(snakemake.input[f"images_{dataset}"], arrays=[]).meta["label"]
    chance[dataset] = 1 / labels.nunique()
    log.info("%s: %d classes, chance %.3f", dataset, labels.nunique(), chance[dataset])
# the published accuracies are ICE Lab's (sample-level K-fold): markers on the ICE Lab panel only
published = {"icelab": {f"width {float(w)}": a for w, a in snakemake.params.published_accuracy.items()}}
panels = ["dataset", "protocol"] if table["protocol"].nunique() > 1 else ["dataset"]
plot_grouped_bar_panels(table, snakemake.output[0], panel_cols=panels, group_col="width",
                        hue_col="split", chance=chance, ncols=2, reference=published,
                        reference_label="published (ICE Lab, sample K-fold)",
                        suptitle="MobileNetV2 on HD-sEMG images: accuracy per split type "
                                 "(dashed: chance; red: the published accuracy)")
