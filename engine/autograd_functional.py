"""torch.autograd.functional: Jacobians, Hessians and their products with vectors, built on
`autograd.grad` (reverse mode; Jacobian-vector products by the double-vjp trick)."""

from __future__ import annotations

from engine import autograd
from engine.autograd import enable_grad
from engine.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, arg_name: str, fn_name: str) -> tuple[bool, tuple]:
    """(was it a tuple, the value as a tuple), checking that it holds tensors only."""
    is_tuple = isinstance(value, tuple)
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            if is_tuple:
                raise TypeError(
                    f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                    f"Tensors but the value at index {i} has type {type(item)}."
                )
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of "
                f"Tensors but the given {arg_name} has type {type(item)}."
            )
    return is_tuple, items


def _tuple_back(is_tuple: bool, items):
    return tuple(items) if is_tuple else items[0]


def _prepare(inputs: tuple, create_graph: bool, need_graph: bool = True) -> tuple:
    """Inputs the function runs on: detached leaves, or (with create_graph) views that keep
    the caller's graph."""
    return tuple(
        inp.view_as(inp)
        if create_graph and inp.requires_grad
        else inp.detach().requires_grad_(need_graph)
        for inp in inputs
    )


def _finish(items, create_graph: bool) -> tuple:
    return tuple(x if x is None or create_graph else x.detach() for x in items)


def _check_v(v, outputs, is_outputs_tuple, fn_name, what):
    _, vs = _as_tuple(v, "v", fn_name)
    if len(vs) != len(outputs):
        raise RuntimeError(
            f"v is a tuple of invalid length: should be {len(outputs)} but got {len(vs)}."
        )
    for i, (a, b) in enumerate(zip(vs, outputs, strict=True)):
        if tuple(a.shape) != tuple(b.shape):
            prefix = f"Entry {i} in " if is_outputs_tuple else ""
            raise RuntimeError(
                f"{prefix}v has invalid size: should be {tuple(b.shape)} but got "
                f"{tuple(a.shape)}. ({what})"
            )
    return vs


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, stage: str):
    """autograd.grad over the outputs that need grad, with zeros-like None for the unused."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if strict and len(pairs) != len(outputs):
        raise RuntimeError(
            "Output 0 of the user-provided function does not require gradients. The outputs "
            "must be computed in a differentiable manner from the input when running in "
            "strict mode."
        )
    if not pairs:
        res = (None,) * len(inputs)
    else:
        from engine import ones_like

        res = autograd.grad(
            [o for o, _ in pairs],
            list(inputs),
            [ones_like(o) if g is None else g for o, g in pairs],
            retain_graph=True,
            create_graph=create_graph,
            allow_unused=True,
        )
    out = []
    for i, (g, inp) in enumerate(zip(res, inputs, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"The {stage} of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode."
                )
            from engine import zeros_like

            g = zeros_like(inp)
        out.append(g)
    return tuple(out)


def _call(func, inputs, fn_name):
    outputs = func(*inputs)
    is_tuple, outputs = _as_tuple(outputs, "outputs of the user-provided function", fn_name)
    return is_tuple, outputs


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at `inputs`."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _call(func, inputs, "vjp")
        if v is not None:
            vs = _check_v(v, outputs, is_outputs_tuple, "vjp", "output of the function")
        else:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element."
                )
            vs = (None,)
        grads = _grads(outputs, inputs, vs, create_graph, strict, "output")
    outputs = _finish(outputs, create_graph)
    return _tuple_back(is_outputs_tuple, outputs), _tuple_back(
        is_inputs_tuple, _finish(grads, create_graph)
    )


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by differentiating a vjp."""
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph)
        if v is not None:
            vs = _check_v(v, inputs, is_inputs_tuple, "jvp", "inputs")
        else:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the input to the user-provided function "
                    "is a single Tensor with a single element."
                )
            vs = (None,)
        is_outputs_tuple, outputs = _call(func, inputs, "jvp")
        from engine import zeros_like

        dummies = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
        grad_inputs = _grads(outputs, inputs, dummies, True, strict, "output")
        vs_full = tuple(x if x is not None else inputs[0].new_ones(inputs[0].shape) for x in vs)
        res = _grads(grad_inputs, dummies, vs_full, create_graph, strict, "backward")
    outputs = _finish(outputs, create_graph)
    return _tuple_back(is_outputs_tuple, outputs), _tuple_back(
        is_outputs_tuple, _finish(res, create_graph)
    )


