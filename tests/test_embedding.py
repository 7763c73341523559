"""Embedding, Bilinear and RMSNorm (functional and modules) against torch."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF
from conftest import compare_with_torch, devices
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn as mc
from minicnn.nn.embedding import Bilinear, Embedding
from minicnn.nn.rmsnorm import RMSNorm
from minicnn.ops.bilinear import bilinear
from minicnn.ops.embedding import embedding
from minicnn.ops.rmsnorm import rms_norm

SETTINGS = settings(max_examples=50, deadline=None)
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _state_like_torch(m, t) -> None:
    """Same state-dict keys (in order), shapes and dtypes as torch's module."""
    ms, ts = m.state_dict(), t.state_dict()
    assert list(ms) == list(ts)
    for k in ts:
        assert tuple(ms[k].shape) == tuple(ts[k].shape), k
        assert np.dtype(ms[k].dtype) == np.dtype(str(ts[k].dtype).replace("torch.", "")), k


# -- embedding -------------------------------------------------------------------------------------
@SETTINGS
@given(
    vocab=st.integers(1, 7),
    dim=st.integers(0, 5),
    index_shape=st.lists(st.integers(0, 4), min_size=0, max_size=3),  # [] is a 0-d index
    padding=st.one_of(st.none(), st.integers(-7, 6)),
    scale_grad_by_freq=st.booleans(),
    max_norm=st.sampled_from([None, 0.5, 1.0, 2.5]),
    norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]),
    dtype=st.sampled_from([np.float32, np.float64]),
    index_dtype=st.sampled_from([np.int64, np.int32]),
    seed=st.integers(0, 2**16),
)
def test_embedding_matches_torch(
    vocab, dim, index_shape, padding, scale_grad_by_freq, max_norm, norm_type, dtype, index_dtype, seed
):
    """Output, the weight after max_norm's in-place renorm, and the weight's gradient; small
    vocabularies make repeated indices the rule."""
    padding = None if padding is None or not -vocab <= padding < vocab else padding
    if dim == 0 and norm_type == math.inf:  # torch refuses the inf-norm of an empty row (no identity)
        norm_type = 2.0
    rng = _rng(seed)
    w = (rng.standard_normal((vocab, dim)) * 1.5).astype(dtype)
    idx = rng.integers(0, vocab, tuple(index_shape)).astype(index_dtype)
    kw = dict(padding_idx=padding, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq)
    mw, tw = mc.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
    mo, to = embedding(mc.tensor(idx), mw, **kw), TF.embedding(torch.tensor(idx), tw, **kw)
    assert mo.shape == tuple(to.shape) == tuple(index_shape) + (dim,)
    assert mo.dtype == dtype
    tol = TOL[dtype]
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), **tol, err_msg="forward")
    np.testing.assert_allclose(mw.numpy(), tw.detach().numpy(), **tol, err_msg="weight after renorm")
    g = rng.standard_normal(to.shape).astype(dtype)
    (mo * mc.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), **tol, err_msg="weight gradient")


def test_embedding_gradcheck():
    rng = _rng(3)
    w = mc.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    idx = mc.tensor(np.array([[0, 2, 2], [4, 1, 2]]))
    assert mc.gradcheck(lambda w: embedding(idx, w), [w])  # repeated indices: gradients add up
    assert mc.gradcheck(lambda w: embedding(mc.tensor(np.int64(4)), w) * 2.0, [w])
    # (padding_idx and scale_grad_by_freq change the gradient on purpose: compared with torch above)


def test_embedding_padding_row_gets_no_gradient_even_when_inf():
    w = mc.tensor(np.ones((3, 2)), requires_grad=True)
    out = embedding(mc.tensor([0, 1, 1]), w, padding_idx=1)
    (out * mc.tensor([[1.0, 1.0], [np.inf, np.inf], [np.nan, 2.0]])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1, 1], [0, 0], [0, 0]])


