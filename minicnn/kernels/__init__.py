from . import batchnorm, dropout, lrn, pool  # noqa: F401,E402  (pooling, normalisation and dropout kernels)

# isort: split
from . import conv, conv_shapes, depthwise, im2col  # noqa: F401,E402  (convolution kernels)
from .conv import clear_workspace, get_im2col_budget, set_im2col_budget  # noqa: F401,E402
