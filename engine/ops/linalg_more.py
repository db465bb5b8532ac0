"""More products and linear algebra: cross, kron, tensordot, baddbmm, cdist, pdist, renorm,
and det, inv, slogdet, solve, cholesky, svd, eigh, qr, pinv, matrix_power, matrix_exp
(decompositions on the array module's linalg)."""

from __future__ import annotations

import builtins
import math
from collections import namedtuple

import numpy as np

from engine.autograd import Function, unbroadcast
from engine.dtypes import scalar_name
from engine.ops import aggregate, indexing, linalg_ops, movement, reduce
from engine.ops.elementwise import _xp, tensor_arg
from engine.ops.matmul import matmul as _matmul
from engine.ops.matmul import mm as _mm
from engine.tensor import Tensor


class LinAlgError(RuntimeError):
    """A matrix had no inverse, or was not positive-definite, where one was needed."""


SignLogAbsDet = namedtuple("SignLogAbsDet", ["sign", "logabsdet"])
Eigh = namedtuple("Eigh", ["eigenvalues", "eigenvectors"])
QR = namedtuple("QR", ["Q", "R"])
SVD = namedtuple("SVD", ["U", "S", "Vh"])
SVDLegacy = namedtuple("SVDLegacy", ["U", "S", "V"])


# ----- products built from differentiable ops -----------------------------------------


def _cross_dim(op, a, b, dim):
    if dim is None:
        for d, n in enumerate(a.shape):
            if n == 3:
                return d
        raise RuntimeError(f"{op}: no dimension of size 3 in input")
    ndim = builtins.max(a.ndim, b.ndim)
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
            f"but got {dim})"
        )
    return dim % ndim


def _cross(op, input, other, dim):
    a = tensor_arg(op, input)
    b = tensor_arg(op, other, "other", 2)
    if a.ndim != b.ndim:
        raise RuntimeError(
            f"linalg.cross: inputs must have the same number of dimensions, got {a.ndim} "
            f"and {b.ndim}"
        )
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected scalar type {scalar_name(a._data.dtype)} but found "
            f"{scalar_name(b._data.dtype)}"
        )
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    a, b = a.expand(*shape), b.expand(*shape)
    axis = _cross_dim(op, a, b, dim)
    if a.shape[axis] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {a.shape[axis]} "
            f"and {b.shape[axis]}"
        )

    def part(t, i):
        return t[(slice(None),) * axis + (i,)]

    a0, a1, a2 = (part(a, i) for i in range(3))
    b0, b1, b2 = (part(b, i) for i in range(3))
    return movement.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis)


def cross(input, other, dim=None):
    """The cross product along `dim` (by default the first dimension of size 3)."""
    return _cross("cross", input, other, dim)


def linalg_cross(input, other, *, dim=-1):
    """The cross product along `dim`, inputs broadcast."""
    return _cross("linalg.cross", input, other, dim)


def kron(input, other):
    """The Kronecker product."""
    a = tensor_arg("kron", input)
    b = tensor_arg("kron", other, "other", 2)
    ndim = builtins.max(a.ndim, b.ndim)
    sa = (1,) * (ndim - a.ndim) + tuple(a.shape)
    sb = (1,) * (ndim - b.ndim) + tuple(b.shape)
    left = a.reshape(*[x for n in sa for x in (n, 1)]) if ndim else a
    right = b.reshape(*[x for n in sb for x in (1, n)]) if ndim else b
    return (left * right).reshape(*[p * q for p, q in zip(sa, sb, strict=True)])


