"""Recurrent layers, as torch.nn.RNN, LSTM and GRU and their single-step cells.

They are compositions of the core's differentiable ops, arranged as ATen's CPU layers
compute them: per layer and direction one `linear` projects the whole input sequence
(x @ W_ih^T + b_ih), then each time step adds the hidden state's projection
(h @ W_hh^T + b_hh) and applies the gates:

    RNN   h' = tanh(hh + ih)  (or relu)
    LSTM  i, f, g, o = chunks of hh + ih;  c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
          h' = sigmoid(o) * tanh(c')  (one C op, pa_lstm_cell, for the pointwise part)
    GRU   r = sigmoid(hh_r + ih_r);  z = sigmoid(hh_z + ih_z)
          n = tanh(ih_n + r * hh_n);  h' = (h - n) * z + n

An unpacked sequence runs each layer and direction as one C op instead (pa_rnn_layer,
pa_gru_layer, and pa_lstm_layer without proj_size): the same steps with the same
roundings, and a backward through time that forms dW_hh as one product over all steps.

Parameters are named, shaped, ordered and initialised (uniform in ±1/sqrt(hidden_size))
as in PyTorch, so a state_dict moves between the two.  A PackedSequence input runs each
step on the sequences still going (ATen's packed layers); an LSTM with proj_size projects
each step's h by weight_hr (h' = (o * tanh(c')) @ W_hr^T), as PyTorch's.
"""
from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

from ..._creation import empty, zeros
from ..._ffi import lib
from ..._functions import cat, stack
from ..._tensor import Tensor, call
from .. import functional as F
from .._layers import _handle
from .. import init
from ..parameter import Parameter
from ..utils.rnn import PackedSequence
from .module import Module

if TYPE_CHECKING:  # annotation-only aliases
    from ..._creation import _DType

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_size(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be {'greater than zero' if minimum == 1 else 'non-negative'}, "
                         f"got {value}")
    return value


def _rnn_step(mode: str, ih: Tensor, h: Tensor, c: Any, w_hh: Tensor,
              b_hh: Tensor | None, w_hr: Tensor | None = None) -> tuple[Tensor, Any]:
    """One time step of a layer: ih is the input's projection for this step; an LSTM
    with projections (w_hr) returns h' @ w_hr^T as its hidden state."""
    hh = F.linear(h, w_hh, b_hh)
    if mode == "LSTM":  # the gates' pointwise part in one C op: [h'; c'], taken as two views
        if c.dim() == 2 and c.shape[1] > 1 and c.stride(1) != 1:
            c = c.contiguous()
        packed = call(lib.pa_lstm_cell, (hh + ih)._h, c._h)
        h_new = call(lib.pa_select, packed._h, 0, 0)
        if w_hr is not None:
            h_new = F.linear(h_new, w_hr)
        return h_new, call(lib.pa_select, packed._h, 0, 1)
    if mode == "GRU":
        ih_r, ih_z, ih_n = ih.chunk(3, 1)
        hh_r, hh_z, hh_n = hh.chunk(3, 1)
        r = F.sigmoid(hh_r + ih_r)
        z = F.sigmoid(hh_z + ih_z)
        n = F.tanh(ih_n + hh_n * r)
        return (h - n) * z + n, None
    pre = hh + ih
    return (F.tanh(pre) if mode == "RNN_TANH" else F.relu(pre)), None


