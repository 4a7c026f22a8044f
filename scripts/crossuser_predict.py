"""Rule crossuser_predict: a trained model's predictions of the fold's test windows, per test variant
and test-time normalisation (none, or RunningNorm reset for each test user)."""
from myoflow.estimators import load_estimator, predict_fold, write_predictions
from myoflow.inputs.crossuser import feature_channel_axis, feature_model_inputs
from myoflow.logutil import log_to_file
from myoflow.running_norm import fit_population_stats, running_norm_inputs, running_norm_inputs_own_statistics
from myoflow.seeding import set_torch_threads
from myoflow.sets import read_set
from myoflow.splits import read_fold_table, select

log = log_to_file(snakemake.log[0])
est = load_estimator(snakemake.input.model)  # loads torch only for a torch model
set_torch_threads(snakemake.threads)  # prediction is deterministic; fix the thread count
folds = read_fold_table(snakemake.input.folds)
fold = int(snakemake.wildcards.fold)
array = "windows" if snakemake.params.input_kind == "windows" else "features"
layout = "window" if array == "windows" else snakemake.params.layout
axis = feature_channel_axis(layout)
norms = snakemake.params.norms
per_subject = snakemake.params.per_subject  # within-user: each user's norm starts from its own windows
population = train = train_rows = None
if set(norms) - {"none"}:
    train = read_set(snakemake.input.train_data, arrays=[array])
    train_rows = select(train.meta, folds, fold, "train")
    if not per_subject:
        population = fit_population_stats(train.arrays[array][train_rows], axis=axis)
    log.info("RunningNorm %s statistics from %d training windows", "each user's" if per_subject else "population",
             int(train_rows.sum()))
for variant in snakemake.params.test_variants:
    data = read_set(snakemake.input[f"data_{variant}"])
    X, y = data.arrays[array], data.meta["label"].to_numpy()
    test = select(data.meta, folds, fold, "test")
    for norm in norms:
        log.info("test variant %s, norm %s", variant, norm)
        if norm == "none":
            inputs = X
        elif per_subject:
            inputs = running_norm_inputs_own_statistics(X, data.meta, test, train.arrays[array], train.meta,
                                                        train_rows, mode=norm, axis=axis,
                                                        **snakemake.params.running_norm)
        else:
            inputs = running_norm_inputs(X, data.meta, population, test, mode=norm, axis=axis,
                                         **snakemake.params.running_norm)
        table = predict_fold(est, feature_model_inputs(inputs, layout), y, data.meta, folds, fold, log)
        write_predictions(snakemake.output[f"{variant}__{norm}"], table)
