"""``torch.func.rearrange`` as ``mc.func.rearrange``: einops' ``rearrange`` (functorch's native
version), built from minicnn's differentiable ``reshape`` and ``permute``.

A pattern ``"left -> right"`` names the axes of the input (left) and of the output (right):
plain names (``b h w``), parenthesised groups (``(h w)``: one dimension that is the product of
its axes, one level deep), ``...`` (every dimension not otherwise named; not parenthesised on
the left), and the anonymous ``1`` / ``()`` (a dimension of size 1). The call is three views:
the input is reshaped to its elementary axes (a group's unknown length is inferred from the
dimension, the others come from ``axes_lengths``), permuted to the right side's order, and
reshaped to the right side's groups, so the gradient is that of reshape/permute, exact.

Errors follow torch's: ``ValueError`` for a bad pattern (the parser's messages, taken from
torch's ``functorch/einops/_parsing.py``), ``TypeError`` for a length that is not an ``int``,
:class:`DimensionBindError` (an ``Exception``, as functorch.dim's) when the lengths do not fit the
tensor. Where minicnn differs: an anonymous ``1`` on the left over a dimension of size > 1
raises :class:`DimensionBindError`, as einops does, where torch 2.14 sums that dimension away;
and a 1-d input whose one dimension is a group (``"(a b) -> b a"``) works, as in einops, where
torch 2.14 raises (functorch.dim reads its index ``t[(d0, d1)]`` as two indices); and a 0-d input
gets the right side's ``1`` dims (``"-> 1 ()"``: shape (1, 1)), where torch 2.14 returns it unchanged.
"""

from __future__ import annotations

import functools
import keyword
import warnings
from collections.abc import Sequence
from typing import Any

from .autograd import Tensor

__all__ = ["DimensionBindError", "rearrange"]

_ELLIPSIS = "\u2026"  # one character standing for '...' while parsing


class DimensionBindError(Exception):
    """The axis lengths of a rearrange pattern do not fit the tensor (functorch.dim's error type)."""


class _Expression:
    """One side of a pattern: ``groups`` is one entry per dimension, a list of axis names (empty
    for an anonymous ``1`` or ``()``) or ``_ELLIPSIS``; ``names`` holds every axis name."""

    def __init__(self, expression: str) -> None:
        self.has_ellipsis = False
        self.ellipsis_parenthesized: bool | None = None
        self.has_non_unitary_anonymous = False
        self.names: set[Any] = set()
        self.groups: list[list[Any] | str] = []
        if "." in expression:
            if "..." not in expression:
                raise ValueError("Expression may contain dots only inside ellipsis (...)")
            if expression.count("...") != 1 or expression.count(".") != 3:
                raise ValueError(
                    "Expression may contain dots only inside ellipsis (...); only one ellipsis for tensor "
                )
            expression = expression.replace("...", _ELLIPSIS)
            self.has_ellipsis = True
        group: list[Any] | None = None
        word = ""
        for char in expression + " ":
            if char in "() ":
                if word:
                    self._add(word, group)
                word = ""
                if char == "(":
                    if group is not None:
                        raise ValueError("Axis composition is one-level (brackets inside brackets not allowed)")
                    group = []
                elif char == ")":
                    if group is None:
                        raise ValueError("Brackets are not balanced")
                    self.groups.append(group)
                    group = None
            elif char.isalnum() or char in ("_", _ELLIPSIS):
                word += char
            else:
                raise ValueError(f"Unknown character '{char}'")
        if group is not None:
            raise ValueError(f"Imbalanced parentheses in expression: '{expression}'")

    def _add(self, name: str, group: list[Any] | None) -> None:
        if name in self.names:
            raise ValueError(f"Indexing expression contains duplicate dimension '{name}'")
        if name == _ELLIPSIS:
            self.names.add(name)
            self.ellipsis_parenthesized = group is not None
            (self.groups if group is None else group).append(name)
            return
        if name.isdecimal():
            if int(name) == 1:  # an anonymous axis of length 1: an empty group, nothing inside brackets
                if group is None:
                    self.groups.append([])
                return
            if int(name) < 1:
                raise ValueError(f"Anonymous axis should have positive length, not {int(name)}")
            self.has_non_unitary_anonymous = True
            axis: Any = object()  # (each anonymous axis is its own)
        else:
            if not name.isidentifier():
                raise ValueError(f"Invalid axis identifier: {name}\nnot a valid python identifier")
            if name[0] == "_" or name[-1] == "_":
                raise ValueError(
                    f"Invalid axis identifier: {name}\naxis name should should not start or end with underscore"
                )
            if keyword.iskeyword(name):
                msg = f"It is discouraged to use axes names that are keywords: {name}"
                warnings.warn(msg, RuntimeWarning, stacklevel=5)
            if name == "axis":
                warnings.warn(
                    "It is discouraged to use 'axis' as an axis name and will raise an error in future",
                    FutureWarning,
                    stacklevel=5,
                )
            axis = name
        self.names.add(axis)
        if group is None:
            self.groups.append([axis])
        else:
            group.append(axis)


