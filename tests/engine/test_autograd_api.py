"""The autograd API against PyTorch: grad, backward, create_graph, custom Functions,
gradcheck, hooks and grad_fn.next_functions."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")

RNG = np.random.default_rng(17)
X = RNG.standard_normal((4, 3))
W1 = RNG.standard_normal((5, 3)) * 0.5
B1 = RNG.standard_normal(5) * 0.1
W2 = RNG.standard_normal((2, 5)) * 0.5
B2 = RNG.standard_normal(2) * 0.1


def same(program, dtype="float64", atol=1e-10, rtol=1e-7):
    """Run `program(lib, t)` on engine and torch (t makes a tensor) and compare the results."""

    def run(lib):
        def t(a, requires_grad=False):
            return lib.tensor(np.asarray(a), dtype=getattr(lib, dtype), requires_grad=requires_grad)

        return program(lib, t)

    ours, theirs = run(engine), run(torch)
    ours = ours if isinstance(ours, tuple | list) else [ours]
    theirs = theirs if isinstance(theirs, tuple | list) else [theirs]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        if b is None:
            assert a is None
            continue
        a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
        b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)


def raises_like(program):
    """`program(lib)` raises the same exception type on engine and torch; the engine's message."""
    with pytest.raises(Exception) as theirs:
        program(torch)
    with pytest.raises(type(theirs.value)) as ours:
        program(engine)
    return str(ours.value)


# ----- autograd.grad and autograd.backward -------------------------------------------------
def test_grad_returns_a_tuple_and_leaves_grad_alone():
    def program(lib, t):
        x = t(X, True)
        w = t(W1, True)
        y = (x @ w.T).tanh().sum()
        gx, gw = lib.autograd.grad(y, (x, w))
        assert x.grad is None and w.grad is None
        assert not gx.requires_grad
        return gx, gw

    same(program)


def test_grad_with_respect_to_a_non_leaf_and_with_grad_outputs():
    def program(lib, t):
        x = t(X, True)
        h = x * 2 + 1
        y = h.sin()
        go = t(np.arange(12.0).reshape(4, 3))
        (gh,) = lib.autograd.grad(y, h, grad_outputs=go, retain_graph=True)
        gh2, gx = lib.autograd.grad([y.sum(), (h * h).sum()], [h, x])
        return gh, gh2, gx

    same(program)


def test_grad_errors_and_allow_unused():
    def unused(lib):
        x = lib.ones(3, requires_grad=True)
        z = lib.ones(3, requires_grad=True)
        lib.autograd.grad((x * 2).sum(), [x, z])

    assert "allow_unused=True" in raises_like(unused)

    def not_scalar(lib):
        x = lib.ones(3, requires_grad=True)
        lib.autograd.grad(x * 2, x)

    assert "scalar outputs" in raises_like(not_scalar)

    def no_grad_input(lib):
        x = lib.ones(3, requires_grad=True)
        z = lib.ones(3)
        lib.autograd.grad((x * z).sum(), [x, z])

    raises_like(no_grad_input)

    def second_time(lib):
        x = lib.ones(3, requires_grad=True)
        y = (x * x).sum()
        lib.autograd.grad(y, x)
        lib.autograd.grad(y, x)

    raises_like(second_time)

    def program(lib, t):
        x, z = t([1.0, 2.0], True), t([3.0, 4.0], True)
        y = (x * x).sum()
        gx, gz = lib.autograd.grad(y, [x, z], allow_unused=True, retain_graph=True)
        assert gz is None
        gx2, gz2 = lib.autograd.grad(y, [x, z], materialize_grads=True)
        return gx, gx2, gz2

    same(program)


def test_autograd_backward_and_backward_inputs():
    def program(lib, t):
        x, w = t(X, True), t(W1, True)
        h = x @ w.T
        lib.autograd.backward([h.sum(), (h * h).mean()], [t(2.0), t(1.0)])
        gx, gw = x.grad.clone(), w.grad.clone()
        x.grad = w.grad = None
        y = (x @ w.T).exp().sum()
        y.backward(inputs=[w])
        assert x.grad is None
        h2 = x * 3
        h2.retain_grad()
        (h2 * h2).sum().backward(inputs=[h2])
        lib.autograd.backward((x * x).sum(), inputs=x)
        return gx, gw, w.grad, h2.grad, x.grad

    same(program)