class RNNBase(Module):
    """The layers' common machinery (as torch.nn.RNNBase)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        _check_size("input_size", input_size, 0)
        _check_size("hidden_size", hidden_size, 1)
        _check_size("num_layers", num_layers, 1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability "
                             "of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}")
        if isinstance(proj_size, bool) or not isinstance(proj_size, int):
            raise TypeError(f"proj_size should be of type int, got: {type(proj_size).__name__}")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        real_hidden = proj_size or hidden_size  # the size of h (a projection's, with proj_size)
        self._flat_weights_names: list[str] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes: list[tuple[str, tuple[int, ...]]] = [
                    ("weight_ih", (gate_size, layer_input)), ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size:
                    shapes += [("weight_hr", (proj_size, hidden_size))]
                for name, shape in shapes:
                    setattr(self, name + suffix, Parameter(empty(*shape, dtype=dtype)))
                    self._flat_weights_names.append(name + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op, as on PyTorch's CPU: the weights are used where they lie."""

    @property
    def _flat_weights(self) -> list[Tensor]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Tensor]]:
        per = (4 if self.bias else 2) + (1 if self.proj_size else 0)
        w = self._flat_weights
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _layer_params(self, layer: int, direction: int) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        if self.bias:
            return (getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix),
                    getattr(self, "bias_ih" + suffix), getattr(self, "bias_hh" + suffix))
        return getattr(self, "weight_ih" + suffix), getattr(self, "weight_hh" + suffix), None, None

    def _projection(self, layer: int, direction: int) -> Tensor | None:
        """An LSTM's weight_hr (proj_size, hidden_size) for the layer and direction, or None."""
        if not self.proj_size:
            return None
        return getattr(self, f"weight_hr_l{layer}" + ("_reverse" if direction == 1 else ""))

    def _check_hidden(self, hx: Any, expected: tuple[int, ...], what: str) -> None:
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: {what} must be a Tensor, not {type(hx).__name__}")
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"Expected {what} size {expected}, got {list(hx.shape)}")

    def _initial_state(self, hx: Any, batch: int, dtype: Any, batched: bool) -> tuple[Tensor, Any]:
        """(h_0, c_0) of shape (layers * directions, batch, hidden) (h's last dim is
        proj_size for an LSTM with projections): zeros for hx None, else hx checked (and
        given the batch dim for an unbatched input); c_0 is None unless the layer is an
        LSTM."""
        lstm = self.mode == "LSTM"
        stacked = self.num_layers * (2 if self.bidirectional else 1)
        shape = (stacked, batch, self.proj_size or self.hidden_size)
        cell_shape = (stacked, batch, self.hidden_size)
        if hx is None:
            return zeros(*shape, dtype=dtype), (zeros(*cell_shape, dtype=dtype) if lstm else None)
        name = type(self).__name__
        if lstm:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h_0, c_0)")
            h0, c0 = hx
        else:
            h0, c0 = hx, None
        for what, t in (("hidden[0]", h0), ("hidden[1]", c0)) if lstm else (("hidden", h0),):
            if not batched:
                if isinstance(t, Tensor) and t.dim() != 2:
                    raise RuntimeError(f"For unbatched 2-D input, {what} should also be 2-D but got "
                                       f"{t.dim()}-D tensor")
                t = t.unsqueeze(1) if isinstance(t, Tensor) else t
            self._check_hidden(t, cell_shape if what == "hidden[1]" else shape, what if lstm else "hidden")
        if not batched:
            h0 = h0.unsqueeze(1)
            c0 = c0.unsqueeze(1) if lstm else None
        return h0, c0

    def _check_input_size(self, input: Tensor) -> None:
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")

    def _run_layers(self, layer_input: Tensor, h0: Tensor, c0: Any,
                    run: Any) -> tuple[Tensor, Tensor, Any]:
        """Every layer and direction over the sequence: `run(ih, h, c, w_hh, b_hh, w_hr, reverse)`
        returns one direction's (output, h_n, c_n) from the input's projection ih; the
        directions' outputs are concatenated on the last dim.  Returns the last layer's
        output and the stacked final states (c_n None unless LSTM)."""
        directions = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        h_n: list[Tensor] = []
        c_n: list[Tensor] = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, direction)
                ih = F.linear(layer_input, w_ih, b_ih)  # every step's input projection at once
                k = layer * directions + direction
                out, h, c = run(ih, h0[k], c0[k] if lstm else None, w_hh, b_hh, self._projection(layer, direction),
                                direction == 1)
                outputs.append(out)
                h_n.append(h)
                if lstm:
                    c_n.append(c)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_n, 0), (stack(c_n, 0) if lstm else None)

    def forward(self, input: Any, hx: Any = None) -> tuple[Any, Any]:
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor or a PackedSequence, not {type(input).__name__}")
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D tensor instead")
        batched = input.dim() == 3
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        steps, batch = input.shape[0], input.shape[1]
        self._check_input_size(input)
        h0, c0 = self._initial_state(hx, batch, input.dtype, batched)
        mode, hidden_size = self.mode, self.proj_size or self.hidden_size

        def run(ih: Tensor, h: Tensor, c: Any, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None,
                reverse: bool) -> tuple[Tensor, Tensor, Any]:
            if mode == "LSTM" and w_hr is None and steps:  # the whole direction in one C op
                packed = call(lib.pa_lstm_layer, ih._h, h._h, c._h, w_hh._h, _handle(b_hh), int(reverse))
                return packed[:steps], packed[0 if reverse else steps - 1], packed[steps]
            if mode == "GRU" and steps:
                hs = call(lib.pa_gru_layer, ih._h, h._h, w_hh._h, _handle(b_hh), int(reverse))
                return hs, hs[0 if reverse else steps - 1], None
            if mode in ("RNN_TANH", "RNN_RELU") and steps:
                hs = call(lib.pa_rnn_layer, ih._h, h._h, w_hh._h, _handle(b_hh), int(mode == "RNN_RELU"),
                          int(reverse))
                return hs, hs[0 if reverse else steps - 1], None
            out: list[Any] = [None] * steps
            for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
                h, c = _rnn_step(mode, ih[t], h, c, w_hh, b_hh, w_hr)
                out[t] = h
            return (stack(out, 0) if steps else zeros(0, batch, hidden_size, dtype=ih.dtype)), h, c

        output, hidden_h, hidden_c = self._run_layers(input, h0, c0, run)
        if not batched:
            output, hidden_h = output.squeeze(1), hidden_h.squeeze(1)
            hidden_c = hidden_c.squeeze(1) if hidden_c is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((hidden_h, hidden_c) if self.mode == "LSTM" else hidden_h)

    def _forward_packed(self, input: PackedSequence, hx: Any) -> tuple[PackedSequence, Any]:
        """The layers over a PackedSequence, as ATen's packed layers: step t runs the
        batch_sizes[t] sequences still going; a sequence's final state is its state after
        its own last step (the reverse direction starts each sequence at its last step).
        hx and the returned state are in the batch's original order."""
        data, sizes = input.data, [int(n) for n in input.batch_sizes.numpy()]
        if not isinstance(data, Tensor) or data.dim() != 2:
            raise ValueError(f"{type(self).__name__}: a PackedSequence's data must be 2-D (steps of all "
                             f"sequences, features), got {getattr(data, 'shape', type(data).__name__)}")
        self._check_input_size(data)
        max_batch = sizes[0] if sizes else 0
        h0, c0 = self._initial_state(hx, max_batch, data.dtype, True)
        order = input.sorted_indices
        if hx is not None and order is not None:  # the state follows the batch into sorted order
            h0 = h0.index_select(1, order)
            c0 = c0.index_select(1, order) if c0 is not None else None
        mode = self.mode

        def run(ih: Tensor, h0: Tensor, c0: Any, w_hh: Tensor, b_hh: Tensor | None, w_hr: Tensor | None,
                reverse: bool) -> tuple[Tensor, Tensor, Any]:
            out: list[Tensor] = []
            if not reverse:
                finished: list[tuple[Tensor, Any]] = []  # states of sequences that ended, latest first
                h, c, offset, last = h0, c0, 0, max_batch
                for n in sizes:
                    if n < last:
                        finished.insert(0, (h[n:last], c[n:last] if c is not None else None))
                        h, c = h[:n], (c[:n] if c is not None else None)
                    h, c = _rnn_step(mode, ih[offset:offset + n], h, c, w_hh, b_hh, w_hr)
                    out.append(h)
                    offset, last = offset + n, n
                pieces = [(h, c)] + finished
                h_n = cat([p[0] for p in pieces], 0) if len(pieces) > 1 else h
                c_n = (cat([p[1] for p in pieces], 0) if len(pieces) > 1 else c) if c is not None else None
                return cat(out, 0), h_n, c_n
            offset, last = ih.shape[0], sizes[-1]
            h, c = h0[:last], (c0[:last] if c0 is not None else None)
            for n in reversed(sizes):
                if n > last:  # sequences whose last step this is join with their initial state
                    h = cat([h, h0[last:n]], 0)
                    c = cat([c, c0[last:n]], 0) if c is not None else None
                h, c = _rnn_step(mode, ih[offset - n:offset], h, c, w_hh, b_hh, w_hr)
                out.append(h)
                offset, last = offset - n, n
            out.reverse()
            return cat(out, 0), h, c

        output, hidden_h, hidden_c = self._run_layers(data, h0, c0, run)
        if input.unsorted_indices is not None:  # back to the caller's order
            hidden_h = hidden_h.index_select(1, input.unsorted_indices)
            hidden_c = hidden_c.index_select(1, input.unsorted_indices) if hidden_c is not None else None
        packed = PackedSequence(output, input.batch_sizes, input.sorted_indices, input.unsorted_indices)
        return packed, ((hidden_h, hidden_c) if self.mode == "LSTM" else hidden_h)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h' = tanh(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh) (or relu), as torch.nn.RNN."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: _DType | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory, as torch.nn.LSTM: forward returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit, as torch.nn.GRU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: Any = None, dtype: _DType | None = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, device, dtype)


