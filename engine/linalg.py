"""torch.linalg's norms: norm, vector_norm and matrix_norm."""

from engine.ops.aggregate import linalg_norm as norm
from engine.ops.aggregate import matrix_norm, vector_norm

__all__ = ["matrix_norm", "norm", "vector_norm"]
