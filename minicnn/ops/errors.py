"""The error classes that are two things at once: minicnn's rule (ValueError for sizes,
TypeError for dtypes) and the RuntimeError torch raises, so that either ``except`` catches them."""

from __future__ import annotations


class ShapeError(ValueError, RuntimeError):
    """A size or setting that does not fit: a ValueError (minicnn's rule) that is also the
    RuntimeError torch raises."""


class DtypeError(TypeError, RuntimeError):
    """Mismatched or unsupported dtypes: a TypeError that is also torch's RuntimeError."""


class IntegerDivisionError(ZeroDivisionError, RuntimeError):
    """Integer division or remainder by zero: Python's ZeroDivisionError that is also the
    RuntimeError("ZeroDivisionError") torch raises."""
