# Raw recordings -> the recording store (one HDF5 file per dataset x subject x session).


# downloads need the internet, which cluster compute nodes often lack: run them where Snakemake runs
localrules:
    download_dataset,


checkpoint download_dataset:
    """A public dataset fetched from its original source and checked (`source: download`).

    A checkpoint: the recordings (hence every later job) are listed from the folder once it is
    there. The folder appears complete and checked, or not at all (myoflow.download).
    """
    output:
        directory("resources/raw/{dataset}"),
    log:
        "logs/download/{dataset}.log",
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 1000 * attempt,
        runtime=24 * 60,
    params:
        reader=lambda w: dataset_config(w.dataset)["reader"],
        download=lambda w: dataset_config(w.dataset)["download"],
    script:
        "../../scripts/download_dataset.py"


rule generate_synthetic:
    """Synthetic recordings written in the dataset's native format (the default run's data)."""
    output:
        directory("resources/synthetic/{dataset}"),
    log:
        "logs/generate_synthetic/{dataset}.log",
    benchmark:
        "benchmarks/generate_synthetic/{dataset}.tsv"
    priority: dataset_priority
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=30,
    params:
        kind=lambda w: dataset_config(w.dataset)["reader"],
        synthetic=lambda w: synthetic_params(
            dataset_config(w.dataset)["reader"], dataset_config(w.dataset)["synthetic"]
        ),
        seed=config["seed"],
    script:
        "../../scripts/generate_synthetic.py"


rule convert_recording:
    """One subject x session from the native files into the recording store."""
    input:
        raw=lambda w: raw_dir(w.dataset),
    output:
        "results/store/{dataset}/sub-{subject}_ses-{session}.h5",
    log:
        "logs/convert/{dataset}/sub-{subject}_ses-{session}.log",
    priority: dataset_priority
    group:
        "convert"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        reader=lambda w: dataset_config(w.dataset)["reader"],
        options=lambda w: dataset_config(w.dataset)["options"],
    script:
        "../../scripts/convert_recording.py"


rule preprocess_recording:
    """Configured preprocessing (filters, decimation, bad channels), recorded in the store."""
    input:
        "results/store/{dataset}/sub-{subject}_ses-{session}.h5",
    output:
        "results/store/{dataset}/preprocessed/sub-{subject}_ses-{session}.h5",
    log:
        "logs/preprocess/{dataset}/sub-{subject}_ses-{session}.log",
    priority: dataset_priority
    group:
        "convert"
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    params:
        steps=lambda w: dataset_config(w.dataset)["preprocess"],
    script:
        "../../scripts/preprocess_recording.py"
