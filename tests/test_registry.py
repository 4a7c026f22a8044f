"""The registry mechanism, and that every registry of the library names what it knows."""
from pathlib import Path

import pytest

from myoflow.errors import ConfigError
from myoflow.registry import Registry


def _demo():
    reg = Registry("widget")

    @reg.register("plain")
    def plain(x, /, *, size=3, colour="red"):
        return (x, size, colour)

    class Fancy:
        def __init__(self, input_shape, n_classes, depth=2):
            self.args = (input_shape, n_classes, depth)

    reg.register("fancy", Fancy)
    return reg, plain, Fancy


def test_register_get_names_and_contains():
    reg, plain, Fancy = _demo()
    assert reg.get("plain") is plain and reg.get("fancy") is Fancy
    assert reg.names() == ["fancy", "plain"] and list(reg) == ["fancy", "plain"] and len(reg) == 2
    assert "plain" in reg and "other" not in reg
    assert reg.items() == [("fancy", Fancy), ("plain", plain)]


def test_unknown_name_lists_the_known_ones():
    reg, _, _ = _demo()
    with pytest.raises(ConfigError, match=r"^unknown widget 'sprocket'; known: fancy, plain$"):
        reg.get("sprocket")
    with pytest.raises(ConfigError, match="unknown widget"):
        reg.get(["unhashable"])  # a wrong-typed config value is an unknown name, not a TypeError


def test_register_twice_raises():
    reg, plain, _ = _demo()
    reg.register("plain", plain)  # the same object again is harmless
    with pytest.raises(ValueError, match="widget 'plain' is registered twice"):
        reg.register("plain", lambda x: x)
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("plain")(lambda x: x)


def test_parameters_skip_caller_and_positional_only_arguments():
    reg, _, _ = _demo()
    assert reg.parameters("plain") == {"size": 3, "colour": "red"}
    assert reg.parameters("fancy") == {"depth": 2}
    assert reg.parameters("plain", exclude={"colour"}) == {"size": 3}


def test_a_subclass_passing_kwargs_on_takes_its_bases_parameters():
    reg = Registry("widget")

    class Base:
        def __init__(self, n_classes, width=8, depth=2):
            self.width, self.depth = width, depth

    @reg.register("reshaped")
    class Reshaped(Base):  # its own default wins; the rest are the base's
        def __init__(self, n_classes, depth=5, **base_params):
            super().__init__(n_classes, depth=depth, **base_params)

    assert reg.parameters("reshaped") == {"depth": 5, "width": 8}
    assert reg.build("reshaped", 3, width=4).width == 4
    with pytest.raises(ConfigError, match="unknown parameter.*'wdth'.*known parameters: depth, width"):
        reg.build("reshaped", 3, wdth=4)


def test_unknown_parameter_is_named_with_the_known_parameters():
    reg, _, _ = _demo()
    assert reg.check_params("plain", {"size": 5}) == {"size": 5}
    with pytest.raises(ConfigError, match=r"^models\.x: unknown parameter\(s\) 'sise', 'tone' for widget 'plain'; "
                                          r"known parameters: colour, size$"):
        reg.check_params("plain", {"sise": 5, "tone": 1, "size": 1}, where="models.x")


def test_build_checks_parameters_then_calls():
    reg, _, _ = _demo()
    assert reg.build("plain", 1, size=4) == (1, 4, "red")
    assert reg.build("fancy", (8, 40), 5, depth=3).args == ((8, 40), 5, 3)
    with pytest.raises(ConfigError, match="'width'"):
        reg.build("fancy", (8, 40), 5, width=3)


# ---------------------------------------------------------------------------------------------
# the library's registries


def _registries():
    from myoflow.estimators import ESTIMATORS
    from myoflow.inputs.crossuser import VARIANTS
    from myoflow.inputs.disentangle import MEASURES
    from myoflow.losses import LOSSES
    from myoflow.models import MODELS
    from myoflow.preprocess import STEPS

    return {
        "loss": (LOSSES, {"ce", "cvar"}),
        "estimator": (ESTIMATORS, {"lda", "torch"}),
        "model": (MODELS, {"mhcnn", "cnn", "lstm", "mlp", "lstm_hcf", "cnn_hcf", "mobilenetv2", "disentangle"}),
        "preprocessing step": (STEPS, {"bandpass", "notch", "decimate", "bad_channels"}),
        "windowing variant": (VARIANTS, {"raw", "segmented", "relabeled", "standard", "standard_relabeled"}),
        "input measure": (MEASURES, {"raw", "envelope", "stft", "rms", "mav", "wl", "td", "stft_td"}),
    }


@pytest.mark.parametrize("kind", ["loss", "estimator", "model", "preprocessing step", "windowing variant",
                                  "input measure"])