# ----- create_graph: higher-order gradients ----------------------------------------------
UNARY = {
    "cube": lambda lib, x: x**3,
    "sin": lambda lib, x: lib.sin(x),
    "cos": lambda lib, x: x.cos(),
    "tanh": lambda lib, x: lib.tanh(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x),
    "exp": lambda lib, x: lib.exp(x * 0.5),
    "log": lambda lib, x: lib.log(x * x + 1),
    "sqrt": lambda lib, x: (x * x + 1).sqrt(),
    "reciprocal": lambda lib, x: 1 / (x * x + 1),
    "div": lambda lib, x: x / (x.abs() + 2),
    "softplus": lambda lib, x: lib.nn.functional.softplus(x * 3),
    "leaky_relu": lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2) ** 2,
    "relu_clamp": lambda lib, x: lib.relu(x) * x.clamp(-0.5, 0.5),
    "pow_tensor": lambda lib, x: (x * x + 1) ** (x * 0.5),
    "max_min": lambda lib, x: lib.maximum(x, x * x) * lib.minimum(x, -x),
    "where": lambda lib, x: lib.where(x > 0, x**2, x**3),
    "softmax": lambda lib, x: lib.nn.functional.softmax(x.reshape(2, 3), dim=1).reshape(-1) * x,
    "log_softmax": lambda lib, x: lib.nn.functional.log_softmax(x.reshape(2, 3), 0) ** 2,
    "layer_norm": lambda lib, x: (
        lib.nn.functional.layer_norm(x.reshape(2, 3), (3,)) * x.reshape(2, 3)
    ),
    "silu_mish": lambda lib, x: lib.nn.functional.silu(x) * lib.nn.functional.mish(x),
    "elu_selu": lambda lib, x: lib.nn.functional.elu(x, 0.7) * lib.nn.functional.selu(x),
    "gelu": lambda lib, x: (
        lib.nn.functional.gelu(x) * lib.nn.functional.gelu(x, approximate="tanh")
    ),
    "hardtanh_logsigmoid": lambda lib, x: (
        lib.nn.functional.hardtanh(x, -1.0, 1.5) ** 2 + lib.nn.functional.logsigmoid(x)
    ),
    "pointwise": lambda lib, x: (
        lib.log1p(x * x) * lib.expm1(x * 0.3)
        + lib.log2(x * x + 1) * lib.log10(x * x + 2)
        + lib.rsqrt(x * x + 1)
        + lib.tan(x * 0.3)
        + lib.atan(x) * lib.sinh(x) * lib.cosh(x)
        + lib.asin(x * 0.2) * lib.acos(x * 0.3)
        + lib.floor(x) * x**2
        + lib.sign(x)
    ),
    "max_min_var_std": lambda lib, x: (
        x.max() * x.min() * x.var()
        + (x.reshape(2, 3).std(1) * x.reshape(2, 3).max(1).values).sum()
        + x.reshape(2, 3).min(0, keepdim=True).values.sum() * x
    ),
    "movement": lambda lib, x: (
        lib.cat([x[2:], x[:2]]).reshape(2, 3).t().permute(1, 0).unsqueeze(0).expand(2, 2, 3)
        * lib.stack([x[:3], x[3:] ** 2]).unsqueeze(0)
    ),
}