def test_embedding_output_is_a_copy_and_renorm_counts_as_a_write():
    w = mc.tensor(np.arange(6.0).reshape(3, 2))
    out = embedding(mc.tensor(np.int64(1)), w)  # a 0-d index: still a copy, not a view of the row
    w.array[1] = -1
    np.testing.assert_array_equal(out.numpy(), [2.0, 3.0])
    before = w._version
    embedding(mc.tensor([2]), w, max_norm=1.0)
    assert w._version == before + 1
    np.testing.assert_allclose(np.linalg.norm(w.numpy()[2]), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(w.numpy()[0], [0.0, 1.0])  # rows not looked up stay as they were


def test_embedding_errors():
    w = mc.tensor(np.zeros((5, 3)))
    with pytest.raises(IndexError, match=r"embedding: index out of range.*5 rows.*got 5"):
        embedding(mc.tensor([1, 5]), w)
    with pytest.raises(IndexError, match=r"got -1"):
        embedding(mc.tensor([-1]), w)
    with pytest.raises(TypeError, match=r"embedding: expected an index tensor of dtype int64 or int32.*float32"):
        embedding(mc.tensor([1.0]), w)
    with pytest.raises(TypeError, match=r"int16"):
        embedding(mc.tensor(np.array([1], np.int16)), w)
    with pytest.raises(ValueError, match=r"embedding: expected a 2-d weight.*\(5,\)"):
        embedding(mc.tensor([1]), mc.tensor(np.zeros(5)))
    for bad in (5, -6):  # torch: AssertionError
        with pytest.raises(ValueError, match=r"padding_idx must be within num_embeddings.*\[-5, 5\)"):
            embedding(mc.tensor([1]), w, padding_idx=bad)
        with pytest.raises(ValueError, match=r"Embedding: padding_idx"):
            Embedding(5, 3, padding_idx=bad)
    with pytest.raises(NotImplementedError, match=r"sparse=True"):
        embedding(mc.tensor([1]), w, sparse=True)
    with pytest.raises(NotImplementedError, match=r"Embedding: sparse=True"):
        Embedding(5, 3, sparse=True)
    with pytest.raises(ValueError, match=r"_weight of shape \(5, 3\).*got \(3, 5\)"):
        Embedding(5, 3, _weight=mc.zeros(3, 5))
    with pytest.raises(ValueError, match=r"from_pretrained: expected 2-d embeddings"):
        Embedding.from_pretrained(mc.zeros(3))


def test_embedding_padding_idx_out_of_range_raises_torchs_types():
    """torch: AssertionError from the Embedding layers and F.embedding, RuntimeError from F.embedding_bag."""
    calls = [
        (AssertionError, lambda L: L.nn.Embedding(3, 2, padding_idx=3)),
        (AssertionError, lambda L: L.nn.EmbeddingBag(3, 2, padding_idx=-4)),
        (AssertionError, lambda L: L.nn.Embedding.from_pretrained(L.ones(3, 2), padding_idx=3)),
        (AssertionError, lambda L: L.nn.functional.embedding(L.tensor([0]), L.ones(3, 2), padding_idx=-4)),
        (RuntimeError, lambda L: L.nn.functional.embedding_bag(L.tensor([[0]]), L.ones(3, 2), padding_idx=5)),
    ]
    for kind, call in calls:
        with pytest.raises(kind):
            call(torch)
        with pytest.raises(kind, match="padding_idx must be within num_embeddings"):
            call(mc)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(padding_idx=-2),
        dict(padding_idx=0, max_norm=1.0),
        dict(max_norm=2, norm_type=1.0),
        dict(norm_type=2),
        dict(scale_grad_by_freq=True, dtype=np.float64),
    ],
)
def test_embedding_module_like_torch(kwargs):
    tkw = {k: (torch.float64 if k == "dtype" else v) for k, v in kwargs.items()}
    m, t = Embedding(10, 3, **kwargs), tnn.Embedding(10, 3, **tkw)
    assert repr(m) == repr(t)
    assert m.padding_idx == t.padding_idx
    _state_like_torch(m, t)
    assert m.weight.requires_grad
    if m.padding_idx is not None:
        np.testing.assert_array_equal(m.weight.numpy()[m.padding_idx], 0.0)
    m.load_state_dict({"weight": t.weight.detach().numpy()})
    idx = np.array([[1, 8, 8], [0, 9, 2]])
    ti = torch.tensor(idx)
    mo, to = m(mc.tensor(idx)), t(ti)
    np.testing.assert_allclose(mo.numpy(), to.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(m.weight.numpy(), t.weight.detach().numpy(), rtol=1e-6)  # after max_norm
    mo.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), t.weight.grad.numpy(), rtol=1e-6)


