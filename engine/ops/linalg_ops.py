"""Products beyond matmul: einsum, bmm, dot, outer, mv and addmm."""

from __future__ import annotations

import string

import numpy as np

from engine.autograd import Function, unbroadcast
from engine.dtypes import int64, scalar_name
from engine.ops.elementwise import _xp, mul, tensor_arg
from engine.ops.matmul import matmul
from engine.ops.movement import reshape

_LETTERS = string.ascii_letters
_ELLIPSIS = "..."


def _dense(a):
    """`a` in row-major order (a copy only when it is not), of any number of dimensions."""
    return a if a.flags.c_contiguous else a.copy()


# ----- einsum -----------------------------------------------------------------------------
def _run_einsum(terms, arrays, out):
    """xp.einsum over label lists (ints 0..51): BLAS-backed contraction on the host."""
    spec = ",".join("".join(_LETTERS[i] for i in t) for t in terms)
    spec += "->" + "".join(_LETTERS[i] for i in out)
    xp = _xp(arrays[0])
    if all(isinstance(a, np.ndarray) for a in arrays) and len(arrays) > 1:
        return xp.asarray(np.einsum(spec, *arrays, optimize=True))
    return xp.asarray(xp.einsum(spec, *arrays))


class Einsum(Function):
    op = "einsum"
    fresh_grads = True

    def forward(self, *arrays, terms, out, sizes):
        self.terms, self.out, self.sizes = terms, out, sizes
        xp = _xp(arrays[0])
        full = []
        for a, t in zip(arrays, terms, strict=True):
            want = tuple(sizes[label] for label in t)
            full.append(a if a.shape == want else xp.broadcast_to(a, want))
        self.arrays = full
        self.shapes = [a.shape for a in arrays]
        return _run_einsum(terms, full, out)

    def backward(self, g):
        grads = []
        for k in range(len(self.terms)):
            grads.append(self._grad(k, g) if self.needs(k) else None)
        return tuple(grads)

    def _grad(self, k, g):
        xp = _xp(g)
        term, sizes = self.terms[k], self.sizes
        others = [(t, a) for i, (t, a) in enumerate(zip(self.terms, self.arrays, strict=True))]
        others = [pair for i, pair in enumerate(others) if i != k] + [(self.out, g)]
        unique = list(dict.fromkeys(term))
        seen = {label for t, _ in others for label in t}
        present = [label for label in unique if label in seen]
        grad = _run_einsum([t for t, _ in others], [a for _, a in others], present)
        missing = [label for label in unique if label not in seen]
        if missing:  # summed in this operand alone: its gradient is the same along them
            grad = grad.reshape(grad.shape + (1,) * len(missing))
            grad = xp.broadcast_to(
                grad, grad.shape[: len(present)] + tuple(sizes[m] for m in missing)
            )
            order = [(present + missing).index(label) for label in unique]
            grad = grad.transpose(order)
        if len(unique) < len(term):  # a repeated label takes a diagonal: put it back on one
            extra, positions, mats, fresh = [], [], [], 52
            used = set()
            for label in term:
                if label in used:
                    fresh -= 1
                    positions.append(fresh)
                    extra.append([label, fresh])
                    mats.append(xp.eye(sizes[label], dtype=g.dtype))
                else:
                    used.add(label)
                    positions.append(label)
            grad = _run_einsum([unique, *extra], [_dense(grad), *mats], positions)
        grad = _dense(grad)
        return unbroadcast(grad, self.shapes[k]) if grad.shape != self.shapes[k] else grad


def _parse_term(term: str, where: int, offset: int) -> list:
    """A term's labels: ints for letters, _ELLIPSIS for `...`."""
    labels, i = [], 0
    while i < len(term):
        ch = term[i]
        if ch == ".":
            if term[i : i + 3] != _ELLIPSIS or _ELLIPSIS in labels:
                raise RuntimeError(
                    f"einsum(): found '.' for operand {where} that is not part of any ellipsis"
                    if term[i : i + 3] != _ELLIPSIS
                    else f"einsum(): found '.' for operand {where} for which an ellipsis was "
                    "already found"
                )
            labels.append(_ELLIPSIS)
            i += 3
            continue
        if ch not in _LETTERS:
            raise RuntimeError(
                f"einsum(): invalid subscript given at index {offset + i} in the equation "
                "string, subscripts must be in [a-zA-Z]"
            )
        labels.append(_LETTERS.index(ch))
        i += 1
    return labels