@functools.lru_cache(256)
def _recipe(ndim: int, pattern: str, **axes_lengths: int) -> tuple[Any, ...]:
    """Parse and check ``pattern`` for a tensor of ``ndim`` dimensions: (left groups, right groups,
    ellipsis names), with the ellipsis expanded into one name per dimension it covers."""
    try:
        left_str, right_str = pattern.split("->")
    except ValueError:
        raise ValueError("Pattern must contain a single '->' separator") from None
    if _ELLIPSIS in axes_lengths:
        raise ValueError(f"'{_ELLIPSIS}' is not an allowed axis identifier")
    left, right = _Expression(left_str), _Expression(right_str)
    if not left.has_ellipsis and right.has_ellipsis:
        raise ValueError(f"Ellipsis found in right side, but not left side of a pattern {pattern}")
    if left.has_ellipsis and left.ellipsis_parenthesized:
        raise ValueError(f"Ellipsis is parenthesis in the left side is not allowed: {pattern}")
    for length in axes_lengths.values():
        if type(length) is not int:
            raise TypeError(f"rearrange axis lengths must be integers, got: {type(length)}")
    if left.has_non_unitary_anonymous or right.has_non_unitary_anonymous:
        raise ValueError("rearrange only supports unnamed axes of size 1")
    difference = left.names ^ right.names
    if difference:
        raise ValueError(f"Identifiers only on one side of rearrange expression (should be on both): {difference}")
    unmatched = axes_lengths.keys() - left.names
    if unmatched:
        raise ValueError(f"Identifiers not found in rearrange expression: {unmatched}")
    n_groups = len(left.groups)
    if left.has_ellipsis:
        n_ellipsis = ndim - (n_groups - 1)
        pattern_ndim = sum(not g for g in left.groups) + len(left.names) - 1
        if pattern_ndim > ndim:
            raise ValueError(
                f"Number of dimensions in pattern ({pattern_ndim}) must be less than or equal to the number of "
                f"dimensions in the tensor ({ndim})"
            )
    else:
        n_ellipsis = 0
        if n_groups != ndim:
            raise ValueError(
                f"Number of dimensions in pattern ({n_groups}) must be equal to the number of dimensions in "
                f"the tensor ({ndim})"
            )
    dots = tuple(f"{_ELLIPSIS}{i}" for i in range(n_ellipsis))

    def expand(groups: Sequence[list[Any] | str]) -> tuple[tuple[Any, ...], ...]:
        out: list[tuple[Any, ...]] = []
        for g in groups:
            if g == _ELLIPSIS:  # one dimension each; inside brackets, one group
                out.extend((d,) for d in dots)
            else:
                out.append(tuple(n for a in g for n in (dots if a == _ELLIPSIS else (a,))))
        return tuple(out)

    return expand(left.groups), expand(right.groups)


def _bind(shape: Sequence[int], groups: tuple[tuple[Any, ...], ...], axes_lengths: dict[str, int]) -> dict[Any, int]:
    """The length of every elementary axis of the left side, from the tensor's ``shape``."""
    lengths: dict[Any, int] = {}
    for size, group in zip(shape, groups):
        unknown = [n for n in group if n not in axes_lengths]
        known = 1
        for n in group:
            if n in axes_lengths:
                known *= axes_lengths[n]
                lengths[n] = axes_lengths[n]
        if len(unknown) > 1:
            raise DimensionBindError(f"cannot infer the sizes of two dimensions at once {unknown[0]} and {unknown[1]}")
        if unknown:
            if known == 0:
                raise ZeroDivisionError(f"rearrange: cannot infer the length of {unknown[0]} from a product of 0")
            if size % known:
                raise DimensionBindError(
                    f"inferred dimension does not evenly fit into larger dimension: {size} vs {(known, '?')}"
                )
            lengths[unknown[0]] = size // known
            if lengths[unknown[0]] < 0:  # a negative given length (torch's as_strided refuses it)
                raise RuntimeError(f"rearrange: axis lengths must be non-negative, got {lengths}")
        elif known != size:
            raise DimensionBindError(
                f"Dimension sizes to do not match ({size} != {known}) when matching dimension pack {group}"
            )
    return lengths


def rearrange(tensor: Tensor | Sequence[Tensor], pattern: str, **axes_lengths: int) -> Tensor:
    """torch.func.rearrange: einops' ``rearrange(tensor, pattern, **axes_lengths)``: transpose,
    reshape, squeeze, unsqueeze, stack and concatenate by a pattern such as
    ``"b (h h1) (w w1) c -> b h w (c h1 w1)"`` (``h1=2, w1=2``). A list or tuple of tensors is
    stacked first (along a new dimension 0). The result is a view where reshape gives one;
    gradients are those of reshape/permute. See the module docstring for the pattern's grammar."""
    if not isinstance(tensor, Tensor):
        from .ops.shape import stack  # noqa: PLC0415  (the ops load after this module)

        tensor = stack(list(tensor))
    left, right = _recipe(tensor.ndim, pattern, **axes_lengths)
    if not left and not right:  # a 0-d identity ("->", "... -> ..."): the tensor itself, as torch's
        return tensor
    lengths = _bind(tensor.shape, left, axes_lengths)
    order = [n for g in left for n in g]
    position = {n: i for i, n in enumerate(order)}
    axes = [position[n] for g in right for n in g]
    out = tensor.reshape([lengths[n] for n in order])
    if axes != sorted(axes):
        out = out.permute(axes)
    shape = []
    for g in right:
        size = 1
        for n in g:
            size *= lengths[n]
        shape.append(size)
    return out.reshape(shape)
