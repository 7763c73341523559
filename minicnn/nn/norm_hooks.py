"""The hook-based (older) weight and spectral normalisation: ``mc.nn.utils.weight_norm`` /
``remove_weight_norm`` and ``mc.nn.utils.spectral_norm`` / ``remove_spectral_norm``, as
torch's ``torch.nn.utils.weight_norm`` and ``torch.nn.utils.spectral_norm``.

Same mathematics as :mod:`minicnn.nn.parametrizations`, other bookkeeping: the parameter
``weight`` is replaced by parameters ``weight_g`` and ``weight_v`` (weight norm) or by the
parameter ``weight_orig`` and buffers ``weight_u``, ``weight_v`` (spectral norm), and a
forward pre-hook recomputes the plain attribute ``weight`` before each call. So
``module.weight`` is the value of the last call (or of the registration), not recomputed on
access. Spectral norm here does no initial iterations and runs each step as v then u
(torch's order for this older form).

The weight-norm form is deprecated in torch in favour of the parametrization and warns
(FutureWarning) the same way here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import backend, random
from ..autograd import Tensor, no_grad
from ..ops.linalg import dot, mv
from ..ops.similarity import normalize
from .conv import ConvTranspose1d, ConvTranspose2d
from .conv3d import ConvTranspose3d
from .module import Module, Parameter, _host_array
from .parametrizations import _norm_except_dim, _weight_norm

__all__ = ["remove_spectral_norm", "remove_weight_norm", "spectral_norm", "weight_norm"]


class WeightNorm:
    """The forward pre-hook of ``weight_norm``: sets ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    def __init__(self, name: str, dim: int | None) -> None:
        self.name = name
        self.dim = -1 if dim is None else dim

    def compute_weight(self, module: Module) -> Tensor:
        return _weight_norm(getattr(module, self.name + "_v"), getattr(module, self.name + "_g"), self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int | None) -> WeightNorm:
        warnings.warn(
            "`mc.nn.utils.weight_norm` is deprecated in favor of `mc.nn.utils.parametrizations.weight_norm`.",
            FutureWarning,
            stacklevel=3,
        )
        if _find_hook(module, WeightNorm, name) is not None:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        del module._parameters[name]
        with no_grad():
            g = _norm_except_dim(weight, 2, fn.dim)
        module.register_parameter(name + "_g", Parameter(g))
        module.register_parameter(name + "_v", Parameter(weight))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


