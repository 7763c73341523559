"""Window functions against torch: ``mc.signal.windows.*`` (torch.signal.windows) and the
top-level ``mc.hann_window`` etc., values and dtypes for lengths 0, 1, 2, 7, 8 in both
symmetric and periodic forms, the parameters (alpha, beta, std, tau, center, a), the default
dtype, requires_grad, device, and the errors torch raises (ValueError in torch.signal.windows,
RuntimeError in torch.*_window, TypeError for a non-integer length)."""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest
import torch
import torch.signal.windows as TW
from conftest import devices

import minicnn as mc
import minicnn.signal.windows as W

LENGTHS = [0, 1, 2, 7, 8]
DTYPES = [(mc.float32, torch.float32, 1e-6), (mc.float64, torch.float64, 1e-12)]

SIGNAL_CASES = [
    ("bartlett", {}),
    ("blackman", {}),
    ("cosine", {}),
    ("exponential", {}),
    ("exponential", {"tau": 2.5}),
    ("gaussian", {}),
    ("gaussian", {"std": 1.7}),
    ("general_cosine", {"a": [0.4, 0.3, 0.2, 0.1]}),
    ("general_hamming", {}),
    ("general_hamming", {"alpha": 0.6}),
    ("hamming", {}),
    ("hann", {}),
    ("kaiser", {}),
    ("kaiser", {"beta": 0.0}),
    ("kaiser", {"beta": 5.0}),
    ("nuttall", {}),
]

TOP_CASES = [
    ("hann_window", ()),
    ("hamming_window", ()),
    ("hamming_window", (0.5,)),
    ("hamming_window", (0.6, 0.3)),
    ("blackman_window", ()),
    ("bartlett_window", ()),
    ("kaiser_window", ()),
    ("kaiser_window", (4.0,)),
    ("kaiser_window", (-2.0,)),
]


def _check(ours: mc.Tensor, theirs: torch.Tensor, dtype: Any, tol: float) -> None:
    assert ours.dtype == dtype and tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=0, atol=tol)


@pytest.mark.parametrize(("name", "kwargs"), SIGNAL_CASES)
@pytest.mark.parametrize("sym", [True, False])
def test_signal_windows_like_torch(name: str, kwargs: dict, sym: bool) -> None:
    for M in LENGTHS:
        for dtype, tdtype, tol in DTYPES:
            ours = getattr(W, name)(M, sym=sym, dtype=dtype, **kwargs)
            _check(ours, getattr(TW, name)(M, sym=sym, dtype=tdtype, **kwargs), dtype, tol)


@pytest.mark.parametrize(("name", "args"), TOP_CASES)
@pytest.mark.parametrize("periodic", [True, False])
def test_top_level_windows_like_torch(name: str, args: tuple, periodic: bool) -> None:
    for N in LENGTHS:
        for dtype, tdtype, tol in DTYPES:
            ours = getattr(mc, name)(N, periodic, *args, dtype=dtype)
            _check(ours, getattr(torch, name)(N, periodic, *args, dtype=tdtype), dtype, tol)


def test_windows_defaults_like_torch() -> None:
    """Default periodic / sym, the default dtype (float32, and float64 after set_default_dtype),
    float16 in the top-level forms, requires_grad, a non-symmetric exponential's center."""
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        _check(getattr(mc, name)(9), getattr(torch, name)(9), mc.float32, 1e-6)
        _check(getattr(mc, name)(6, dtype=mc.float16), getattr(torch, name)(6, dtype=torch.float16), mc.float16, 1e-3)
    for name, _ in SIGNAL_CASES:
        kwargs = {"a": [0.5, 0.5]} if name == "general_cosine" else {}
        _check(getattr(W, name)(9, **kwargs), getattr(TW, name)(9, **kwargs), mc.float32, 1e-6)
    previous = mc.get_default_dtype()
    mc.set_default_dtype(mc.float64)
    try:
        assert mc.hann_window(4).dtype == mc.float64 and W.hann(4).dtype == mc.float64
    finally:
        mc.set_default_dtype(previous)
    w = mc.hann_window(5, requires_grad=True)
    assert w.requires_grad and W.kaiser(5, requires_grad=True).requires_grad
    for center in (0.0, 1.0, 3.5):
        ours = W.exponential(7, sym=False, center=center, tau=1.5, dtype=mc.float64)
        _check(ours, TW.exponential(7, sym=False, center=center, tau=1.5, dtype=torch.float64), mc.float64, 1e-12)


def test_kaiser_large_beta_is_finite() -> None:
    """I0(beta) overflows float64 beyond beta ~713 (torch gives NaN there): the ratio is taken from
    exponentially scaled values, so the window matches mpmath's I0(x) / I0(beta)."""
    beta, M = 800.0, 7
    for periodic in (False, True):
        t = np.clip(np.arange(M) * 2.0 / (M if periodic else M - 1) - 1.0, -1.0, 1.0)
        x = beta * np.sqrt(1.0 - t * t)
        expected = [float(mpmath.besseli(0, mpmath.mpf(v)) / mpmath.besseli(0, beta)) for v in x]
        ours = mc.kaiser_window(M, periodic, beta, dtype=mc.float64).numpy()
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=0)
    ours = mc.kaiser_window(7, False, 300.0, dtype=mc.float64)
    _check(ours, torch.kaiser_window(7, False, 300.0, dtype=torch.float64), mc.float64, 1e-12)


@pytest.mark.parametrize("device", devices())
def test_windows_device(device: str) -> None:
    ours = mc.hann_window(8, device=device)
    assert ours.device.type == device
    _check(ours, torch.hann_window(8), mc.float32, 1e-6)
    _check(W.gaussian(8, std=2.0, device=device), TW.gaussian(8, std=2.0), mc.float32, 1e-6)


def test_windows_errors_like_torch() -> None:
    for name, kwargs in SIGNAL_CASES:
        for mod, dtype in ((W, mc.float16), (TW, torch.float16)):
            with pytest.raises(ValueError):
                getattr(mod, name)(-1, **kwargs)
            with pytest.raises(ValueError):
                getattr(mod, name)(4, dtype=dtype, **kwargs)
    for name, _ in TOP_CASES:
        for mod, dtype in ((mc, mc.int64), (torch, torch.int64)):
            with pytest.raises(RuntimeError):
                getattr(mod, name)(-1)
            with pytest.raises(RuntimeError):
                getattr(mod, name)(4, dtype=dtype)
            with pytest.raises(TypeError):
                getattr(mod, name)(True)
    for mod in (W, TW):
        with pytest.raises(ValueError):
            mod.gaussian(4, std=0.0)
        with pytest.raises(ValueError):
            mod.exponential(4, tau=-1.0)
        with pytest.raises(ValueError):
            mod.exponential(4, center=1.0)  # sym=True takes no center
        with pytest.raises(ValueError):
            mod.kaiser(4, beta=-1.0)
        with pytest.raises(ValueError):
            mod.general_cosine(4, a=[])
        with pytest.raises(TypeError):
            mod.general_cosine(4, a=1.0)
        with pytest.raises(TypeError):
            mod.hann(2.5)
