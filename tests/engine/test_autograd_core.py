"""The autograd core against PyTorch: casts, versions, in-place changes, views, .grad, freeing."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

import engine


def observe(value):
    """What a program shows of a value: a tensor's numbers, dtype and graph flags, else itself."""
    if isinstance(value, tuple | list):
        return [observe(v) for v in value]
    if hasattr(value, "requires_grad"):
        return (
            np.asarray(value.detach().cpu().numpy()),
            str(value.dtype).split(".")[-1],
            value.requires_grad,
            value.grad_fn is not None,
            value.is_leaf,
        )
    return value


def outcome(program, lib: ModuleType):
    """The observed result of `program(lib)`, or the type of the exception it raised."""
    try:
        return observe(program(lib))
    except Exception as exc:  # the exception type is what is compared
        return type(exc)


def assert_same(ours, theirs, where: str = "result") -> None:
    if isinstance(theirs, type):
        assert ours is theirs or (isinstance(ours, type) and issubclass(ours, theirs)), (
            f"{where}: engine gives {ours}, torch raises {theirs.__name__}"
        )
        return
    assert not isinstance(ours, type), f"{where}: engine raises {ours.__name__}, torch does not"
    if isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(o, t, f"{where}[{i}]")
    elif isinstance(theirs, tuple):
        values, dtype, requires_grad, has_grad_fn, is_leaf = ours
        np.testing.assert_allclose(values, theirs[0], rtol=1e-6, atol=1e-6, err_msg=where)
        assert (dtype, requires_grad, has_grad_fn, is_leaf) == theirs[1:], (
            f"{where}: (dtype, requires_grad, grad_fn, is_leaf) {ours[1:]} vs torch {theirs[1:]}"
        )
    else:
        assert ours == theirs, f"{where}: {ours!r} vs torch {theirs!r}"


def same_as_torch(program) -> None:
    import torch

    assert_same(outcome(program, engine), outcome(program, torch))


def leaf(t, *values):
    return t.tensor(list(values) if values else [1.0, 2.0, 3.0], requires_grad=True)


def grads_of(loss, *leaves):
    loss.backward()
    return [x.grad for x in leaves]


# ----- 1. integer and bool casts carry no gradient ---------------------------------

CASTS = {
    "long": lambda t, a: a.long(),
    "int": lambda t, a: a.int(),
    "bool": lambda t, a: a.bool(),
    "to_int64": lambda t, a: a.to(t.int64),
    "to_dtype_kw": lambda t, a: a.to(dtype=t.int32),
    "type_dtype": lambda t, a: a.type(t.int64),
    "type_name": lambda t, a: a.type("torch.LongTensor"),
    "greater": lambda t, a: a > 1,
    "equal": lambda t, a: a == 2,
    "argmax": lambda t, a: a.argmax(),
    "max_indices": lambda t, a: a.reshape(1, 3).max(dim=1)[1],
    "half": lambda t, a: a.half(),
    "double": lambda t, a: a.double(),
    "to_float64": lambda t, a: a.to(t.float64),
}


@pytest.mark.torch
@pytest.mark.parametrize("cast", list(CASTS))
def test_casts(cast):
    same_as_torch(lambda t: CASTS[cast](t, leaf(t)))


@pytest.mark.torch
@pytest.mark.parametrize(
    "program",
    [
        lambda t: grads_of((leaf(t) * leaf(t).long()).sum(), *[]),
        lambda t: (lambda a: grads_of((a * a.long()).sum(), a))(leaf(t)),
        lambda t: (lambda a: grads_of((a * (a > 1.5)).sum(), a))(leaf(t)),
        lambda t: (lambda a: grads_of((a.int().float() + a).sum(), a))(leaf(t)),
        lambda t: t.tensor([1, 2]).requires_grad_(),
        lambda t: t.tensor([1, 2], requires_grad=True),
        lambda t: t.tensor([True]).requires_grad_(),
        lambda t: t.zeros(2, dtype=t.int64, requires_grad=True),
        lambda t: t.tensor([1.0]).long().requires_grad_(),
    ],
    ids=["no_leaf", "times_long", "times_mask", "int_round_trip", "int_requires_grad_",
         "int_constructor", "bool_requires_grad_", "int_zeros", "long_requires_grad_"],
)  # fmt: skip
def test_integer_results_and_requires_grad(program):
    same_as_torch(program)