def test_embedding_init_is_standard_normal_with_zero_padding_row():
    mc.manual_seed(0)
    m = Embedding(400, 50, padding_idx=3)
    w = m.weight.numpy()
    assert w.dtype == np.float32 and w.shape == (400, 50)
    np.testing.assert_array_equal(w[3], 0.0)
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.02 and abs(rest.std() - 1.0) < 0.02  # 19,950 draws of N(0, 1)
    mc.manual_seed(0)
    np.testing.assert_array_equal(Embedding(400, 50, padding_idx=3).weight.numpy(), w)  # seeded
    m.reset_parameters()
    np.testing.assert_array_equal(m.weight.numpy()[3], 0.0)


def test_embedding_from_pretrained_and_frozen_weight():
    table = mc.tensor(np.arange(12.0).reshape(4, 3))
    t = tnn.Embedding.from_pretrained(torch.tensor(table.numpy()), padding_idx=-1, max_norm=3.0)
    m = Embedding.from_pretrained(table, padding_idx=-1, max_norm=3.0)
    assert repr(m) == repr(t)
    assert not m.weight.requires_grad and m.weight.array is table.array  # frozen, shared (as torch)
    np.testing.assert_allclose(m(mc.tensor([1, 3])).numpy(), t(torch.tensor([1, 3])).numpy(), rtol=1e-12)
    np.testing.assert_allclose(table.numpy(), t.weight.numpy(), rtol=1e-12)  # renormed in place, both
    assert Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    assert not Embedding(4, 3, _weight=table, _freeze=True).weight.requires_grad


@pytest.mark.parametrize("device", devices())
def test_embedding_on_each_device(device):
    rng = _rng(5)
    w, idx = rng.standard_normal((6, 4)), rng.integers(0, 6, (3, 5))
    for kw in ({}, dict(padding_idx=-1, scale_grad_by_freq=True)):
        compare_with_torch(lambda w, i, kw=kw: embedding(i, w, **kw), lambda w, i, kw=kw: TF.embedding(i, w, **kw),
                           [w, idx], device=device)  # fmt: skip
    mw, tw = mc.tensor(w, device=device), torch.tensor(w)
    out = embedding(mc.tensor(idx, device=device), mw, max_norm=1.0, norm_type=3.0)
    np.testing.assert_allclose(out.numpy(), TF.embedding(torch.tensor(idx), tw, max_norm=1.0, norm_type=3.0).numpy())
    np.testing.assert_allclose(mw.numpy(), tw.numpy())
    with pytest.raises(IndexError, match="out of range"):  # on a GPU: raised at the next host read
        embedding(mc.tensor([0, 6], device=device), mw).numpy()


# -- bilinear --------------------------------------------------------------------------------------
@SETTINGS
@given(
    lead=st.lists(st.integers(0, 3), min_size=0, max_size=2),
    in1=st.integers(1, 4),
    in2=st.integers(1, 4),
    out=st.integers(1, 4),
    use_bias=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**16),
)
def test_bilinear_matches_torch(lead, in1, in2, out, use_bias, dtype, seed):
    rng = _rng(seed)
    lead = tuple(lead)
    arrays = [
        rng.standard_normal(lead + (in1,)),
        rng.standard_normal(lead + (in2,)),
        rng.standard_normal((out, in1, in2)),
        rng.standard_normal(out),
    ]
    if use_bias:
        compare_with_torch(bilinear, TF.bilinear, arrays, dtype=dtype, seed=seed)
    else:
        compare_with_torch(lambda a, b, w: bilinear(a, b, w), TF.bilinear, arrays[:3], dtype=dtype, seed=seed)


def test_bilinear_gradcheck():
    rng = _rng(2)
    x1, x2 = (mc.tensor(rng.standard_normal((2, 3, n)), requires_grad=True) for n in (2, 4))
    w = mc.tensor(rng.standard_normal((5, 2, 4)), requires_grad=True)
    b = mc.tensor(rng.standard_normal(5), requires_grad=True)
    assert mc.gradcheck(bilinear, [x1, x2, w, b])
    assert mc.gradcheck(lambda a, c, w: bilinear(a, c, w), [x1[0, 0], x2[0, 0], w])  # 1-d inputs: no batch