def tensordot(a, b, dims=2, out=None):
    """Sums the products of a's and b's elements over the given dimensions."""
    a = tensor_arg("tensordot", a)
    b = tensor_arg("tensordot", b, "b", 2)
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, int) else list(d) for d in dims)
    if len(da) != len(db):
        raise RuntimeError("both dimension lists should have same length")
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    for i, j in zip(da, db, strict=True):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(
                f"contracted dimensions need to match, but first has size {a.shape[i]} in dim "
                f"{i} and second has size {b.shape[j]} in dim {j}"
            )
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = math.prod(a.shape[d] for d in da)
    left = a.permute(*free_a, *da).reshape(-1, k)
    right = b.permute(*db, *free_b).reshape(k, -1)
    shape = [a.shape[d] for d in free_a] + [b.shape[d] for d in free_b]
    return _mm(left, right).reshape(*shape)


def inner(input, other):
    """The dot product over the last dimensions (a product when either is 0-d)."""
    a = tensor_arg("inner", input)
    b = tensor_arg("inner", other, "other", 2)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"inner() the last dimension must match on both input tensors but got shapes "
            f"{list(a.shape)} and {list(b.shape)}"
        )
    return tensordot(a, b, ([-1], [-1]))


def ger(input, vec2):
    return linalg_ops.outer(input, vec2)


def _scaled_sum(input, product, beta, alpha):
    product = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch ignores input then: its NaN and inf do not reach the result
        return product
    try:
        shape = np.broadcast_shapes(tuple(input.shape), tuple(product.shape))
    except ValueError:
        shape = None
    if shape != tuple(product.shape):
        raise RuntimeError(
            f"The expanded size of the tensor must match the existing size: input of shape "
            f"{list(input.shape)} does not broadcast to {list(product.shape)}"
        )
    return product + (input if beta == 1 else input * beta)


def _same_dtypes(op, *tensors):
    first = tensors[0]._data.dtype
    for t in tensors[1:]:
        if t._data.dtype != first:
            raise RuntimeError(
                f"{op}: expected the same dtype, but got {scalar_name(first)} and "
                f"{scalar_name(t._data.dtype)}"
            )


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    tensor_arg("baddbmm", input)
    _same_dtypes("baddbmm", input, batch1, batch2)
    return _scaled_sum(input, linalg_ops.bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """beta * input + alpha * the sum over the batch of batch1 @ batch2."""
    tensor_arg("addbmm", input)
    _same_dtypes("addbmm", input, batch1, batch2)
    return _scaled_sum(input, reduce.sum(linalg_ops.bmm(batch1, batch2), 0), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    """beta * input + alpha * (mat @ vec)."""
    tensor_arg("addmv", input)
    _same_dtypes("addmv", input, mat, vec)
    return _scaled_sum(input, linalg_ops.mv(mat, vec), beta, alpha)


def multi_dot(tensors):
    """The product of a chain of matrices (the first and last may be vectors)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0], tensors[-1]
    for i, t in enumerate(tensors):
        allowed = (1, 2) if i in (0, len(tensors) - 1) else (2,)
        if t.ndim not in allowed:
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be 2D"
                + (" or 1D" if len(allowed) == 2 else "")
                + f" but got {t.ndim}D"
            )
    _same_dtypes("multi_dot", *tensors)
    out = first.unsqueeze(0) if first.ndim == 1 else first
    for t in tensors[1:]:
        out = _mm(out, t.unsqueeze(1) if t.ndim == 1 else t)
    if first.ndim == 1:
        out = out.squeeze(0)
    if last.ndim == 1:
        out = out.squeeze(-1)
    return out


def chain_matmul(*matrices):
    if len(matrices) == 1:
        return matrices[0].clone()
    for t in matrices:
        if t.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {t.ndim}, expected 2 instead.")
    return multi_dot(matrices)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distances between each row of x1 and each row of x2 (batched)."""
    a = tensor_arg("cdist", x1, "x1")
    b = tensor_arg("cdist", x2, "x2", 2)
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeError(
            f"cdist only supports at least 2D tensors, X1 got: {a.ndim}D, X2 got: {b.ndim}D"
        )
    if a.shape[-1] != b.shape[-1]:
        raise RuntimeError(
            f"X1 and X2 must have the same number of columns. X1: {a.shape[-1]} X2: {b.shape[-1]}"
        )
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    for t in (a, b):
        if t._data.dtype.kind != "f":
            raise RuntimeError(
                f"cdist only supports floating-point dtypes, X{1 if t is a else 2} got: "
                f"{scalar_name(t._data.dtype)}"
            )
    differences = a.unsqueeze(-2) - b.unsqueeze(-3)
    return aggregate.vector_norm(differences, p, dim=-1)


def dist(input, other, p=2):
    """The p-norm of input - other."""
    a = tensor_arg("dist", input)
    return aggregate.vector_norm(a - other, p)


def pdist(input, p=2):
    """The p-norm distances between each pair of rows (i < j) of a matrix, row-major."""
    a = tensor_arg("pdist", input)
    if a.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {a.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = a.shape[0]
    i, j = np.triu_indices(n, 1)
    xp = _xp(a._data)
    rows_i = Tensor._make(xp.asarray(i, dtype=np.int64), False, None)
    rows_j = Tensor._make(xp.asarray(j, dtype=np.int64), False, None)
    differences = indexing.index_select(a, 0, rows_i) - indexing.index_select(a, 0, rows_j)
    return aggregate.vector_norm(differences, p, dim=-1)


def renorm(input, p, dim, maxnorm):
    """Each slice along `dim` scaled down to p-norm `maxnorm` where its norm exceeds it."""
    a = tensor_arg("renorm", input)
    if a.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {a.ndim} dimensions")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported (got p={p})")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    axis = reduce._axes(dim, a.ndim, "renorm")[0] if a.ndim else 0
    others = [d for d in range(a.ndim) if d != axis]
    norms = aggregate.vector_norm(a, p, dim=others, keepdim=True)
    over = Tensor._make(norms._data > maxnorm, False, None)
    factor = (maxnorm / (norms + 1e-7)).masked_fill(~over, 1.0)
    return a * factor


# ----- decompositions and solvers ------------------------------------------------------


def _square(op: str, a: Tensor, min_ndim: int = 2) -> Tensor:
    tensor_arg(op, a, "A")
    if a.ndim < min_ndim:
        raise RuntimeError(f"{op}: The input tensor A must have at least {min_ndim} dimensions.")
    if a._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got "
            f"{scalar_name(a._data.dtype)}"
        )
    if a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are {a.shape[-2]} by "
            f"{a.shape[-1]} matrices"
        )
    return a


