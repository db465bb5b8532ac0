"""Recurrent layers: one Function runs one layer in one direction over a whole sequence.

Each takes the input projection of every step at once, `xw` (L, N, G) = x @ W_ih^T + b_ih
(one matrix product for the sequence, done by the caller), the hidden-to-hidden weight
`w_hh` (G, H), the first hidden state `h0` (N, H) (and `c0` for the LSTM), and `b_hh` last
when the layer has biases. A step costs one matrix product and a few array ops; backward
walks the steps in reverse and forms the weight gradient in one product at the end. The
gate order and formulas are PyTorch's: LSTM (i, f, g, o), GRU (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).

`batch_sizes` (a packed sequence's, one int per time step, the batch sorted by length
from the longest) makes step t run only the first batch_sizes[t] rows: the others keep
their state and output zeros, and no gradient flows through their steps.
"""

from __future__ import annotations

from engine.autograd import Function
from engine.ops.elementwise import _xp


def _sigmoid_(a, xp):
    """sigmoid(a) written into `a`: 1 / (1 + exp(-a)), PyTorch's formula."""
    xp.negative(a, out=a)
    xp.exp(a, out=a)
    a += 1
    xp.reciprocal(a, out=a)
    return a


def _steps_in_order(a, reverse: bool):
    """`a` (time first) in the order the steps run: reversed for the backward direction."""
    return a[::-1] if reverse else a


def _weight_grad(dgates, hs, xp):
    """sum over steps of dgates[t]^T @ h[t-1], as one matrix product."""
    g = dgates.shape[-1]
    return dgates.reshape(-1, g).T @ hs[:-1].reshape(-1, hs.shape[-1])


class _RecurrentOp(Function):
    saves = ((1, None),)  # w_hh
    saves_others = True  # the gates and states of every step
    fresh_grads = True

    def _start(self, xw, w_hh, h0, b_hh, reverse, batch_sizes, fold_bias=True):
        """Buffers for the run; the steps' inputs in running order, b_hh added once to all."""
        xp = _xp(xw)
        self.w_hh, self.reverse, self.has_bias = w_hh, reverse, b_hh is not None
        xw = _steps_in_order(xw, reverse)
        if fold_bias and b_hh is not None:
            xw = xw + b_hh
        steps, batch = xw.shape[:2]
        sizes = [batch] * steps if batch_sizes is None else list(batch_sizes)
        self.rows = sizes[::-1] if reverse else sizes  # rows that run, per step in order
        hs = xp.empty((steps + 1, batch, w_hh.shape[1]), dtype=xw.dtype)
        hs[0] = h0
        return xp, xw, hs

    def _carry(self, states, t: int) -> None:
        """The rows that step t does not run keep their state."""
        b = self.rows[t]
        for s in states:
            if b < s.shape[1]:
                s[t + 1, b:] = s[t, b:]

    def _outputs(self, hs, xp):
        """The hidden state of every step in time order, zero where a step did not run."""
        out = xp.ascontiguousarray(_steps_in_order(hs[1:], self.reverse))
        for t, b in enumerate(_steps_in_order(self.rows, self.reverse)):
            out[t, b:] = 0
        return out

    def _finish(self, dxw, dwork, dh0, *rest):
        """Input gradients in the inputs' order from the per-step gate gradients."""
        xp = _xp(dxw)
        dxw = xp.ascontiguousarray(_steps_in_order(dxw, self.reverse))
        dw = _weight_grad(dwork, self.hs, xp) if self.needs(1) else None
        grads = (dxw if self.needs(0) else None, dw, dh0, *rest)
        if self.has_bias:
            grads += (dwork.sum(axis=(0, 1)),)
        return grads


