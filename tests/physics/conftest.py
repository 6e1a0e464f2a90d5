"""Fixtures of the physics part's tests."""

import math
import time

import numpy as np
import pytest
import torch

import genmod
from genmod import ising
from genmod.ising_rbm import random_symmetry, symmetric_biases, visible_to_spins
from genmod.rbm import bernoulli, free_energy, gibbs_step
from notebook_code import notebook_config, notebook_functions

ISING_RBM_PY = "book/physics/ising_rbm_torch.py"
ISING_RBM_NAMES = ["lattice_energy_and_m", "sample_rbms", "builder", "train_pcd",
                   "checkpoint_energies", "CHECK", "TRAIN_SETTINGS", "long_config"]


@pytest.fixture(scope="session")
def ising_rbm_nb():
    """book/physics/ising_rbm_torch's own functions and its configuration at quick scale, taken
    from its .py without running it, on the CPU."""
    config = notebook_config(ISING_RBM_PY, scale="quick")
    namespace = dict(torch=torch, np=np, math=math, time=time, ising=ising, genmod=genmod,
                     bernoulli=bernoulli, gibbs_step=gibbs_step, free_energy=free_energy,
                     random_symmetry=random_symmetry, visible_to_spins=visible_to_spins,
                     symmetric_biases=symmetric_biases, config=config,
                     device=torch.device("cpu"))
    return notebook_functions(ISING_RBM_PY, ISING_RBM_NAMES, namespace)
