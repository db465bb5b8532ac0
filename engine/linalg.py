"""torch.linalg's norms: norm, vector_norm and matrix_norm."""

from engine.ops.aggregate import linalg_norm as norm
from engine.ops.aggregate import matrix_norm, vector_norm

# isort: split
# products, decompositions and solvers
from engine.ops.linalg_more import (
    LinAlgError,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_exp,
    matrix_power,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    svdvals,
)
from engine.ops.linalg_more import linalg_cross as cross
from engine.ops.linalg_more import linalg_svd as svd

__all__ = [
    "LinAlgError", "cholesky", "cross", "det", "eigh", "eigvalsh", "inv", "matrix_exp",
    "matrix_norm", "matrix_power", "multi_dot", "norm", "pinv", "qr", "slogdet", "solve",
    "svd", "svdvals", "vector_norm",
]  # fmt: skip
