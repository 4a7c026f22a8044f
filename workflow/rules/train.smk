# Per-fold training: one job per (study, protocol, model, fold) -> a model file + predictions.


rule crossuser_train:
    """Train one cross-user model on one fold and predict its test users' windows."""
    input:
        data=crossuser_model_input,
        folds="results/crossuser/folds/{protocol}.csv",
    output:
        model="results/crossuser/models/{protocol}/{variant}/{model}/fold-{fold}.model",
        predictions="results/crossuser/predictions/{protocol}/{variant}/{model}/fold-{fold}.csv.gz",
    params:
        model=lambda w: CU["models"][w.model],
        seed=config["seed"],
    log:
        "logs/crossuser/train/{protocol}/{variant}/{model}/fold-{fold}.log",
    benchmark:
        "benchmarks/crossuser/train/{protocol}/{variant}/{model}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=120,
    script:
        "../../scripts/crossuser_train.py"


rule disentangle_train:
    """Dual-encoder disentanglement model on one LOSO fold -> latents and reconstructions."""
    input:
        samples="results/disentangle/samples/{measure}.h5",
        folds="results/disentangle/folds/loso.csv",
    output:
        model="results/disentangle/models/{measure}/fold-{fold}.pt",
        latents="results/disentangle/latents/{measure}/fold-{fold}.h5",
    params:
        model=DIS["model"],
        as_published=DIS["as_published"],
        seed=config["seed"],
    log:
        "logs/disentangle/train/{measure}/fold-{fold}.log",
    benchmark:
        "benchmarks/disentangle/train/{measure}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    script:
        "../../scripts/disentangle_train.py"


rule disentangle_classify:
    """Latent classifiers: gesture and subject from pattern latents vs subject latents."""
    input:
        latents="results/disentangle/latents/{measure}/fold-{fold}.h5",
    output:
        predictions="results/disentangle/predictions/{measure}/fold-{fold}.csv.gz",
    params:
        knn_neighbors=DIS["knn_neighbors"],
    log:
        "logs/disentangle/classify/{measure}/fold-{fold}.log",
    conda:
        "../../envs/torch.yaml"
    group:
        "classical"
    threads: 1
    resources:
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=20,
    script:
        "../../scripts/disentangle_classify.py"


rule hdcnn_train:
    """Width-scaled MobileNetV2 on one fold of HD-sEMG images."""
    input:
        images="results/hdcnn/images/{dataset}.h5",
        folds="results/hdcnn/folds/{dataset}/{split}.csv",
    output:
        model="results/hdcnn/models/{dataset}/{split}/w{width}/fold-{fold}.model",
        predictions="results/hdcnn/predictions/{dataset}/{split}/w{width}/fold-{fold}.csv.gz",
    params:
        train=HD["train"],
        width=lambda w: float(w.width),
        seed=config["seed"],
    log:
        "logs/hdcnn/train/{dataset}/{split}/w{width}/fold-{fold}.log",
    benchmark:
        "benchmarks/hdcnn/train/{dataset}/{split}/w{width}/fold-{fold}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["resources"]["train_threads"]
    resources:
        mem_mb=lambda wc, attempt: config["resources"]["train_mem_mb"] * attempt,
        runtime=240,
    script:
        "../../scripts/hdcnn_train.py"