class SpectralNorm:
    """The forward pre-hook of ``spectral_norm``: sets ``module.<name>`` to
    ``<name>_orig / sigma``, running the power iteration first in training mode."""

    _version: int = 1
    """Saved in the state dict's metadata (``spectral_norm`` / ``<name>.version``). Version 0
    (torch < 1.1) saved ``<name>`` itself and no ``<name>_v``; such checkpoints are converted
    on load by :class:`SpectralNormLoadStateDictPreHook`."""

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        if n_power_iterations <= 0:
            raise ValueError(
                f"Expected n_power_iterations to be positive, but got n_power_iterations={n_power_iterations}"
            )
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """(weight.shape[dim], rest): ``dim`` moved first, the others flattened."""
        if self.dim != 0:
            weight = weight.permute(self.dim, *[d for d in range(weight.ndim) if d != self.dim])
        return weight.reshape(weight.shape[0], -1)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                w = weight_mat.detach()
                for _ in range(self.n_power_iterations):
                    v = normalize(mv(w.t(), u), dim=0, eps=self.eps, out=v)
                    u = normalize(mv(w, v), dim=0, eps=self.eps, out=u)
                # copies, so that the next power iteration does not rewrite what this graph saved
                u, v = u.clone(), v.clone()
        sigma = dot(u, mv(weight_mat, v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> SpectralNorm:
        if _find_hook(module, SpectralNorm, name) is not None:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        with no_grad():
            h, w = fn.reshape_weight_to_matrix(weight.detach()).shape
            xp = weight.xp
            with backend.array_scope(weight.array):
                rng = random.generator(xp)
                u = normalize(Tensor(xp.asarray(rng.standard_normal(h), dtype=weight.dtype)), dim=0, eps=fn.eps)
                v = normalize(Tensor(xp.asarray(rng.standard_normal(w), dtype=weight.dtype)), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        setattr(module, fn.name, weight.detach())
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Loads a version-0 spectral-norm checkpoint (``<name>``, ``<name>_orig``, ``<name>_u``;
    no ``<name>_v``), as torch: with W = ``<name>_orig`` seen as a matrix, sigma = mean(W_orig / W)
    and v = pinv(W^T W) W^T u rescaled so that u . (W v) = sigma. Host NumPy, once per load."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is not None and version >= 1:
            return
        weight_key = prefix + fn.name
        if (
            version is None
            and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))
            and weight_key not in state_dict
        ):
            return  # the current layout without metadata (e.g. a dict built by hand)
        has_missing_keys = False
        for suffix in ("_orig", "", "_u"):
            if weight_key + suffix not in state_dict:
                has_missing_keys = True
                if strict:
                    missing_keys.append(weight_key + suffix)
        if has_missing_keys:
            return
        weight_orig = _host_array(state_dict[weight_key + "_orig"])
        weight = _host_array(state_dict.pop(weight_key))
        u = _host_array(state_dict[weight_key + "_u"])
        sigma = (weight_orig / weight).mean()
        weight_mat = np.moveaxis(weight_orig, fn.dim, 0).reshape(weight_orig.shape[fn.dim], -1)
        v = np.linalg.pinv(weight_mat.T @ weight_mat) @ weight_mat.T @ u
        state_dict[weight_key + "_v"] = (v * (sigma / (u @ (weight_mat @ v)))).astype(weight_orig.dtype)


class SpectralNormStateDictHook:
    """Records ``SpectralNorm._version`` in the state dict's metadata of the module."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module: Module, state_dict: dict[str, Any], prefix: str, local_metadata: dict[str, Any]) -> None:
        versions = local_metadata.setdefault("spectral_norm", {})
        key = self.fn.name + ".version"
        if key in versions:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        versions[key] = self.fn._version


def _find_hook(module: Module, kind: type, name: str) -> int | None:
    """The key in ``module._forward_pre_hooks`` of the ``kind`` hook for ``name``, or None."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, kind) and hook.name == name:
            return key
    return None


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    """Replace the parameter ``<name>`` by ``<name>_g`` (its norm over every dim but ``dim``;
    over all for None) and ``<name>_v`` (its direction), ``<name> = g * v / ||v||`` recomputed
    by a forward pre-hook. Deprecated (FutureWarning): use ``parametrizations.weight_norm``."""
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``weight_norm``: ``<name>`` becomes a parameter holding the current normalised weight."""
    key = _find_hook(module, WeightNorm, name)
    if key is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    module._forward_pre_hooks[key].remove(module)
    del module._forward_pre_hooks[key]
    return module


def spectral_norm(
    module: Module, name: str = "weight", n_power_iterations: int = 1, eps: float = 1e-12, dim: int | None = None
) -> Module:
    """Replace the parameter ``<name>`` by ``<name>_orig`` and the power-iteration buffers
    ``<name>_u``, ``<name>_v``; a forward pre-hook sets ``<name> = <name>_orig / sigma``.
    ``dim`` None: 1 for transposed convolutions, else 0."""
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    SpectralNorm.apply(module, name, n_power_iterations, dim, eps)
    return module


def remove_spectral_norm(module: Module, name: str = "weight") -> Module:
    """Undo ``spectral_norm``: ``<name>`` becomes a parameter holding the current normalised
    weight (computed with the stored u, v)."""
    key = _find_hook(module, SpectralNorm, name)
    if key is None:
        raise ValueError(f"spectral_norm of '{name}' not found in {module}")
    module._forward_pre_hooks[key].remove(module)
    del module._forward_pre_hooks[key]
    # torch leaves the load pre-hook behind (it looks for it unwrapped), so that the plain
    # module's own state dict no longer loads; minicnn removes both state-dict hooks
    for hooks in (module._state_dict_hooks, module._load_state_dict_pre_hooks):
        for k, hook in list(hooks.items()):
            hook = getattr(hook, "hook", hook)  # a load pre-hook is wrapped
            if isinstance(hook, (SpectralNormStateDictHook, SpectralNormLoadStateDictPreHook)) and hook.fn.name == name:
                del hooks[k]
    return module