def test_bilinear_only_asked_gradients_and_errors():
    x1, x2 = mc.ones(3, 2, dtype=mc.float64), mc.ones(3, 4, dtype=mc.float64, requires_grad=True)
    w = mc.ones(5, 2, 4, dtype=mc.float64)
    bilinear(x1, x2, w).sum().backward()
    assert x1.grad is None and w.grad is None
    np.testing.assert_array_equal(x2.grad.numpy(), 10.0)  # sum over o (5) and i (2)
    with pytest.raises(ValueError, match=r"bilinear: expected input1 \(\*, in1\) and input2.*\(3, 2\) and \(2, 4\)"):
        bilinear(x1, mc.ones(2, 4, dtype=mc.float64), w)
    with pytest.raises(ValueError, match=r"same leading dims"):
        bilinear(x1, mc.ones(1, 3, 4, dtype=mc.float64), w)
    with pytest.raises(
        ValueError, match=r"do not fit weight of shape \(5, 2, 4\) \(expected \(\*, 2\) and \(\*, 4\)\)"
    ):
        bilinear(x1, mc.ones(3, 3, dtype=mc.float64), w)
    with pytest.raises(ValueError, match=r"expected bias of shape \(5,\)"):
        bilinear(x1, x2, w, mc.ones(4, dtype=mc.float64))
    with pytest.raises(ValueError, match=r"3-d weight"):
        bilinear(x1, x2, mc.ones(5, 2, dtype=mc.float64))
    with pytest.raises(TypeError, match=r"one dtype.*float32"):
        bilinear(x1, x2, mc.ones(5, 2, 4))


