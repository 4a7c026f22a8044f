"""Rule hdcnn_train: width-scaled MobileNetV2 on one fold of HD-sEMG images."""
from myoflow.logutil import log_to_file
from myoflow.pipelines import build_estimator, fit_estimator, predictions_table, save_estimator, write_predictions
from myoflow.sets import read_set
from myoflow.splits import read_fold_table, select

log = log_to_file(snakemake.log[0])
images = read_set(snakemake.input.images)
X, y = images.arrays["images"], images.meta["label"].to_numpy()
folds = read_fold_table(snakemake.input.folds)
fold = int(snakemake.wildcards.fold)
train, test = select(images.meta, folds, fold, "train"), select(images.meta, folds, fold, "test")
log.info("fold %d: %d train, %d test images", fold, train.sum(), test.sum())
params = {**snakemake.params.train, "model": "MobileNetV2",
          "model_params": {"width": snakemake.params.width}, "patience": None}
est = build_estimator("torch", params, seed=snakemake.params.seed, threads=snakemake.threads)
fit_estimator(est, X[train], y[train])
for epoch in est.history_:
    log.info("epoch %s", epoch)
save_estimator(snakemake.output.model, est)
table = predictions_table(est, X[test], images.meta[test], y[test])
log.info("test accuracy %.3f", (table["y_true"] == table["y_pred"]).mean())
write_predictions(snakemake.output.predictions, table)