def _mT(x):
    return _xp(x).swapaxes(x, -1, -2)


def _checked(op: str, compute, *args):
    """Run an xp.linalg call, raising LinAlgError where the matrix is singular."""
    try:
        return compute(*args)
    except np.linalg.LinAlgError as error:
        raise LinAlgError(
            f"{op}: The diagonal element of the factorisation is zero, the input is singular "
            f"or not positive-definite ({error})"
        ) from None


class Det(Function):
    """det(A); its gradient is g * det(A) * inv(A)^T."""

    op = "linalg.det"
    saves = ((0, None), ("out", None))

    def forward(self, a):
        xp = _xp(a)
        self.a = a
        self.out = xp.asarray(xp.linalg.det(a), dtype=a.dtype)
        return self.out

    def backward(self, g):
        xp = _xp(g)
        scale = (g * self.out)[..., None, None]
        inverse_t = _mT(_checked("linalg.det", xp.linalg.inv, self.a))
        return (scale * inverse_t,)


def det(A):
    """The determinant of (each matrix of) A."""
    return Det.apply(_square("linalg.det", A))


class Inv(Function):
    """inv(A); its gradient is -inv(A)^T g inv(A)^T."""

    op = "linalg.inv"
    saves = (("out", None),)

    def forward(self, a, inverse):
        self.out = inverse
        return inverse

    def backward(self, g):
        t = _mT(self.out)
        return (-(t @ g @ t),)


