"""The CUDA kernels of minicnn.kernels.cuda against their array-code twins and against torch.

Without a GPU the kernel sources are checked twice: NVRTC compiles each for float and double
(CUDA syntax and types), and the host runner executes them on NumPy arrays through g++ (the
exact index arithmetic of the CUDA code), under several emulated launch shapes. The "cuda"
cases run the same comparisons on CuPy arrays where a GPU is available. A fake CuPy module
(NumPy arrays dressed as device arrays, RawModule compiled by the host runner) exercises the
GPU launch path -- grid sizes, argument conversion, module cache -- on the CPU.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import sys
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import TOL, devices
from fake_gpu import cupy as fake_cupy
from fake_gpu import cupyx as fake_cupyx
from fake_gpu.cupy import FakeGpuArray
from fake_gpu.cupy import RawModule as FakeRawModule
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn import backend
from minicnn import random as mc_random
from minicnn.kernels import cross_entropy as ce_twin
from minicnn.kernels import cuda
from minicnn.kernels import depthwise as depthwise_twin
from minicnn.kernels import dropout as dropout_twin
from minicnn.kernels import im2col as im2col_twin
from minicnn.kernels import lrn as lrn_twin
from minicnn.kernels import pool as pool_twin
from minicnn.kernels.conv_shapes import resolve_padding
from minicnn.kernels.cuda import host, launch
from minicnn.optim.sgd import sgd_step as sgd_twin

HAVE_GXX = shutil.which("g++") is not None


@pytest.fixture(autouse=True)
def _host_runner_needs_gxx(request):
    """Without g++ only the GPU cases and the NVRTC compile run (a GPU machine may lack g++)."""
    if HAVE_GXX:
        return
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and callspec.params.get("device") == "cuda":
        return
    if request.node.originalname == "test_nvrtc_compiles_every_kernel":
        return
    pytest.skip("the host runner of the CUDA kernels needs g++")


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODULES = [cuda.im2col, cuda.pool, cuda.lrn, cuda.depthwise, cuda.dropout, cuda.sgd, cuda.cross_entropy]
DTYPES = [np.float32, np.float64]
KERNEL_TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}
# (grid, block, reverse) of the emulated host launch: one thread, and two multi-thread shapes
LAUNCHES = [(1, 1, False), (3, 4, True), (2, 5, False)]


# -- helpers ------------------------------------------------------------------------------------
def on(device: str, a: np.ndarray) -> Any:
    """``a`` as an array of ``device``: NumPy (host runner) or CuPy (GPU)."""
    return backend.to_device(a, device)


def host_launch(device: str, shape: tuple[int, int, bool]) -> Any:
    """The emulated launch shape for host runs (a GPU chooses its own)."""
    return host.emulated_launch(*shape) if device == "cpu" else contextlib.nullcontext()


def as_torch(a: Any, requires_grad: bool = False) -> torch.Tensor:
    """A CPU torch tensor of ``a``: torch on the CPU is the oracle for GPU cases too (as in
    conftest.compare_with_torch), free of TF32 convolutions and of cuDNN's algorithm choice."""
    return torch.tensor(backend.to_numpy(a), requires_grad=requires_grad)


def t2n(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def check(actual: Any, expected: Any, dtype: Any, exact: bool = False, what: str = "") -> None:
    """``actual`` equals ``expected`` (bit for bit if ``exact``; NaN == NaN), same shape and dtype."""
    a, e = backend.to_numpy(actual), backend.to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} vs {e.shape}"
    assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} vs {e.dtype}"
    if exact:
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a, e, **KERNEL_TOL[np.dtype(dtype).type], err_msg=what)


def check_torch(actual: Any, expected: torch.Tensor, dtype: Any, what: str = "") -> None:
    a = backend.to_numpy(actual)
    np.testing.assert_allclose(a, t2n(expected), **TOL[np.dtype(dtype).type], err_msg=f"{what} vs torch")


