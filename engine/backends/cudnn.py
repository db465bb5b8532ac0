"""torch.backends.cudnn: the engine's convolutions do not use cuDNN; the flags are kept."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = True


def is_available() -> bool:
    """False: the engine never calls cuDNN."""
    return False


def version():
    """None, as PyTorch answers without cuDNN."""
    return None