def inv(A):
    """The inverse of (each matrix of) A; LinAlgError where one is singular."""
    a = _square("linalg.inv", A)
    xp = _xp(a._data)
    if a._data.size and bool((xp.linalg.det(a._data) == 0).any()):
        raise LinAlgError(
            "linalg.inv: The diagonal element of the LU factorisation is zero, the inversion "
            "could not be completed because the input matrix is singular."
        )
    inverse = _checked("linalg.inv", xp.linalg.inv, a._data)
    return Inv.apply(a, inverse=inverse.astype(a._data.dtype, copy=False))


class LogAbsDet(Function):
    """log|det(A)|; its gradient is g * inv(A)^T."""

    op = "linalg.slogdet"
    saves = ((0, None),)

    def forward(self, a):
        self.a = a
        _, logabs = _xp(a).linalg.slogdet(a)
        return _xp(a).asarray(logabs, dtype=a.dtype)

    def backward(self, g):
        xp = _xp(g)
        inverse_t = _mT(_checked("linalg.slogdet", xp.linalg.inv, self.a))
        return (g[..., None, None] * inverse_t,)


def slogdet(A):
    """(sign, log|det|) of (each matrix of) A."""
    a = _square("linalg.slogdet", A)
    xp = _xp(a._data)
    sign, _ = xp.linalg.slogdet(a._data)
    return SignLogAbsDet(
        Tensor._make(xp.asarray(sign, dtype=a._data.dtype), False, None), LogAbsDet.apply(a)
    )


def logdet(input):
    """log(det(A)): NaN where the determinant is negative, -inf where it is 0."""
    sign, logabs = slogdet(input)
    xp = _xp(sign._data)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = xp.where(sign._data > 0, 0.0, xp.where(sign._data == 0, -np.inf, np.nan))
    return logabs + Tensor._make(shift.astype(sign._data.dtype), False, None)


class Solve(Function):
    """X with A X = B (B as matrices); gB = solve(A^T, g), gA = -gB X^T."""

    op = "linalg.solve"
    saves = ((0, None), ("out", None))

    def forward(self, a, b, x):
        self.a, self.shapes, self.out = a, (a.shape, b.shape), x
        return x

    def backward(self, g):
        xp = _xp(g)
        gb = xp.linalg.solve(_mT(self.a), g)
        ga = -(gb @ _mT(self.out))
        return unbroadcast(ga, self.shapes[0]), unbroadcast(gb, self.shapes[1])


def solve(A, B, *, left=True):
    """X with A X = B (X A = B when not `left`); B may be a vector or a batch of them."""
    a = _square("linalg.solve", A)
    b = tensor_arg("linalg.solve", B, "B", 2)
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
            f"{scalar_name(a._data.dtype)} and B of type {scalar_name(b._data.dtype)} instead"
        )
    if not left:
        return solve(a.mT, b.mT).mT
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and tuple(b.shape) == tuple(a.shape[:-1]))
    if vector:
        b = b.unsqueeze(-1)
    if b.shape[-2] != a.shape[-1]:
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({a.shape[-2]}x{a.shape[-1]} and {b.shape[-2]}x{b.shape[-1]})"
        )
    if a._data.size and bool((_xp(a._data).linalg.det(a._data) == 0).any()):
        raise LinAlgError("linalg.solve: The solver failed because the input matrix is singular.")
    x = _checked("linalg.solve", _xp(a._data).linalg.solve, a._data, b._data)
    out = Solve.apply(a, b, x=x.astype(a._data.dtype, copy=False))
    return out.squeeze(-1) if vector else out


class Cholesky(Function):
    """The lower factor L of A = L L^T; its gradient, symmetric, is
    sym(L^-T Phi(L^T gL) L^-1), Phi keeping the lower triangle with half the diagonal."""

    op = "linalg.cholesky"
    saves = (("out", None),)

    def forward(self, a, low):
        self.out = low
        return low

    def backward(self, g):
        xp = _xp(g)
        low = self.out
        phi = xp.tril(_mT(low) @ g)
        n = phi.shape[-1]
        phi = phi - 0.5 * phi * xp.eye(n, dtype=g.dtype)
        inverse = xp.linalg.inv(low)
        grad = _mT(inverse) @ phi @ inverse
        return (0.5 * (grad + _mT(grad)),)


