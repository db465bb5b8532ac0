"""torch.backends' switches, as scripts read and set them: the engine has no cuDNN or MPS.

The flags are kept (a script may set `cudnn.benchmark = True`) and change nothing.
"""

from engine.backends import cpu, cuda, cudnn, mps

__all__ = ["cpu", "cuda", "cudnn", "mps"]
