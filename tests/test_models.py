"""Model registry and architectures: shapes, parameter counts, the MobileNetV2 params/MACs table."""
import pytest
import torch
from torch import nn

from myoflow.models import MODELS, build_model, count_params_and_macs, model_params
from myoflow.models.mobilenetv2 import scaled_expansion


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # single-threaded forward passes are faster than contended 2-thread ones on a shared machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# cross-user models


@pytest.mark.parametrize("name", ["mhcnn", "cnn", "lstm"])
def test_crossuser_shapes(name):
    model = build_model(name, (8, 40), 5).eval()
    x = torch.randn(4, 8, 40)
    logits = model(x)
    emb = model.embed(x)
    assert logits.shape == (4, 5)
    assert emb.shape == (4, 128)
    logits2, emb2 = model.forward_with_embedding(x)
    torch.testing.assert_close(logits2, logits)
    torch.testing.assert_close(emb2, emb)
    # the logits are a linear map of the embedding
    torch.testing.assert_close(model.classifier(emb), logits)


def test_mhcnn_parameter_count():
    # 3 x (8*32*8 + 32) + (96*128*4 + 128) + 2 x (128*128 + 128) + (128*5 + 5) = 89,189
    model = build_model("mhcnn", (8, 40), 5)
    assert n_params(model) == 89_189
    assert 88_000 < n_params(model) < 90_000


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # the reference conv below
def test_mhcnn_same_padding_keeps_length():
    model = build_model("MHCNN", (8, 40), 5).eval()  # names are case-insensitive
    x = torch.randn(2, 8, 40)
    for head, d in zip(model.heads, (1, 2, 4)):
        out = head(x)
        assert out.shape == (2, 32, 40)
        conv = head[1]
        ref = torch.relu(nn.functional.conv1d(x, conv.weight, conv.bias, dilation=d, padding="same"))
        torch.testing.assert_close(out, ref)


def test_mhcnn_other_channel_counts():
    model = build_model("mhcnn", (4, 20), 3, dropout=0.0)
    assert model(torch.randn(2, 4, 20)).shape == (2, 3)


def test_mlp_shapes():
    model = build_model("mlp", (72,), 5).eval()
    x = torch.randn(3, 72)
    assert model(x).shape == (3, 5)
    assert model.embed(x).shape == (3, 128)


@pytest.mark.parametrize("name", ["lstm_hcf", "cnn_hcf"])
def test_subwindow_feature_models_read_pieces_as_time(name):
    """(batch, pieces, features): the pieces are the time axis; reordering them changes the output
    of a model that has learnt nothing about order only through its sequence processing."""
    torch.manual_seed(0)
    model = build_model(name, (4, 32), 5, dropout=0.0).eval()
    x = torch.randn(3, 4, 32)
    with torch.no_grad():
        out, emb = model(x), model.embed(x)
        flipped = model(x.flip(1))
    assert out.shape == (3, 5) and emb.shape == (3, 128)
    assert not torch.allclose(out, flipped)
    with pytest.raises(ValueError, match=r"\(pieces, features\)"):
        build_model(name, (4,), 5)


def test_cnn_same_padding_keeps_short_inputs():
    model = build_model("cnn", (8, 4), 5, padding="same").eval()
    assert model(torch.randn(2, 8, 4)).shape == (2, 5)
    with pytest.raises(ValueError, match="too short"):
        build_model("cnn", (8, 4), 5)


# ---------------------------------------------------------------------------------------------
# MobileNetV2


@pytest.mark.parametrize(
    "width, params_m, macs_m, p_digits",
    [
        (1.0, 2.314, 18.303, 3),
        (0.7, 1.712, 12.967, 3),
        (0.4, 1.110, 7.632, 3),
        (0.2, 0.8085, 4.964, 4),
    ],
)
def test_mobilenetv2_matches_published_table(width, params_m, macs_m, p_digits):
    model = build_model("mobilenetv2", (1, 8, 24), 8, width=width)
    params, macs = count_params_and_macs(model, (1, 8, 24))
    assert round(params / 1e6, p_digits) == params_m
    assert round(macs / 1e6, 3) == macs_m
    assert params == n_params(model)


def test_mobilenetv2_width_scales_expansion_only():
    assert [scaled_expansion(6, w) for w in (1.0, 0.7, 0.4, 0.2)] == [6, 4, 2, 1]
    assert scaled_expansion(1, 0.2) == 1
    small = build_model("mobilenetv2", (1, 8, 24), 8, width=0.2)
    big = build_model("mobilenetv2", (1, 8, 24), 8, width=1.0)
    # channel counts are identical; only the hidden (expanded) widths differ
    assert small.head.in_channels == big.head.in_channels == 320
    assert small.blocks[1].expand.out_channels == 16 and big.blocks[1].expand.out_channels == 96