def twin(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """The array-code twin (with the CUDA kernels switched off, so CuPy arrays stay array code)."""
    return cuda.array_code(fn, *args, **kwargs)


@st.composite
def window(draw, max_pad: int = 2):
    """kernel (kh, kw), stride, dilation and padding ((top, bottom), (left, right)) of a conv window."""
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = draw(st.sampled_from([1, 1, 2, 3, (1, 2), (2, 1)]))
    dilation = draw(st.sampled_from([1, 1, 2, (1, 2), (2, 1)]))
    pads = tuple((draw(st.integers(0, max_pad)), draw(st.integers(0, max_pad))) for _ in range(2))
    return (kh, kw), stride, dilation, pads


def spatial_size(draw, k: int, d: int, pad: int) -> int:
    """An input size with at least one window along an axis."""
    span = d * (k - 1) + 1
    return draw(st.integers(max(1, span - pad), span + 4))


def pair(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


# -- compilation --------------------------------------------------------------------------------
def type_bindings(kernel: launch.Kernel) -> list[dict[str, Any]]:
    bindings = [{"T": t} for t in DTYPES]
    if "I" in kernel.typedefs:
        bindings = [{**b, "I": i} for b in bindings for i in (np.uint8, np.int32)]
    if launch.INDEX in kernel.typedefs:  # 32-bit indices for all but the largest tensors
        bindings = [{**b, launch.INDEX: i} for b in bindings for i in (np.int32, np.int64)]
    return bindings


PTX_TYPES = {"float": ".f32", "double": ".f64", "long long": ".u64", "int": ".u32", "unsigned char": ".u8"}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_nvrtc_compiles_every_kernel(module):
    """Each source compiles with NVRTC for float and double without a diagnostic; its PTX has
    one entry per kernel, whose parameters match the signatures the launcher reads from the
    source (so the arguments Kernel.run passes have the sizes the GPU expects); and it uses
    neither atomics nor shared memory."""
    nvrtc = pytest.importorskip("cuda.bindings.nvrtc")
    kernel = module.KERNEL
    for bound in type_bindings(kernel):
        source = kernel.source_for(bound).encode()
        err, prog = nvrtc.nvrtcCreateProgram(source, b"kernel.cu", 0, [], [])
        assert err == nvrtc.nvrtcResult.NVRTC_SUCCESS
        try:
            # the options CuPy's RawModule compiles with: ours, -ftz=true, and an architecture
            options = [o.encode() for o in (*launch.NVRTC_OPTIONS, "-ftz=true", "--gpu-architecture=compute_80")]
            (result,) = nvrtc.nvrtcCompileProgram(prog, len(options), options)
            # (writable buffers: NVRTC writes into them, and ``b" " * 1`` would be Python's one
            # shared b" " object, which every later b" " in the process would then read as b"\0")
            _, size = nvrtc.nvrtcGetProgramLogSize(prog)
            log = bytearray(size)
            nvrtc.nvrtcGetProgramLog(prog, log)
            log = bytes(log).rstrip(b"\0 ").decode()
            assert result == nvrtc.nvrtcResult.NVRTC_SUCCESS, log
            assert log == "", f"NVRTC diagnostics for {bound}:\n{log}"
            _, size = nvrtc.nvrtcGetPTXSize(prog)
            ptx = bytearray(size)
            nvrtc.nvrtcGetPTX(prog, ptx)
            ptx = bytes(ptx).rstrip(b"\0 ").decode()
        finally:
            nvrtc.nvrtcDestroyProgram(prog)
        entries = dict(re.findall(r"\.entry\s+(\w+)\s*\(([^)]*)\)", ptx))
        assert set(entries) == set(kernel.names)
        resolved = {**launch.FIXED_TYPES, **{k: np.dtype(v) for k, v in bound.items()}}
        for name, params in kernel.signatures.items():
            got = re.findall(r"\.param\s+(\.\w+)", entries[name])
            want = [".u64" if p.pointer else PTX_TYPES[launch.C_NAMES[resolved[p.ctype]]] for p in params]
            assert got == want, f"{name} {bound}: PTX params {got}, launcher passes {want}"
        assert "atom." not in ptx and ".shared" not in ptx


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_host_compiles_without_warnings(module):
    for bound in type_bindings(module.KERNEL):
        assert host.compiler_warnings(module.KERNEL.source_for(bound)) == ""


def test_signatures_are_read_from_the_source():
    sig = launch.parse_signatures(
        """// extern "C" __global__ void commented_out(int x)
        extern "C" __global__ void k(const T* __restrict__ x, I *idx, long long n, float p) { }"""
    )
    assert list(sig) == ["k"]
    assert sig["k"] == (
        launch.Param("T", True, "x"),
        launch.Param("I", True, "idx"),
        launch.Param("long long", False, "n"),
        launch.Param("float", False, "p"),
    )
    with pytest.raises(ValueError, match="unsupported type"):
        launch.Kernel('extern "C" __global__ void k(short* x) { }')
    with pytest.raises(ValueError, match="no extern"):
        launch.Kernel("__global__ void k(T* x) { }")


# -- launcher mechanics -------------------------------------------------------------------------
SCALE = launch.Kernel(
    r"""
extern "C" __global__ void scale(const T* __restrict__ x, T* __restrict__ y, T factor, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)blockDim.x * gridDim.x)
        y[i] = x[i] * factor;
}
"""
)


def test_run_checks_its_arguments():
    x = np.arange(6.0)
    y = np.empty(6)
    SCALE.run("scale", 6, x, y, 2.5, 6)
    np.testing.assert_array_equal(y, x * 2.5)
    with pytest.raises(TypeError, match="dtype float64"):
        SCALE.run("scale", 6, x, y.astype(np.float32), 2.0, 6)
    with pytest.raises(TypeError, match="unsupported dtype int64"):
        SCALE.run("scale", 6, np.arange(6), np.arange(6), 2, 6)
    with pytest.raises(ValueError, match="C-contiguous"):
        SCALE.run("scale", 3, x[::2], y[:3], 2.0, 3)
    with pytest.raises(TypeError, match="takes 4 arguments"):
        SCALE.run("scale", 6, x, y, 2.0)
    with pytest.raises(TypeError, match="must be an integer"):
        SCALE.run("scale", 6, x, y, 2.0, 6.5)
    with pytest.raises(ValueError, match="not in this source"):
        SCALE.run("nope", 6, x, y, 2.0, 6)


def test_float_scalars_take_the_kernel_dtype():
    x = np.ones(3, dtype=np.float32)
    y = np.empty(3, dtype=np.float32)
    SCALE.run("scale", 3, x, y, 0.1, 3)  # 0.1 passed as a C float, rounded once
    np.testing.assert_array_equal(y, np.float32(0.1))


def test_emulated_threads_cover_every_index_once():
    """A kernel that counts visits: under any emulated launch shape every index is visited once."""
    count = launch.Kernel(
        r"""extern "C" __global__ void visit(T* hits, long long n) {
        for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
             i += (long long)blockDim.x * gridDim.x)
            hits[i] += 1;
        }"""
    )
    for shape in [(1, 1, False), (3, 4, True), (7, 3, False), (50, 2, True)]:
        hits = np.zeros(23)
        with host.emulated_launch(*shape):
            count.run("visit", 23, hits, 23)
        np.testing.assert_array_equal(hits, 1)
    with pytest.raises(ValueError, match="positive"):
        host.emulated_launch(0, 1).__enter__()


def test_host_cache_and_missing_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_KERNEL_CACHE", str(tmp_path / "cache"))
    source = SCALE.source_for({"T": np.float64}) + "\n// test_host_cache_and_missing_compiler\n"
    host.compile_library(source)
    libraries = list((tmp_path / "cache").glob("*.so"))
    assert len(libraries) == 1 and libraries[0].with_suffix(".log").exists()
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no temporaries left
    monkeypatch.setattr(host.shutil, "which", lambda name: None)
    host.compile_library(source)  # cached: no compiler needed
    with pytest.raises(RuntimeError, match="g\\+\\+ was not found"):
        host.compile_library(source + "// another source\n")


def test_switch_and_enabled_for():
    x = np.ones(3)
    assert cuda.cuda_kernels_enabled()
    with cuda.use_cuda_kernels(False):
        assert not cuda.cuda_kernels_enabled()
        with cuda.use_cuda_kernels(True):
            assert cuda.cuda_kernels_enabled()
        assert not cuda.cuda_kernels_enabled()
    assert cuda.cuda_kernels_enabled()
    assert not cuda.enabled_for(x)  # NumPy arrays take the array code
    seen = []
    cuda.array_code(lambda: seen.append(cuda.cuda_kernels_enabled()))
    assert seen == [False] and cuda.cuda_kernels_enabled()


def test_launchers_reject_other_dtypes():
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.im2col.im2col(np.ones((1, 1, 3, 3), dtype=np.float16), 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.pool.max_pool2d_forward(np.ones((1, 1, 3, 3), dtype=np.int64), 2)
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.lrn.lrn_forward(np.ones((1, 2, 3), dtype=np.float16), 3)
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.depthwise.conv2d_depthwise(np.ones((1, 2, 3, 3)), np.ones((2, 1, 2, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="float32 or float64"):
        cuda.dropout.dropout_forward(np.ones((2, 3), dtype=np.float16), 0.5)


# -- im2col / col2im ----------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data())
def test_im2col_col2im(device, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    (kh, kw), stride, dilation, pads = data.draw(window())
    (pt, pb), (pl, pr) = pads
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    h, w = spatial_size(data.draw, kh, dh, pt + pb), spatial_size(data.draw, kw, dw, pl + pr)
    out_kind = data.draw(st.sampled_from([None, "exact", "larger"]))
    shape = data.draw(st.sampled_from(LAUNCHES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x_np = rng.standard_normal((n, c, h, w)).astype(dtype)
    x = on(device, x_np)
    settings_ = ((kh, kw), stride, pads, dilation)

    expected = twin(im2col_twin.im2col, x, *settings_)
    out = None
    if out_kind is not None:
        out = on(device, np.full(expected.size + (7 if out_kind == "larger" else 0), np.nan, dtype=dtype))
    with host_launch(device, shape):
        cols = cuda.im2col.im2col(x, *settings_, out=out)
    check(cols, expected, dtype, exact=True, what="im2col vs twin")
    if out is not None:  # written into the first elements of out, the rest untouched
        check(out[: expected.size].reshape(expected.shape), expected, dtype, exact=True, what="im2col out")
        assert np.isnan(backend.to_numpy(out[expected.size :])).all()
    xt = F.pad(as_torch(x_np), (pl, pr, pt, pb))
    check_torch(cols, F.unfold(xt, (kh, kw), dilation=(dh, dw), stride=(sh, sw)), dtype, "im2col")

    g_np = rng.standard_normal(expected.shape).astype(dtype)
    g = on(device, g_np)
    expected_x = twin(im2col_twin.col2im, g, (n, c, h, w), *settings_)
    out = None if data.draw(st.booleans()) else on(device, np.full((n, c, h, w), np.nan, dtype=dtype))
    with host_launch(device, shape):
        gx = cuda.im2col.col2im(g, (n, c, h, w), *settings_, out=out)
    check(gx, expected_x, dtype, exact=device == "cpu", what="col2im vs twin")
    if out is not None:
        assert gx is out
    folded = F.fold(as_torch(g_np), (h + pt + pb, w + pl + pr), (kh, kw), dilation=(dh, dw), stride=(sh, sw))
    check_torch(gx, folded[:, :, pt : pt + h, pl : pl + w], dtype, "col2im")


def test_im2col_delegates_what_it_does_not_cover():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 6))
    for kwargs in [dict(batch_last=True), dict(out=np.zeros(2000, dtype=np.float32))]:
        np.testing.assert_array_equal(
            cuda.im2col.im2col(x, 3, 1, 1, 1, **kwargs), im2col_twin.im2col(x, 3, 1, 1, 1, **kwargs)
        )
    cols = im2col_twin.im2col(x, 3, 1, 1, 1, batch_last=True)
    np.testing.assert_array_equal(
        cuda.im2col.col2im(cols, x.shape, 3, 1, 1, 1, batch_last=True),
        im2col_twin.col2im(cols, x.shape, 3, 1, 1, 1, batch_last=True),
    )
    with pytest.raises(ValueError, match="C-contiguous"):
        cuda.im2col.col2im(im2col_twin.im2col(x, 3), x.shape, 3, out=np.empty((2, 3, 5, 12))[..., ::2])
    with pytest.raises(ValueError, match="do not fit"):
        cuda.im2col.col2im(np.zeros((2, 27, 11)), x.shape, 3)


# -- max pooling --------------------------------------------------------------------------------
def pool_input(rng: np.random.Generator, shape: tuple[int, ...], kind: str, dtype: Any) -> np.ndarray:
    """Normal values, or small integers (many ties), optionally with NaNs or many -infs."""
    if kind == "normal":
        x = rng.standard_normal(shape)
    else:
        x = rng.integers(-1, 2, size=shape).astype(np.float64)
        if kind == "nan":
            x[rng.random(shape) < 0.15] = np.nan
        if kind == "-inf":  # windows whose real pixels are all -inf point at their first real one
            x[rng.random(shape) < 0.8] = -np.inf
    return x.astype(dtype)


def windows_with_real_pixels(x_shape: tuple[int, ...], g: Any) -> np.ndarray:
    """(OH, OW) bool: the window has a real (unpadded) pixel; torch's index of any other one is
    meaningless (and its backward aborts on it)."""
    i0, j0 = np.divmod(pool_twin._first_real_offsets(g, np.int64), g.kw)
    rows = (np.arange(g.oh) * g.sh - g.ph)[:, None] + i0 * g.dh
    cols = (np.arange(g.ow) * g.sw - g.pw)[None, :] + j0 * g.dw
    return (rows >= 0) & (rows < x_shape[-2]) & (cols >= 0) & (cols < x_shape[-1])


@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data())
def test_max_pool2d(device, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    kh, kw = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    stride = data.draw(st.sampled_from([None, 1, 2, 3, (1, 2), (2, 1)]))
    dilation = data.draw(st.sampled_from([1, 1, 2, (1, 2)]))
    ph, pw = data.draw(st.integers(0, kh // 2)), data.draw(st.integers(0, kw // 2))
    ceil_mode = data.draw(st.booleans())
    (dh, dw) = pair(dilation)
    n, c = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    h, w = spatial_size(data.draw, kh, dh, 2 * ph), spatial_size(data.draw, kw, dw, 2 * pw)
    kind = data.draw(st.sampled_from(["normal", "ties", "nan", "-inf"]))
    shape = data.draw(st.sampled_from(LAUNCHES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    settings_ = ((kh, kw), stride, (ph, pw), dilation, ceil_mode)
    try:
        g = pool_twin.pool_geometry((n, c, h, w), *settings_)
    except ValueError:
        assume(False)
    x_np = pool_input(rng, (n, c, h, w), kind, dtype)
    x = on(device, x_np)

    y_ref, arg_ref = twin(pool_twin.max_pool2d_forward, x, *settings_, with_argmax=True)
    with host_launch(device, shape):
        y, arg = cuda.pool.max_pool2d_forward(x, *settings_, with_argmax=True)
        y_only, none = cuda.pool.max_pool2d_forward(x, *settings_)
    check(y, y_ref, dtype, exact=True, what="max_pool2d y vs twin")
    check(arg, arg_ref, dtype, exact=True, what="max_pool2d argmax vs twin")
    check(y_only, y_ref, dtype, exact=True, what="max_pool2d y (no argmax)")
    assert none is None

    xt = as_torch(x_np, requires_grad=True)
    yt, it = F.max_pool2d(xt, (kh, kw), stride, (ph, pw), dilation, ceil_mode, return_indices=True)
    np.testing.assert_array_equal(backend.to_numpy(y), t2n(yt), err_msg="max_pool2d vs torch")
    indices = pool_twin.max_pool2d_indices(backend.to_numpy(arg), (n, c, h, w), *settings_)
    real = np.broadcast_to(windows_with_real_pixels((h, w), g), indices.shape)
    np.testing.assert_array_equal(indices[real], t2n(it)[real], err_msg="max_pool2d indices vs torch")

    gy_np = rng.standard_normal((n, c, g.oh, g.ow)).astype(dtype)
    gy = on(device, gy_np)
    gx_ref = twin(pool_twin.max_pool2d_backward, gy, arg_ref, (n, c, h, w), *settings_)
    with host_launch(device, shape):
        gx = cuda.pool.max_pool2d_backward(gy, arg_ref, (n, c, h, w), *settings_)
    # not bit for bit: where windows overlap, the twin sums a pixel's gradients in float64
    # (np.bincount), the kernel in float32 (a gather)
    check(gx, gx_ref, dtype, what="max_pool2d backward vs twin")
    if real.all():  # torch's backward aborts on the out-of-range index of an all-padding window
        yt.backward(as_torch(gy_np))
        check_torch(gx, xt.grad, dtype, "max_pool2d backward")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize(
    "x_shape, kernel_size, stride, padding",
    [
        ((2, 3, 8, 6), 2, 2, 0),  # the twin's tiling backward path
        ((1, 2, 17, 19), (16, 17), 1, (8, 8)),  # 272 offsets: int32 argmax
        ((3, 5, 6), 3, 2, 1),  # no batch axis: (C, H, W)
    ],
)
def test_max_pool2d_special_cases(device, x_shape, kernel_size, stride, padding):
    rng = np.random.default_rng(1)
    shape = x_shape
    x = on(device, pool_input(rng, shape, "ties", np.float64))
    settings_ = (kernel_size, stride, padding)
    y_ref, arg_ref = twin(pool_twin.max_pool2d_forward, x, *settings_, with_argmax=True)
    y, arg = cuda.pool.max_pool2d_forward(x, *settings_, with_argmax=True)
    assert arg.dtype == arg_ref.dtype
    check(y, y_ref, np.float64, exact=True, what="y")
    check(arg, arg_ref, np.float64, exact=True, what="argmax")
    gy = on(device, rng.standard_normal(y.shape))
    gx = cuda.pool.max_pool2d_backward(gy, arg, shape, *settings_)
    check(gx, twin(pool_twin.max_pool2d_backward, gy, arg_ref, shape, *settings_), np.float64, what="gx")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("kernel_size, stride", [(2, 2), (3, 2)])  # tiling and overlapping windows
@pytest.mark.parametrize("special", [np.inf, np.nan])
def test_max_pool2d_backward_routes_an_inf_or_nan_only_to_the_argmax(device, kernel_size, stride, special):
    """The kernel adds a window's gradient at its argmax alone (a branch, not gy * mask): an
    inf or NaN in gy never reaches the window's other pixels, as in torch and the twin."""
    rng = np.random.default_rng(2)
    shape = (2, 3, 8, 8)
    x_np = rng.standard_normal(shape)
    x = on(device, x_np)
    y, arg = cuda.pool.max_pool2d_forward(x, kernel_size, stride, with_argmax=True)
    gy_np = rng.standard_normal(y.shape)
    gy_np[0, 0, 0, 0] = gy_np[1, 2, 2, 1] = special
    gx = cuda.pool.max_pool2d_backward(on(device, gy_np), arg, shape, kernel_size, stride)
    xt = as_torch(x_np, requires_grad=True)
    F.max_pool2d(xt, kernel_size, stride).backward(as_torch(gy_np))
    check(gx, t2n(xt.grad), np.float64, what="max_pool2d backward vs torch")
    gx_twin = twin(pool_twin.max_pool2d_backward, on(device, gy_np), arg, shape, kernel_size, stride)
    check(gx, gx_twin, np.float64, what="max_pool2d backward vs twin")


# -- LRN ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data())
def test_lrn(device, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    size = data.draw(st.integers(1, 7))
    alpha = data.draw(st.sampled_from([1e-4, 0.5, 2.0]))
    beta = data.draw(st.sampled_from([0.75, 0.75, 0.5, 1.3]))
    k = data.draw(st.sampled_from([1.0, 2.0, 0.5]))
    trailing = data.draw(st.sampled_from([(), (5,), (3, 4), (2, 1, 3)]))
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 7)), *trailing)
    launch_shape = data.draw(st.sampled_from(LAUNCHES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    a_np = (2 * rng.standard_normal(shape)).astype(dtype)
    a = on(device, a_np)

    b_ref, s_ref, p_ref = twin(lrn_twin.lrn_forward, a, size, alpha, beta, k)
    with host_launch(device, launch_shape):
        b, s, s_pow = cuda.lrn.lrn_forward(a, size, alpha, beta, k)
    for got, ref, what in [(b, b_ref, "b"), (s, s_ref, "s"), (s_pow, p_ref, "s_pow")]:
        check(got, ref, dtype, what=f"lrn forward {what} vs twin")
    gb_np = rng.standard_normal(shape).astype(dtype)
    gb = on(device, gb_np)
    ga_ref = twin(lrn_twin.lrn_backward, gb, a, b_ref, s_ref, p_ref, size, alpha, beta)
    with host_launch(device, launch_shape):
        ga = cuda.lrn.lrn_backward(gb, a, b, s, s_pow, size, alpha, beta)
    check(ga, ga_ref, dtype, what="lrn backward vs twin")

    if trailing:  # torch wants at least (N, C, L)
        at = as_torch(a_np, requires_grad=True)
        bt = F.local_response_norm(at, size, alpha, beta, k)
        check_torch(b, bt, dtype, "lrn forward")
        bt.backward(as_torch(gb_np))
        check_torch(ga, at.grad, dtype, "lrn backward")


# -- depthwise convolution ----------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data())
def test_depthwise(device, data):
    dtype = data.draw(st.sampled_from(DTYPES))
    (kh, kw), stride, dilation, pads = data.draw(window())
    padding = data.draw(st.sampled_from(["explicit", "explicit", "int", "same", "valid"]))
    if padding == "same":
        stride = 1
    padding = {"explicit": pads, "int": pads[0][0]}.get(padding, padding)
    (pt, pb), (pl, pr) = resolve_padding(padding, (kh, kw), stride, dilation)
    (sh, sw), (dh, dw) = pair(stride), pair(dilation)
    n, c, m = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    h, w = spatial_size(data.draw, kh, dh, pt + pb), spatial_size(data.draw, kw, dw, pl + pr)
    has_bias = data.draw(st.booleans())
    need = data.draw(st.sampled_from([(True, True, True), (True, False, False), (False, True, False)]))
    launch_shape = data.draw(st.sampled_from(LAUNCHES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x_np = rng.standard_normal((n, c, h, w)).astype(dtype)
    w_np = rng.standard_normal((c * m, 1, kh, kw)).astype(dtype)
    b_np = rng.standard_normal(c * m).astype(dtype) if has_bias else None
    x, wt = on(device, x_np), on(device, w_np)
    b = None if b_np is None else on(device, b_np)
    conv = (stride, padding, dilation, c)

    y_ref = twin(depthwise_twin.conv2d_depthwise, x, wt, b, *conv)
    with host_launch(device, launch_shape):
        y = cuda.depthwise.conv2d_depthwise(x, wt, b, *conv)
    check(y, y_ref, dtype, what="depthwise forward vs twin")
    gy_np = rng.standard_normal(y_ref.shape).astype(dtype)
    gy = on(device, gy_np)
    refs = twin(depthwise_twin.conv2d_depthwise_backward, gy, x, wt, *conv, *need)
    with host_launch(device, launch_shape):
        grads = cuda.depthwise.conv2d_depthwise_backward(gy, x, wt, *conv, *need)
    for got, ref, wanted, what in zip(grads, refs, need, ("dx", "dw", "db")):
        assert (got is None) == (not wanted) == (ref is None), what
        if wanted:
            check(got, ref, dtype, what=f"depthwise {what} vs twin")

    xt, wtt = as_torch(x_np, True), as_torch(w_np, True)
    bt = None if b_np is None else as_torch(b_np, True)
    yt = F.conv2d(F.pad(xt, (pl, pr, pt, pb)), wtt, bt, (sh, sw), 0, (dh, dw), c)
    check_torch(y, yt, dtype, "depthwise forward")
    yt.backward(as_torch(gy_np))
    db_oracle = bt.grad if bt is not None else torch.from_numpy(gy_np.sum(axis=(0, 2, 3)))
    for got, tgrad, what in zip(grads, (xt.grad, wtt.grad, db_oracle), ("dx", "dw", "db")):
        if got is not None:
            check_torch(got, tgrad, dtype, f"depthwise {what}")


@pytest.mark.parametrize("threads", [1, 432, 10**9])  # 432: 4 bands of 3 rows (the last empty)
def test_depthwise_dw_bands(monkeypatch, threads):
    """dW's output rows split into bands to occupy a GPU: one band, a few multi-row bands, one
    row per band -- all equal to the twin."""
    monkeypatch.setattr(cuda.depthwise, "DW_THREADS", threads)
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((2, 3, 11, 9)), rng.standard_normal((6, 1, 3, 3))
    gy = rng.standard_normal((2, 6, 9, 7))
    _, dw, _ = cuda.depthwise.conv2d_depthwise_backward(gy, x, w, need_dx=False, need_db=False)
    _, dw_ref, _ = depthwise_twin.conv2d_depthwise_backward(gy, x, w, need_dx=False, need_db=False)
    check(dw, dw_ref, np.float64, what=f"dw with DW_THREADS={threads}")


def test_depthwise_errors_name_the_op():
    x = np.ones((1, 2, 5, 5))
    with pytest.raises(ValueError, match="depthwise"):
        cuda.depthwise.conv2d_depthwise(x, np.ones((2, 2, 3, 3)), None, 1, 0, 1, 1)
    with pytest.raises(ValueError, match="gy must have shape"):
        cuda.depthwise.conv2d_depthwise_backward(np.ones((1, 2, 4, 4)), x, np.ones((2, 1, 3, 3)))


# -- softmax cross-entropy ----------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(data=st.data())
def test_cross_entropy(device, data):
    """Per-row forward values and dx of the kernels against the array code, and the reduced
    loss and its gradient against torch: weights, ignore_index, label smoothing, spatial
    targets, three target dtypes; a class outside [0, C) sets the flag and drops the row."""
    dtype = data.draw(st.sampled_from(DTYPES))
    tdtype = data.draw(st.sampled_from([np.int64, np.int32, np.uint8]))
    n, c = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 7))
    spatial = data.draw(st.sampled_from([(), (3,), (2, 3)]))
    weighted, eps = data.draw(st.booleans()), data.draw(st.sampled_from([0.0, 0.0, 0.1, 1.0]))
    ignore = data.draw(st.sampled_from([-100, 0, 2]))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    bad = data.draw(st.booleans()) and tdtype != np.uint8
    launch_shape = data.draw(st.sampled_from(LAUNCHES))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    x_np = (3 * rng.standard_normal((n, c, *spatial))).astype(dtype)
    t_np = rng.integers(0, c, (n, *spatial)).astype(tdtype)
    if ignore >= 0:  # some rows ignored
        t_np.reshape(-1)[::2] = ignore
    if bad:
        t_np.reshape(-1)[-1] = c + 3 if data.draw(st.booleans()) else -1
    w_np = rng.uniform(0.2, 2.0, c).astype(dtype) if weighted else None
    x, t = on(device, x_np), on(device, t_np)
    w = None if w_np is None else on(device, w_np)

    ref = twin(ce_twin.cross_entropy_forward, x, t, w, ignore, eps)
    with host_launch(device, launch_shape):
        rows = cuda.cross_entropy.cross_entropy_forward(x, t, w, ignore, eps)
    assert bool(rows.bad) == bool(ref.bad) == bad
    for what in ("loss", "wy", "lse"):
        check(getattr(rows, what), getattr(ref, what), dtype, what=f"cross_entropy {what} vs twin")
    check(rows.kept.astype(bool), ref.kept, dtype, exact=True, what="kept")
    r = rows.loss.size
    scale_np = rng.standard_normal(r if reduction == "none" else ()).astype(dtype)
    scale = on(device, scale_np)
    dx_ref = twin(ce_twin.cross_entropy_backward, scale, x, ref, w, eps)
    with host_launch(device, launch_shape):
        dx = cuda.cross_entropy.cross_entropy_backward(scale, x, rows, w, eps)
    check(dx, dx_ref, dtype, what="cross_entropy dx vs twin")
    if bad:
        return  # torch raises (or asserts on a GPU); the op's test checks our error

    xt = as_torch(x_np, requires_grad=True)
    wt = None if w_np is None else as_torch(w_np)
    tt = torch.from_numpy(t_np.astype(np.int64))
    lt = F.cross_entropy(xt, tt, wt, ignore_index=ignore, reduction=reduction, label_smoothing=eps)
    loss, denom = backend.to_numpy(rows.loss), backend.to_numpy(rows.wy).sum()
    if reduction == "mean" and not denom:
        return  # every row ignored: 0/0, NaN in both
    got = loss.reshape(t_np.shape) if reduction == "none" else loss.sum() / (denom if reduction == "mean" else 1)
    np.testing.assert_allclose(got, t2n(lt), **TOL[np.dtype(dtype).type], err_msg="loss vs torch")
    g_np = rng.standard_normal(tuple(lt.shape)).astype(dtype)  # upstream gradient of the reduced loss
    lt.backward(as_torch(g_np))
    row_scale = g_np.reshape(-1) if reduction == "none" else (g_np / denom if reduction == "mean" else g_np)
    with host_launch(device, launch_shape):
        dx_t = cuda.cross_entropy.cross_entropy_backward(on(device, row_scale.astype(dtype)), x, rows, w, eps)
    check_torch(dx_t, xt.grad, dtype, "cross_entropy dx")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("scale_value", [np.inf, np.nan])
def test_cross_entropy_backward_ignored_rows_are_zero(device, eps, scale_value):
    """Ignored rows get dx = 0 whatever the scale (1/0 = inf for a 'mean' over no weight; nan
    from upstream), in the kernel and in its twin; a kept row of weight 0 gets 0 * inf = nan."""
    x_np = np.random.default_rng(0).standard_normal((4, 3))
    t_np = np.array([-100, 1, -100, 2])
    w_np = np.array([1.0, 0.0, 0.0])  # the kept rows have weight 0
    x, t, w = on(device, x_np), on(device, t_np), on(device, w_np)
    for scale_np in (np.array(scale_value), np.full(4, scale_value)):
        scale = on(device, scale_np)
        ref = twin(ce_twin.cross_entropy_forward, x, t, w, -100, eps)
        rows = cuda.cross_entropy.cross_entropy_forward(x, t, w, -100, eps)
        dx_ref = backend.to_numpy(twin(ce_twin.cross_entropy_backward, scale, x, ref, w, eps))
        dx = backend.to_numpy(cuda.cross_entropy.cross_entropy_backward(scale, x, rows, w, eps))
        for d in (dx, dx_ref):
            np.testing.assert_array_equal(d[[0, 2]], 0.0)
            assert np.isnan(d[[1, 3]]).all()


# -- dropout ------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.0, 0.25, 0.7, 0.999])
def test_dropout_equals_twin_bit_for_bit(device, dtype, p):
    x = on(device, np.random.default_rng(3).standard_normal((4, 3, 5, 7)).astype(dtype))
    mc.manual_seed(11)
    y_ref, mask_ref = twin(dropout_twin.dropout_forward, x, p)
    mc.manual_seed(11)
    with host_launch(device, (3, 4, True)):
        y, mask = cuda.dropout.dropout_forward(x, p)
    check(mask, mask_ref, dtype, exact=True, what="mask")
    check(y, y_ref, dtype, exact=True, what="y")
    values = set(np.unique(backend.to_numpy(mask)).tolist())
    assert values <= {0.0, float(np.asarray(1.0 / (1.0 - p), dtype=dtype))}
    if p == 0.25:
        kept = backend.to_numpy(mask).astype(bool).mean()
        assert 0.6 < kept < 0.9  # 420 draws: keep rate 0.75 within about 7 standard deviations


@pytest.mark.parametrize("device", devices())
def test_dropout_delegates_channelwise_and_p_one(device):
    x = on(device, np.random.default_rng(4).standard_normal((2, 3, 4, 4)))
    for p, channelwise in [(0.5, True), (1.0, False), (1.0, True)]:
        mc.manual_seed(5)
        y_ref, mask_ref = twin(dropout_twin.dropout_forward, x, p, channelwise)
        mc.manual_seed(5)
        y, mask = cuda.dropout.dropout_forward(x, p, channelwise)
        check(y, y_ref, np.float64, exact=True, what=f"y p={p} channelwise={channelwise}")
        check(mask, mask_ref, np.float64, exact=True, what=f"mask p={p} channelwise={channelwise}")


# -- SGD step -----------------------------------------------------------------------------------
@pytest.mark.parametrize("device", devices())
@SETTINGS
@given(
    momentum=st.sampled_from([0.0, 0.9]),
    dampening=st.sampled_from([0.0, 0.3]),
    weight_decay=st.sampled_from([0.0, 5e-4]),
    nesterov=st.booleans(),
    maximize=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    launch_shape=st.sampled_from(LAUNCHES),
)
def test_sgd_step(device, momentum, dampening, weight_decay, nesterov, maximize, dtype, launch_shape):
    """Three steps of the fused kernel against the array-code step and torch.optim.SGD."""
    assume(not nesterov or (momentum > 0 and dampening == 0))
    rng = np.random.default_rng(7)
    p0 = rng.standard_normal((3, 5)).astype(dtype)
    grads = [rng.standard_normal((3, 5)).astype(dtype) for _ in range(3)]
    settings_ = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
    p, buf = on(device, p0.copy()), None
    q, qbuf = on(device, p0.copy()), None
    tp = torch.tensor(p0.copy(), requires_grad=True)
    opt = torch.optim.SGD([tp], lr=0.1, maximize=maximize, **settings_)
    for g in grads:
        with host_launch(device, launch_shape):
            buf = cuda.sgd.sgd_step(p, on(device, g), buf, 0.1, maximize=maximize, **settings_)
        qbuf = twin(sgd_twin, q, on(device, g), qbuf, 0.1, maximize=maximize, **settings_)
        tp.grad = torch.tensor(g)
        opt.step()
        check(p, q, dtype, what="param")
        assert (buf is None) == (qbuf is None) == (momentum == 0)
        if buf is not None:
            check(buf, qbuf, dtype, what="momentum buffer")
        check_torch(p, tp, dtype, what="param")


@pytest.mark.parametrize("device", devices())
@pytest.mark.parametrize("count", [1, 3, cuda.sgd.SLOTS, cuda.sgd.SLOTS + 1, 2 * cuda.sgd.SLOTS + 3])
def test_sgd_step_many(device, count):
    """The multi-tensor launch: any number of tensors (several launches of SLOTS), sizes from 0
    up, some with a momentum buffer and some at their first step (separate launches) -- each
    tensor updated as the one-tensor array code updates it."""
    rng = np.random.default_rng(count)
    shapes = [(int(rng.integers(0, 4)), int(rng.integers(1, 40))) for _ in range(count)]
    ps = [rng.standard_normal(s) for s in shapes]
    gs = [rng.standard_normal(s) for s in shapes]
    bufs = [None if i % 3 == 0 else rng.standard_normal(s) for i, s in enumerate(shapes)]
    settings_ = (0.1, 0.9, 0.2, 1e-3, False, True)
    got_p = [on(device, p.copy()) for p in ps]
    got_b = cuda.sgd.sgd_step_many(
        got_p, [on(device, g) for g in gs], [None if b is None else on(device, b.copy()) for b in bufs], *settings_
    )
    for i in range(count):
        ref_p, ref_b = ps[i].copy(), None if bufs[i] is None else bufs[i].copy()
        ref_b = sgd_twin(ref_p, gs[i], ref_b, *settings_)
        check(got_p[i], ref_p, np.float64, what=f"param {i}")
        check(got_b[i], ref_b, np.float64, what=f"buffer {i}")
    p = on(device, ps[0].copy())
    assert cuda.sgd.sgd_step_many([p], [on(device, gs[0])], [None], 0.1) == [None]  # no momentum: no buffers
    check(p, ps[0] - 0.1 * gs[0], np.float64, what="plain step")


def test_sgd_optimizer_uses_the_kernel_only_for_gpu_arrays(monkeypatch):
    calls = []
    monkeypatch.setattr(cuda.sgd, "sgd_step_many", lambda *a, **k: calls.append(a))
    w = mc.tensor(np.ones(3, np.float32), requires_grad=True)
    w.grad = mc.tensor(np.ones(3, np.float32))
    mc.optim.SGD([w], lr=0.1, momentum=0.9).step()
    assert calls == [] and np.allclose(w.numpy(), 0.9)


def test_non_contiguous_inputs():
    """The launchers accept strided views (they copy them to contiguous memory first)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 9, 8)).transpose(1, 0, 3, 2)[:, ::2]  # (3, 2, 8, 9), strided
    assert not x.flags.c_contiguous
    cols = cuda.im2col.im2col(x, 3, 2, 1)
    np.testing.assert_array_equal(cols, im2col_twin.im2col(x, 3, 2, 1))
    g = np.ascontiguousarray(rng.standard_normal(cols.shape).transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_allclose(cuda.im2col.col2im(g, x.shape, 3, 2, 1), im2col_twin.col2im(g, x.shape, 3, 2, 1))
    y, arg = cuda.pool.max_pool2d_forward(x, 3, 2, 1, with_argmax=True)
    y_ref, arg_ref = pool_twin.max_pool2d_forward(x, 3, 2, 1, with_argmax=True)
    np.testing.assert_array_equal(y, y_ref)
    gy = rng.standard_normal(y.shape[::-1]).T
    np.testing.assert_allclose(  # the twin sums overlaps in another order (np.bincount)
        cuda.pool.max_pool2d_backward(gy, arg_ref.T.copy().T, x.shape, 3, 2, 1),
        pool_twin.max_pool2d_backward(gy, arg_ref, x.shape, 3, 2, 1),
        rtol=1e-12,
        atol=1e-12,
    )
    outs, refs = cuda.lrn.lrn_forward(x, 4), lrn_twin.lrn_forward(x, 4)
    for got, ref in zip(outs, refs):
        np.testing.assert_allclose(got, ref, rtol=1e-12)
    gb = rng.standard_normal(x.shape[::-1]).T
    np.testing.assert_allclose(
        cuda.lrn.lrn_backward(gb, x, *outs, 4), lrn_twin.lrn_backward(gb, x, *refs, 4), rtol=1e-12, atol=1e-12
    )
    w = rng.standard_normal((2, 1, 3, 3, 2))[..., 0]  # (C*m = 2, 1, 3, 3), strided
    y = cuda.depthwise.conv2d_depthwise(x, w, None, 1, 1)
    np.testing.assert_allclose(y, depthwise_twin.conv2d_depthwise(x, w, None, 1, 1), rtol=1e-12, atol=1e-12)
    gy = rng.standard_normal(y.shape[::-1]).T
    for got, ref in zip(
        cuda.depthwise.conv2d_depthwise_backward(gy, x, w, 1, 1),
        depthwise_twin.conv2d_depthwise_backward(gy, x, w, 1, 1),
    ):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    mc.manual_seed(2)
    y_ref, mask_ref = dropout_twin.dropout_forward(x, 0.5)
    mc.manual_seed(2)
    y, mask = cuda.dropout.dropout_forward(x, 0.5)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(mask, mask_ref)


# -- the GPU launch path, on a fake CuPy ----------------------------------------------------------
@pytest.fixture
def fake_gpu(monkeypatch):
    """Install the fake CuPy (tests/fake_gpu) as minicnn's CuPy; the kernels' module caches start (and end) empty."""
    monkeypatch.setattr(backend, "_cupy", fake_cupy)
    monkeypatch.setitem(sys.modules, "cupyx", fake_cupyx)
    monkeypatch.setattr(mc_random, "_cp_rngs", {})
    for module in MODULES:
        monkeypatch.setattr(module.KERNEL, "_gpu_modules", {})
        monkeypatch.setattr(module.KERNEL, "_gpu_functions", {})
    FakeRawModule.created.clear()
    FakeRawModule.launched.clear()
    return lambda a: np.ascontiguousarray(a).view(FakeGpuArray)


@pytest.mark.parametrize("max_blocks", [1, launch.MAX_BLOCKS])
@pytest.mark.parametrize("dtype", DTYPES)
def test_gpu_launch_path_on_fake_cupy(fake_gpu, monkeypatch, max_blocks, dtype):
    """Every launcher through Kernel._run_gpu: 256-thread blocks, a grid capped at max_blocks
    (1: one block loops over all indices), NumPy scalars of the declared types, one module
    per dtype binding -- results equal to the twins on NumPy arrays."""
    monkeypatch.setattr(launch, "MAX_BLOCKS", max_blocks)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 9, 10)).astype(dtype)
    gpu = fake_gpu

    conv = ((3, 2), (2, 1), ((1, 0), (2, 1)), (1, 2))
    cols = cuda.im2col.im2col(gpu(x), *conv)
    assert isinstance(cols, FakeGpuArray)
    check(cols, im2col_twin.im2col(x, *conv), dtype, exact=True, what="im2col")
    g = rng.standard_normal(cols.shape).astype(dtype)
    check(cuda.im2col.col2im(gpu(g), x.shape, *conv), im2col_twin.col2im(g, x.shape, *conv), dtype, what="col2im")

    pool = (3, 2, 1, 1, True)
    y, arg = cuda.pool.max_pool2d_forward(gpu(x), *pool, with_argmax=True)
    y_ref, arg_ref = pool_twin.max_pool2d_forward(x, *pool, with_argmax=True)
    check(y, y_ref, dtype, exact=True, what="max_pool2d y")
    check(arg, arg_ref, dtype, exact=True, what="max_pool2d argmax")
    gy = rng.standard_normal(y.shape).astype(dtype)
    check(
        cuda.pool.max_pool2d_backward(gpu(gy), arg, x.shape, *pool),
        pool_twin.max_pool2d_backward(gy, arg_ref, x.shape, *pool),
        dtype,
        what="max_pool2d backward",
    )

    lrn = (4, 0.3, 0.6, 1.5)
    outs = cuda.lrn.lrn_forward(gpu(x), *lrn)
    refs = lrn_twin.lrn_forward(x, *lrn)
    for got, ref in zip(outs, refs):
        check(got, ref, dtype, what="lrn forward")
    gb = rng.standard_normal(x.shape).astype(dtype)
    check(
        cuda.lrn.lrn_backward(gpu(gb), gpu(x), *outs, *lrn[:3]),
        lrn_twin.lrn_backward(gb, x, *refs, *lrn[:3]),
        dtype,
        what="lrn backward",
    )

    w = rng.standard_normal((6, 1, 3, 2)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    dconv = ((1, 2), "valid", (2, 1), 3)
    y = cuda.depthwise.conv2d_depthwise(gpu(x), gpu(w), gpu(b), *dconv)
    check(y, depthwise_twin.conv2d_depthwise(x, w, b, *dconv), dtype, what="depthwise forward")
    gy = rng.standard_normal(y.shape).astype(dtype)
    grads = cuda.depthwise.conv2d_depthwise_backward(gpu(gy), gpu(x), gpu(w), *dconv)
    for got, ref in zip(grads, depthwise_twin.conv2d_depthwise_backward(gy, x, w, *dconv)):
        check(got, ref, dtype, what="depthwise backward")

    mc.manual_seed(3)
    y_ref, mask_ref = dropout_twin.dropout_forward(x, 0.4)
    mc.manual_seed(3)  # the fake GPU generator is NumPy's, seeded alike: the same draws
    y, mask = cuda.dropout.dropout_forward(gpu(x), 0.4)
    check(mask, mask_ref, dtype, exact=True, what="dropout mask")
    check(y, y_ref, dtype, exact=True, what="dropout y")

    p_ref, p_gpu = x.copy(), gpu(x.copy())
    buf_ref = buf_gpu = None
    for _ in range(2):
        buf_gpu = cuda.sgd.sgd_step(p_gpu, gpu(gb), buf_gpu, 0.1, 0.9, 0.0, 5e-4, True)
        buf_ref = sgd_twin(p_ref, gb, buf_ref, 0.1, 0.9, 0.0, 5e-4, True)
    check(p_gpu, p_ref, dtype, what="sgd param")
    check(buf_gpu, buf_ref, dtype, what="sgd momentum buffer")

    t = rng.integers(0, 9, (2, 9, 10))
    rows = cuda.cross_entropy.cross_entropy_forward(gpu(x), gpu(t), None, 0, 0.1)
    rows_ref = ce_twin.cross_entropy_forward(x, t, None, 0, 0.1)
    check(rows.loss, rows_ref.loss, dtype, what="cross_entropy loss")
    scale = np.asarray(0.5, dtype)
    check(
        cuda.cross_entropy.cross_entropy_backward(gpu(scale), gpu(x), rows, None, 0.1),
        ce_twin.cross_entropy_backward(scale, x, rows_ref, None, 0.1),
        dtype,
        what="cross_entropy dx",
    )

    # one RawModule per kernel source for this dtype (pool: one index type), built with the
    # launcher's options; a second call reuses it
    assert len(FakeRawModule.created) == len(MODULES)
    assert all(options == launch.NVRTC_OPTIONS for _, options in FakeRawModule.created)
    cuda.im2col.im2col(gpu(x), *conv)
    assert len(FakeRawModule.created) == len(MODULES)


def test_enabled_for_on_fake_cupy(fake_gpu):
    gpu = fake_gpu
    f32, f64 = gpu(np.ones(3, np.float32)), gpu(np.ones(3))
    assert cuda.enabled_for(f32) and cuda.enabled_for(f64, None)
    assert cuda.enabled_for(f32, gpu(np.zeros(3, np.uint8)))  # an index array beside a float one
    assert not cuda.enabled_for(gpu(np.ones(3, np.float16)))
    assert not cuda.enabled_for(f32, f64)  # mixed float dtypes: array code
    assert not cuda.enabled_for(f32, np.ones(3, np.float32))  # one array on the host
    assert not cuda.enabled_for(None)
    with cuda.use_cuda_kernels(False):
        assert not cuda.enabled_for(f32)
    with pytest.raises(TypeError, match="all NumPy or all CuPy"):
        SCALE.run("scale", 3, f32, np.ones(3, np.float32), 1.0, 3)


def test_index_type_is_32_bit_unless_a_size_needs_64():
    class Big:
        size = 2**31

    limit = 2**31 - launch.BLOCK * launch.MAX_BLOCKS
    assert launch.index_dtype(10, np.empty(10)) == np.int32
    assert launch.index_dtype(limit - 1) == np.int32
    assert launch.index_dtype(limit) == np.int64
    assert launch.index_dtype(1, np.empty(1), Big()) == np.int64


@pytest.mark.parametrize("index", ["by size", "int64"])
def test_training_steps_on_fake_cupy_use_every_kernel_and_match_the_cpu(fake_gpu, monkeypatch, index):
    """A small network with every layer that has a CUDA kernel, trained three SGD steps with
    model.to("cuda") on the fake CuPy (the kernels run through the GPU launch path and the host
    runner), against the same steps on the CPU: same losses and weights to float tolerance.
    Run with the index type chosen by size (int32 here) and forced to int64 (huge tensors)."""
    if index == "int64":
        monkeypatch.setattr(launch, "index_dtype", lambda *_: np.dtype(np.int64))

    def build() -> mc.nn.Module:
        return mc.nn.Sequential(
            mc.nn.Conv2d(3, 8, 3, padding=1),
            mc.nn.LocalResponseNorm(3),
            mc.nn.ReLU(),
            mc.nn.MaxPool2d(3, 2, padding=1),
            mc.nn.Conv2d(8, 8, 3, padding=1),  # needs dX: col2im
            mc.nn.Conv2d(8, 8, 3, padding=1, groups=8),
            mc.nn.BatchNorm2d(8),
            mc.nn.ReLU(),
            mc.nn.Flatten(),
            mc.nn.Linear(8 * 4 * 4, 5),
        )

    mc.manual_seed(0)
    cpu = build()
    gpu = build()
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda")
    assert mc.cuda.is_available() and all(isinstance(p.array, FakeGpuArray) for p in gpu.parameters())
    opts = [mc.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3) for m in (cpu, gpu)]
    rng = np.random.default_rng(0)
    for _ in range(3):
        x, y = rng.standard_normal((4, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, 4)
        losses = []
        for model, opt, device in ((cpu, opts[0], "cpu"), (gpu, opts[1], "cuda")):
            loss = mc.nn.functional.cross_entropy(model(mc.tensor(x, device=device)), mc.tensor(y, device=device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.item()))
        assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for (name, a), b in zip(cpu.state_dict().items(), gpu.state_dict().values()):
        assert type(b) is np.ndarray, name  # state_dict of a GPU model is host NumPy
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=name)
    dropped = mc.nn.functional.dropout(mc.tensor(np.ones((64, 64), np.float32), device="cuda"), 0.5)
    assert isinstance(dropped.array, FakeGpuArray) and set(np.unique(dropped.numpy())) == {0.0, 2.0}
    kernels = set(FakeRawModule.launched)
    for name in (
        "im2col_kernel",
        "col2im_kernel",
        "lrn_forward_kernel",
        "lrn_backward_kernel",
        "max_pool2d_forward_kernel",
        "max_pool2d_backward_kernel",
        "depthwise_forward_kernel",
        "depthwise_dx_kernel",
        "depthwise_dw_partial_kernel",
        "dropout_forward_kernel",
        "sgd_step_kernel",
        "cross_entropy_forward_kernel",
        "cross_entropy_backward_kernel",
    ):
        assert name in kernels, f"{name} never ran; launched: {sorted(kernels)}"


def test_bad_targets_on_the_gpu_raise_at_the_next_host_read(fake_gpu, monkeypatch):
    """A class index outside [0, C) is found on the device and raised, with the op's message,
    at the next copy to the host or mc.cuda.synchronize() -- not at the call, which would stop
    the host for the GPU at every loss (a NumPy input raises at the call)."""
    logits = mc.tensor(np.zeros((4, 3), np.float32), requires_grad=True, device="cuda")
    for fn in (mc.nn.functional.cross_entropy, mc.nn.functional.nll_loss):
        bad = mc.tensor(np.array([0, 1, 3, 2]), device="cuda")
        loss = fn(logits, bad)  # no error yet
        loss.backward()
        with pytest.raises(IndexError, match=r"outside \[0, 3\).*checked on the GPU"):
            loss.item()
        loss = fn(logits, mc.tensor(np.array([0, 1, -1, 2]), device="cuda"))
        with pytest.raises(IndexError, match="outside"):
            mc.cuda.synchronize()
        assert np.isfinite(fn(logits, mc.tensor(np.array([0, 1, 2, 2]), device="cuda")).item())  # settled
        with pytest.raises(IndexError, match=r"outside \[0, 3\)$"):
            fn(mc.tensor(np.zeros((4, 3), np.float32)), mc.tensor(np.array([0, 1, 3, 2])))  # NumPy: now
    monkeypatch.setattr(backend, "MAX_DEFERRED", 3)
    good = mc.tensor(np.array([0, 1, 2, 2]), device="cuda")
    for _ in range(2):
        mc.nn.functional.cross_entropy(logits, good)
    mc.nn.functional.cross_entropy(logits, mc.tensor(np.array([5, 1, 2, 2]), device="cuda"))
    with pytest.raises(IndexError, match="outside"):  # a fourth pending check settles them all
        mc.nn.functional.cross_entropy(logits, good)
    assert not backend._deferred


def test_training_command_on_fake_cupy_matches_the_cpu(fake_gpu, tmp_path):
    """trainer.train with device="cuda" and "cuda:1" (DataLoader batches moved to the device,
    checkpoints written from a GPU model, evaluation on the GPU) against the same run on the CPU."""
    from conftest import SHARED

    from minicnn.trainer import TrainConfig, train

    mnist = SHARED / "data" / "mnist"
    if not (mnist / "train-images-idx3-ubyte.gz").exists():
        pytest.fail(f"the real MNIST is expected in {mnist}")
    runs = {}
    for device in ("cpu", "cuda", "cuda:1"):
        cfg = TrainConfig(
            device=device,
            epochs=1,
            batch_size=32,
            limit_train=96,
            limit_test=64,
            data_dir=str(mnist),
            out=str(tmp_path / device),
            progress=False,
        )
        runs[device] = train(cfg, log=lambda _: None)
        runs[device]["weights"] = mc.load(tmp_path / device / "checkpoint-epoch1.npz")["model"]
    for gpu in ("cuda", "cuda:1"):
        assert runs[gpu]["train_loss"] == pytest.approx(runs["cpu"]["train_loss"], rel=1e-5)
        assert runs[gpu]["test_acc"] == runs["cpu"]["test_acc"]
        for name, a in runs["cpu"]["weights"].items():
            np.testing.assert_allclose(runs[gpu]["weights"][name], a, rtol=1e-4, atol=1e-5, err_msg=name)
    assert {"im2col_kernel", "col2im_kernel", "max_pool2d_forward_kernel", "sgd_step_kernel"} <= set(
        FakeRawModule.launched
    )


def test_gpu_draws_of_an_epoch_depend_only_on_seed_and_epoch(fake_gpu):
    """random.begin_epoch: CuPy's generator cannot be checkpointed, so the training loop
    re-derives it each epoch; a resumed run (fresh process, checkpointed NumPy state, epoch 2)
    draws what the uninterrupted run drew in epoch 2."""
    mc.manual_seed(5)
    mc_random.begin_epoch(0)
    mc_random.generator(backend._cupy).random(1000, dtype=np.float32)
    mc_random.begin_epoch(1)
    mc_random.generator(backend._cupy).random(77, dtype=np.float32)
    state = mc_random.get_rng_state()
    mc_random.begin_epoch(2)
    straight = mc_random.generator(backend._cupy).random(10, dtype=np.float32)

    mc.manual_seed(123)  # another process...
    mc_random.set_rng_state(state)  # ...resumed from the checkpoint
    mc_random.begin_epoch(2)
    resumed = mc_random.generator(backend._cupy).random(10, dtype=np.float32)
    np.testing.assert_array_equal(resumed, straight)
    mc_random.begin_epoch(3)
    assert not np.array_equal(mc_random.generator(backend._cupy).random(10, dtype=np.float32), straight)


def test_init_and_assignment_of_gpu_tensors(fake_gpu):
    """Every nn.init function draws with CuPy's generator API (which has no ``normal``), and a
    host array assigned into a GPU tensor is moved to the device first (CuPy refuses it)."""
    t = mc.zeros((64, 32), device="cuda")
    for name, args in [
        ("uniform_", ()), ("normal_", ()), ("trunc_normal_", (0.0, 1.0, -0.5, 0.5)), ("kaiming_uniform_", ()),
        ("kaiming_normal_", ()), ("xavier_uniform_", ()), ("xavier_normal_", ()), ("constant_", (0.5,)),
    ]:  # fmt: skip
        getattr(mc.nn.init, name)(t, *args)
        assert isinstance(t.array, FakeGpuArray) and t.dtype == np.float32, name
    assert t.numpy().min() == t.numpy().max() == 0.5
    mc.nn.init.trunc_normal_(t, 0.0, 1.0, -0.5, 0.5)
    assert -0.5 <= t.numpy().min() and t.numpy().max() <= 0.5
    t[1:3] = np.ones((2, 32), np.float32)
    t[np.array([5])] = np.full((1, 32), 2.0, np.float32)
    assert isinstance(t.array, FakeGpuArray)
    assert (t.numpy()[1:3] == 1).all() and (t.numpy()[5] == 2).all()


def test_a_second_gpu(fake_gpu):
    """A model and its data on "cuda:1" while GPU 0 stays current (the caller never switches):
    every op, backward step, optimiser update, init and draw runs on GPU 1 (the fake, like
    CuPy, refuses a kernel on one GPU over arrays of another), and training equals the CPU's."""
    import fake_gpu.cupy as fc

    assert mc.cuda.device_count() == fc.DEVICES == 2

    def build() -> mc.nn.Module:
        return mc.nn.Sequential(
            mc.nn.Conv2d(3, 6, 3, padding=1, bias=False),  # (a bias before BN gets noise, which Adam amplifies)
            mc.nn.BatchNorm2d(6),
            mc.nn.ReLU(),
            mc.nn.MaxPool2d(2),
            mc.nn.Conv2d(6, 6, 3, padding=1),  # needs dX: col2im
            mc.nn.Conv2d(6, 6, 3, padding=1, groups=6),
            mc.nn.LocalResponseNorm(3),
            mc.nn.AdaptiveAvgPool2d(4),
            mc.nn.Flatten(),
            mc.nn.Dropout(0.0),
            mc.nn.Linear(6 * 4 * 4, 5),
        )

    mc.manual_seed(0)
    cpu, gpu = build(), build()
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda:1")
    for opt_cls, kwargs in ((mc.optim.SGD, dict(lr=0.1, momentum=0.9)), (mc.optim.Adam, dict(lr=0.01))):
        opts = [opt_cls(m.parameters(), **kwargs) for m in (cpu, gpu)]
        rng = np.random.default_rng(1)
        for _ in range(2):
            x, y = rng.standard_normal((4, 3, 8, 8)).astype(np.float32), rng.integers(0, 5, 4)
            losses = []
            for model, opt, device in ((cpu, opts[0], "cpu"), (gpu, opts[1], "cuda:1")):
                loss = mc.nn.functional.cross_entropy(model(mc.tensor(x, device=device)), mc.tensor(y, device=device))
                opt.zero_grad(set_to_none=False)
                loss.backward()
                opt.step()
                losses.append(loss.item())
                assert fc._current[0] == 0
            assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for (name, a), b in zip(cpu.state_dict().items(), gpu.state_dict().values()):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=name)
    assert all(p.array.device.id == 1 for p in gpu.parameters())
    t = mc.randn(3, 4, device="cuda:1")
    mc.nn.init.kaiming_uniform_(t)
    for u in (t, mc.zeros(2, device="cuda:1"), mc.arange(3, device="cuda:1"), mc.zeros_like(t), t * 2 + 1):
        assert u.array.device.id == 1
    dropped = mc.nn.functional.dropout(mc.ones(64, 64, device="cuda:1"), 0.5)
    assert dropped.array.device.id == 1 and set(np.unique(dropped.numpy())) == {0.0, 2.0}


def test_out_of_range_array_indices_on_the_gpu_raise(fake_gpu):
    """CuPy wraps an out-of-range integer array index around (the fake does too); minicnn
    checks such indices on the device and raises at the next host read, as NumPy and torch
    raise (torch: a device-side assert). In-range and negative indices work as on the CPU."""
    x = mc.tensor(np.arange(15.0).reshape(3, 5), requires_grad=True, device="cuda")
    y = x[:, mc.tensor(np.array([0, 7]), device="cuda")]  # no error yet: wrapped to column 2
    with pytest.raises(IndexError, match=r"out of bounds for axis 1 with size 5.*checked on the GPU"):
        y.sum().item()
    y = x[mc.tensor(np.array([-1, 0]), device="cuda"), 1:3]
    np.testing.assert_array_equal(y.numpy(), np.arange(15.0).reshape(3, 5)[[-1, 0], 1:3])
    y.sum().backward()
    assert x.grad.numpy().sum() == 4
    with pytest.raises(IndexError, match=r"out of bounds for axis 0 with size 3$"):
        mc.tensor(np.arange(15.0).reshape(3, 5))[np.array([3])]  # the CPU: at once


def test_pooling_constants_are_uploaded_once_per_gpu(fake_gpu, monkeypatch):
    """avg_pool2d's divisor, the adaptive average pool's bin tables and the Python scalars of
    ops are host constants: on a GPU each is uploaded once per (shape, dtype, device) and reused."""
    monkeypatch.setattr(backend, "_constants", {})
    x = mc.tensor(np.random.default_rng(0).standard_normal((2, 3, 7, 7)).astype(np.float32), device="cuda")
    for _ in range(3):
        mc.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
        mc.nn.functional.adaptive_avg_pool2d(x, (2, 3))
    # the divisor, and per axis the bins' lengths and gather positions (7 -> 2 and 7 -> 3 have
    # bins of one length each: no mask)
    assert len(backend._constants) == 5
    assert all(isinstance(a, FakeGpuArray) for a in backend._constants.values())
    kinds = sorted(a.dtype.kind for a in backend._constants.values())
    assert kinds == ["f", "f", "f", "i", "i"]
    assert all(a.dtype == np.float32 for a in backend._constants.values() if a.dtype.kind == "f")
    y = mc.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False)
    yt = F.avg_pool2d(torch.from_numpy(x.numpy()), 3, 2, 1, count_include_pad=False)
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6, atol=1e-6)
    backend._constants.clear()  # Python scalars in ops: one 0-d upload per value, dtype and GPU
    for _ in range(3):
        y = 1.7159 * mc.nn.functional.tanh(x * 0.5) + 1
    assert len(backend._constants) == 3
    np.testing.assert_allclose(y.numpy(), 1.7159 * np.tanh(x.numpy() * 0.5) + 1, rtol=1e-6)


def test_writes_comparisons_and_reductions_of_tensors_on_a_second_gpu(fake_gpu):
    """In-place arithmetic, assignment (plain and recorded), in-place methods, comparisons,
    bitwise ops, all/any and argmax of tensors on "cuda:1" run on GPU 1 while GPU 0 is current
    (CuPy launches on the current GPU; the fake refuses arrays of another, as CuPy does)."""
    base = np.arange(12.0).reshape(3, 4)
    x = mc.tensor(base, device="cuda:1")
    x += 1
    x[0] = 5.0
    x[:, 1:] *= 2
    x[x > 20] = 0.0  # a boolean mask and one value
    x.clamp_(0, 15)
    expected = base + 1
    expected[0] = 5.0
    expected[:, 1:] *= 2
    expected[expected > 20] = 0.0
    np.testing.assert_array_equal(x.numpy(), np.clip(expected, 0, 15))
    m = x > 3
    assert bool((m & ~m).any().item()) is False and bool((m | ~m).all().item())
    assert x.argmax().item() == int(np.argmax(np.clip(expected, 0, 15)))
    w = mc.tensor(base, device="cuda:1", requires_grad=True)
    y = w * 1
    y[0] = 0.0  # recorded
    y[y > 5] = 1.0  # recorded, a where on the device
    y += w
    y.sum().backward()
    grad = np.ones((3, 4))
    grad[0] = 0
    grad[1:][(base[1:]) > 5] = 0
    np.testing.assert_array_equal(w.grad.numpy(), grad + 1)
    assert w.grad.device == "cuda:1"


def test_masked_fill_on_the_gpu_never_waits(fake_gpu):
    """x[mask] = value with one value is a where (CuPy's mask indexing reads the mask's count on
    the host); recorded or not, forward and backward."""
    import fake_gpu.cupy as fc

    x = mc.tensor(np.arange(6.0).reshape(2, 3), device="cuda", requires_grad=True)
    fc.counts.clear()
    y = x * 1
    y[y > 2] = 7.0
    (y * y).sum().backward()
    z = mc.zeros(2, 3, device="cuda")
    z[x.detach() > 2] = 1.0
    assert fc.counts["host reads"] == 0
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 2, 4], [0, 0, 0]])
    np.testing.assert_array_equal(z.numpy(), [[0, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_writes_into_an_expanded_view_are_refused_like_torch(fake_gpu, device):
    """An expand()ed view has many elements on one address: NumPy marks it read-only, CuPy does
    not (its threads would race on the write), torch refuses; so does minicnn, on both."""
    e = mc.ones(1, 3, device=device).expand(4, 3)
    for write in (lambda: e.__iadd__(1), lambda: e.__setitem__(0, 2.0), lambda: e.fill_(0)):
        with pytest.raises(RuntimeError, match="single memory location"):
            write()
    t = torch.ones(1, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match="single memory location"):
        t += 1


def test_a_lenet_training_step_on_the_gpu_launches_few_kernels_and_never_waits(fake_gpu):
    """The GPU budget of one LeNet-5 training step at batch 128 (forward, cross-entropy,
    backward, SGD with momentum), counted on the fake: no host read at all (the GPU never
    stalls the Python side), the 11 CUDA kernel launches of docs/gpu.md, and at most 60
    launches in all (it was about 105 with a host sync before the fused cross-entropy and the
    multi-tensor SGD). A regression here costs GPU throughput, which no CPU test would show."""
    import fake_gpu.cupy as fc

    model = mc.models.lenet5().to("cuda")
    opt = mc.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    x_np, y_np = rng.standard_normal((128, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 128)

    def step() -> mc.Tensor:
        x, y = mc.tensor(x_np, device="cuda"), mc.tensor(y_np, device="cuda")
        opt.zero_grad()
        loss = mc.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    step()  # the first step creates the momentum buffers
    fc.counts.clear()
    FakeRawModule.launched.clear()
    loss = step()
    assert fc.counts["host reads"] == 0
    assert sorted(FakeRawModule.launched) == sorted(
        ["im2col_kernel"] * 2
        + ["col2im_kernel"]
        + ["max_pool2d_forward_kernel", "max_pool2d_backward_kernel"] * 2
        + ["cross_entropy_forward_kernel", "cross_entropy_backward_kernel"]
        + ["sgd_step_kernel"] * 2
    )
    assert fc.counts["kernels"] <= 60, fc.counts
    assert np.isfinite(loss.item())  # reads the loss and the two steps' pending target checks
    assert fc.counts["host reads"] == 3


def test_slices_and_recurrences_on_a_second_gpu(fake_gpu):
    """A slice's gradient block, written into a zero array when its tensor is reached, and a
    recurrent layer's whole-sequence op run on "cuda:1" while GPU 0 stays current (the fake
    refuses a kernel on one GPU over arrays of another); gradients equal the CPU's."""
    mc.manual_seed(0)
    cpu = mc.nn.LSTM(3, 4)
    gpu = mc.nn.LSTM(3, 4)
    gpu.load_state_dict(cpu.state_dict())
    gpu.to("cuda:1")
    x0 = np.random.default_rng(2).standard_normal((5, 2, 3)).astype(np.float32)
    grads = []
    for model, device in ((cpu, "cpu"), (gpu, "cuda:1")):
        x = mc.tensor(x0, device=device, requires_grad=True)
        out, (h, c) = model(x)
        pieces = x.unbind(0)
        only_cut = (x * 2)[1:3]  # a tensor whose whole gradient is one slice's block
        loss = out.sum() + h.sum() + sum((p * (i + 1)).sum() for i, p in enumerate(pieces)) + only_cut.sum()
        loss.backward()
        assert x.grad.device == device and model.weight_hh_l0.grad.device == device
        grads.append([backend.to_numpy(t.array) for t in (x.grad, model.weight_hh_l0.grad, model.bias_ih_l0.grad)])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