# ----- 2. the version counter --------------------------------------------------------


def _exp_then_mul_under_no_grad(t):
    a = leaf(t)
    b = a.exp()
    with t.no_grad():
        b.mul_(2)
    b.sum().backward()


def _changed_input_of_mul(t):
    a, x = leaf(t), t.tensor([1.0, 2.0, 3.0])
    y = x * a
    x.mul_(2)  # x was saved for a's gradient
    y.sum().backward()


def _changed_unsaved_operand(t):
    w, x = leaf(t), t.tensor([1.0, 2.0, 3.0])
    y = x * w  # w is saved only for x's gradient, which no one needs
    with t.no_grad():
        w.mul_(2)
    y.sum().backward()
    return w.grad


def _changed_input_of_add(t):
    a = leaf(t)
    y = a * 2
    z = y + 1  # add saves nothing
    y.add_(1)
    z.sum().backward()
    return a.grad


def _optimizer_step_between(t):
    w = leaf(t)
    h = t.tanh(w)
    loss = (h * h).sum()
    opt = t.optim.SGD([w], lr=0.1)
    (w * 1.0).sum().backward()
    opt.step()  # changes w in place; tanh saved its output, not w
    loss.backward()
    return w.grad, w


def _step_then_backward_through_saved_weight(t):
    w, x = leaf(t), leaf(t, 1.0, 1.0, 1.0)
    loss = (x * w).sum()  # w is saved for x's gradient
    opt = t.optim.SGD([w], lr=0.1)
    w.grad = t.ones(3)
    opt.step()
    loss.backward()


def _versions(t):
    x = t.ones(3)
    v = x[1:]
    d = x.detach()
    r = x.view(3, 1)
    counts = [x._version]
    x.add_(1)
    counts.append((x._version, v._version, d._version, r._version))
    v.mul_(2)
    d.zero_()
    x[0] = 5
    x += 1
    counts.append((x._version, v._version, d._version, r._version))
    data = x.data
    data.add_(1)
    counts.append((x._version, data._version))
    return counts


def _view_changed_under_saved_base(t):
    a = leaf(t)
    b = a.exp()
    with t.no_grad():
        b[0] = 0
    b.sum().backward()


def _saved_view_changed(t):
    a = leaf(t)
    b = a.exp()
    c = b[1:]
    d = c.log()  # saves c, a view of b
    with t.no_grad():
        b.mul_(2)
    d.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize(
    "program",
    [
        _exp_then_mul_under_no_grad,
        _changed_input_of_mul,
        _changed_unsaved_operand,
        _changed_input_of_add,
        _optimizer_step_between,
        _step_then_backward_through_saved_weight,
        _versions,
        _view_changed_under_saved_base,
        _saved_view_changed,
    ],
)
def test_version_counter(program):
    same_as_torch(program)


def test_modified_message_names_the_tensor_the_op_and_the_versions():
    a = leaf(engine)
    b = a.exp()
    with engine.no_grad():
        b.mul_(2)
    with pytest.raises(RuntimeError) as info:
        b.sum().backward()
    message = str(info.value)
    assert "modified by an inplace operation" in message
    assert "FloatTensor [3]" in message and "output 0 of ExpBackward" in message
    assert "is at version 1; expected version 0 instead" in message


# ----- 3. in-place changes in the graph ----------------------------------------------

INPLACE = {
    "add_": lambda t, y: y.add_(1),
    "add_alpha": lambda t, y: y.add_(t.ones(3), alpha=2),
    "sub_": lambda t, y: y.sub_(y.detach()),
    "mul_": lambda t, y: y.mul_(2),
    "mul_self_leaf": lambda t, y: y.mul_(y.detach() + 1),
    "div_": lambda t, y: y.div_(4),
    "pow_": lambda t, y: y.pow_(2),
    "clamp_": lambda t, y: y.clamp_(0, 2.5),
    "relu_": lambda t, y: (y.sub_(2), y.relu_()),
    "sigmoid_": lambda t, y: y.sigmoid_(),
    "tanh_": lambda t, y: y.tanh_(),
    "exp_": lambda t, y: y.exp_(),
    "log_": lambda t, y: y.log_(),
    "neg_": lambda t, y: y.neg_(),
    "zero_": lambda t, y: y.zero_(),
    "fill_": lambda t, y: y.fill_(2),
    "copy_": lambda t, y: y.copy_(t.tensor([5.0, 6.0, 7.0])),
    "addcmul_": lambda t, y: y.addcmul_(t.ones(3), t.ones(3), value=0.5),
    "setitem": lambda t, y: y.__setitem__(0, 0.0),
    "setitem_slice": lambda t, y: y.__setitem__(slice(1, None), t.tensor([9.0, 8.0])),
    "setitem_mask": lambda t, y: y.__setitem__(y > 2.5, 0.0),
    "setitem_list": lambda t, y: y.__setitem__([0, 2], t.tensor([4.0, 5.0])),
    "iadd": lambda t, y: y.__iadd__(1),
    "isub": lambda t, y: y.__isub__(y.detach() * 0.5),
    "imul": lambda t, y: y.__imul__(3),
    "itruediv": lambda t, y: y.__itruediv__(2),
}


