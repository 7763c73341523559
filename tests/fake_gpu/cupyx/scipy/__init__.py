"""The fake CuPy's ``cupyx.scipy``: ``special.erf`` only (see ``tests/fake_gpu/README.md``)."""