@pytest.mark.parametrize("name", UNARY)
def test_second_derivatives(name):
    f = UNARY[name]

    def program(lib, t):
        x = t([-1.3, -0.4, 0.2, 0.7, 1.1, 2.0], True)
        y = f(lib, x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        (g2,) = lib.autograd.grad((g * lib.arange(6.0, dtype=x.dtype)).sum(), x)
        return g, g2

    same(program)


def test_third_derivative():
    def program(lib, t):
        x = t([0.3, -1.2, 2.0], True)
        y = (lib.sin(x) * x**4).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        return g1, g2, g3

    same(program)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_with_create_graph():
    def program(lib, t):
        x = t([0.5, -1.5], True)
        y = (x**3).sum()
        y.backward(create_graph=True)
        first = x.grad
        assert first.requires_grad
        (g2,) = lib.autograd.grad(first.sum(), x)
        return first, g2

    same(program)


def mlp(lib, t, x):
    h = lib.nn.functional.linear(x, t(W1, True), t(B1, True))
    return h, lib.nn.functional.linear(lib.nn.functional.leaky_relu(h, 0.2), t(W2, True), t(B2))


def test_gradient_penalty_matches_torch():
    def program(lib, t):
        w1, b1, w2 = t(W1, True), t(B1, True), t(W2, True)

        def critic(x):
            h = lib.nn.functional.leaky_relu(x @ w1.T + b1, 0.2)
            return lib.tanh(h) @ w2.T

        real, fake = t(X), t(X[::-1] * 0.5)
        alpha = t([[0.1], [0.4], [0.7], [0.9]])
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
        out = critic(mixed)
        (g,) = lib.autograd.grad(out, mixed, grad_outputs=lib.ones_like(out), create_graph=True)
        penalty = ((g.norm(2, dim=1) if hasattr(g, "norm") else (g * g).sum(1).sqrt()) - 1) ** 2
        loss = critic(real).mean() - critic(fake).mean() + 10 * penalty.mean()
        loss.backward()
        return w1.grad, b1.grad, w2.grad

    same(program)


def test_gradient_penalty_through_modules_with_in_place_activations():
    def program(lib, t):
        nn = lib.nn
        critic = nn.Sequential(
            nn.Linear(3, 5), nn.LeakyReLU(0.2, inplace=True), nn.Linear(5, 2), nn.ReLU(inplace=True)
        ).double()
        with lib.no_grad():
            critic[0].weight.copy_(t(W1))
            critic[0].bias.copy_(t(B1))
            critic[2].weight.copy_(t(W2))
            critic[2].bias.copy_(t(B2 + 0.5))
        x = t(X, True)
        out = critic(x).sum(1)
        (g,) = lib.autograd.grad(out, x, lib.ones_like(out), create_graph=True)
        ((g * g).sum(1).sqrt().sub(1).pow(2).mean() + critic(x).mean()).backward()
        return g, critic[0].weight.grad, critic[0].bias.grad, critic[2].weight.grad

    same(program)


def test_hessian_vector_product_of_an_mlp_loss():
    v1 = RNG.standard_normal(W1.shape)
    target = np.array([1, 0, 1, 1])

    def program(lib, t):
        w1, b1, w2 = t(W1, True), t(B1, True), t(W2, True)
        h = lib.tanh(lib.nn.functional.linear(t(X), w1, b1))
        logits = lib.nn.functional.linear(h, w2)
        loss = lib.nn.functional.cross_entropy(logits, lib.tensor(target))
        loss = loss + lib.nn.functional.mse_loss(logits, t(np.ones((4, 2))))
        grads = lib.autograd.grad(loss, [w1, b1, w2], create_graph=True)
        dot = (grads[0] * t(v1)).sum()
        hvp = lib.autograd.grad(dot, [w1, b1, w2])
        return (*grads, *hvp)

    same(program)


def test_second_order_through_reductions_and_indexing():
    def program(lib, t):
        x = t(X, True)
        y = (
            (x[:, 1:] ** 2).mean(0).sum()
            + (x[[0, 2, 2]] ** 3).sum()
            + x.sum(1, keepdim=True).exp().sum()
        )
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad((g * g).sum(), x)
        return g, g2

    same(program)


def test_create_graph_through_an_unsupported_op_names_it():
    x = engine.randn(2, 3, 4, 4, requires_grad=True)
    y = engine.nn.functional.batch_norm(x, None, None, training=True).pow(2).sum()
    with pytest.raises(RuntimeError, match="batch_norm: differentiating its gradient"):
        engine.autograd.grad(y, x, create_graph=True)
    (g,) = engine.autograd.grad(
        engine.nn.functional.batch_norm(x, None, None, training=True).sum(), x
    )
    assert g.shape == x.shape  # a plain grad through it still works
    w = engine.randn(2, 3, 3, 3, requires_grad=True)
    # only the ops between the output and the inputs asked for are differentiated twice
    z = engine.nn.functional.batch_norm(x, None, None, training=True).sum() * (w * w).sum()
    (gw,) = engine.autograd.grad(z, w, create_graph=True)
    assert gw.requires_grad


@pytest.mark.parametrize(
    "options",
    [
        dict(stride=1, padding=1),
        dict(stride=2, padding=0, dilation=2),
        dict(stride=2, padding=1, groups=2),
    ],
)
@pytest.mark.parametrize("unbatched", [False, True])
def test_second_order_of_conv2d_in_input_weight_and_bias_matches_torch(options, unbatched):
    xs = RNG.standard_normal((2, 4, 6, 6))
    ws = RNG.standard_normal((4, 4 // options.get("groups", 1), 3, 3)) * 0.3
    bs = RNG.standard_normal(4)

    def program(lib, t):
        x, w, b = t(xs[0] if unbatched else xs, True), t(ws, True), t(bs, True)
        y = (lib.nn.functional.conv2d(x, w, b, **options).tanh() ** 2).sum()
        gx, gw = lib.autograd.grad(y, (x, w), create_graph=True)
        (gw.pow(2).sum() + 0.5 * (gx * gx).sum()).backward()
        return gx, gw, x.grad, w.grad, b.grad

    same(program)


def test_gradient_penalty_of_a_conv_critic_matches_torch():
    xs = RNG.standard_normal((2, 2, 6, 6))
    w1, b1 = RNG.standard_normal((3, 2, 3, 3)) * 0.3, RNG.standard_normal(3) * 0.1
    w2 = RNG.standard_normal((1, 3, 2, 2)) * 0.3

    def program(lib, t):
        F = lib.nn.functional
        k1, c1, k2 = t(w1, True), t(b1, True), t(w2, True)

        def critic(x):
            h = F.leaky_relu(F.conv2d(x, k1, c1, stride=1, padding=1), 0.2)
            h = F.conv2d(h, k2, stride=2, padding=(1, 0), dilation=(1, 2))
            return h.reshape(h.shape[0], -1).mean(1)

        x = t(xs, True)
        (g,) = lib.autograd.grad(critic(x).sum(), x, create_graph=True)
        penalty = ((g.reshape(2, -1) ** 2).sum(1).sqrt() - 1) ** 2
        (critic(x[:1] * 0.5).mean() + penalty.mean()).backward()
        single = F.conv2d(t(xs[0], True), k1, c1)  # an unbatched input
        (gs,) = lib.autograd.grad(single.sin().sum(), k1, create_graph=False)
        return g, k1.grad, c1.grad, k2.grad, gs

    same(program)


# ----- custom Functions --------------------------------------------------------------------
def legendre(lib):
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    return LegendrePolynomial3


def test_the_legendre_tutorial_runs_as_in_torch():
    def program(lib, t):
        x = lib.linspace(-math.pi, math.pi, 200, dtype=lib.float64)
        y = lib.sin(x)
        a, b, c, d = (
            lib.full((), v, dtype=lib.float64, requires_grad=True) for v in (0.0, -1.0, 0.0, 0.3)
        )
        P3 = legendre(lib).apply
        for _ in range(30):
            loss = (a + b * P3(c + d * x) - y).pow(2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 1e-4 * p.grad
                    p.grad = None
        out = P3(c + d * x)
        assert type(out.grad_fn).__name__ == "LegendrePolynomial3Backward"
        return a, b, c, d, loss

    same(program)


def test_custom_function_ctx_and_several_outputs():
    def make(lib):
        class ScaleSplit(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, scale, y):
                ctx.scale = scale
                ctx.seen = (ctx.needs_input_grad, lib.is_grad_enabled())
                ctx.save_for_backward(x, y)
                idx = x.argmax()
                ctx.mark_non_differentiable(idx)
                return x * scale, x * y, idx

            @staticmethod
            def backward(ctx, g1, g2, g_idx):
                x, y = ctx.saved_tensors
                return g1 * ctx.scale + g2 * y, None, g2 * x

        return ScaleSplit

    def program(lib, t):
        x, y = t([1.0, 3.0, 2.0], True), t([0.5, -1.0, 2.0])
        fn = make(lib)
        a, b, idx = fn.apply(x, 3.0, y)
        assert not idx.requires_grad and a.requires_grad
        assert a.grad_fn is not None
        (a.sum() + (b * b).sum()).backward()
        return x.grad, a, b, idx

    same(program)
    x = engine.ones(2, requires_grad=True)
    fn = make(engine)
    a, _, _ = fn.apply(x, 2.0, engine.ones(2))
    assert a.grad_fn.needs_input_grad == (True, False, False)
    assert a.grad_fn.seen == ((True, False, False), False)
    assert a.grad_fn.next_functions[0][0].variable is x


def test_custom_function_errors_and_freeing():
    def make(lib, grads):
        class Fn(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * 2

            @staticmethod
            def backward(ctx, g):
                assert ctx.saved_tensors
                return grads(g)

        return Fn

    def too_many(lib):
        x = lib.ones(2, requires_grad=True)
        make(lib, lambda g: (g, g)).apply(x).sum().backward()

    assert "incorrect number of gradients" in raises_like(too_many)

    def twice(lib):
        x = lib.ones(2, requires_grad=True)
        y = make(lib, lambda g: g * 2).apply(x).sum()
        y.backward()
        y.backward()

    raises_like(twice)


def test_custom_function_with_create_graph_and_saved_output():
    def program(lib, t):
        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x.exp()
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, g):
                (out,) = ctx.saved_tensors
                return g * out

        x = t([0.1, -0.7], True)
        (g,) = lib.autograd.grad(Exp.apply(x * x).sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad(g.sum(), x)
        return g, g2

    same(program)


# ----- gradcheck ---------------------------------------------------------------------------
def test_gradcheck_and_gradgradcheck():
    x = engine.randn(3, dtype=engine.float64, requires_grad=True)
    w = engine.randn(2, 3, dtype=engine.float64, requires_grad=True)
    f = lambda x, w: engine.tanh(w @ x).sin()  # noqa: E731
    assert engine.autograd.gradcheck(f, (x, w))
    assert engine.autograd.gradgradcheck(f, (x, w))
    assert engine.autograd.gradcheck(legendre(engine).apply, (x,))

    class Wrong(engine.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 3

    assert engine.autograd.gradcheck(Wrong.apply, (x,), raise_exception=False) is False
    with pytest.raises(engine.autograd.GradcheckError, match="Jacobian mismatch"):
        engine.autograd.gradcheck(Wrong.apply, (x,))
    assert issubclass(engine.autograd.GradcheckError, RuntimeError)


# ----- hooks and grad_fn -------------------------------------------------------------------
def test_tensor_hooks_on_leaves_and_non_leaves():
    def program(lib, t):
        seen = []
        x = t([1.0, 2.0, 3.0], True)
        hx = x.register_hook(lambda g: seen.append(g.clone()))
        x.register_hook(lambda g: g * 10)
        h = x * x
        h.register_hook(lambda g: seen.append(g.clone()) or g + 1)
        removed = h.register_hook(lambda g: g * 1000)
        removed.remove()
        (h.sum() + (x * 2).sum()).backward()
        hx.remove()
        first = x.grad.clone()
        x.grad = None
        (x * 3).sum().backward()
        return (first, x.grad, *seen)

    same(program)


def test_hooks_run_under_autograd_grad_and_setup_context_functions():
    def program(lib, t):
        x = t([1.0, 2.0, 3.0], True)
        x.register_hook(lambda g: g * 10)
        (gx,) = lib.autograd.grad((x * 2).sum(), x)
        h = x * 3
        h.register_hook(lambda g: g + 1)
        (gh,) = lib.autograd.grad((h * h).sum(), h, retain_graph=True)
        (gx2,) = lib.autograd.grad((h * h).sum(), x)

        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.k = inputs[1]

            @staticmethod
            def backward(ctx, g):
                return g * ctx.k, None

        (gs,) = lib.autograd.grad(Scale.apply(x, 4.0).pow(2).sum(), x)
        return gx, gh, gx2, gs

    same(program)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_module_full_backward_hook():
    def program(lib, t):
        layer = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            layer.weight.copy_(t(W2[:, :3]))
            layer.bias.copy_(t(B2))
        seen = []

        def hook(module, grad_input, grad_output):
            seen.extend([len(grad_input), len(grad_output), grad_input[0], grad_output[0]])
            return (grad_input[0] * 2,)

        handle = layer.register_full_backward_hook(hook)
        x = t(X, True)
        layer(x).pow(2).sum().backward()
        handle.remove()
        first = x.grad.clone()
        layer(x).sum().backward()
        return (first, x.grad, layer.weight.grad, *seen)

    same(program)

    def program_no_input_grad(lib, t):
        layer = lib.nn.Linear(3, 2).double()
        seen = []
        layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
        layer(t(X)).sum().backward()
        return [seen[0][0] == (None,), tuple(seen[0][1])]

    same(program_no_input_grad)


def test_grad_fn_next_functions_and_names():
    x = engine.ones(2, requires_grad=True)
    c = engine.ones(2)
    y = x * 2
    z = (y * c + x).sum()
    node = z.grad_fn
    assert node.name() == "SumBackward0" and z.grad_fn is z._ctx
    ((add, n),) = node.next_functions
    assert n == 0 and add.name() == "AddBackward0"
    (mul, _), (acc, _) = add.next_functions
    assert acc.variable is x and acc.name() == "torch::autograd::AccumulateGrad"
    assert mul.next_functions[1] == (None, 0)
    assert mul.next_functions[0][0].next_functions[0][0].variable is x
    tx = torch.ones(2, requires_grad=True)
    tz = (tx * 2 * torch.ones(2) + tx).sum()
    assert tz.grad_fn.name() == node.name()
    assert tz.grad_fn.next_functions[0][0].name() == add.name()


def test_set_grad_enabled_restores_the_mode():
    with engine.set_grad_enabled(False):
        assert not engine.is_grad_enabled()
    assert engine.is_grad_enabled()


@pytest.mark.gpu
def test_second_order_on_cuda_matches_the_cpu():
    def run(device):
        x = engine.tensor(X, dtype=engine.float64, device=device, requires_grad=True)
        w = engine.tensor(W1, dtype=engine.float64, device=device, requires_grad=True)
        h = engine.nn.functional.gelu(x @ w.T)
        y = engine.nn.functional.log_softmax(h, 1)[[0, 1, 3], 2].sum() + h.var() * h.max()
        (g,) = engine.autograd.grad(y, x, create_graph=True)
        ((g * g).sum() + engine.maximum(g, g * 0.5).sum()).backward()
        assert g.is_cuda == (device == "cuda") and w.grad.is_cuda == (device == "cuda")
        return g.detach().cpu().numpy(), w.grad.cpu().numpy()

    for ours, want in zip(run("cuda"), run("cpu"), strict=True):
        np.testing.assert_allclose(ours, want, rtol=1e-10, atol=1e-12)


def test_autograd_functional_jacobian_hessian_and_products():
    def run(lib):
        af = lib.autograd.functional
        x = lib.tensor([1.0, 2.0])
        y = lib.tensor([[0.5, -1.0], [2.0, 3.0]])
        v = lib.tensor([1.0, -1.0])
        return [
            af.jacobian(lambda t: t**2, x),
            af.jacobian(lambda t: t @ t, y),
            *af.jacobian(lambda a, b: (a * b[0]).exp(), (x, y)),
            *af.jacobian(lambda a: (a.sin(), a.sum()), x),
            *af.jacobian(lambda a, b: a * 2, (x, y)),  # b unused: zeros
            af.hessian(lambda t: (t.tanh() * t).sum(), y),
            *[h for row in af.hessian(lambda a, b: (a**2 * b.sum()).sum(), (x, y)) for h in row],
            *af.vjp(lambda t: t**2, x, v),
            *af.vjp(lambda t: (t**2).sum(), x),
            *af.hvp(lambda t: (t**3).sum(), x, v),
            *af.vhp(lambda t: (t.exp() * t).sum(), x, v),
        ]

    got, want = run(engine), run(torch)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert tuple(g.shape) == tuple(w.shape)
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-5, atol=1e-6)
    for lib in (engine, torch):
        with pytest.raises(RuntimeError):
            lib.autograd.functional.hessian(lambda t: t**2, lib.tensor([1.0, 2.0]))


def test_assigned_grad_must_match_the_tensor():
    for lib in (engine, torch):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.grad = lib.ones(3)
        with pytest.raises(RuntimeError):
            x.grad = lib.ones(2, dtype=lib.float64)
        with pytest.raises(TypeError):
            x.grad = [1.0, 2.0]
        x.grad = lib.full((2,), 5.0)
        (x * 2).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])
        x.grad = None
        assert x.grad is None


def test_variable_and_once_differentiable_as_old_tutorials_use_them():
    def run(lib):
        variable = lib.autograd.Variable
        t = lib.ones(2, 2)
        x = variable(t, requires_grad=True)
        (((x + 2) ** 2) * 3).mean().backward()
        kept = variable(lib.ones(2, requires_grad=True) * 2)

        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.save_for_backward(a)
                return a**3

            @staticmethod
            @lib.autograd.function.once_differentiable
            def backward(ctx, g):
                (a,) = ctx.saved_tensors
                return g * 3 * a**2

        a = lib.tensor([1.0, 2.0], requires_grad=True)
        Cube.apply(a).sum().backward()
        flags = [x.requires_grad, x.is_leaf, isinstance(t, variable), kept.requires_grad]
        flags += [kept.is_leaf, x.data_ptr() == t.data_ptr()]
        return flags, x.grad.numpy(), a.grad.numpy()

    got, want = run(engine), run(torch)
    assert got[0] == want[0]
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(got[2], want[2])
    for lib in (engine, torch):
        with pytest.raises(TypeError):
            lib.autograd.Variable([1.0, 2.0])
        with pytest.warns(UserWarning, match="volatile"):
            lib.autograd.Variable(lib.ones(1), volatile=True)


def _grad_modes(lib) -> list:
    """What a model's output and the mode switches say under each way of turning grad off."""
    w = lib.ones(2, requires_grad=True)
    seen = []

    def note():
        seen.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled()))
        return (w * 2).requires_grad

    @lib.no_grad
    def bare():
        return note()

    @lib.inference_mode
    def bare_inference():
        return note()

    @lib.inference_mode()
    def called_inference():
        return note()

    @lib.enable_grad
    def bare_enable():
        return note()

    results = [bare(), bare_inference(), called_inference()]
    with lib.inference_mode():
        results.append(note())
        with lib.inference_mode(False):
            results.append(note())
    with lib.inference_mode(False):
        results.append(note())
    with lib.no_grad():
        results.append(bare_enable())
    results.append(note())
    return results + seen


def test_no_grad_and_inference_mode_decorate_bare_and_called_as_torchs():
    assert _grad_modes(engine) == _grad_modes(torch)


def test_inference_mode_false_turns_grad_on_even_inside_no_grad():
    for lib in (engine, torch):
        with lib.no_grad(), lib.inference_mode(False):
            assert lib.is_grad_enabled() and not lib.is_inference_mode_enabled()
        assert lib.is_grad_enabled()
