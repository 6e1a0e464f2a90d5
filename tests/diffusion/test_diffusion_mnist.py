"""book/diffusion/ddpm_mnist_torch: its U-Net, training loop and committed checkpoint."""

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import genmod
from genmod.checkpoints import find_checkpoint
from genmod.diffusion import linear_schedule
from notebook_code import notebook_config, notebook_functions

ROOT = Path(__file__).resolve().parents[2]
NB = "book/diffusion/ddpm_mnist_torch.py"
NAMES = ["TRAINING_SETTINGS", "training_config", "checkpoint_config", "UNet", "train_ddpm", "heldout_simple_loss"]


@pytest.fixture(scope="module")
def nb():
    config = notebook_config(NB, scale="book")
    return notebook_functions(NB, NAMES, {"config": config, "genmod": genmod, "torch": torch, "nn": nn, "np": np,
                                          "math": math, "time": time, "linear_schedule": linear_schedule})


def test_unet_maps_images_and_steps_to_noise_of_the_same_shape(nb):
    model = nb["UNet"](nb["checkpoint_config"])
    x = torch.randn(3, 1, 28, 28)
    out = model(x, torch.tensor([1, 500, 1000]))
    assert out.shape == x.shape
    # the step matters: the same image at two steps gives two predictions
    assert not torch.allclose(model(x[:1], torch.tensor([1])), model(x[:1], torch.tensor([1000])))


def test_training_lowers_the_simple_loss(nb):
    """A few steps of the notebook's train_ddpm lower the held-out simple loss from its untrained value (about 1)."""
    (x_train, _), (x_test, _) = genmod.load_mnist(verbose=False)
    x0 = torch.from_numpy(x_train[:512].astype(np.float32) / 127.5 - 1)[:, None]
    x0_test = torch.from_numpy(x_test[:128].astype(np.float32) / 127.5 - 1)[:, None]
    settings = nb["training_config"](nb["checkpoint_config"], num_train_steps=30, ema_decay=0.0, batch_size=32)
    torch.manual_seed(0)
    untrained = nb["UNet"](settings)
    model, history = nb["train_ddpm"](settings, x0, device=torch.device("cpu"), seed=0, log_every=10, verbose=False)
    before = nb["heldout_simple_loss"](untrained, x0_test, settings)
    after = nb["heldout_simple_loss"](model, x0_test, settings)
    assert before > 0.5 and after < 0.7 * before, (before, after)
    assert history["step"] == [10, 20, 30]


def test_committed_checkpoint_reproduces_its_recorded_loss(nb):
    """The checkpoint the notebook loads exists for its configuration, and its recorded held-out loss is reproduced."""
    found = find_checkpoint("ddpm_mnist_torch", nb["checkpoint_config"])
    assert found is not None, "book/diffusion/checkpoints has no checkpoint for the notebook's checkpoint_config"
    record = found.provenance
    model = nb["UNet"](nb["checkpoint_config"])
    model.load_state_dict(torch.load(found.path, map_location="cpu", weights_only=True))
    (_, _), (x_test, _) = genmod.load_mnist(verbose=False)
    x0_test = torch.from_numpy(x_test[:256].astype(np.float32) / 127.5 - 1)[:, None]
    loss = nb["heldout_simple_loss"](model.eval(), x0_test, nb["checkpoint_config"])
    assert loss == pytest.approx(record["metrics"]["heldout_simple_loss"], rel=1e-4)
    assert loss < 0.1, "the checkpoint should be a trained model"
    assert record["history"]["step"][-1] == nb["checkpoint_config"].num_train_steps
