"""torch.Generator, get/set_rng_state, fork_rng, and generator= in every random function,
sampler, random_split and DataLoader: independent, repeatable streams that leave the
global one alone."""
import numpy as np
import pytest

import pyautodiff as torch
from pyautodiff.utils.data import (DataLoader, RandomSampler, SubsetRandomSampler, TensorDataset,
                                   WeightedRandomSampler, random_split)

DRAWS = {
    "rand": lambda g: torch.rand(3, 4, generator=g),
    "randn": lambda g: torch.randn(5, generator=g, dtype=torch.float64),
    "randint": lambda g: torch.randint(0, 100, (6,), generator=g),
    "randperm": lambda g: torch.randperm(9, generator=g),
    "normal": lambda g: torch.normal(torch.zeros(4), torch.ones(4), generator=g),
    "normal_size": lambda g: torch.normal(2.0, 3.0, (4,), generator=g),
    "bernoulli": lambda g: torch.bernoulli(torch.full((8,), 0.5), generator=g),
    "multinomial": lambda g: torch.multinomial(torch.tensor([1.0, 2.0, 3.0]), 5, True, generator=g),
    "RandomSampler": lambda g: torch.tensor(list(RandomSampler(range(7), generator=g))),
    "RandomSampler_replacement": lambda g: torch.tensor(list(RandomSampler(range(7), True, 12, generator=g))),
    "SubsetRandomSampler": lambda g: torch.tensor(list(SubsetRandomSampler([3, 5, 8, 9], generator=g))),
    "WeightedRandomSampler": lambda g: torch.tensor(list(WeightedRandomSampler([1.0, 5.0, 2.0], 6, generator=g))),
    "random_split": lambda g: torch.tensor([list(s) for s in random_split(range(6), [3, 3], generator=g)]),
    "DataLoader": lambda g: torch.cat([b[0] for b in DataLoader(TensorDataset(torch.arange(10)), batch_size=3,
                                                                 shuffle=True, generator=g)]),
}


@pytest.mark.parametrize("name", list(DRAWS))
def test_a_seeded_generator_repeats_and_leaves_the_global_stream_alone(name):
    draw = DRAWS[name]
    torch.manual_seed(7)
    expected_global = torch.rand(4).tolist()
    torch.manual_seed(7)
    first = draw(torch.Generator().manual_seed(123))
    assert torch.rand(4).tolist() == expected_global  # the draw did not touch the global stream
    second = draw(torch.Generator().manual_seed(123))
    assert first.tolist() == second.tolist()
    g = torch.Generator().manual_seed(123)
    draw(g)
    assert draw(g).tolist() != first.tolist() or first.numel() <= 1  # its own state advanced
    torch.manual_seed(0)
    assert draw(None).tolist() != draw(None).tolist() or first.numel() <= 2


def test_generator_state_seed_and_default_generator():
    g = torch.Generator()
    assert g.initial_seed() == 67280421310721 and str(g.device) == "cpu"
    assert g.manual_seed(5) is g and g.initial_seed() == 5
    state = g.get_state()
    a = torch.rand(4, generator=g)
    g.set_state(state)
    assert torch.rand(4, generator=g).tolist() == a.tolist()
    s = g.seed()
    assert g.initial_seed() == s
    assert torch.manual_seed(3) is torch.default_generator
    assert torch.default_generator.initial_seed() == 3 == torch.initial_seed()
    b = torch.rand(2)
    torch.manual_seed(3)
    assert torch.rand(2, generator=torch.default_generator).tolist() == b.tolist()
    with pytest.raises(ValueError, match="8-word int64 tensor"):
        g.set_state(torch.zeros(3))
    with pytest.raises(TypeError, match="generator must be a torch.Generator, not int"):
        torch.rand(2, generator=5)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        RandomSampler(range(3), generator="seed")


def test_get_set_rng_state_and_fork_rng():
    torch.manual_seed(11)
    torch.randn(3)  # leaves a spare normal in the state
    state = torch.get_rng_state()
    a, n = torch.rand(5), torch.randn(3)
    torch.set_rng_state(state)
    assert torch.rand(5).tolist() == a.tolist() and torch.randn(3).tolist() == n.tolist()
    torch.set_rng_state(state)
    with torch.random.fork_rng():
        torch.rand(100)
    assert torch.rand(5).tolist() == a.tolist()
    assert torch.get_rng_state().dtype == torch.int64 and tuple(torch.get_rng_state().shape) == (8,)


def test_generators_are_independent_of_each_other():
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    x1 = [torch.rand(2, generator=g1).tolist() for _ in range(3)]
    torch.rand(50, generator=torch.Generator().manual_seed(9))
    x2 = [torch.rand(2, generator=g2).tolist() for _ in range(3)]
    assert x1 == x2
    assert np.unique(np.array(x1).reshape(-1)).size == 6