@pytest.mark.torch
@pytest.mark.parametrize("change", list(INPLACE))
def test_inplace_on_a_tensor_in_the_graph(change):
    def program(t):
        a = leaf(t)
        y = a * 2
        INPLACE[change](t, y)
        after = y
        (y * y).sum().backward()
        return after, a.grad

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize("change", list(INPLACE))
def test_inplace_on_a_leaf_that_requires_grad(change):
    same_as_torch(lambda t: INPLACE[change](t, leaf(t)))


@pytest.mark.torch
@pytest.mark.parametrize("change", list(INPLACE))
def test_inplace_on_a_leaf_under_no_grad(change):
    def program(t):
        a = leaf(t)
        with t.no_grad():
            INPLACE[change](t, a)
        return a, a._version

    same_as_torch(program)


def _write_graph_into_zeros(t):
    a = leaf(t)
    z = t.zeros(3)
    z[1] = a[0] * 3
    z.sum().backward()
    return z, a.grad


def _add_graph_into_zeros(t):
    a = leaf(t)
    z = t.zeros(3)
    z.add_(a)
    (z * z).sum().backward()
    return z, a.grad


def _mul_by_a_graph_tensor(t):
    a = leaf(t)
    y = a * 1
    y.mul_(a)
    y.sum().backward()
    return y, a.grad


def _copy_graph_into_graph(t):
    a, b = leaf(t), leaf(t, 5.0, 6.0, 7.0)
    y = a * 1
    y.copy_(b * 2)
    y.sum().backward()
    return y, a.grad, b.grad


def _item_plus_one(t):
    a = leaf(t)
    y = a * 2
    y[0] += 1
    (y * y).sum().backward()
    return y, a.grad


def _column_times_two(t):
    w = t.ones(2, 3, requires_grad=True)
    y = w * 1
    y[:, 1] *= 2
    (y * y).sum().backward()
    return y, w.grad


def _view_then_mul_(t):
    w = t.ones(2, 3, requires_grad=True)
    y = w * 1
    v = y.view(6)
    v.mul_(3)
    (y * y).sum().backward()
    return v, y, w.grad


def _view_of_view_then_setitem(t):
    w = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = w * 1
    v = y[1]
    v[0:2] = t.tensor([10.0, 20.0])
    (y * v.sum()).sum().backward()
    return y, v, w.grad


def _transposed_view_changed(t):
    w = t.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    y = w * 1
    y.t()[0].mul_(w[:, 0])
    (y * y).sum().backward()
    return y, w.grad


def _row_of_zeros_gets_a_graph(t):
    a = leaf(t)
    z = t.zeros(2, 3)
    z[0].copy_(a * 2)
    (z * z).sum().backward()
    return z, a.grad


def _view_then_exp_(t):
    a = leaf(t)
    y = a * 1
    y[1:].exp_()
    (y * 2).sum().backward()
    return y, a.grad


def _view_of_leaf_changed(t):
    a = leaf(t)
    a[1:].add_(1)


def _view_made_under_no_grad(t):
    a = leaf(t)
    y = a * 2
    with t.no_grad():
        v = y[1:]
    v.add_(1)


def _expanded_view_changed(t):
    a = leaf(t)
    y = (a * 1).expand(2, 3)
    y.add_(1)


def _int_tensor_plus_float(t):
    x = t.tensor([1, 2])
    x += 0.5
    return x


