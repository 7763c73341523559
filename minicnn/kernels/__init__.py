from . import batchnorm, dropout, lrn, pool  # noqa: F401,E402  (pooling, normalisation and dropout kernels)
