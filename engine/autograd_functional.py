"""torch.autograd.functional: Jacobians, Hessians and vector products of a function."""

from __future__ import annotations

from engine import autograd


def _as_tuple(x):
    return (x, False) if isinstance(x, tuple | list) else ((x,), True)


def _prepared(inputs):
    """Fresh leaves that require grad, so the function's graph starts at them."""
    return tuple(t.detach().requires_grad_(True) for t in inputs)


def _grads(output, inputs, grad_output, create_graph: bool):
    """d(output)/d(inputs) weighted by grad_output; zeros where an input is unused."""
    if not output.requires_grad:
        return tuple(t.new_zeros(t.shape) for t in inputs)
    got = autograd.grad(
        output,
        inputs,
        grad_output,
        retain_graph=True,
        create_graph=create_graph,
        allow_unused=True,
    )
    return tuple(t.new_zeros(t.shape) if g is None else g for g, t in zip(got, inputs, strict=True))


def _finish(t, create_graph: bool):
    return t if create_graph else t.detach()


def jacobian(
    func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"
):
    """The Jacobian of `func` at `inputs`: for each output and input, output.shape + input.shape."""
    from engine import stack

    inputs, single_in = _as_tuple(inputs)
    with autograd.enable_grad():
        leaves = _prepared(inputs)
        outputs, single_out = _as_tuple(func(*leaves))
        blocks = []
        for out in outputs:
            flat = out.reshape(-1)
            rows = [[] for _ in leaves]
            for i in range(flat.shape[0]):
                for k, g in enumerate(_grads(flat[i], leaves, None, create_graph)):
                    rows[k].append(g)
            per_input = tuple(
                _finish(
                    (stack(r) if r else leaf.new_zeros((0, *leaf.shape))).reshape(
                        *out.shape, *leaf.shape
                    ),
                    create_graph,
                )
                for r, leaf in zip(rows, leaves, strict=True)
            )
            blocks.append(per_input[0] if single_in else per_input)
    return blocks[0] if single_out else tuple(blocks)


def hessian(
    func,
    inputs,
    create_graph=False,
    strict=False,
    vectorize=False,
    outer_jacobian_strategy="reverse-mode",
):
    """The Hessian of scalar-valued `func` at `inputs`: input.shape + input.shape blocks."""
    inputs, single_in = _as_tuple(inputs)

    def gradient(*args):
        out = func(*args)
        if out.numel() != 1:
            raise RuntimeError(
                "The function given to hessian should return a single element Tensor, "
                f"but it returned a Tensor with {out.numel()} elements"
            )
        return _grads(out.reshape(()), args, None, create_graph=True)

    blocks = jacobian(gradient, inputs, create_graph=create_graph)
    return blocks[0][0] if single_in else blocks


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product."""
    inputs, single_in = _as_tuple(inputs)
    with autograd.enable_grad():
        leaves = _prepared(inputs)
        output = func(*leaves)
        if v is None:
            if output.numel() != 1:
                raise RuntimeError(
                    "The vector v can only be None if the user-provided function returns a "
                    "single Tensor with a single element."
                )
            v = output.new_ones(output.shape)
        grads = _grads(output, leaves, v, create_graph)
    grads = tuple(_finish(g, create_graph) for g in grads)
    return _finish(output, create_graph), grads[0] if single_in else grads


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) for scalar-valued `func`."""
    inputs, single_in = _as_tuple(inputs)
    vs, _ = _as_tuple(v)
    with autograd.enable_grad():
        leaves = _prepared(inputs)
        output = func(*leaves)
        if output.numel() != 1:
            raise RuntimeError(
                "The function given to vhp/hvp should return a single element Tensor, "
                f"but it returned a Tensor with {output.numel()} elements"
            )
        firsts = _grads(output.reshape(()), leaves, None, create_graph=True)
        total = sum((g * w).sum() for g, w in zip(firsts, vs, strict=True))
        grads = _grads(total, leaves, None, create_graph)
    grads = tuple(_finish(g, create_graph) for g in grads)
    return _finish(output, create_graph), grads[0] if single_in else grads


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v); the Hessian is symmetric, so the same as vhp."""
    return vhp(func, inputs, v, create_graph, strict)
