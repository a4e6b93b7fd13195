"""ConvVAE parity with the reference specification."""
import pytest
import torch
from torch import nn

from core.model import ConvVAE, config_from_state_dict
from tests.conftest import SHARED


def reference_model(latent=128, c=64, img=32, in_ch=3) -> nn.Module:
    """The reference ConvVAE written out literally from convvae.md (independent of core.model)."""
    m = nn.Module()
    m.encoder = nn.Sequential(
        nn.Conv2d(in_ch, c, 4, 2, 1), nn.ReLU(),
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU(),
        nn.Conv2d(2 * c, 4 * c, 4, 2, 1), nn.BatchNorm2d(4 * c), nn.ReLU(),
        nn.Conv2d(4 * c, 8 * c, 4, 2, 1), nn.BatchNorm2d(8 * c), nn.ReLU(),
    )
    flat = 8 * c * (img // 16) ** 2
    m.fc_mu, m.fc_logvar, m.fc_decode = nn.Linear(flat, latent), nn.Linear(flat, latent), nn.Linear(latent, flat)
    m.decoder = nn.Sequential(
        nn.ConvTranspose2d(8 * c, 4 * c, 4, 2, 1), nn.BatchNorm2d(4 * c), nn.ReLU(),
        nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1), nn.BatchNorm2d(2 * c), nn.ReLU(),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
        nn.ConvTranspose2d(c, in_ch, 4, 2, 1), nn.Sigmoid(),
    )
    return m


def test_state_dict_matches_reference_listing():
    listing = (SHARED / "reference" / "convvae_state_dict.txt").read_text().splitlines()
    expected = [(line.split(" ", 1)[0], eval(line.split(" ", 1)[1])) for line in listing]
    ours = [(k, tuple(v.shape)) for k, v in ConvVAE().state_dict().items()]
    assert ours == expected
    assert sum(p.numel() for p in ConvVAE().parameters()) == 6_304_003


def test_reference_state_dict_gives_identical_outputs():
    torch.manual_seed(0)
    ref = reference_model().eval()
    for mod in ref.modules():  # non-trivial BN statistics, so a mix-up would show
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
    ours = ConvVAE()
    ours.load_state_dict(ref.state_dict())
    ours.eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        h = ref.encoder(x).flatten(1)
        mu, logvar = ours.encode(x)
        assert torch.equal(mu, ref.fc_mu(h)) and torch.equal(logvar, ref.fc_logvar(h))
        expected = ref.decoder(ref.fc_decode(mu).view(-1, 512, 2, 2))
        assert torch.equal(ours.decode(mu), expected)


@pytest.mark.parametrize("latent,c,img,in_ch", [(128, 64, 32, 3), (16, 8, 64, 1), (32, 16, 16, 3)])
def test_hyperparameters_inferred_from_shapes(latent, c, img, in_ch):
    config = config_from_state_dict(reference_model(latent, c, img, in_ch).state_dict())
    assert (config.latent_dim, config.channels, config.img_size, config.in_ch) == (latent, c, img, in_ch)


def test_forward_shapes_and_range():
    model = ConvVAE(latent_dim=8, channels=8, img_size=64)
    recon, mu, logvar, z = model(torch.rand(2, 3, 64, 64))
    assert recon.shape == (2, 3, 64, 64) and mu.shape == logvar.shape == z.shape == (2, 8)
    assert recon.min() >= 0 and recon.max() <= 1


@pytest.mark.parametrize("img_size", [30, 8, 0])
def test_bad_image_size_is_a_clear_error(img_size):
    with pytest.raises(ValueError, match="img_size"):
        ConvVAE(img_size=img_size)