def cholesky(A, *, upper=False):
    """The Cholesky factor of (each) symmetric positive-definite matrix of A."""
    a = _square("linalg.cholesky", A)
    factor = _checked("linalg.cholesky", _xp(a._data).linalg.cholesky, a._data)
    low = Cholesky.apply(a, low=factor.astype(a._data.dtype, copy=False))
    return low.mT if upper else low


def cholesky_legacy(input, upper=False):
    return cholesky(input, upper=upper)


class NoGradient(Function):
    """An output whose gradient is not implemented: its backward raises."""

    op = "linalg"

    def forward(self, a, value, what):
        self.what = what
        return value

    def backward(self, g):
        raise NotImplementedError(
            f"the gradient of {self.what} is not implemented in this engine; only the "
            "singular values' (svd) and eigenvalues' (eigh) gradients are"
        )


class SingularValues(Function):
    """The singular values S of A; its gradient is U diag(g) Vh."""

    op = "linalg.svdvals"
    saves = ((0, None),)

    def forward(self, a):
        u, s, vh = _xp(a).linalg.svd(a, full_matrices=False)
        self.u, self.vh = u, vh
        return s.astype(a.dtype, copy=False)

    def backward(self, g):
        return ((self.u * g[..., None, :]) @ self.vh,)


def _floating_matrix(op, A):
    a = tensor_arg(op, A, "A")
    if a.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    if a._data.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. Got "
            f"{scalar_name(a._data.dtype)}"
        )
    return a


def svdvals(A):
    return SingularValues.apply(_floating_matrix("linalg.svdvals", A))


def linalg_svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh; only S has a gradient."""
    a = _floating_matrix("linalg.svd", A)
    xp = _xp(a._data)
    u, _, vh = xp.linalg.svd(a._data, full_matrices=full_matrices)
    dt = a._data.dtype
    return SVD(
        NoGradient.apply(a, value=u.astype(dt), what="svd's U"),
        SingularValues.apply(a),
        NoGradient.apply(a, value=vh.astype(dt), what="svd's Vh"),
    )


def svd(input, some=True, compute_uv=True):
    """(U, S, V) with input = U diag(S) V^T; only S has a gradient."""
    u, s, vh = linalg_svd(input, full_matrices=not some)
    if not compute_uv:  # PyTorch's zero-filled (m, m) and (n, n) matrices
        xp = _xp(u._data)
        batch, (m, n) = tuple(input.shape[:-2]), tuple(input.shape[-2:])
        dt = u._data.dtype
        return SVDLegacy(
            Tensor._make(xp.zeros((*batch, m, m), dtype=dt), False, None),
            s,
            Tensor._make(xp.zeros((*batch, n, n), dtype=dt), False, None),
        )
    return SVDLegacy(u, s, vh.mT)


class EigenValues(Function):
    """The ascending eigenvalues of a symmetric A; its gradient is V diag(g) V^T."""

    op = "linalg.eigh"
    saves = ((0, None),)

    def forward(self, a, uplo):
        w, v = _xp(a).linalg.eigh(a, UPLO=uplo)
        self.v = v
        return w.astype(a.dtype, copy=False)

    def backward(self, g):
        return ((self.v * g[..., None, :]) @ _mT(self.v),)


def eigh(A, UPLO="L"):
    """(eigenvalues, eigenvectors) of symmetric A; only the eigenvalues have a gradient."""
    a = _square("linalg.eigh", A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _, v = _xp(a._data).linalg.eigh(a._data, UPLO=UPLO)
    return Eigh(
        EigenValues.apply(a, uplo=UPLO),
        NoGradient.apply(a, value=v.astype(a._data.dtype), what="eigh's eigenvectors"),
    )


def eigvalsh(A, UPLO="L"):
    return eigh(A, UPLO).eigenvalues


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R (no gradient)."""
    a = _floating_matrix("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
            "'r', or 'complete'"
        )
    xp = _xp(a._data)
    q, r = xp.linalg.qr(a._data, mode="complete" if mode == "complete" else "reduced")
    dt = a._data.dtype
    if mode == "r":
        q = xp.zeros((0,), dtype=dt)
    return QR(
        NoGradient.apply(a, value=q.astype(dt), what="qr's Q"),
        NoGradient.apply(a, value=r.astype(dt), what="qr's R"),
    )