@pytest.mark.parametrize("rows", [8, 7])
def test_mobilenetv2_image_sizes(rows):
    model = build_model("mobilenetv2", (1, rows, 24), 8, width=0.2).eval()
    x = torch.randn(2, 1, rows, 24)
    assert model(x).shape == (2, 8)
    assert model.embed(x).shape == (2, 1280 * 1 * 3)


def test_count_rules_on_hand_computed_model():
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),  # 4*5*5 outputs x 2*9 = 1800 (bias not counted)
        nn.BatchNorm2d(4),  # 100 elements x 2 x 2 (affine) = 400
        nn.ReLU(),  # 0
        nn.Flatten(),
        nn.Linear(100, 3),  # 100*3 = 300
    )
    params, macs = count_params_and_macs(model, (2, 5, 5))
    assert params == (2 * 4 * 9 + 4) + 8 + (100 * 3 + 3)
    assert macs == 1800 + 400 + 300
    assert model.training  # mode restored


def test_count_restores_eval_mode_and_counts_conv1d():
    model = build_model("mhcnn", (8, 40), 5).eval()
    params, macs = count_params_and_macs(model, (8, 40))
    assert params == 89_189 and macs > 0
    assert not model.training


# ---------------------------------------------------------------------------------------------
# disentanglement model


def test_disentangle_default_shapes():
    model = build_model("disentangle", (8, 16, 16), 0).eval()
    x = torch.randn(2, 8, 16, 16)
    recon, p, s = model(x)
    assert p.shape == s.shape == (2, 128, 2, 2)
    assert model.latent_dim == 512
    assert recon.shape == x.shape
    assert model.discriminator(x).shape == (2, 1)
    assert model.decode(p.flatten(1), s.flatten(1)).shape == x.shape
    # decoder input has 256 channels; discriminator input F*256
    assert model.decoder.net[0].in_channels == 256
    assert model.discriminator.net[0].in_features == 8 * 256


def test_disentangle_small_widths():
    model = build_model(
        "disentangle", (3, 16, 16), 0, encoder_channels=(8, 8, 4), decoder_channels=(8, 4), disc_hidden=(16, 8)
    ).eval()
    recon, p, _ = model(torch.randn(2, 3, 16, 16))
    assert p.shape == (2, 4, 2, 2) and recon.shape == (2, 3, 16, 16)


def test_disentangle_upsample_decoder_and_a_16x4_grid():
    """The alternative decoder (nearest upsample + reflection pad + conv) rebuilds the same shapes;
    two encoder blocks take a 16 x 4 grid (flexemg) to a 4 x 1 latent map."""
    model = build_model("disentangle", (3, 16, 16), 0, encoder_channels=(8, 8, 4), decoder_channels=(8, 4),
                        disc_hidden=(16, 8), decoder="upsample").eval()
    kinds = {type(m).__name__ for m in model.decoder.modules()}
    assert {"Upsample", "ReflectionPad2d"} <= kinds and "ConvTranspose2d" not in kinds
    recon, p, _ = model(torch.randn(2, 3, 16, 16))
    assert recon.shape == (2, 3, 16, 16)
    flex = build_model("disentangle", (2, 16, 4), 0, encoder_channels=(8, 4), decoder_channels=(8,),
                       disc_hidden=(16, 8), decoder="upsample").eval()
    recon, p, s = flex(torch.randn(2, 2, 16, 4))
    assert p.shape == s.shape == (2, 4, 4, 1) and recon.shape == (2, 2, 16, 4)
    with pytest.raises(ValueError, match="style"):
        build_model("disentangle", (3, 16, 16), 0, decoder="bilinear")


def test_disentangle_rejects_bad_shapes():
    with pytest.raises(ValueError, match="divisible"):
        build_model("disentangle", (8, 12, 16), 0)
    with pytest.raises(ValueError, match="decoder_channels"):
        build_model("disentangle", (8, 16, 16), 0, decoder_channels=(64,))


# ---------------------------------------------------------------------------------------------
# registry errors


def test_unknown_model_name_is_named_and_known_ones_listed():
    with pytest.raises(ValueError, match="resnet50") as err:
        build_model("resnet50", (8, 40), 5)
    for name in MODELS:
        assert name in str(err.value)


def test_unknown_model_param_is_named_and_known_ones_listed():
    with pytest.raises(ValueError, match="n_filter") as err:
        build_model("mhcnn", (8, 40), 5, n_filter=16)
    assert "'n_filter'" in str(err.value) and "dilations" in str(err.value)


def test_model_params_lists_defaults():
    params = model_params("mobilenetv2")
    assert params["width"] == 1.0
    assert "input_shape" not in params and "n_classes" not in params


def test_wrong_input_rank_raises():
    with pytest.raises(ValueError, match="channels"):
        build_model("mhcnn", (8,), 5)
    with pytest.raises(ValueError, match="rows"):
        build_model("mobilenetv2", (8, 24), 8)
