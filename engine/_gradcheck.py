"""gradcheck and gradgradcheck: a function's gradients against central differences."""

from __future__ import annotations

import numpy as np

from engine import backend
from engine.autograd import grad
from engine.tensor import Tensor


class GradcheckError(RuntimeError):
    """The analytical and numerical Jacobians of a function differ."""


def _as_tuple(x) -> tuple:
    return x if isinstance(x, tuple) else (x,)


def _differentiable(outputs) -> list:
    return [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]


def _numerical(func, inputs, i: int, outputs, picked, eps: float) -> list:
    """d(output k)/d(input i) by central differences: one (n_in, n_out_k) array per output."""
    arr = inputs[i]._data
    jac = [np.zeros((arr.size, o._data.size)) for o in outputs]
    for e in range(arr.size):
        where = tuple(int(j) for j in np.unravel_index(e, arr.shape))
        orig = arr[where].item()
        values = []
        for step in (eps, -eps):
            arr[where] = orig + step
            outs = _as_tuple(func(*inputs))
            values.append([backend.to_numpy(outs[j]._data).astype(np.float64) for j in picked])
        arr[where] = orig
        for k in range(len(outputs)):
            jac[k][e] = ((values[0][k] - values[1][k]) / (2 * eps)).reshape(-1)
    return jac


def _analytical(outputs, inputs, i_list) -> dict:
    """d(output k)/d(input i) from backward, one row of the Jacobian per output element."""
    jac = {}
    for k, o in enumerate(outputs):
        xp = backend.array_module(o._data)
        rows = {i: np.zeros((inputs[i]._data.size, o._data.size)) for i in i_list}
        for e in range(o._data.size):
            seed = xp.zeros(o._data.size, dtype=o._data.dtype)
            seed[e] = 1
            seed = Tensor._make(seed.reshape(o._data.shape), False, None)
            grads = grad(o, [inputs[i] for i in i_list], seed, retain_graph=True, allow_unused=True)
            for i, g in zip(i_list, grads, strict=True):
                if g is not None:
                    rows[i][:, e] = backend.to_numpy(g._data).astype(np.float64).reshape(-1)
        for i in i_list:
            jac[(k, i)] = rows[i]
    return jac


def gradcheck(
    func,
    inputs,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_batched_forward_grad: bool = False,
    check_forward_ad: bool = False,
    check_backward_ad: bool = True,
    fast_mode: bool = False,
    masked=None,
) -> bool:
    """Whether the gradients of `func` at `inputs` match finite differences (float64 inputs)."""
    inputs = _as_tuple(inputs)
    wanted = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wanted:
        raise ValueError("gradcheck expects at least one input tensor to require gradient")
    for i in wanted:
        if inputs[i]._data.dtype != np.float64:
            import warnings

            warnings.warn(
                f"Input #{i} requires gradient and is not a double precision floating point. "
                "This check will likely fail if all the inputs are not of double precision "
                "floating point.",
                stacklevel=2,
            )
    results = _as_tuple(func(*inputs))
    picked = [j for j, o in enumerate(results) if isinstance(o, Tensor) and o.requires_grad]
    outputs = [results[j] for j in picked]
    numerical = {
        (k, i): jac
        for i in wanted
        for k, jac in enumerate(_numerical(func, inputs, i, outputs, picked, eps))
    }
    analytical = _analytical(outputs, inputs, wanted)
    for (k, i), num in numerical.items():
        ana = analytical[(k, i)]
        if not np.allclose(ana, num, rtol=rtol, atol=atol, equal_nan=True):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for output {k} with respect to input {i},\n"
                f"numerical:{num}\nanalytical:{ana}\n"
            )
    return True


def gradgradcheck(
    func,
    inputs,
    grad_outputs=None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    gen_non_contig_grad_outputs: bool = False,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    check_undefined_grad: bool = True,
    check_grad_dtypes: bool = False,
    check_batched_grad: bool = False,
    check_fwd_over_rev: bool = False,
    check_rev_over_rev: bool = True,
    fast_mode: bool = False,
    masked: bool = False,
) -> bool:
    """gradcheck of the gradients of `func` (taken with create_graph=True)."""
    inputs = _as_tuple(inputs)
    outputs = _differentiable(_as_tuple(func(*inputs)))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor._make(
                backend.to_device(rng.standard_normal(o.shape), backend.device_of(o._data)).astype(
                    o._data.dtype
                ),
                False,
                None,
            ).requires_grad_()
            for o in outputs
        )
    grad_outputs = _as_tuple(grad_outputs)
    n = len(inputs)

    def first_grads(*args):
        ins, seeds = args[:n], args[n:]
        outs = _differentiable(_as_tuple(func(*ins)))
        diff = [t for t in ins if isinstance(t, Tensor) and t.requires_grad]
        grads = grad(outs, diff, seeds, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(
        first_grads,
        inputs + grad_outputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
    )