def _broadcast_too_big(t):
    x = t.zeros(3)
    x.add_(t.ones(2, 3))


def _alias_sees_iadd(t):
    x = t.ones(3)
    alias = x
    view = x[1:]
    a = leaf(t)
    x += a
    return x is alias, alias, view


def _optimizer_style_update(t):
    p = leaf(t)
    (p * p).sum().backward()
    before = p
    with t.no_grad():
        p -= 0.5 * p.grad
    return p is before, p, p.grad, p._version


def _residual_add(t):
    a = leaf(t)
    h = a * 3
    out = a.exp()
    out += h  # ResNet's `out += identity`: exp saved its output, so backward raises
    out.sum().backward()


def _residual_add_after_linear(t):
    x, w = t.ones(2, 3), t.ones(4, 3, requires_grad=True)
    out = t.nn.functional.linear(x, w)
    out += 1
    out.relu_()
    out.sum().backward()
    return out, w.grad


def _relu_in_place_after_batch_norm(t):
    t.manual_seed(0)
    x = t.tensor([[1.0, -2.0], [3.0, 0.5], [-1.0, 2.0]], requires_grad=True)
    w = t.tensor([[0.5, -1.0], [2.0, 1.0]], requires_grad=True)
    h = t.nn.functional.batch_norm(x @ w, None, None, training=True)
    h.relu_()  # batch_norm does not save its output: allowed
    (h * h).sum().backward()
    return h, x.grad, w.grad


def _pow_output_changed(t):
    a, e = leaf(t), leaf(t, 2.0, 2.0, 2.0)
    y = a**e  # saves its output for the exponent's gradient
    y.add_(1)
    y.sum().backward()


def _same_dtype_and_device_give_self(t):
    a = leaf(t)
    return a.float() is a, a.to("cpu") is a, a.to(t.float32) is a, a.double() is a


def _inplace_activation_modules(t):
    x = t.tensor([[1.0, -2.0], [3.0, -0.5]], requires_grad=True)
    h = x * 2
    relu_out = t.nn.ReLU(inplace=True)(h)
    g = x * 3
    leaky_out = t.nn.LeakyReLU(0.1, inplace=True)(g)
    (relu_out * leaky_out).sum().backward()
    return relu_out is h, h, leaky_out is g, g, x.grad


def _inplace_relu_on_a_leaf(t):
    return t.nn.functional.relu(leaf(t), inplace=True)


def _inplace_relu_after_sigmoid(t):
    a = leaf(t)
    h = t.sigmoid(a)  # saves its output
    t.nn.functional.relu(h, inplace=True).sum().backward()


def _view_used_after_its_base_changed(t):
    a = leaf(t)
    y = a * 1
    v = y[0:2]
    w = y.view(3, 1)
    y.mul_(2)
    (v.sum() + (w * w).sum()).backward()
    return v, w, a.grad


def _sibling_view_after_a_view_changed(t):
    a = leaf(t)
    y = a * 1
    v, u = y[0:2], y[1:]
    v.mul_(3)
    u.sum().backward()
    return u, a.grad


def _retained_grad_follows_the_change(t):
    a = leaf(t)
    y = a * 2
    y.retain_grad()
    y.mul_(3)
    b = a * 1
    v = b[1:]
    v.retain_grad()
    b.mul_(2)
    (y * y).sum().backward()
    (v * v).sum().backward()
    return y.grad, v.grad, a.grad


@pytest.mark.torch
@pytest.mark.parametrize(
    "program",
    [
        _retained_grad_follows_the_change,
        _view_used_after_its_base_changed,
        _sibling_view_after_a_view_changed,
        _inplace_activation_modules,
        _inplace_relu_on_a_leaf,
        _inplace_relu_after_sigmoid,
        _relu_in_place_after_batch_norm,
        _pow_output_changed,
        _same_dtype_and_device_give_self,
        _write_graph_into_zeros,
        _add_graph_into_zeros,
        _mul_by_a_graph_tensor,
        _copy_graph_into_graph,
        _item_plus_one,
        _column_times_two,
        _view_then_mul_,
        _view_of_view_then_setitem,
        _transposed_view_changed,
        _row_of_zeros_gets_a_graph,
        _view_then_exp_,
        _view_of_leaf_changed,
        _view_made_under_no_grad,
        _expanded_view_changed,
        _int_tensor_plus_float,
        _broadcast_too_big,
        _alias_sees_iadd,
        _optimizer_style_update,
        _residual_add,
        _residual_add_after_linear,
    ],
)
def test_inplace_programs(program):
    same_as_torch(program)


