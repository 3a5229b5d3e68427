"""Datasets, samplers and the DataLoader (as torch.utils.data)."""
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, get_worker_info,
                      random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                      WeightedRandomSampler)

__all__ = ["Dataset", "IterableDataset", "ChainDataset", "get_worker_info", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader", "default_collate",
           "default_convert", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]