class RNNLayerOp(_RecurrentOp):
    op = "rnn_tanh"

    def forward(
        self, xw, w_hh, h0, b_hh=None, nonlinearity="tanh", reverse=False, batch_sizes=None
    ):
        self.op = f"rnn_{nonlinearity}"
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse, batch_sizes)
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(xw.shape[0]):
            b = self.rows[t]
            h = hs[t + 1, :b]
            xp.matmul(hs[t, :b], w_t, out=h)
            h += xw[t, :b]
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
            self._carry((hs,), t)
        self.hs, self.relu = hs, nonlinearity == "relu"
        return self._outputs(hs, xp)

    def backward(self, g):
        xp, hs, w_hh = _xp(g), self.hs, self.w_hh
        g = _steps_in_order(g, self.reverse)
        dpre = xp.zeros_like(g)
        dh = xp.zeros_like(hs[0])
        for t in range(g.shape[0] - 1, -1, -1):
            b = self.rows[t]
            h = hs[t + 1, :b]
            d = dpre[t, :b]
            xp.add(g[t, :b], dh[:b], out=d)
            if self.relu:
                d *= h > 0
            else:
                d *= 1 - h * h
            dh[:b] = d @ w_hh
        return self._finish(dpre, dpre, dh)


class LSTMLayerOp(_RecurrentOp):
    """Returns (L + 1, N, H): the hidden state of every step, then the last cell state.

    With `projected`, the last input is W_hr (P, H): each step's hidden state is
    (o * tanh(c)) @ W_hr^T, of size P; the result is then flat, the L * N * P hidden
    values followed by the N * H of the last cell state.
    """

    op = "lstm"

    def forward(self, xw, w_hh, h0, c0, *rest, reverse=False, projected=False, batch_sizes=None):
        w_hr = rest[-1] if projected else None
        w_hr_t = _xp(xw).ascontiguousarray(w_hr.T) if projected else None
        b_hh = rest[0] if len(rest) == 1 + projected else None
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse, batch_sizes)
        steps, batch, size = xw.shape[0], xw.shape[1], xw.shape[2] // 4
        # zeros: the rows a step does not run have no gates (and no gradient) there
        make = xp.empty if batch_sizes is None else xp.zeros
        gates = make(xw.shape, dtype=xw.dtype)
        cs = xp.empty((steps + 1, batch, size), dtype=xw.dtype)
        tanh_c = make((steps, batch, size), dtype=xw.dtype)
        ms = make(tanh_c.shape, dtype=xw.dtype) if projected else hs[1:]  # o * tanh(c)
        cs[0] = c0
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(steps):
            b = self.rows[t]
            gt = gates[t, :b]
            xp.matmul(hs[t, :b], w_t, out=gt)
            gt += xw[t, :b]
            _sigmoid_(gt[:, : 2 * size], xp)
            xp.tanh(gt[:, 2 * size : 3 * size], out=gt[:, 2 * size : 3 * size])
            _sigmoid_(gt[:, 3 * size :], xp)
            i, f, gg, o = (gt[:, k * size : (k + 1) * size] for k in range(4))
            c = cs[t + 1, :b]
            xp.multiply(f, cs[t, :b], out=c)
            c += i * gg
            xp.tanh(c, out=tanh_c[t, :b])
            xp.multiply(o, tanh_c[t, :b], out=ms[t, :b])
            if projected:
                xp.matmul(ms[t, :b], w_hr_t, out=hs[t + 1, :b])
            self._carry((hs, cs), t)
        self.hs, self.cs, self.gates, self.tanh_c = hs, cs, gates, tanh_c
        self.ms, self.w_hr = ms, w_hr
        h_all = self._outputs(hs, xp)
        if projected:
            return xp.concatenate([h_all.reshape(-1), cs[steps].reshape(-1)])
        return xp.concatenate([h_all, cs[steps][None]])

    def backward(self, g):
        xp, w_hh, w_hr = _xp(g), self.w_hh, self.w_hr
        gates, tanh_c = self.gates, self.tanh_c
        steps, batch, size = gates.shape[0], gates.shape[1], gates.shape[2] // 4
        if w_hr is None:
            gh, dc = g[:steps], g[steps].copy()
        else:
            n_h = steps * batch * w_hr.shape[0]
            gh = g[:n_h].reshape(steps, batch, w_hr.shape[0])
            dc = g[n_h:].reshape(batch, size).copy()
            dhs = xp.zeros_like(gh)  # the gradient of each step's projected hidden state
        gh = _steps_in_order(gh, self.reverse)
        dh = xp.zeros_like(self.hs[0])
        # the local derivatives of every step at once, so that a step costs few array ops:
        # s(1 - s) for the sigmoid gates, 1 - g^2 for the cell gate, o(1 - tanh(c)^2)
        slope = gates * (1 - gates)
        cell = gates[:, :, 2 * size : 3 * size]
        slope[:, :, 2 * size : 3 * size] = 1 - cell * cell
        o_slope = gates[:, :, 3 * size :] * (1 - tanh_c * tanh_c)
        dgates = xp.zeros_like(gates)
        for t in range(steps - 1, -1, -1):
            b = self.rows[t]
            gt, dgt, dct = gates[t, :b], dgates[t, :b], dc[:b]
            i, f, gg = (gt[:, k * size : (k + 1) * size] for k in range(3))
            di, df, dg, do = (dgt[:, k * size : (k + 1) * size] for k in range(4))
            dh_t = gh[t, :b] + dh[:b]
            if w_hr is not None:
                dhs[t, :b] = dh_t
                dh_t = dh_t @ w_hr
            xp.multiply(dh_t, tanh_c[t, :b], out=do)
            dh_t *= o_slope[t, :b]
            dct += dh_t
            xp.multiply(dct, gg, out=di)
            xp.multiply(dct, self.cs[t, :b], out=df)
            xp.multiply(dct, i, out=dg)
            dgt *= slope[t, :b]
            dct *= f
            dh[:b] = dgt @ w_hh
        grads = self._finish(dgates, dgates, dh, dc)
        if w_hr is None:
            return grads
        dw_hr = dhs.reshape(-1, dhs.shape[-1]).T @ self.ms.reshape(-1, size)
        return (*grads, dw_hr)


