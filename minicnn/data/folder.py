"""Datasets of files arranged in one folder per class: torchvision's ``DatasetFolder`` and ``ImageFolder``.

::

    root/dog/xxx.png
    root/dog/nested/xxy.png
    root/cat/123.jpg

The classes are the sorted names of the sub-folders of ``root`` (``classes``, ``class_to_idx``);
the samples are every valid file under each class folder (walked recursively, following links,
in sorted order), ``(path, class_index)`` in ``samples`` (``imgs`` for ImageFolder), their
labels in ``targets``. ``ds[i]`` loads one file with ``loader`` and applies ``transform`` to it
(and ``target_transform`` to its label), as torchvision's; images are read with Pillow
(:func:`~minicnn.data.pil.default_loader`, RGB PIL images), the optional ``images`` extra:
``pip install minicnn[images]``. A DataLoader collates the samples (Tensors from ``ToTensor()``)
by stacking their arrays.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .dataset import Dataset
from .pil import IMG_EXTENSIONS, default_loader


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether ``filename`` ends with one of ``extensions`` (lowercase), ignoring case."""
    return filename.lower().endswith(extensions if isinstance(extensions, str) else tuple(extensions))


def is_image_file(filename: str) -> bool:
    """Whether ``filename`` has one of :data:`~minicnn.data.pil.IMG_EXTENSIONS`."""
    return has_file_allowed_extension(filename, IMG_EXTENSIONS)


def find_classes(directory: str | Path) -> tuple[list[str], dict[str, int]]:
    """(the sorted names of the sub-folders of ``directory``, name -> index); FileNotFoundError if none."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(
    directory: str | Path,
    class_to_idx: dict[str, int] | None = None,
    extensions: str | tuple[str, ...] | None = None,
    is_valid_file: Callable[[str], bool] | None = None,
    allow_empty: bool = False,
) -> list[tuple[str, int]]:
    """Every ``(path, class_index)`` under ``directory``: the files of each class folder (sorted,
    recursively) that have one of ``extensions`` or pass ``is_valid_file`` (exactly one of the
    two). FileNotFoundError for a class without files, unless ``allow_empty``."""
    directory = os.path.expanduser(directory)
    if class_to_idx is None:
        _, class_to_idx = find_classes(directory)
    elif not class_to_idx:
        raise ValueError("'class_to_index' must have at least one entry to collect any samples.")
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("Both extensions and is_valid_file cannot be None or not None at the same time")
    if extensions is not None:

        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)

    instances = []
    found = set()
    for target_class in sorted(class_to_idx):
        class_index = class_to_idx[target_class]
        target_dir = os.path.join(directory, target_class)
        if not os.path.isdir(target_dir):
            continue
        for root, _, fnames in sorted(os.walk(target_dir, followlinks=True)):
            for fname in sorted(fnames):
                path = os.path.join(root, fname)
                if is_valid_file(path):  # type: ignore[misc]
                    instances.append((path, class_index))
                    found.add(target_class)
    empty = set(class_to_idx) - found
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            listed = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {listed}"
        raise FileNotFoundError(message)
    return instances


class DatasetFolder(Dataset):
    """Files in one folder per class (torchvision's ``DatasetFolder``): ``ds[i]`` is
    ``(transform(loader(path)), target_transform(class_index))``.

    Args:
        root: the folder holding one sub-folder per class.
        loader: reads one sample from its path.
        extensions: the file endings to take (lowercase); exactly one of it and ``is_valid_file``.
        transform, target_transform: applied to each sample and label (None: as they are).
        is_valid_file: ``is_valid_file(path)`` says whether to take a file.
        allow_empty: accept class folders without valid files (else FileNotFoundError).

    Attributes: ``classes`` (sorted folder names), ``class_to_idx``, ``samples`` (list of
    ``(path, class_index)``), ``targets`` (the class indices), ``loader``, ``extensions``.
    Override :meth:`find_classes` or :meth:`make_dataset` for another layout.
    """

    def __init__(
        self,
        root: str | Path,
        loader: Callable[[str], Any],
        extensions: tuple[str, ...] | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.transform = transform
        self.target_transform = target_transform
        classes, class_to_idx = self.find_classes(self.root)
        samples = self.make_dataset(self.root, class_to_idx, extensions, is_valid_file, allow_empty)
        self.loader = loader
        self.extensions = extensions
        self.classes = classes
        self.class_to_idx = class_to_idx
        self.samples = samples
        self.targets = [s[1] for s in samples]

    @staticmethod
    def make_dataset(
        directory: str | Path,
        class_to_idx: dict[str, int],
        extensions: tuple[str, ...] | None = None,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> list[tuple[str, int]]:
        """The ``(path, class_index)`` samples (module-level :func:`make_dataset`; ``class_to_idx`` required)."""
        if class_to_idx is None:
            raise ValueError("The class_to_idx parameter cannot be None.")
        return make_dataset(directory, class_to_idx, extensions, is_valid_file, allow_empty)

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        """The classes and their indices (module-level :func:`find_classes`)."""
        return find_classes(directory)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """``(sample, target)``: the file at ``samples[index]`` loaded and transformed, and its class index."""
        path, target = self.samples[operator.index(index)]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        lines.append(f"    Root location: {self.root}")
        for head, transform in (("Transform: ", self.transform), ("Target transform: ", self.target_transform)):
            if transform is not None:
                first, *rest = repr(transform).splitlines()
                lines += [f"    {head}{first}"] + [f"    {' ' * len(head)}{line}" for line in rest]
        return "\n".join(lines)


class ImageFolder(DatasetFolder):
    """Images in one folder per class (torchvision's ``ImageFolder``): :class:`DatasetFolder`
    with the image extensions :data:`~minicnn.data.pil.IMG_EXTENSIONS` (unless
    ``is_valid_file`` is given) and ``loader`` :func:`~minicnn.data.pil.default_loader` (an RGB
    PIL image; needs Pillow: ``pip install minicnn[images]``). ``imgs`` is ``samples``.

    A typical pipeline: ``ImageFolder(root, transform=Compose([Resize(256), CenterCrop(224),
    ToTensor(), Normalize(mean, std)]))`` in a DataLoader.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        loader: Callable[[str], Any] = default_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ) -> None:
        super().__init__(
            root,
            loader,
            IMG_EXTENSIONS if is_valid_file is None else None,
            transform=transform,
            target_transform=target_transform,
            is_valid_file=is_valid_file,
            allow_empty=allow_empty,
        )
        self.imgs = self.samples