@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_module_like_torch(bias):
    m, t = Bilinear(3, 4, 5, bias=bias), tnn.Bilinear(3, 4, 5, bias=bias)
    assert repr(m) == repr(t)
    _state_like_torch(m, t)
    mc.manual_seed(0)
    big = Bilinear(16, 8, 40, bias=bias)
    bound = 1 / math.sqrt(16)  # weight and bias ~ U(-1/sqrt(in1), 1/sqrt(in1))
    for p in big.parameters():
        assert np.all(np.abs(p.numpy()) <= bound)
    assert abs(big.weight.numpy().std() - bound / math.sqrt(3)) < 0.02 * bound  # 5,120 draws
    m.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    rng = _rng(0)
    a, b = rng.standard_normal((2, 6, 3)).astype(np.float32), rng.standard_normal((2, 6, 4)).astype(np.float32)
    np.testing.assert_allclose(
        m(mc.tensor(a), mc.tensor(b)).numpy(),
        t(torch.tensor(a), torch.tensor(b)).detach().numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert Bilinear(3, 4, 5, dtype=np.float64).weight.dtype == np.float64
    with pytest.raises(ValueError, match=r"in1_features must be > 0"):
        Bilinear(0, 4, 5)


@pytest.mark.parametrize("device", devices())
def test_bilinear_on_each_device(device):
    rng = _rng(6)
    arrays = [rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((5, 3, 2)),
              rng.standard_normal(5)]  # fmt: skip
    compare_with_torch(bilinear, TF.bilinear, arrays, device=device)


# -- rms_norm --------------------------------------------------------------------------------------
@SETTINGS
@given(
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    norm=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    use_weight=st.booleans(),
    eps=st.sampled_from([None, 1e-5, 0.3]),
    dtype=st.sampled_from([np.float32, np.float64]),
    as_int=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_rms_norm_matches_torch(lead, norm, use_weight, eps, dtype, as_int, seed):
    rng = _rng(seed)
    shape = tuple(norm)
    x = rng.standard_normal(tuple(lead) + shape) * 2 + 0.5
    w = rng.standard_normal(shape)
    ours_shape = shape[0] if as_int and len(shape) == 1 else shape  # an int means (int,) (nn.RMSNorm's rule)

    def call(f, x, w, normalized_shape):
        return f(x, normalized_shape, weight=w if use_weight else None, eps=eps)

    compare_with_torch(
        lambda x, w: call(rms_norm, x, w, ours_shape),
        lambda x, w: call(TF.rms_norm, x, w, list(shape)),
        [x, w],
        dtype=dtype,
        seed=seed,
        **(dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else {}),
    )


def test_rms_norm_gradcheck_and_default_eps():
    rng = _rng(4)
    x = mc.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = mc.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert mc.gradcheck(lambda x, w: rms_norm(x, (3, 4), w, eps=1e-3), [x, w])
    assert mc.gradcheck(lambda x: rms_norm(x, [4]), [x])
    # eps None is the dtype's machine epsilon: visible on an all-zero row (0 / sqrt(0 + eps) = 0) and a tiny one
    for dt, tdt in ((np.float32, torch.float32), (np.float64, torch.float64)):
        tiny = np.full((1, 3), 1e-4, dt)
        ours = rms_norm(mc.tensor(tiny), [3]).numpy()
        np.testing.assert_allclose(ours, TF.rms_norm(torch.tensor(tiny, dtype=tdt), [3]).numpy(), rtol=1e-6)
        np.testing.assert_allclose(ours, 1e-4 / np.sqrt(1e-8 + np.finfo(dt).eps), rtol=1e-6)


def test_rms_norm_output_may_be_written_in_place():
    x = mc.tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    tx = torch.tensor(x.numpy(), requires_grad=True)
    y, ty = rms_norm(x, [3]), TF.rms_norm(tx, [3])
    y.mul_(2.0)
    ty.mul_(2.0)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_rms_norm_errors():
    x = mc.tensor(np.zeros((2, 6, 3, 4)))
    with pytest.raises(ValueError, match=r"rms_norm: given normalized_shape=\(3, 5\).*\(2, 6, 3, 4\)"):
        rms_norm(x, (3, 5))
    with pytest.raises(ValueError, match=r"at least one dimension"):
        rms_norm(x, [])
    with pytest.raises(ValueError, match=r"weight of shape \(4,\).*got \(3,\)"):
        rms_norm(x, (4,), weight=mc.tensor(np.ones(3)))
    with pytest.raises(TypeError, match=r"rms_norm: expected a floating point input"):
        rms_norm(mc.tensor(np.zeros((2, 4), np.int64)), [4])
    with pytest.raises(ValueError, match=r"RMSNorm\(\(3,\)\): given normalized_shape"):
        RMSNorm(3)(mc.zeros(2, 4))


@pytest.mark.parametrize(
    "args, kwargs",
    [((3,), {}), (((3, 4),), dict(eps=1e-3, elementwise_affine=False)), (([4],), dict(dtype=np.float64))],
)
def test_rms_norm_module_like_torch(args, kwargs):
    tkw = {k: (torch.float64 if k == "dtype" else v) for k, v in kwargs.items()}
    m, t = RMSNorm(*args, **kwargs), tnn.RMSNorm(*args, **tkw)
    assert repr(m) == repr(t)
    assert m.normalized_shape == t.normalized_shape and m.eps == t.eps
    _state_like_torch(m, t)
    if m.weight is not None:
        np.testing.assert_array_equal(m.weight.numpy(), 1.0)
        m.load_state_dict({"weight": np.linspace(0.5, 2.0, m.weight.array.size).reshape(m.weight.shape)})
        t.load_state_dict({"weight": torch.tensor(m.weight.numpy())})
    else:
        assert m.weight is None and list(m.parameters()) == []
    dt = m.weight.dtype if m.weight is not None else np.float32
    x = _rng(1).standard_normal((2, 3) + m.normalized_shape).astype(dt)
    np.testing.assert_allclose(m(mc.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device", devices())
def test_rms_norm_on_each_device(device):
    rng = _rng(7)
    compare_with_torch(
        lambda x, w: rms_norm(x, (2, 3), w, eps=1e-4),
        lambda x, w: TF.rms_norm(x, (2, 3), w, eps=1e-4),
        [rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 3))],
        device=device,
    )


@pytest.mark.filterwarnings("ignore:Mismatch dtype between input and weight")
def test_rms_norm_casts_the_weight_and_computes_float16_in_float32_as_torch():
    """A float32 weight on float64 input gives float64 (torch computes in the input's type);
    float16 statistics are taken in float32 with float32's eps (no overflow at 256)."""
    rng = np.random.default_rng(40)
    x, w = rng.standard_normal((2, 4)), rng.standard_normal(4).astype(np.float32)
    ours = rms_norm(mc.tensor(x), (4,), weight=mc.tensor(w))
    theirs = torch.nn.functional.rms_norm(torch.tensor(x), (4,), weight=torch.tensor(w))
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert RMSNorm(4)(mc.ones(2, 4, dtype=mc.float64)).dtype == np.float64
    for h in (np.array([[1e-3, 2e-3, -1e-3, 5e-4]], np.float16), np.array([[300.0, 1, 2, 3]], np.float16)):
        ours = rms_norm(mc.tensor(h), [4])
        theirs = torch.nn.functional.rms_norm(torch.tensor(h), [4])
        assert ours.dtype == np.float16
        np.testing.assert_allclose(ours.numpy().astype(np.float32), theirs.numpy().astype(np.float32), rtol=2e-3)
