"""``mc.Size``: torch.Size, the tuple of a tensor's dims."""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any


class Size(tuple):
    """torch.Size: a tuple of ints (``x.shape == (2, 3)`` holds) with ``numel()`` and torch's repr
    ``minicnn.Size([2, 3])`` (``print(x.shape)``, ``str``, ``repr``); slicing, ``+`` and ``*``
    give a Size again. ``Tensor.shape`` and ``Tensor.size()`` return one.

    One difference from torch: an f-string (``format`` with an empty spec) gives the tuple's
    text, ``f"{x.shape}" == "(2, 3)"``, which minicnn's error messages are written in."""

    __slots__ = ()

    def __new__(cls, sizes: Iterable[Any] = ()) -> Size:
        items = tuple(sizes)
        for i, s in enumerate(items):
            if type(s) is not int:
                try:
                    items = (*items[:i], operator.index(s), *items[i + 1 :])
                except TypeError:
                    raise TypeError(
                        f"minicnn.Size() takes an iterable of 'int' (item {i} is '{type(s).__name__}')"
                    ) from None
        return tuple.__new__(cls, items)

    def numel(self) -> int:
        """The number of elements of a tensor of this size (1 for ``Size([])``)."""
        return math.prod(self)

    def __getitem__(self, key: Any) -> Any:
        out = tuple.__getitem__(self, key)
        return tuple.__new__(Size, out) if isinstance(key, slice) else out

    def __add__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(self, other))

    def __radd__(self, other: Any) -> Size:
        if not isinstance(other, tuple):
            return NotImplemented
        return tuple.__new__(Size, tuple.__add__(other, self))

    def __mul__(self, n: Any) -> Size:
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"minicnn.Size({list(self)})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # f-strings keep the tuple's text "(2, 3)": minicnn's error messages (and tests matching
        # them) format shapes so; print()/str()/repr() give torch's form.
        return tuple.__repr__(self) if not spec else format(tuple(self), spec)

    def __reduce__(self) -> tuple[Any, tuple[tuple[int, ...]]]:
        return (Size, (tuple(self),))