# ----- 5. .grad accumulates in place -------------------------------------------------


def _grad_accumulates_in_place(t):
    a = leaf(t)
    (a * 2).sum().backward()
    first = a.grad
    (a * 3).sum().backward()
    return first is a.grad, first


def _zero_grad_keeps_the_tensor(t):
    net = t.nn.Linear(3, 2)
    net(t.ones(1, 3)).sum().backward()
    grad = net.weight.grad
    t.optim.SGD(net.parameters(), lr=0.1).zero_grad(set_to_none=False)
    return grad is net.weight.grad, grad


def _module_zero_grad_keeps_the_tensor(t):
    net = t.nn.Linear(3, 2)
    net(t.ones(1, 3)).sum().backward()
    grad = net.bias.grad
    net.zero_grad(set_to_none=False)
    net(t.ones(1, 3)).sum().backward()
    return grad is net.bias.grad, grad


@pytest.mark.torch
@pytest.mark.parametrize(
    "program",
    [_grad_accumulates_in_place, _zero_grad_keeps_the_tensor, _module_zero_grad_keeps_the_tensor],
)
def test_grad_accumulation(program):
    same_as_torch(program)


# ----- 6. a second backward ----------------------------------------------------------

SECOND = {
    "add": lambda t, a: a + a,
    "sub_neg": lambda t, a: -(a - 1),
    "sum_mean": lambda t, a: a.sum() + a.mean(),
    "reshape_permute": lambda t, a: a.reshape(3, 1).t(),
    "slice": lambda t, a: a[1:],
    "cat": lambda t, a: t.cat([a, a]),
    "to_float64": lambda t, a: a.double(),
    "exp": lambda t, a: a.exp(),
    "mul_scalar": lambda t, a: a * 2,
    "mul": lambda t, a: a * a,
    "relu": lambda t, a: t.relu(a),
    "advanced_index": lambda t, a: a[[0, 2]],
    "where": lambda t, a: t.where(a > 1, a, a + 1),
    "max_dim": lambda t, a: a.reshape(1, 3).max(dim=1)[0],
    "matmul": lambda t, a: a @ a,
    "setitem": lambda t, a: _set_first(t, a * 1),
}


def _set_first(t, y):
    y[0] = 0
    return y


@pytest.mark.torch
@pytest.mark.parametrize("graph", list(SECOND))
def test_second_backward_without_retain_graph(graph):
    def program(t):
        a = leaf(t)
        y = SECOND[graph](t, a).sum()
        y.backward()
        y.backward()
        return a.grad

    same_as_torch(program)


@pytest.mark.torch
@pytest.mark.parametrize("graph", list(SECOND))
def test_second_backward_with_retain_graph(graph):
    def program(t):
        a = leaf(t)
        y = SECOND[graph](t, a).sum()
        y.backward(retain_graph=True)
        y.backward()
        return a.grad

    same_as_torch(program)


# ----- without PyTorch: the same facts, stated -----------------------------------------


def test_casts_to_integers_leave_the_graph():
    a = leaf(engine)
    for cast in (a.long(), a.int(), a.bool(), a.to(engine.int64), a > 1, a.argmax()):
        assert not cast.requires_grad and cast.grad_fn is None
    (a * a.long()).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 2.0, 3.0])


def test_inplace_in_the_graph_changes_the_node_and_the_gradient():
    a = leaf(engine)
    y = a * 2
    y[0] += 1
    y.mul_(2)
    (y * y).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [6.0, 8.0, 12.0])
    np.testing.assert_allclose(a.grad.numpy(), [48.0, 64.0, 96.0])


def test_a_view_changed_in_place_changes_its_base_gradient():
    w = engine.ones(2, 3, requires_grad=True)
    y = w * 1
    y[:, 1] *= 2
    (y * y).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[2.0, 8.0, 2.0], [2.0, 8.0, 2.0]])


def test_grad_is_summed_into_the_same_array():
    a = leaf(engine)
    (a * 2).sum().backward()
    first = a.grad
    (a * 3).sum().backward()
    assert first is a.grad
    np.testing.assert_allclose(first.numpy(), [5.0, 5.0, 5.0])
