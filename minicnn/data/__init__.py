"""``mc.data``: datasets, batching and transforms.

- :class:`MNIST`, :class:`FashionMNIST`: the standard IDX files, found locally or downloaded
  from mirrors and verified by SHA-256 (:mod:`.datasets`, :mod:`.download`, :mod:`.idx`).
- :class:`Dataset`, :class:`TensorDataset`, :class:`Subset`, :class:`DataLoader`: batches
  gathered by fancy indexing, shuffled with the library RNG (:mod:`.dataset`, :mod:`.dataloader`).
- :mod:`.transforms`: ``Compose``, ``ToTensor``, ``Normalize``, ``Pad``, ``RandomCrop``,
  ``RandomHorizontalFlip``. A transform is torchvision's per-sample one (``ds[i]`` applies
  it to one image); minicnn's own also run vectorised over a whole batch
  (``batched = True``, ``apply_batch``), which the datasets and the DataLoader use, while
  any other callable is called once per sample.

A typical pipeline::

    from minicnn.data import MNIST, DataLoader, transforms as T
    tf = T.Compose([T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)])
    train = DataLoader(MNIST(train=True, transform=tf), batch_size=64, shuffle=True)
    for images, labels in train:  # Tensors: (64, 1, 28, 28) float32 and (64,) int64
        ...
"""

from . import transforms
from .dataloader import DataLoader
from .dataset import Dataset, Subset, TensorDataset, default_collate
from .datasets import MNIST, FashionMNIST, default_root
from .download import download_verified
from .errors import ChecksumError, DatasetNotFoundError, DownloadError, IDXError
from .idx import read_idx, read_images_and_labels, write_idx

__all__ = [
    "MNIST",
    "ChecksumError",
    "DataLoader",
    "Dataset",
    "DatasetNotFoundError",
    "DownloadError",
    "FashionMNIST",
    "IDXError",
    "Subset",
    "TensorDataset",
    "default_collate",
    "default_root",
    "download_verified",
    "read_idx",
    "read_images_and_labels",
    "transforms",
    "write_idx",
]