def einsum(equation, *operands):
    """Sums of products over labelled dimensions, as PyTorch's einsum (with `...`)."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    tensors = [tensor_arg("einsum", t, "operands") for t in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    raw_terms = lhs.split(",")
    if len(raw_terms) > len(tensors):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(raw_terms) < len(tensors):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if not tensors:
        raise RuntimeError("einsum(): must provide at least one operand")
    offsets, pos = [], 0
    for t in raw_terms:
        offsets.append(pos)
        pos += len(t) + 1
    parsed = [_parse_term(t, k, offsets[k]) for k, t in enumerate(raw_terms)]
    # letters (0..51) and `...` dims (numbered downwards from 51 by how far from the right)
    ell_ndim = 0
    for k, (labels, t) in enumerate(zip(parsed, tensors, strict=True)):
        named = len([x for x in labels if x != _ELLIPSIS])
        if _ELLIPSIS in labels:
            if named > t.ndim:
                raise RuntimeError(
                    f"einsum(): the number of subscripts in the equation ({named}) is more than "
                    f"the number of dimensions ({t.ndim}) for operand {k}"
                )
            ell_ndim = max(ell_ndim, t.ndim - named)
        elif named != t.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({named}) does not match "
                f"the number of dimensions ({t.ndim}) for operand {k} and no ellipsis was given"
            )
    letters_used = {x for labels in parsed for x in labels if x != _ELLIPSIS}
    spare = [i for i in range(len(_LETTERS)) if i not in letters_used]
    if ell_ndim > len(spare):
        raise RuntimeError("einsum(): too many dimensions for the letters a-z and A-Z")
    ell_labels = spare[:ell_ndim]
    terms = []
    for labels, t in zip(parsed, tensors, strict=True):
        if _ELLIPSIS in labels:
            n = t.ndim - (len(labels) - 1)
            at = labels.index(_ELLIPSIS)
            labels = labels[:at] + ell_labels[ell_ndim - n :] + labels[at + 1 :]
        terms.append(labels)
    if arrow:
        out_parsed = _parse_term(rhs, len(tensors), len(lhs) + 2)
        out = []
        for x in out_parsed:
            if x == _ELLIPSIS:
                out.extend(ell_labels)
                continue
            if x not in letters_used:
                raise RuntimeError(
                    f"einsum(): output subscript {_LETTERS[x]} does not appear in the equation "
                    "for any input operand"
                )
            if x in out:
                raise RuntimeError(
                    f"einsum(): output subscript {_LETTERS[x]} appears more than once in the output"
                )
            out.append(x)
    else:
        counts = {}
        for labels in parsed:
            for x in labels:
                if x != _ELLIPSIS:
                    counts[x] = counts.get(x, 0) + 1
        once = sorted((x for x, c in counts.items() if c == 1), key=lambda x: _LETTERS[x])
        out = list(ell_labels) + once
    sizes = {}
    for k, (labels, t) in enumerate(zip(terms, tensors, strict=True)):
        mine = {}
        for label, n in zip(labels, t.shape, strict=True):
            if label in mine and mine[label] != n:
                raise RuntimeError(
                    f"einsum(): subscript {_LETTERS[label]} is repeated for operand {k} but the "
                    f"sizes don't match, {mine[label]} != {n}"
                )
            mine[label] = n
        for label, n in mine.items():
            have = sizes.get(label)
            if have is None or have == 1:
                sizes[label] = n
            elif n != 1 and n != have:
                raise RuntimeError(
                    f"einsum(): subscript {_LETTERS[label]} has size {n} for operand {k} which "
                    f"does not broadcast with previously seen size {have}"
                )
    first = tensors[0]
    for t in tensors[1:]:
        if t._data.dtype != first._data.dtype:
            raise RuntimeError(
                f"expected scalar type {scalar_name(first._data.dtype)} but found "
                f"{scalar_name(t._data.dtype)}"
            )
    if first._data.dtype.kind == "b":  # PyTorch sums bools as int64 and has no bool product
        summed = {x for t in terms for x in t if x not in out}
        if any(sum(x in t for t in terms) > 1 for x in summed):
            raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
        if summed:
            tensors = [t.to(int64) for t in tensors]
    return Einsum.apply(*tensors, terms=terms, out=out, sizes=sizes)


# ----- bmm, dot, mv, outer, addmm -------------------------------------------------------
def _same_dtype(a, b) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"expected scalar type {scalar_name(a._data.dtype)} but found "
            f"{scalar_name(b._data.dtype)}"
        )


def _no_bool(op, t) -> None:
    if t._data.dtype.kind == "b":
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool'")


def bmm(input, mat2):
    """Batches of matrix products: (b, n, m) @ (b, m, p)."""
    a = tensor_arg("bmm", input)
    b = tensor_arg("bmm", mat2, "mat2", 2)
    for name, t in (("batch1", a), ("batch2", b)):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        raise RuntimeError(
            "Expected size for first two dimensions of batch2 tensor to be: "
            f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}]."
        )
    _same_dtype(a, b)
    _no_bool("bmm", a)
    return matmul(a, b)


def dot(input, other):
    """The inner product of two 1-D tensors of one dtype."""
    a = tensor_arg("dot", input)
    b = tensor_arg("dot", other, "other", 2)
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            "dot : expected both vectors to have same dtype, but found "
            f"{scalar_name(a._data.dtype)} and {scalar_name(b._data.dtype)}"
        )
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(
            f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}] to "
            f"have the same number of elements, but got {a.shape[0]} and {b.shape[0]} elements "
            "respectively"
        )
    _no_bool("dot", a)
    return matmul(a, b)


def mv(input, vec):
    """A matrix times a vector."""
    a = tensor_arg("mv", input)
    v = tensor_arg("mv", vec, "vec", 2)
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a._data.dtype != v._data.dtype:
        raise RuntimeError(
            "addmv input tensors must have the same dtype, but got "
            f"{scalar_name(a._data.dtype)} and {scalar_name(v._data.dtype)}"
        )
    if a.shape[1] != v.shape[0]:
        raise RuntimeError(
            f"size mismatch, got input ({a.shape[0]}), mat ({a.shape[0]}x{a.shape[1]}), "
            f"vec ({v.shape[0]})"
        )
    _no_bool("mv", a)
    return matmul(a, v)


def outer(input, vec2):
    """The outer product of two vectors (dtypes promote, as in PyTorch's mul)."""
    a = tensor_arg("outer", input)
    b = tensor_arg("outer", vec2, "vec2", 2)
    for name, t in (("self", a), ("vec2", b)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.ndim}-D")
    return mul(reshape(a, -1, 1), b)


class Addmm(Function):
    op = "addmm"
    saves = ((1, 2), (2, 1))
    fresh_grads = True

    def forward(self, c, a, b, beta, alpha):
        self.a, self.b, self.shape_c = a, b, c.shape
        self.beta, self.alpha = beta, alpha
        out = a @ b
        if alpha != 1:
            out = out * a.dtype.type(alpha)
        if beta == 0:  # PyTorch ignores input then: its NaN and inf do not reach the result
            return _xp(out).ascontiguousarray(out)
        return out + (c if beta == 1 else c * c.dtype.type(beta))

    def backward(self, g):
        gc = ga = gb = None
        if self.needs(0):
            gc = _dense(unbroadcast(g * g.dtype.type(self.beta), self.shape_c))
        if self.needs(1):
            ga = (g @ self.b.T) * g.dtype.type(self.alpha)
        if self.needs(2):
            gb = (self.a.T @ g) * g.dtype.type(self.alpha)
        return gc, ga, gb


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    c = tensor_arg("addmm", input)
    a = tensor_arg("addmm", mat1, "mat1", 2)
    b = tensor_arg("addmm", mat2, "mat2", 3)
    for name, t in (("mat1", a), ("mat2", b)):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
            f"{b.shape[0]}x{b.shape[1]})"
        )
    for name, t in (("self", c), ("mat1", a)):
        if t._data.dtype != b._data.dtype:
            raise RuntimeError(
                f"{name} and mat2 must have the same dtype, but got "
                f"{scalar_name(t._data.dtype)} and {scalar_name(b._data.dtype)}"
            )
    target = (a.shape[0], b.shape[1])
    shape = tuple(c.shape)
    if len(shape) > 2 or any(
        have not in (1, want) for have, want in zip(shape[::-1], target[::-1], strict=False)
    ):
        raise RuntimeError(
            f"The expanded size of the tensor must match the existing size: input of shape "
            f"{list(shape)} does not broadcast to {list(target)}"
        )
    _no_bool("addmm", a)
    return Addmm.apply(c, a, b, beta=beta, alpha=alpha)
