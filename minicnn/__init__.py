"""minicnn: a small deep-learning framework on NumPy (CPU) and CuPy (GPU).

``import minicnn as mc`` gives PyTorch-style tensors, autograd, layers, optimisers and models
whose kernels are plain array code meant to be read.
"""

from __future__ import annotations

from typing import Any as _Any

import numpy as _np

from . import autograd as _autograd
from . import backend, functions, memory, ops
from .anomaly import is_anomaly_check_nan_enabled, is_anomaly_enabled, set_anomaly_enabled
from .autograd import Function, Tensor, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import cuda, device
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    empty_permuted,
    empty_strided,
    eye,
    from_file,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .functions import *  # noqa: F403  (torch's function forms of Tensor methods: mc.sum, mc.argmax, ...)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

# torch's legacy typed tensor classes (mc.LongTensor(ids), isinstance(x, mc.FloatTensor))
from .legacy_types import (
    BoolTensor,
    ByteTensor,
    CharTensor,
    DoubleTensor,
    FloatTensor,
    HalfTensor,
    IntTensor,
    LongTensor,
    ShortTensor,
)
from .ops import cat, exp, log, matmul, maximum, minimum, sqrt, stack, where
from .ops import clip as clamp
from .ops import clip as clip
from .random import Generator, default_generator, fork_rng, initial_seed, manual_seed, seed, thread_safe_generator
from .random import get_rng_state_tensor as get_rng_state
from .random import set_rng_state_tensor as set_rng_state
from .runtime import (
    are_deterministic_algorithms_enabled,
    finfo,
    get_default_device,
    get_default_dtype,
    get_deterministic_debug_mode,
    get_device_module,
    get_num_threads,
    iinfo,
    init_num_threads,
    is_deterministic_algorithms_warn_only_enabled,
    is_warn_always_enabled,
    set_default_device,
    set_default_dtype,
    set_default_tensor_type,
    set_deterministic_debug_mode,
    set_flush_denormal,
    set_num_threads,
    set_printoptions,
    set_warn_always,
    typename,
    use_deterministic_algorithms,
)
from .serialization import load, save
from .signal.windows import bartlett_window, blackman_window, hamming_window, hann_window, kaiser_window

memory._apply_on_import()

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
float16 = _np.dtype(_np.float16)
int64 = _np.dtype(_np.int64)
int32 = _np.dtype(_np.int32)
uint8 = _np.dtype(_np.uint8)
bool_ = _np.dtype(_np.bool_)
bool = bool_  # noqa: A001  (torch's name: mc.bool)
int8 = _np.dtype(_np.int8)
int16 = _np.dtype(_np.int16)
# torch's other dtype names
float = float32  # noqa: A001
double = float64
half = float16
long = int64
int = int32  # noqa: A001
short = int16
concat = concatenate = cat


class inference_mode(no_grad):  # noqa: N801
    """torch.inference_mode: here the same as :class:`no_grad` (``mode=False`` records again),
    seen by :func:`is_inference_mode_enabled`; tensors made inside are inference tensors. Per
    thread, as torch's. A decorator too, with or without parentheses."""

    def __new__(cls, mode: _Any = True) -> _Any:
        if callable(mode):  # bare @inference_mode
            return cls()(mode)
        return set_grad_enabled.__new__(cls)

    def __init__(self, mode: _Any = True) -> None:
        set_grad_enabled.__init__(self, not mode)
        self._inference_saved: list[_Any] = []

    def __enter__(self) -> None:
        mode = _autograd._mode
        self._inference_saved.append(mode.inference)
        if not self.mode:  # (counted before it is on)
            _autograd._count_inference_block(True)
        mode.inference = not self.mode
        super().__enter__()

    def __exit__(self, *exc: _Any) -> None:
        super().__exit__(*exc)
        _autograd._mode.inference = self._inference_saved.pop()
        if not self.mode:
            _autograd._count_inference_block(False)

    def _recreate_cm(self) -> inference_mode:
        cm = super()._recreate_cm()
        cm._inference_saved = []
        return cm


