"""Rule hdcnn_train: width-scaled MobileNetV2 on one fold of HD-sEMG images."""
from myoflow.estimators import build_estimator, fit_and_predict_fold, save_estimator, write_predictions
from myoflow.logutil import log_to_file
from myoflow.sets import read_set
from myoflow.splits import read_fold_table
from myoflow.studies.hdcnn import training_params

log = log_to_file(snakemake.log[0])
job = snakemake.params.job
images = read_set(snakemake.input.images)
# fresh, seeded weights unless the job's row names a model to start from (fine-tuning, or the
# weights_carried_over defect)
params = training_params(snakemake.params.train, job["width"], split=job["split"],
                         init_from=snakemake.input.get("init_from"), select_on_test=job["select_on_test"],
                         finetune=snakemake.params.finetune)
est = build_estimator("torch", params, seed=snakemake.params.seed, threads=snakemake.threads)
table = fit_and_predict_fold(est, images.arrays["images"], images.meta["label"].to_numpy(), images.meta,
                             read_fold_table(snakemake.input.folds), job["fold"], log,
                             validate_on_test=job["select_on_test"])
kept = "none" if est.best_epoch_ is None else est.best_epoch_ + 1  # counted from 1, as the epoch lines
log.info("initial weights %s, kept epoch %s", est.initial_digest_, kept)
save_estimator(snakemake.output.model, est)
write_predictions(snakemake.output.predictions, table)
