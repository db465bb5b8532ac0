"""torch.backends.cpu."""


def get_cpu_capability() -> str:
    """The vector instructions PyTorch's kernels would use; the engine's are NumPy's."""
    return "DEFAULT"
