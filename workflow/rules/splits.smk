# Fold tables: which subjects / repetitions train, validate and test in each fold.


rule crossuser_folds:
    """The fixed user split (EPN-612's, or crossuser.split.training_users), or one within-user fold
    per test user."""
    input:
        windows=f"results/crossuser/windows/{CU['variants'][0]}.h5",
        raw=lambda w: download_input(CU["dataset"]),
    output:
        "results/crossuser/folds/{protocol}.csv",
    params:
        n_training_users=lambda w: crossuser_split_bounds()[0],   # ids below this train
        first_test_user=lambda w: crossuser_split_bounds()[1],    # ids from this on test
        split=CU["split"],
        within_user=CU["within_user"],
    log:
        "logs/crossuser/folds/{protocol}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    script:
        "../../scripts/crossuser_folds.py"


rule disentangle_folds:
    """Leave-one-subject-out within one session."""
    input:
        raw=lambda w: download_input(DIS["dataset"]),
    output:
        "results/disentangle/folds/loso.csv",
    params:
        subjects=lambda w: subjects_of(DIS["dataset"], DIS["session"]),
        session=DIS["session"],
    log:
        "logs/disentangle/folds/loso.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    script:
        "../../scripts/disentangle_folds.py"


rule hdcnn_folds:
    """K-fold over whole repetitions (no window of a test repetition is seen in training)."""
    input:
        images="results/hdcnn/images/{dataset}.h5",
    output:
        "results/hdcnn/folds/{dataset}/{split}.csv",
    params:
        folds=HD["folds"],
    log:
        "logs/hdcnn/folds/{dataset}/{split}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=10,
    script:
        "../../scripts/hdcnn_folds.py"
