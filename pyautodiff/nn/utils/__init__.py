"""nn.utils: gradient clipping, sequence padding and packing, flattening parameters to a
vector, weight and spectral normalisation."""
from . import parametrizations, parametrize, rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .weight_norms import remove_spectral_norm, remove_weight_norm, spectral_norm, weight_norm

__all__ = ["parametrize", "parametrizations", "clip_grad_norm_", "clip_grad_value_", "get_total_norm", "rnn", "parameters_to_vector",
           "vector_to_parameters", "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]
