"""book/diffusion/ddpm_mnist_torch: its U-Net, training loop and committed checkpoint."""

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genmod
from genmod.checkpoints import config_key, find_checkpoint
from genmod.diffusion import heldout_simple_loss, linear_schedule
from notebook_code import notebook_config, notebook_functions

ROOT = Path(__file__).resolve().parents[2]
NB = "book/diffusion/ddpm_mnist_torch.py"
NAMES = ["checkpoint_config", "ResBlock", "UNet", "train_ddpm"]
#: The key of the committed checkpoint (its file name): the notebook's checkpoint_config must
#: rebuild exactly its configuration, at every scale that loads it.
CHECKPOINT_KEY = "060e7d9762fc"


@pytest.fixture(scope="module")
def nb():
    config = notebook_config(NB, scale="book")
    return notebook_functions(NB, NAMES, {"config": config, "torch": torch, "nn": nn, "np": np,
                                          "linear_schedule": linear_schedule})


def schedule_of(config):
    return linear_schedule(config.num_diffusion_steps, config.noise_start, config.noise_end)


def digits(x, n):
    return torch.from_numpy(x[:n].astype(np.float32) / 127.5 - 1)[:, None]


@pytest.mark.parametrize("scale", ["quick", "book"])
def test_checkpoint_config_is_the_committed_checkpoints(scale):
    ns = notebook_functions(NB, ["checkpoint_config"], {"config": notebook_config(NB, scale=scale)})
    assert config_key(ns["checkpoint_config"]) == CHECKPOINT_KEY


def test_unet_maps_images_and_steps_to_noise_of_the_same_shape(nb):
    model = nb["UNet"](nb["checkpoint_config"])
    x = torch.randn(3, 1, 28, 28)
    out = model(x, torch.tensor([1, 500, 1000]))
    assert out.shape == x.shape
    # the step matters: the same image at two steps gives two predictions
    assert not torch.allclose(model(x[:1], torch.tensor([1])), model(x[:1], torch.tensor([1000])))


@pytest.mark.slow
def test_training_lowers_the_simple_loss(nb):
    """A few steps of the notebook's train_ddpm lower the held-out simple loss from its untrained
    value (about 1)."""
    (x_train, _), (x_test, _) = genmod.load_mnist(verbose=False)
    x0, x0_test = digits(x_train, 512), digits(x_test, 128)
    settings = genmod.Config(**{**nb["checkpoint_config"].as_dict(), "num_train_steps": 30,
                                "ema_decay": 0.0, "batch_size": 32})
    schedule = schedule_of(settings)
    torch.manual_seed(0)
    untrained = nb["UNet"](settings).eval()
    model, history = nb["train_ddpm"](settings, x0, device=torch.device("cpu"), seed=0,
                                      log_every=10)
    before = heldout_simple_loss(untrained, x0_test, schedule)
    after = heldout_simple_loss(model, x0_test, schedule)
    assert before > 0.5 and after < 0.7 * before, (before, after)
    assert history["step"] == [10, 20, 30]


@pytest.mark.slow
def test_committed_checkpoint_reproduces_its_recorded_loss(nb):
    """The checkpoint the notebook loads exists for its configuration, and its recorded held-out
    loss is reproduced."""
    config = nb["checkpoint_config"]
    found = find_checkpoint("ddpm_mnist_torch", config)
    assert found is not None, "book/diffusion/checkpoints has no checkpoint for checkpoint_config"
    record = found.provenance
    assert record["builder"] == "UNet"
    model = nb["UNet"](config)
    model.load_state_dict(torch.load(found.path, map_location="cpu", weights_only=True))
    (_, _), (x_test, _) = genmod.load_mnist(verbose=False)
    loss = heldout_simple_loss(model.eval(), digits(x_test, 256), schedule_of(config))
    assert loss == pytest.approx(record["metrics"]["heldout_simple_loss"], rel=1e-4)
    assert loss < 0.1, "the checkpoint should be a trained model"
    assert record["history"]["step"][-1] == config.num_train_steps


def test_the_notebooks_schedule_loses_its_signal_where_the_page_says():
    """ddpm_mnist_torch's schedule: SNR(600) = 0.027, and SNR(t) < 10^-2 from t = 675 on (the page
    glues both from the run; an earlier text said 'below 10^-2 by t = 600')."""
    snr = schedule_of(notebook_config(NB, scale="book")).snr.numpy()
    assert snr[600] == pytest.approx(0.0266, abs=1e-4)
    assert snr[674] > 1e-2 > snr[675] and np.all(np.diff(snr[1:]) < 0)
