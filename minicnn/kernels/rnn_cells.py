"""One time step of an LSTM and a GRU, forward and backward, as plain array code.

A recurrent layer runs a Python loop over its L time steps. Written op by op, one step is
about fifteen small array operations (cut the gates, two or three sigmoids, tanhs, products
and sums), each a node of the graph, so on small batches the time goes to per-op overhead. Here
a step's gate arithmetic is one forward and one backward function over whole (N, G) arrays.

Shapes: N batch, H hidden size; gx = W_ih x + b_ih and gh = W_hh h + b_hh, the two projections
(computed by GEMMs outside), each (N, G) with the gates side by side in torch's order.

LSTM, G = 4H, gates [i | f | g | o]:
  a = gx + gh;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
  c' = f c + i g;  h' = o tanh(c')
  backward, given dh', dc':  dc'' = dc' + dh' o (1 - tanh(c')^2)
    da_i = dc'' g i (1 - i),  da_f = dc'' c f (1 - f),  da_g = dc'' i (1 - g^2),
    da_o = dh' tanh(c') o (1 - o),  dc = dc'' f;  dgx = dgh = da
GRU, G = 3H, gates [r | z | n] (torch's: r multiplies the hidden projection, bias included):
  r = sigmoid(x_r + h_r);  z = sigmoid(x_z + h_z);  n = tanh(x_n + r h_n)
  h' = (1 - z) n + z h
  backward, given dh':  dn = dh' (1 - z) (1 - n^2),  dz = dh' (h - n) z (1 - z),
    dr = dn h_n r (1 - r);  dgx = [dr | dz | dn],  dgh = [dr | dz | dn r],  dh = dh' z

Cost per step: about 12 (LSTM) or 14 (GRU) passes over N * H elements forward and as many
backward, no temporaries larger than (N, G).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _sigmoid_(a: Any, xp: Any) -> Any:
    """sigmoid in place: 1 / (1 + exp(-a)) (exp(-a) = inf gives 0, the rounded value)."""
    # not xp.negative: NumPy 2.4's negative of a view with a 16-byte step (a float32 LSTM's o gate when
    # hidden_size is 1) into itself reads the elements as if contiguous
    xp.multiply(a, -1, out=a)
    with np.errstate(over="ignore"):
        xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    return a


def _lstm_activate_(act: Any, c: Any, h_out: Any, tc_out: Any, xp: Any) -> None:
    """In place: act (N, 4H), the gate sums a, becomes the activated gates [i|f|g|o]; c (N, H)
    becomes c'; tanh(c') is written into tc_out and h' = o tanh(c') into h_out (each (N, H))."""
    hidden = c.shape[1]
    _sigmoid_(act[:, : 2 * hidden], xp)
    xp.tanh(act[:, 2 * hidden : 3 * hidden], out=act[:, 2 * hidden : 3 * hidden])
    _sigmoid_(act[:, 3 * hidden :], xp)
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    c *= f
    c += i * g
    xp.tanh(c, out=tc_out)
    xp.multiply(o, tc_out, out=h_out)


def lstm_cell(gx: Any, gh: Any, c: Any, xp: Any) -> tuple[Any, Any, Any, Any]:
    """gx, gh (N, 4H), c (N, H) -> h' (N, H), c' (N, H), the activated gates [i|f|g|o] (N, 4H)
    and tanh(c') (N, H) (the last two are what the backward reads). Cost: about 12 elementwise
    passes over N*H."""
    act = gx + gh
    c_new, h_new, tc = c.copy(), xp.empty_like(c), xp.empty_like(c)
    _lstm_activate_(act, c_new, h_new, tc, xp)
    return h_new, c_new, act, tc


def lstm_cell_backward(dh: Any, dc_new: Any, act: Any, c: Any, tc: Any, xp: Any, out: Any = None) -> tuple[Any, Any]:
    """dh', dc' (N, H) and what :func:`lstm_cell` kept -> da (N, 4H) (the gradient of gx and
    of gh alike; written into ``out`` when given) and dc (N, H)."""
    hidden = c.shape[1]
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    dcc = 1 - tc * tc
    dcc *= o
    dcc *= dh
    dcc += dc_new  # the whole gradient of c'
    da = xp.empty_like(act) if out is None else out
    da_i, da_f, da_g, da_o = (da[:, k * hidden : (k + 1) * hidden] for k in range(4))
    xp.multiply(dcc, g, out=da_i)
    xp.multiply(dcc, c, out=da_f)
    sig = act[:, : 2 * hidden]  # i and f side by side: their sigmoid derivatives in one pass
    d_sig = 1 - sig
    d_sig *= sig
    da[:, : 2 * hidden] *= d_sig
    xp.multiply(dcc, i, out=da_g)
    da_g *= 1 - g * g
    xp.multiply(dh, tc, out=da_o)
    da_o *= o * (1 - o)
    dcc *= f
    return da, dcc


def gru_cell(gx: Any, gh: Any, h: Any, xp: Any) -> tuple[Any, Any]:
    """gx, gh (N, 3H), h (N, H) -> h' (N, H) and the gates [r|z|n] (N, 3H), kept for the backward.
    Cost: about 14 elementwise passes over N*H."""
    hidden = h.shape[1]
    gates = gx[:, : 2 * hidden] + gh[:, : 2 * hidden]
    _sigmoid_(gates, xp)
    r, z = gates[:, :hidden], gates[:, hidden:]
    n = r * gh[:, 2 * hidden :]
    n += gx[:, 2 * hidden :]
    xp.tanh(n, out=n)
    h_new = h - n  # (1 - z) n + z h = n + z (h - n)
    h_new *= z
    h_new += n
    return h_new, xp.concatenate([gates, n], axis=1)


def gru_cell_backward(dh_new: Any, gates: Any, gh_n: Any, h: Any, xp: Any) -> tuple[Any, Any, Any]:
    """dh' (N, H), the gates [r|z|n] (N, 3H), gh_n = W_hn h + b_hn (N, H), h (N, H) -> dgx,
    dgh (N, 3H), dh (N, H)."""
    hidden = h.shape[1]
    r, z, n = (gates[:, k * hidden : (k + 1) * hidden] for k in range(3))
    dgx = xp.empty_like(gates)
    dr, dz, dn = (dgx[:, k * hidden : (k + 1) * hidden] for k in range(3))
    xp.subtract(1, z, out=dn)
    dn *= dh_new
    dn *= 1 - n * n
    xp.subtract(h, n, out=dz)
    dz *= dh_new
    dz *= z * (1 - z)
    xp.multiply(dn, gh_n, out=dr)
    dr *= r * (1 - r)
    dgh = dgx.copy()
    dgh[:, 2 * hidden :] *= r
    return dgx, dgh, dh_new * z


# ---------------------------------------------------------------------------------------------
# A whole layer direction: the loop over time with the recurrent GEMMs, and backpropagation
# through time written out (what cuDNN's RNN calls do in one call).


def _steps(batch_sizes: Any, reverse: bool) -> list[tuple[int, int]]:
    """The (first row, end row) of each step's rows, in the order the forward runs them."""
    starts = [0]
    for bs in batch_sizes:
        starts.append(starts[-1] + int(bs))
    steps = list(zip(starts[:-1], starts[1:]))
    return steps[::-1] if reverse else steps


def sequence(
    lstm: bool, gx: Any, batch_sizes: Any, reverse: bool, w_hh: Any, b_hh: Any, h0: Any, c0: Any, xp: Any
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """One direction of an LSTM or GRU layer over all its steps.

    gx (R, G): the input projections W_ih x_t + b_ih of every step, as rows: step t owns the
    batch_sizes[t] rows after those of steps 0..t-1 (a packed sequence: the sequences still
    running at step t are its first batch_sizes[t] rows); w_hh (G, H), b_hh (G,) or None, h0,
    c0 (N, H) (c0 None for a GRU). ``reverse`` runs the steps last to first. Returns the
    outputs (R, H) as rows like gx, the final h and c (N, H) (each sequence's state after its
    own last step) and what :func:`sequence_backward` reads. Cost: one (bs, H) x (H, G) GEMM and
    one cell per step; memory: the gates and the states each step read, O(R * G)."""
    rows, hidden = gx.shape[0], h0.shape[1]
    h = h0.copy()
    c = None if c0 is None else c0.copy()
    out = xp.empty((rows, hidden), dtype=gx.dtype)
    saved = {"h_prev": xp.empty((rows, hidden), dtype=gx.dtype)}  # the state each step read (dW_hh's GEMM)
    if lstm:
        saved.update(c_prev=xp.empty_like(out), act=xp.empty_like(gx), tc=xp.empty_like(out))
    else:
        saved.update(gates=xp.empty_like(gx), gh_n=xp.empty_like(out))
    w_t = xp.ascontiguousarray(w_hh.T)  # BLAS runs h W^T faster from a contiguous W^T
    if lstm and b_hh is not None:
        gx = gx + b_hh  # an LSTM's gates take gx + gh whole: b_hh once, not once per step
    for a, b in _steps(batch_sizes, reverse):
        bs = b - a
        saved["h_prev"][a:b] = h[:bs]
        if lstm:  # the gate sums go straight into the saved gates, activated there in place
            act = saved["act"][a:b]
            xp.matmul(h[:bs], w_t, out=act)
            act += gx[a:b]
            saved["c_prev"][a:b] = c[:bs]
            _lstm_activate_(act, c[:bs], out[a:b], saved["tc"][a:b], xp)
        else:
            gh = h[:bs] @ w_t
            if b_hh is not None:
                gh += b_hh
            out[a:b], saved["gates"][a:b] = gru_cell(gx[a:b], gh, h[:bs], xp)
            saved["gh_n"][a:b] = gh[:, 2 * hidden :]
        h[:bs] = out[a:b]
    return out, h, c, saved


def sequence_backward(
    lstm: bool,
    dout: Any,
    dh_n: Any,
    dc_n: Any,
    saved: dict[str, Any],
    batch_sizes: Any,
    reverse: bool,
    w_hh: Any,
    xp: Any,
) -> tuple[Any, Any, Any, Any, Any]:
    """Backpropagation through time for :func:`sequence`: dout (R, H), dh_n, dc_n (N, H) (the
    gradients of the outputs and of the final states; dc_n None for a GRU) -> dgx (R, G), dW_hh
    (G, H), db_hh (G,), dh0, dc0 (N, H). The steps run in reverse of the forward's order; a
    state's gradient flows back through dh = da W_hh (and dc = dc'' f for an LSTM); rows of
    sequences not running at a step keep theirs. The gradients of W_hh and b_hh are summed over
    all steps in one GEMM at the end: dW_hh = dGh^T H_prev. Cost: per step the cell's backward
    (~12-14 passes over N*H) and one (N, G) x (G, H) GEMM for dh; the loop runs over the T steps
    only (inherent to the recursion), never over the batch."""
    dh = dh_n.copy()
    dc = None if dc_n is None else dc_n.copy()
    dgx = xp.empty((dout.shape[0], w_hh.shape[0]), dtype=dout.dtype)
    dgh = dgx if lstm else xp.empty_like(dgx)  # an LSTM's gate sums take gx + gh: one gradient for both
    for a, b in reversed(_steps(batch_sizes, reverse)):
        bs = b - a
        dh[:bs] += dout[a:b]
        if lstm:
            dc[:bs] = lstm_cell_backward(
                dh[:bs], dc[:bs], saved["act"][a:b], saved["c_prev"][a:b], saved["tc"][a:b], xp, out=dgx[a:b]
            )[1]
            xp.matmul(dgx[a:b], w_hh, out=dh[:bs])
        else:
            dgx[a:b], dgh[a:b], dh_direct = gru_cell_backward(
                dh[:bs], saved["gates"][a:b], saved["gh_n"][a:b], saved["h_prev"][a:b], xp
            )
            dh[:bs] = dgh[a:b] @ w_hh
            dh[:bs] += dh_direct
    return dgx, dgh.T @ saved["h_prev"], dgh.sum(axis=0), dh, dc
