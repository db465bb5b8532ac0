"""torch.backends.cuda: the matmul precision flags, kept and without effect on the engine."""

from types import SimpleNamespace

matmul = SimpleNamespace(allow_tf32=False, allow_fp16_reduced_precision_reduction=True)


def is_built() -> bool:
    """Whether the engine can run on CUDA here (CuPy importable and a GPU answering)."""
    from engine import backend

    return backend.is_cuda_available()
