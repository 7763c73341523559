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
    xp.negative(a, out=a)
    with np.errstate(over="ignore"):
        xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    return a


def lstm_cell(gx: Any, gh: Any, c: Any, xp: Any) -> tuple[Any, Any, Any, Any]:
    """gx, gh (N, 4H), c (N, H) -> h' (N, H), c' (N, H), the activated gates [i|f|g|o] (N, 4H)
    and tanh(c') (N, H) (the last two are what the backward reads)."""
    hidden = c.shape[1]
    act = gx + gh
    _sigmoid_(act[:, : 2 * hidden], xp)
    xp.tanh(act[:, 2 * hidden : 3 * hidden], out=act[:, 2 * hidden : 3 * hidden])
    _sigmoid_(act[:, 3 * hidden :], xp)
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    c_new = f * c
    c_new += i * g
    tc = xp.tanh(c_new)
    return o * tc, c_new, act, tc


def lstm_cell_backward(dh: Any, dc_new: Any, act: Any, c: Any, tc: Any, xp: Any) -> tuple[Any, Any]:
    """dh', dc' (N, H) and what :func:`lstm_cell` kept -> da (N, 4H) (the gradient of gx and
    of gh alike) and dc (N, H)."""
    hidden = c.shape[1]
    i, f, g, o = (act[:, k * hidden : (k + 1) * hidden] for k in range(4))
    dcc = 1 - tc * tc
    dcc *= o
    dcc *= dh
    dcc += dc_new  # the whole gradient of c'
    da = xp.empty_like(act)
    da_i, da_f, da_g, da_o = (da[:, k * hidden : (k + 1) * hidden] for k in range(4))
    xp.multiply(dcc, g, out=da_i)
    da_i *= i * (1 - i)
    xp.multiply(dcc, c, out=da_f)
    da_f *= f * (1 - f)
    xp.multiply(dcc, i, out=da_g)
    da_g *= 1 - g * g
    xp.multiply(dh, tc, out=da_o)
    da_o *= o * (1 - o)
    dcc *= f
    return da, dcc


def gru_cell(gx: Any, gh: Any, h: Any, xp: Any) -> tuple[Any, Any]:
    """gx, gh (N, 3H), h (N, H) -> h' (N, H) and the gates [r|z|n] (N, 3H), kept for the backward."""
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


def gru_cell_backward(dh_new: Any, gates: Any, gh: Any, h: Any, xp: Any) -> tuple[Any, Any, Any]:
    """dh' (N, H), the gates [r|z|n] and gh (N, 3H), h (N, H) -> dgx, dgh (N, 3H), dh (N, H)."""
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
    xp.multiply(dn, gh[:, 2 * hidden :], out=dr)
    dr *= r * (1 - r)
    dgh = dgx.copy()
    dgh[:, 2 * hidden :] *= r
    return dgx, dgh, dh_new * z
