"""Rule crossuser_train: fit one model on one fold, predict the fold's test windows."""
from myoflow.logutil import log_to_file
from myoflow.pipelines import build_estimator, fit_estimator, predictions_table, save_estimator, write_predictions
from myoflow.sets import read_set
from myoflow.splits import read_fold_table, select

log = log_to_file(snakemake.log[0])
cfg = snakemake.params.model
data = read_set(snakemake.input.data)
X = data.arrays["windows" if cfg["input"] == "windows" else "features"]
y = data.meta["label"].to_numpy()
folds = read_fold_table(snakemake.input.folds)
fold = int(snakemake.wildcards.fold)
train, val, test = (select(data.meta, folds, fold, role) for role in ("train", "validation", "test"))
log.info("fold %d: %d train, %d validation, %d test windows", fold, train.sum(), val.sum(), test.sum())

est = build_estimator(cfg["estimator"], dict(cfg["params"]), seed=snakemake.params.seed,
                      threads=snakemake.threads)
fit_estimator(est, X[train], y[train], X[val], y[val])
for epoch in getattr(est, "history_", []):
    log.info("epoch %s", epoch)
save_estimator(snakemake.output.model, est)
table = predictions_table(est, X[test], data.meta[test], y[test])
log.info("test accuracy %.3f", (table["y_true"] == table["y_pred"]).mean())
write_predictions(snakemake.output.predictions, table)
