"""Rule crossuser_predict: a trained model's predictions of the fold's test windows, per test variant."""
from myoflow.estimators import load_estimator, predict_fold, write_predictions
from myoflow.logutil import log_to_file
from myoflow.seeding import set_torch_threads
from myoflow.sets import read_set
from myoflow.splits import read_fold_table

log = log_to_file(snakemake.log[0])
est = load_estimator(snakemake.input.model)  # loads torch only for a torch model
set_torch_threads(snakemake.threads)  # prediction is deterministic; fix the thread count
folds = read_fold_table(snakemake.input.folds)
array = "windows" if snakemake.params.input_kind == "windows" else "features"
for variant in snakemake.params.test_variants:
    data = read_set(snakemake.input[f"data_{variant}"])
    log.info("test variant %s", variant)
    table = predict_fold(est, data.arrays[array], data.meta["label"].to_numpy(), data.meta, folds,
                         int(snakemake.wildcards.fold), log)
    write_predictions(snakemake.output[variant], table)