def test_library_registry_lists_its_names_on_an_unknown_one(kind):
    reg, expected = _registries()[kind]
    assert reg.kind == kind
    assert expected <= set(reg.names())
    with pytest.raises(ConfigError, match=f"unknown {kind} 'no_such_thing'; known: ") as err:
        reg.get("no_such_thing")
    listed = str(err.value).split("known: ", 1)[1].split(", ")
    assert listed == reg.names()


def test_entry_points_reject_unknown_names_through_their_registry():
    import numpy as np

    from myoflow.estimators import build_estimator
    from myoflow.inputs.disentangle import hd_measure
    from myoflow.losses import make_loss
    from myoflow.models import build_model
    from myoflow.preprocess import check_steps

    with pytest.raises(ConfigError, match=r"unknown estimator 'svm'; known: lda, torch"):
        build_estimator("svm", {}, seed=0)
    with pytest.raises(ConfigError, match=r"unknown loss 'focal'; known: .*ce.*cvar"):
        make_loss("focal")
    with pytest.raises(ConfigError, match=r"unknown model 'resnet50'; known: cnn, cnn_hcf, disentangle"):
        build_model("ResNet50", (8, 40), 5)
    with pytest.raises(ConfigError, match=r"preprocess step 0: unknown preprocessing step 'hp'"):
        check_steps([{"step": "hp"}])
    with pytest.raises(ConfigError, match=r"unknown input measure 'fft'; known: envelope, mav, raw"):
        hd_measure(np.zeros((256, 2)), "fft")


SCHEMA = Path(__file__).parents[1] / "workflow" / "schemas" / "config.schema.yaml"

#: registry (module, name) -> the schema paths of the enums naming its entries (the first present is used)
SCHEMA_ENUMS = {
    ("myoflow.preprocess", "STEPS"): [("$defs", "dataset", "properties", "preprocess", "items", "properties", "step")],
    ("myoflow.losses", "LOSSES"): [("$defs", "torch_training", "properties", "loss")],
    ("myoflow.torch_estimator", "OPTIMIZERS"): [("$defs", "torch_training", "properties", "optimizer"),
                                                ("$defs", "torch_params", "properties", "optimizer")],
    ("myoflow.torch_estimator", "SCHEDULERS"): [("$defs", "torch_training", "properties", "scheduler"),
                                                ("$defs", "torch_params", "properties", "scheduler")],
    ("myoflow.estimators", "ESTIMATORS"): [("properties", "crossuser", "properties", "models", "additionalProperties",
                                            "properties", "estimator")],
    ("myoflow.inputs.crossuser", "VARIANTS"): [("properties", "crossuser", "properties", "variants", "items")],
    ("myoflow.inputs.disentangle", "MEASURES"): [("properties", "disentangle", "properties", "measures", "items"),
                                                 ("properties", "disentangle", "properties", "measure")],
    ("myoflow.inputs.hdcnn", "IMAGE_MODES"): [("properties", "hdcnn", "properties", "images", "properties", "mode")],
    ("myoflow.inputs.hdcnn", "REDUCERS"): [("properties", "hdcnn", "properties", "images", "properties", "reducer")],
    ("myoflow.inputs.hdcnn", "NORMALIZATIONS"): [("properties", "hdcnn", "properties", "images", "properties",
                                                  "normalize")],
    # registries of other modules, checked the same way
    ("myoflow.latents", "LATENT_CLASSIFIERS"): [("properties", "disentangle", "properties", "classifiers",
                                                 "items")],
    ("myoflow.splits", "SPLITS"): [("properties", "hdcnn", "properties", "splits", "items")],
    ("myoflow.runsheets", "DISENTANGLE_SPLITS"): [("properties", "disentangle", "properties", "splits", "items")],
    ("myoflow.disentangle", "CORRELATION_MODES"): [("properties", "disentangle", "properties", "correlation")],
}


def _schema_enum(schema: dict, paths) -> set | None:
    for path in paths:
        node = schema
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and "enum" in node:
            return {v for v in node["enum"] if v is not None}  # null: "none of them" (scheduler)
    return None


@pytest.mark.parametrize("module, attr", list(SCHEMA_ENUMS), ids=[a for _, a in SCHEMA_ENUMS])
def test_schema_enums_match_the_registries(module, attr):
    """Every name the config schema allows is registered, and every registered name is allowed."""
    import importlib

    import yaml

    schema = yaml.safe_load(SCHEMA.read_text())
    allowed = _schema_enum(schema, SCHEMA_ENUMS[(module, attr)])
    if allowed is None:
        pytest.skip(f"the schema has no enum for {attr}")
    registry = getattr(importlib.import_module(module), attr, None)
    if registry is None:
        pytest.skip(f"{module} has no {attr}")
    assert allowed == set(registry.names() if hasattr(registry, "names") else registry)
