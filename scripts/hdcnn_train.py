"""Rule hdcnn_train: width-scaled MobileNetV2 on one fold of HD-sEMG images."""
from myoflow.estimators import build_estimator, fit_and_predict_fold, save_estimator, write_predictions
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
images = read_set(snakemake.input.images)
# a fresh, seeded model for every fold: weights never carry over from another fold
params = {**snakemake.params.train, "model": "MobileNetV2", "model_params": {"width": snakemake.params.width}}
est = build_estimator("torch", params, seed=snakemake.params.seed, threads=snakemake.threads)
table = fit_and_predict_fold(est, images.arrays["images"], images.meta["label"].to_numpy(), images.meta,
                             read_fold_table(snakemake.input.folds), int(snakemake.wildcards.fold), log)
save_estimator(snakemake.output.model, est)
write_predictions(snakemake.output.predictions, table)