class GRULayerOp(_RecurrentOp):
    op = "gru"

    def forward(self, xw, w_hh, h0, b_hh=None, reverse=False, batch_sizes=None):
        # b_hn sits inside r * (W_hn h + b_hn): the bias is added at each step
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse, batch_sizes, fold_bias=False)
        steps, size = hs.shape[0] - 1, hs.shape[2]
        make = xp.empty if batch_sizes is None else xp.zeros  # see LSTMLayerOp
        hh = make(xw.shape, dtype=xw.dtype)  # W_hh h + b_hh of every step
        rz = make((steps, hs.shape[1], 2 * size), dtype=xw.dtype)
        ns = make(hs[1:].shape, dtype=xw.dtype)
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(steps):
            b = self.rows[t]
            ht = hh[t, :b]
            xp.matmul(hs[t, :b], w_t, out=ht)
            if b_hh is not None:
                ht += b_hh
            xp.add(xw[t, :b, : 2 * size], ht[:, : 2 * size], out=rz[t, :b])
            _sigmoid_(rz[t, :b], xp)
            r, z = rz[t, :b, :size], rz[t, :b, size:]
            n = ns[t, :b]
            xp.multiply(r, ht[:, 2 * size :], out=n)
            n += xw[t, :b, 2 * size :]
            xp.tanh(n, out=n)
            h = hs[t + 1, :b]
            xp.subtract(hs[t, :b], n, out=h)
            h *= z
            h += n
            self._carry((hs,), t)
        self.hs, self.hh, self.rz, self.ns = hs, hh, rz, ns
        return self._outputs(hs, xp)

    def backward(self, g):
        xp, w_hh, size = _xp(g), self.w_hh, self.hs.shape[2]
        g = _steps_in_order(g, self.reverse)
        dxw = xp.zeros_like(self.hh)
        dhh = xp.zeros_like(self.hh)
        dh = xp.zeros_like(self.hs[0])
        for t in range(g.shape[0] - 1, -1, -1):
            b = self.rows[t]
            r, z, n = self.rz[t, :b, :size], self.rz[t, :b, size:], self.ns[t, :b]
            dh_t = g[t, :b] + dh[:b]
            dr, dz, dn = (dxw[t, :b, k * size : (k + 1) * size] for k in range(3))
            xp.multiply(dh_t, 1 - z, out=dn)
            dn *= 1 - n * n
            xp.subtract(self.hs[t, :b], n, out=dz)
            dz *= dh_t
            dz *= z * (1 - z)
            xp.multiply(dn, self.hh[t, :b, 2 * size :], out=dr)
            dr *= r * (1 - r)
            dhh[t, :b, : 2 * size] = dxw[t, :b, : 2 * size]
            xp.multiply(dn, r, out=dhh[t, :b, 2 * size :])
            dh[:b] = dh_t * z + dhh[t, :b] @ w_hh
        return self._finish(dxw, dhh, dh)
