"""How much of torch's tensor API minicnn has: Tensor methods, ``torch.*`` functions and
``torch.linalg`` / ``torch.special``, by name, against the torch installed beside it.

Names that do not apply to a dense real CPU/CuPy framework are set aside first (sparse,
quantized and complex tensors, named tensors, storages, JIT/compile, autocast, device back
ends other than CUDA, private ops); the rest are counted. Run::

    python benchmarks/api_coverage.py            # the summary
    python benchmarks/api_coverage.py --missing  # also list what is missing

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
            r"sparse|coalesce|indices$|values$|crow_|ccol_|col_indices|row_indices|to_dense|dense_dim|_csr|_csc|_bsr",
            r"quantiz|q_|qscheme|int_repr|dequantize|fake_quant|fbgemm|choose_qparams|_qint|^qint|^quint",
            r"complex|conj|imag$|^real$|isreal_|polar|angle|view_as_real|view_as_complex|resolve_neg|is_neg$|chalf",
            r"cfloat|cdouble|fft|stft|istft|window$",
            r"^name$|names|refine_names|align_to|align_as|rename",
            r"storage|data_ptr|share_memory|is_shared|pin_memory|is_pinned|record_stream|untyped|set_$|is_set_to",
            r"mkldnn|miopen|cudnn|vulkan|xla|ipu|xpu|mps|mtia|maia|hpu|meta$|is_meta|nested|to_padded",
            r"jit|compile|script|trace|export|fork|wait$|vmap|functorch|_C|autocast|profiler|cond$|while_loop",
            r"ir$|import_ir|parse_|merge_type|unify_type|typename|classproperty|get_file_path|prepare_multiprocessing",
            r"hash_tensor|sym_|is_inference$|inference_mode|module_load|dim_order|grad_dtype|slice_inverse",
            r"^unsafe_|_copy$|_nocopy$|nonzero_static|lobpcg|pca_lowrank|svd_lowrank|lu_unpack|geqrf|orgqr|ormqr",
            r"^is_distributed$|^is_vulkan_available$|^compiled_with|deterministic|warn_always|float32_matmul",
            r"num_interop|^device$|^dtype$|^layout$|memory_format|^Size$|^Tensor$|^bfloat16$",
            r"batch_norm_|_with_counts|cudnn_|gru|lstm|rnn_|quantized_",
        ]
    )
)


def public(names: list[str]) -> list[str]:
    return sorted(n for n in names if not n.startswith("_"))


def compare(label: str, theirs: list[str], ours: object) -> tuple[str, int, int, list[str]]:
    applicable = [n for n in theirs if not NOT_APPLICABLE.search(n)]
    missing = [n for n in applicable if not hasattr(ours, n)]
    return label, len(applicable) - len(missing), len(applicable), missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list the missing names")
    args = parser.parse_args()
    rows = [
        compare("Tensor methods", public(dir(torch.Tensor)), mc.Tensor),
        compare(
            "torch.* functions",
            public([n for n in dir(torch) if callable(getattr(torch, n)) and n[0].islower()]),
            mc,
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
    ]
    print(f"torch {torch.__version__}: names minicnn has, of those that apply to a dense real framework")
    for label, have, total, missing in rows:
        print(f"  {label:22s} {have:4d} / {total:4d}  ({100 * have / max(total, 1):5.1f} %)")
        if args.missing and missing:
            print("      missing: " + " ".join(missing))


if __name__ == "__main__":
    main()
