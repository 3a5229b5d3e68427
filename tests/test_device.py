"""torch.device / torch.cuda / torch.backends boilerplate on a CPU-only library: the
idioms run, the cpu is the only device that holds tensors, anything else is refused."""
import copy
import pickle

import pytest

import pyautodiff as torch


def test_device_objects_parse_compare_and_print_as_pytorch():
    d = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert d == torch.device("cpu") and d != torch.device("cpu", 1) and d.type == "cpu" and d.index is None
    assert repr(torch.device("cuda:1")) == "device(type='cuda', index=1)" and str(torch.device("cuda", 1)) == "cuda:1"
    assert torch.device(torch.device("cpu:0")).index == 0
    assert len({torch.device("cpu"), torch.device("cpu"), torch.device("cpu", 0)}) == 2
    assert pickle.loads(pickle.dumps(torch.device("cuda:3"))) == torch.device("cuda", 3)
    assert copy.deepcopy(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(RuntimeError, match="device type at start of device string: gpu"):
        torch.device("gpu")
    with pytest.raises(RuntimeError, match="Invalid device string: 'cuda:x'"):
        torch.device("cuda:x")


def test_cpu_tensors_and_modules_accept_the_cpu_device():
    d = torch.device("cpu")
    t = torch.ones(2, device=d).to(d).to("cpu:0").cpu()
    assert t.device == d and not t.is_cuda and str(t.device) == "cpu"
    for make in (torch.zeros_like, torch.ones_like, torch.empty_like, torch.rand_like, torch.randn_like):
        assert make(t, device="cpu").shape == (2,)
    model = torch.nn.Linear(2, 3).to(d).to(device="cpu")
    assert model(t).shape == (3,)
    assert torch.get_default_dtype() == torch.float32 and torch.tensor([1.5]).dtype == torch.get_default_dtype()


@pytest.mark.parametrize("call", [
    lambda: torch.ones(2, device="cuda"),
    lambda: torch.tensor([1.0], device=torch.device("cuda", 0)),
    lambda: torch.arange(3, device="mps"),
    lambda: torch.zeros_like(torch.ones(1), device="cuda"),
    lambda: torch.ones(1).to("cuda"),
    lambda: torch.ones(1).to(device="cpu:1"),
    lambda: torch.nn.Linear(1, 1).to("cuda"),
], ids=["ones", "tensor", "arange", "zeros_like", "to", "to_cpu1", "module_to"])
def test_other_devices_are_refused_by_name(call):
    with pytest.raises(ValueError, match=r"only the 'cpu' device exists in pyautodiff"):
        call()
    with pytest.raises(ValueError, match=r"cuda: only the 'cpu' device"):
        torch.ones(1).cuda()


def test_cuda_and_backends_boilerplate():
    import pyautodiff.cuda as cuda

    assert cuda is torch.cuda and not cuda.is_available() and cuda.device_count() == 0
    torch.manual_seed(0)
    cuda.manual_seed(0), cuda.manual_seed_all(0), cuda.synchronize()
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    assert not torch.backends.mps.is_available()


def test_inference_mode_disables_grad_as_context_and_decorator():
    w = torch.ones(2, requires_grad=True)
    with torch.inference_mode():
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad

    @torch.inference_mode()
    def predict(x):
        return x * 2

    assert not predict(w).requires_grad and torch.is_grad_enabled()
    with torch.inference_mode(False):
        assert (w * 2).requires_grad
