"""``mc.data``: datasets, batching and transforms.

- :class:`MNIST`, :class:`FashionMNIST`, :class:`KMNIST`: the standard IDX files, found locally
  or downloaded from mirrors and verified by SHA-256 (:mod:`.datasets`, :mod:`.download`,
  :mod:`.idx`).
- :class:`CIFAR10`, :class:`CIFAR100`: the binary versions of the archives (fixed-size records,
  no pickle), verified and safely extracted (:mod:`.cifar`).
- :class:`Dataset`, :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`,
  :func:`random_split`, :class:`IterableDataset`, :class:`ChainDataset`, :class:`DataLoader`:
  ``torch.utils.data``'s, with batches gathered by fancy indexing and shuffled with the library
  RNG (:mod:`.dataset`, :mod:`.dataloader`).
- Samplers (:mod:`.sampler`): :class:`Sampler`, :class:`SequentialSampler`,
  :class:`RandomSampler`, :class:`SubsetRandomSampler`, :class:`WeightedRandomSampler`,
  :class:`BatchSampler`; their ``generator=`` is a :class:`minicnn.Generator` or :class:`numpy.random.Generator`.
- :mod:`.transforms`: ``Compose``, ``ToTensor``, ``PILToTensor``, ``ConvertImageDtype``,
  ``Normalize``, ``Pad``, ``RandomCrop``, ``RandomHorizontalFlip``, ``CenterCrop``, ``Resize``, ``RandomResizedCrop``,
  ``RandomVerticalFlip``, ``RandomRotation``, ``RandomAffine``, ``RandomErasing``,
  ``ColorJitter``, ``Grayscale``, ``RandomGrayscale``, ``GaussianBlur``, ``RandomInvert``,
  ``RandomPosterize``, ``RandomSolarize``, ``RandomAdjustSharpness``, ``RandomAutocontrast``,
  ``RandomEqualize``, ``RandomPerspective``, ``FiveCrop``, ``TenCrop``, ``ToPILImage``, ``Lambda``,
  ``RandomApply``, and their functional forms in ``transforms.functional``
  (:mod:`.transforms_functional`). A transform is torchvision's per-sample one (``ds[i]`` applies
  it to one image); minicnn's own also run vectorised over a whole batch
  (``batched = True``, ``apply_batch``), which the datasets and the DataLoader use, while
  any other callable is called once per sample.
- :class:`ImageFolder`, :class:`DatasetFolder` (:mod:`.folder`): torchvision's datasets of files in
  one folder per class, read with Pillow (:func:`default_loader`, :func:`pil_loader`,
  :data:`IMG_EXTENSIONS`; the optional ``images`` extra, :mod:`.pil`).
- :func:`make_grid` (:mod:`.image_grid`): torchvision.utils.make_grid, images tiled for display.

A typical pipeline::

    from minicnn.data import MNIST, DataLoader, transforms as T
    tf = T.Compose([T.ToTensor(), T.Normalize(MNIST.mean, MNIST.std)])
    train = DataLoader(MNIST(train=True, transform=tf), batch_size=64, shuffle=True)
    for images, labels in train:  # Tensors: (64, 1, 28, 28) float32 and (64,) int64
        ...
"""

from . import transforms
from .cifar import CIFAR10, CIFAR100, CIFARError, read_cifar_binary
from .dataloader import DataLoader, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    default_collate,
    default_convert,
    random_split,
)
from .datasets import KMNIST, MNIST, FashionMNIST, ImageArrayDataset, default_root
from .distributed import DistributedSampler
from .download import download_verified
from .errors import ChecksumError, DatasetNotFoundError, DownloadError, IDXError
from .folder import DatasetFolder, ImageFolder, find_classes, has_file_allowed_extension, is_image_file, make_dataset
from .idx import read_idx, read_images_and_labels, write_idx
from .image_grid import make_grid
from .pil import IMG_EXTENSIONS, default_loader, pil_loader
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "CIFAR10",
    "CIFAR100",
    "IMG_EXTENSIONS",
    "KMNIST",
    "MNIST",
    "BatchSampler",
    "CIFARError",
    "ChainDataset",
    "ChecksumError",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "DatasetFolder",
    "DatasetNotFoundError",
    "DistributedSampler",
    "DownloadError",
    "FashionMNIST",
    "IDXError",
    "ImageFolder",
    "ImageArrayDataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "default_loader",
    "default_root",
    "download_verified",
    "find_classes",
    "get_worker_info",
    "has_file_allowed_extension",
    "is_image_file",
    "make_dataset",
    "make_grid",
    "pil_loader",
    "random_split",
    "read_cifar_binary",
    "read_idx",
    "read_images_and_labels",
    "transforms",
    "write_idx",
]