class RNNCellBase(Module):
    """One time step (as torch.nn.RNNCellBase): weight_ih, weight_hh, bias_ih, bias_hh."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None,
                 dtype: _DType | None = None) -> None:
        super().__init__()
        _check_size("input_size", input_size, 0)
        _check_size("hidden_size", hidden_size, 1)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty(num_chunks * hidden_size, input_size, dtype=dtype))
        self.weight_hh = Parameter(empty(num_chunks * hidden_size, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, mode: str, input: Tensor, hx: Any) -> tuple[Tensor, Any]:
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, not {type(input).__name__}")
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {x.shape[1]} expected "
                               f"{self.input_size}")
        shape = (x.shape[0], self.hidden_size)
        lstm = mode == "LSTM"
        h: Any
        c: Any
        if hx is None:
            h, c = zeros(*shape, dtype=x.dtype), (zeros(*shape, dtype=x.dtype) if lstm else None)
        else:
            h, c = hx if lstm else (hx, None)
            for t in ((h, c) if lstm else (h,)):
                if not isinstance(t, Tensor):
                    raise TypeError(f"{name}: hx must be a Tensor, not {type(t).__name__}")
                if t.dim() != input.dim():
                    raise ValueError(f"{name}: Expected hidden to be {input.dim()}D, got {t.dim()}D instead")
            if not batched:
                h, c = h.unsqueeze(0), (c.unsqueeze(0) if lstm else None)
            for t in ((h, c) if lstm else (h,)):
                if tuple(t.shape) != shape:
                    raise RuntimeError(f"hidden has inconsistent hidden_size: got {t.shape[-1]}, expected "
                                       f"{self.hidden_size}" if t.shape[-1] != self.hidden_size else
                                       f"Input batch size {shape[0]} doesn't match hidden batch size "
                                       f"{t.shape[0]}")
        h, c = _rnn_step(mode, F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh, self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (c.squeeze(0) if lstm else None)
        return h, c

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        return s + (f", nonlinearity={nonlinearity}" if nonlinearity != "tanh" else "")


class RNNCell(RNNCellBase):
    """h' = tanh(x @ W_ih^T + b_ih + h @ W_hh^T + b_hh) (or relu), as torch.nn.RNNCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: Any = None, dtype: _DType | None = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step("RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU", input, hx)[0]


class LSTMCell(RNNCellBase):
    """One LSTM step, as torch.nn.LSTMCell: returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: _DType | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        h, c = self._step("LSTM", input, hx)
        return h.clone(), c.clone()  # two tensors of their own (views of one result inside)


class GRUCell(RNNCellBase):
    """One GRU step, as torch.nn.GRUCell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None,
                 dtype: _DType | None = None) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step("GRU", input, hx)[0]
