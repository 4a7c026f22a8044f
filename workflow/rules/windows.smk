# Recording store -> window sets (one file per study x variant).


rule crossuser_windows:
    """Sliding windows over EMG-EPN-612 repetitions (one variant: raw, segmented, relabeled, standard)."""
    input:
        stores=lambda w: store_files(CU["dataset"]),
    output:
        "results/crossuser/windows/{variant}.h5",
    params:
        windows=CU["windows"],
        as_published=CU["as_published"],
        n_training_users=lambda w: epn_training_users(),
    log:
        "logs/crossuser/windows/{variant}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    script:
        "../../scripts/crossuser_windows.py"


rule disentangle_samples:
    """Hyser dynamic samples, preprocessed, as (N, F, 16, 16) tensors on the electrode mosaic."""
    input:
        stores=lambda w: store_files(DIS["dataset"], DIS["session"]),
    output:
        "results/disentangle/samples/{measure}.h5",
    params:
        measure=lambda w: w.measure,
        frame=DIS["frame"],
        raw_points=DIS["raw_points"],
        envelope_window=DIS["envelope_window"],
        envelope_points=DIS["envelope_points"],
        stft_window=DIS["stft_window"],
        segment_s=DIS["segment_s"],
        keep_last_s=DIS["keep_last_s"],
        preprocess=DIS["preprocess"],
        as_published=DIS["as_published"],
    log:
        "logs/disentangle/samples/{measure}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    script:
        "../../scripts/disentangle_samples.py"


rule hdcnn_images:
    """HD-sEMG images (one value per electrode on the physical grid)."""
    input:
        stores=lambda w: store_files(w.dataset),
    output:
        "results/hdcnn/images/{dataset}.h5",
    params:
        images=HD["images"],
        as_published=HD["as_published"],
    log:
        "logs/hdcnn/images/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=30,
    script:
        "../../scripts/hdcnn_images.py"