def jacobian(
    func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"
):
    """The Jacobian of `func` at `inputs`: for each output and input, a tensor of shape
    output.shape + input.shape (nested tuples follow the tuple-ness of both)."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more '
            'performant. Otherwise, prefer to use "reverse-mode".'
        )
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(
            "Computing Jacobian using forward-AD or forward-over-reverse Hessian is"
            "only implemented for `vectorize=True`."
        )
    from engine import stack, zeros

    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        is_outputs_tuple, outputs = _call(func, inputs, "jacobian")
        jac = []
        for i, out in enumerate(outputs):
            flat = out.reshape(-1)
            rows: list[list] = [[] for _ in inputs]
            for j in range(flat.numel()):
                if out.requires_grad:
                    gs = autograd.grad(
                        flat[j],
                        list(inputs),
                        retain_graph=True,
                        create_graph=create_graph,
                        allow_unused=True,
                    )
                else:
                    gs = (None,) * len(inputs)
                for k, (g, inp) in enumerate(zip(gs, inputs, strict=True)):
                    if g is None:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is independent of "
                                f"input {k}. This is not allowed in strict mode."
                            )
                        g = zeros(inp.shape, dtype=inp.dtype)
                    rows[k].append(g)
            per_input = []
            for k, inp in enumerate(inputs):
                if rows[k]:
                    block = stack(rows[k]).reshape(tuple(out.shape) + tuple(inp.shape))
                else:
                    block = zeros(tuple(out.shape) + tuple(inp.shape), dtype=inp.dtype)
                per_input.append(block if create_graph else block.detach())
            jac.append(tuple(per_input))
    if is_outputs_tuple:
        return tuple(_tuple_back(is_inputs_tuple, row) for row in jac)
    return _tuple_back(is_inputs_tuple, jac[0])


def _scalar_output(func, name):
    def checked(*args):
        out = func(*args)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", name)
        if is_tuple or not isinstance(out, Tensor):
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                f"The Tensor returned by the function given to {name} should contain a single "
                "element"
            )
        return out.squeeze()

    return checked


def hessian(
    func,
    inputs,
    create_graph=False,
    strict=False,
    vectorize=False,
    outer_jacobian_strategy="reverse-mode",
):
    """The Hessian of a scalar `func` at `inputs`: input.shape + input.shape per pair."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    scalar = _scalar_output(func, "hessian")

    def jac_func(*inp):
        return jacobian(scalar, inp, create_graph=True, strict=strict)

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict)
    if is_inputs_tuple:
        return res
    return res[0][0]


def _hv(func, inputs, v, create_graph, strict, name, transpose):
    with enable_grad():
        is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", name)
        inputs = _prepare(inputs, create_graph)
        if v is not None:
            vs = _check_v(v, inputs, is_inputs_tuple, name, "inputs")
        else:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the input to the user-provided function "
                    "is a single Tensor with a single element."
                )
            vs = (inputs[0].new_ones(inputs[0].shape),)
        out = func(*inputs)
        is_outputs_tuple, outs = _as_tuple(out, "outputs of the user-provided function", name)
        if is_outputs_tuple:
            raise RuntimeError(f"The function given to {name} should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                f"The Tensor returned by the function given to {name} should contain a single "
                "element"
            )
        jac = _grads(outs, inputs, (None,), True, strict, "output")
        if transpose:  # Hv = (v^T H)^T for symmetric H; torch computes it as a double vjp
            from engine import zeros_like

            dummies = tuple(zeros_like(g).requires_grad_(True) for g in jac)
            grad_jac = _grads(jac, inputs, dummies, True, strict, "jacobian")
            res = _grads(grad_jac, dummies, vs, create_graph, strict, "double backward")
        else:
            res = _grads(jac, inputs, vs, create_graph, strict, "jacobian")
    return _finish(outs, create_graph)[0], _tuple_back(is_inputs_tuple, _finish(res, create_graph))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H): a vector times the Hessian of scalar `func`."""
    return _hv(func, inputs, v, create_graph, strict, "vhp", transpose=False)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v): the Hessian of scalar `func` times a vector."""
    return _hv(func, inputs, v, create_graph, strict, "hvp", transpose=True)