def is_inference(input: _Any) -> bool:  # noqa: A002 - torch's name
    """Whether ``input`` is an inference tensor (torch.is_inference; see :meth:`Tensor.is_inference`)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"is_inference(): argument 'input' must be Tensor, not {type(input).__name__}")
    return input.is_inference()


def is_inference_mode_enabled() -> _Any:
    """Whether an :class:`inference_mode` block is active in the calling thread (torch's)."""
    return _autograd._mode.inference


__version__ = "0.1.0"


# loaded on first use, so that ``import minicnn`` stays fast: subpackages (mc.nn, ...) and names
# that live in one (mc.vmap is mc.func.vmap, mc.autocast is mc.amp.autocast, ...)
_SUBMODULES = (
    "nn", "optim", "data", "models", "parallel", "utils", "linalg", "special", "accelerator",
    "func", "distributions", "backends", "testing", "amp", "compiler", "signal",
)  # fmt: skip
_LAZY_NAMES = {
    "summary": "summarize",
    "vmap": "func",  # torch.vmap
    "autocast": "amp",
    "is_autocast_enabled": "amp",
    "get_autocast_dtype": "amp",
    **dict.fromkeys(  # torch's low-level autocast state functions
        (
            "set_autocast_enabled",
            "set_autocast_dtype",
            "is_autocast_cpu_enabled",
            "set_autocast_cpu_enabled",
            "get_autocast_cpu_dtype",
            "set_autocast_cpu_dtype",
            "get_autocast_gpu_dtype",
            "set_autocast_gpu_dtype",
            "autocast_increment_nesting",
            "autocast_decrement_nesting",
            "clear_autocast_cache",
            "is_autocast_cache_enabled",
            "set_autocast_cache_enabled",
        ),
        "amp.state",
    ),
    "compile": "compiler",  # returns its argument: minicnn has no compiler
    "set_float32_matmul_precision": "backends",
    "get_float32_matmul_precision": "backends",
    "cpu": "runtime",  # torch.cpu (is_available, synchronize, amp)
    "Size": "size",
}


def __getattr__(name: str):
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
    raise AttributeError(f"module 'minicnn' has no attribute {name!r}")


__all__ = [
    *functions.__all__,  # noqa: F405
    # runtime.py, creation.py (default device, strided factories)
    "empty_permuted",
    "empty_strided",
    "from_file",
    "get_default_device",
    "get_device_module",
    "init_num_threads",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_anomaly_enabled",
    "set_default_device",
    "set_default_tensor_type",
    "set_flush_denormal",
    "are_deterministic_algorithms_enabled",
    "get_deterministic_debug_mode",
    "is_deterministic_algorithms_warn_only_enabled",
    "set_deterministic_debug_mode",
    "use_deterministic_algorithms",
    "clip",
    "concat",
    "concatenate",
    "double",
    "float",
    "get_default_dtype",
    "Generator",
    "default_generator",
    "finfo",
    "fork_rng",
    "get_num_threads",
    "get_rng_state",
    "iinfo",
    "initial_seed",
    "thread_safe_generator",
    "randint_like",
    "seed",
    "set_default_dtype",
    "set_num_threads",
    "set_printoptions",
    "set_warn_always",
    "is_warn_always_enabled",
    "typename",
    "set_rng_state",
    "half",
    "inference_mode",
    "is_inference",
    "is_inference_mode_enabled",
    "int",
    "long",
    "randperm",
    "short",
    "bool",
    "int16",
    "int8",
    "randn_like",
    "rand_like",
    "linspace",
    "bartlett_window",
    "blackman_window",
    "hamming_window",
    "hann_window",
    "kaiser_window",
    "is_tensor",
    "full_like",
    "eye",
    "empty_like",
    "empty",
    "as_tensor",
    "Function",
    "GradcheckError",
    "Tensor",
    # legacy typed tensor classes
    "BoolTensor",
    "ByteTensor",
    "CharTensor",
    "DoubleTensor",
    "FloatTensor",
    "HalfTensor",
    "IntTensor",
    "LongTensor",
    "ShortTensor",
    "arange",
    "backend",
    "cat",
    "clamp",
    "cuda",
    "device",
    "enable_grad",
    "exp",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "gradcheck",
    "gradgradcheck",
    "int32",
    "int64",
    "is_grad_enabled",
    "load",
    "log",
    "manual_seed",
    "matmul",
    "maximum",
    "minimum",
    "no_grad",
    "ones",
    "ones_like",
    "ops",
    "rand",
    "randint",
    "randn",
    "save",
    "set_grad_enabled",
    "sqrt",
    "stack",
    "tensor",
    "uint8",
    "where",
    "zeros",
    "zeros_like",
]