def qr_legacy(input, some=True):
    """torch.qr: (Q, R), reduced when `some`."""
    return qr(input, "reduced" if some else "complete")


def addmv_(input, mat, vec, *, beta=1, alpha=1):
    return input.addmv_(mat, vec, beta=beta, alpha=alpha)


class PseudoInverse(Function):
    """pinv(A); its gradient (for A of constant rank) is
    -P^T g P^T + (I - A P) g^T P P^T + P^T P g^T (I - P A)."""

    op = "linalg.pinv"
    saves = ((0, None), ("out", None))

    def forward(self, a):
        self.a = a
        self.out = _xp(a).linalg.pinv(a).astype(a.dtype, copy=False)
        return self.out

    def backward(self, g):
        xp = _xp(g)
        a, p = self.a, self.out
        pt, gt = _mT(p), _mT(g)
        eye_m = xp.eye(a.shape[-2], dtype=g.dtype)
        eye_n = xp.eye(a.shape[-1], dtype=g.dtype)
        return (-(pt @ g @ pt) + (eye_m - a @ p) @ gt @ p @ pt + pt @ p @ gt @ (eye_n - p @ a),)


def pinv(A, *, atol=None, rtol=None, hermitian=False):
    """The Moore-Penrose pseudo-inverse."""
    if atol is not None or rtol is not None:
        raise NotImplementedError("linalg.pinv: atol and rtol are not supported")
    return PseudoInverse.apply(_floating_matrix("linalg.pinv", A))


def pinverse(input, rcond=1e-15):
    return pinv(input)


def matrix_power(A, n):
    """A multiplied by itself n times (the identity for 0, the inverse's powers below)."""
    a = tensor_arg("linalg.matrix_power", A, "A")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_power: A must be batches of square matrices, but they are "
            f"{a.shape[-2] if a.ndim >= 2 else 1} by {a.shape[-1] if a.ndim else 1} matrices"
        )
    if not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:
        xp = _xp(a._data)
        eye = xp.broadcast_to(xp.eye(a.shape[-1], dtype=a._data.dtype), a.shape)
        return Tensor._make(xp.ascontiguousarray(eye), False, None)
    if n < 0:
        a, n = inv(a), -n
    result, square = None, a
    while n:
        if n & 1:
            result = square if result is None else _matmul(result, square)
        n >>= 1
        if n:
            square = _matmul(square, square)
    return result


def matrix_exp(A):
    """exp(A) by scaling and squaring a Taylor series, all in differentiable products."""
    a = _square("linalg.matrix_exp", A)
    xp = _xp(a._data)
    size = a.shape[-1]
    if not a._data.size:
        return a.clone()
    norm = float(xp.abs(a._data).sum(axis=-2).max())
    steps = builtins.max(0, math.ceil(math.log2(norm)) + 1) if norm > 0.5 else 0
    x = a / float(2**steps)
    eye = Tensor._make(
        xp.ascontiguousarray(xp.broadcast_to(xp.eye(size, dtype=a._data.dtype), a.shape)),
        False,
        None,
    )
    total, term = eye, eye
    for k in range(1, 20):
        term = _matmul(term, x) / float(k)
        total = total + term
    for _ in range(steps):
        total = _matmul(total, total)
    return total
