"""How much of torch's tensor API minicnn has: Tensor methods, ``torch.*`` functions and
``torch.linalg`` / ``torch.special``, F and nn's layers, and the ``__all__`` of torch's submodules
(autograd, func, distributions, amp, nn.init, nn.utils, optim, utils.data, accelerator, signal.windows), by
name, against the torch installed beside it.

Names that do not apply to a dense real CPU/CuPy framework are set aside first (sparse,
quantized and complex tensors, named tensors, storages, JIT, device back ends other than
CUDA, float8 products, private ops, the helpers and typing names that torch.nn.functional
imports), and so are the names torch keeps only to raise "deprecated
... and is now removed" (torch.solve, symeig, eig, lstsq, matrix_rank, cholesky, qr, found by
calling them), and the few names listed in ``SET_ASIDE`` below, each with its reason (removed,
legacy or for a feature minicnn does not have); the rest are counted. Run::

    python benchmarks/api_coverage.py            # the summary
    python benchmarks/api_coverage.py --missing  # also list what is missing, and what is set aside

A name counts as present when minicnn has an attribute of that name; whether it behaves as
torch's is what tests/ check (tests/test_signatures.py compares every top-level signature).
"""

from __future__ import annotations

import argparse
import re

import torch

import minicnn as mc

NOT_APPLICABLE = re.compile(
    "|".join(
        [
            r"sparse|coalesce|indices$|values$|indices_copy$|values_copy$|crow_|ccol_|col_indices|row_indices|to_dense|dense_dim|_csr|_csc|_bsr",
            r"quantiz|q_|qscheme|int_repr|dequantize|fake_quant|fbgemm|choose_qparams|_qint|^qint|^quint",
            r"complex|conj|imag$|^real$|isreal_|polar|angle|view_as_real|view_as_complex|resolve_neg|is_neg$|chalf",
            r"cfloat|cdouble|fft|stft|istft",
            r"^name$|names|refine_names|align_to|align_as|rename",
            r"storage|data_ptr|pin_memory|is_pinned|record_stream|untyped|set_$|is_set_to",
            r"mkldnn|miopen|cudnn|vulkan|xla|ipu|xpu|mps|mtia|maia|hpu|meta$|is_meta|nested|to_padded",
            r"jit|compiled|script|trace|export|fork|wait$|functorch|_C|profiler|cond$|while_loop",
            r"ir$|import_ir|parse_|merge_type|unify_type|classproperty|get_file_path|prepare_multiprocessing",
            r"hash_tensor|sym_|inference_mode|module_load|dim_order|grad_dtype",
            r"_nocopy$|lobpcg",
            r"^is_distributed$|^is_vulkan_available$|^compiled_with",
            r"num_interop|^dtype$|^layout$|memory_format|^Tensor$|^bfloat16$",
            r"batch_norm_|_with_counts|cudnn_|quantized_",
            r"smm$|spmm$|^saddmm$|^sspaddmm$|^hspmm$|scaled_mm|grouped_mm|ScalingType|SwizzleType",  # sparse, float8
            r"torch_function|^boolean_dispatch$|^Callable$|^DType$|^Optional$",  # F's helpers and typing names
        ]
    )
)


# torch names that only raise "This function was deprecated since version 1.9 and is now removed"
# (torch.solve, symeig, eig, lstsq, matrix_rank, cholesky, qr and their Tensor methods): checked by
# calling each below, so a name torch brings back is counted again
REMOVED_CANDIDATES = ("cholesky", "eig", "lstsq", "matrix_rank", "qr", "solve", "symeig")


_DATAPIPES = "torchdata's DataPipes, deprecated in torch (their library is discontinued)"
# names that torch has but that are set aside, by the row they belong to, each with its reason
SET_ASIDE: dict[str, dict[str, str]] = {
    "Tensor methods": {
        "index": "functorch.dim's first-class-dimension indexing (a separate tensor-of-dims system)",
        "reinforce": "removed: torch's stochastic-function API of 0.3, which only raises now",
        "volatile": "removed: torch 0.3's no-grad flag, which only warns now (use no_grad)",
    },
    "torch.linalg": {
        name: "its results are complex (also for real input), and minicnn has no complex dtypes"
        for name in ("eig", "eigvals")
    },
    "torch.autograd": {
        "NestedIOFunction": "legacy, unusable in torch 2.14 (its __call__ reaches the removed Function._do_forward)",
    },
    "torch.optim": {"SparseAdam": "needs sparse gradients, which minicnn does not have"},
    "torch.utils.data": {
        name: _DATAPIPES
        for name in (
            "DFIterDataPipe",
            "DataChunk",
            "IterDataPipe",
            "MapDataPipe",
            "argument_validation",
            "functional_datapipe",
            "guaranteed_datapipes_determinism",
            "non_deterministic",
            "runtime_validation",
            "runtime_validation_disabled",
        )
    },
    "torch.accelerator": {
        name: "accelerator streams and graph capture: minicnn has no streams (one implicit stream per device)"
        for name in ("Graph", "current_stream", "set_stream")
    },
}


