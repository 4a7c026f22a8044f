"""Rule crossuser_training_curves: every torch model's training curves (train/validation loss and
validation accuracy per epoch, the kept epoch) as one table and one figure."""
import pandas as pd

from myoflow.io import atomic_path
from myoflow.logutil import log_to_file
from myoflow.plots import plot_training_curves
from myoflow.torch_estimator import read_history

log = log_to_file(snakemake.log[0])
frames = []
for row in snakemake.params.models:  # keys from the run sheet, not from the file names
    history, best = read_history(row["model_file"])
    label = f"{row['model']} {row['loss']}, trained on {row['train_variant']}"
    frames.append(pd.DataFrame(history).assign(pipeline=label, model=row["model"], loss=row["loss"],
                                               train_variant=row["train_variant"], best_epoch=best))
    log.info("%s: %d epochs, kept epoch %s", label, len(history), best)
table = pd.concat(frames, ignore_index=True)
with atomic_path(snakemake.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
plot_training_curves(table, snakemake.output.figure)