def removed_in_torch(owner: object) -> set[str]:
    """The candidates that ``owner`` (torch or torch.Tensor) has but that only raise 'is now removed'."""
    x = torch.eye(2)
    removed = set()
    for name in REMOVED_CANDIDATES:
        fn = getattr(owner, name, None)
        for args in ((x,), (x, x)):  # the tensor itself, then with a second operand (solve, lstsq)
            try:
                fn(*args) if fn is not None else None
            except RuntimeError as e:
                if "is now removed" in str(e):
                    removed.add(name)
                break
            except TypeError:  # a missing argument: try the next form
                continue
            except Exception:  # any other failure: the name is callable, not removed
                break
            break
    return removed


def public(names: list[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith("_"))


def compare(
    label: str, theirs: list[str], ours: object, removed: set[str] = frozenset()
) -> tuple[str, int, int, list[str]]:
    aside = SET_ASIDE.get(label, {})
    applicable = [n for n in theirs if not NOT_APPLICABLE.search(n) and n not in removed and n not in aside]
    missing = [n for n in applicable if not hasattr(ours, n)]
    return label, len(applicable) - len(missing), len(applicable), missing


# torch's submodules counted by their ``__all__`` (what ``from torch.x import *`` gives), with
# minicnn's module of the same role
SUBMODULES = (
    ("torch.autograd", "autograd"),
    ("torch.autograd.functional", "autograd.functional"),
    ("torch.func", "func"),
    ("torch.distributions", "distributions"),
    ("torch.amp", "amp"),
    ("torch.nn.init", "nn.init"),
    ("torch.nn.utils", "nn.utils"),
    ("torch.nn.utils.parametrize", "nn.utils.parametrize"),
    ("torch.nn.utils.rnn", "nn.utils.rnn"),
    ("torch.optim", "optim"),
    ("torch.optim.lr_scheduler", "optim.lr_scheduler"),
    ("torch.utils.data", "utils.data"),
    ("torch.accelerator", "accelerator"),
    ("torch.signal.windows", "signal.windows"),
)


def submodule_row(torch_name: str, ours: str) -> tuple[str, int, int, list[str]]:
    import importlib  # noqa: PLC0415

    theirs = importlib.import_module(torch_name)
    mine: object = mc
    for part in ours.split("."):
        mine = getattr(mine, part)
    names = sorted(set(getattr(theirs, "__all__", None) or public(dir(theirs))))
    return compare(torch_name, [n for n in names if not n.startswith("_")], mine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the missing names")
    args = parser.parse_args()
    rows = [
        compare("Tensor methods", public(dir(torch.Tensor)), mc.Tensor, removed_in_torch(torch.Tensor)),
        compare(
            "torch.* functions",
            public([n for n in dir(torch) if callable(getattr(torch, n)) and n[0].islower()]),
            mc,
            removed_in_torch(torch),
        ),
        compare(
            "torch.linalg", public([n for n in dir(torch.linalg) if callable(getattr(torch.linalg, n))]), mc.linalg
        ),
        compare(
            "torch.special", public([n for n in dir(torch.special) if callable(getattr(torch.special, n))]), mc.special
        ),
        compare(
            "torch.nn.functional",
            public([n for n in dir(torch.nn.functional) if callable(getattr(torch.nn.functional, n))]),
            mc.nn.functional,
        ),
        compare(
            "torch.nn layers",
            public([n for n in dir(torch.nn) if isinstance(getattr(torch.nn, n), type) and n[0].isupper()]),
            mc.nn,
        ),
        *[submodule_row(theirs, ours) for theirs, ours in SUBMODULES],
    ]
    print(f"torch {torch.__version__}: names minicnn has, of those that apply to a dense real framework")
    for label, have, total, missing in rows:
        print(f"  {label:26s} {have:4d} / {total:4d}  ({100 * have / max(total, 1):5.1f} %)")
        if args.missing and missing:
            print("      missing: " + " ".join(missing))
        if args.missing:
            for name, reason in SET_ASIDE.get(label, {}).items():
                print(f"      set aside: {name}: {reason}")


if __name__ == "__main__":
    main()
