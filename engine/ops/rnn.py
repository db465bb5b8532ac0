"""Recurrent layers: one Function runs one layer in one direction over a whole sequence.

Each takes the input projection of every step at once, `xw` (L, N, G) = x @ W_ih^T + b_ih
(one matrix product for the sequence, done by the caller), the hidden-to-hidden weight
`w_hh` (G, H), the first hidden state `h0` (N, H) (and `c0` for the LSTM), and `b_hh` last
when the layer has biases. A step costs one matrix product and a few array ops; backward
walks the steps in reverse and forms the weight gradient in one product at the end. The
gate order and formulas are PyTorch's: LSTM (i, f, g, o), GRU (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
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

    def _start(self, xw, w_hh, h0, b_hh, reverse, fold_bias=True):
        """Buffers for the run; the steps' inputs in running order, b_hh added once to all."""
        xp = _xp(xw)
        self.w_hh, self.reverse, self.has_bias = w_hh, reverse, b_hh is not None
        xw = _steps_in_order(xw, reverse)
        if fold_bias and b_hh is not None:
            xw = xw + b_hh
        steps, batch = xw.shape[:2]
        hs = xp.empty((steps + 1, batch, w_hh.shape[1]), dtype=xw.dtype)
        hs[0] = h0
        return xp, xw, hs

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

    def forward(self, xw, w_hh, h0, b_hh=None, nonlinearity="tanh", reverse=False):
        self.op = f"rnn_{nonlinearity}"
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse)
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(xw.shape[0]):
            h = hs[t + 1]
            xp.matmul(hs[t], w_t, out=h)
            h += xw[t]
            if nonlinearity == "tanh":
                xp.tanh(h, out=h)
            else:
                xp.maximum(h, 0, out=h)
        self.hs, self.relu = hs, nonlinearity == "relu"
        return xp.ascontiguousarray(_steps_in_order(hs[1:], reverse))

    def backward(self, g):
        xp, hs, w_hh = _xp(g), self.hs, self.w_hh
        g = _steps_in_order(g, self.reverse)
        dpre = xp.empty_like(g)
        dh = xp.zeros_like(hs[0])
        for t in range(g.shape[0] - 1, -1, -1):
            h = hs[t + 1]
            d = dpre[t]
            xp.add(g[t], dh, out=d)
            if self.relu:
                d *= h > 0
            else:
                d *= 1 - h * h
            dh = d @ w_hh
        return self._finish(dpre, dpre, dh)


class LSTMLayerOp(_RecurrentOp):
    """Returns (L + 1, N, H): the hidden state of every step, then the last cell state.

    With `projected`, the last input is W_hr (P, H): each step's hidden state is
    (o * tanh(c)) @ W_hr^T, of size P; the result is then flat, the L * N * P hidden
    values followed by the N * H of the last cell state.
    """

    op = "lstm"

    def forward(self, xw, w_hh, h0, c0, *rest, reverse=False, projected=False):
        w_hr = rest[-1] if projected else None
        w_hr_t = _xp(xw).ascontiguousarray(w_hr.T) if projected else None
        b_hh = rest[0] if len(rest) == 1 + projected else None
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse)
        steps, batch, size = xw.shape[0], xw.shape[1], xw.shape[2] // 4
        gates = xp.empty(xw.shape, dtype=xw.dtype)
        cs = xp.empty((steps + 1, batch, size), dtype=xw.dtype)
        tanh_c = xp.empty((steps, batch, size), dtype=xw.dtype)
        ms = xp.empty_like(tanh_c) if projected else hs[1:]  # o * tanh(c) of every step
        cs[0] = c0
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(steps):
            gt = gates[t]
            xp.matmul(hs[t], w_t, out=gt)
            gt += xw[t]
            _sigmoid_(gt[:, : 2 * size], xp)
            xp.tanh(gt[:, 2 * size : 3 * size], out=gt[:, 2 * size : 3 * size])
            _sigmoid_(gt[:, 3 * size :], xp)
            i, f, gg, o = (gt[:, k * size : (k + 1) * size] for k in range(4))
            c = cs[t + 1]
            xp.multiply(f, cs[t], out=c)
            c += i * gg
            xp.tanh(c, out=tanh_c[t])
            xp.multiply(o, tanh_c[t], out=ms[t])
            if projected:
                xp.matmul(ms[t], w_hr_t, out=hs[t + 1])
        self.hs, self.cs, self.gates, self.tanh_c = hs, cs, gates, tanh_c
        self.ms, self.w_hr = ms, w_hr
        h_all = _steps_in_order(hs[1:], reverse)
        if projected:
            return xp.concatenate([h_all.reshape(-1), cs[steps].reshape(-1)])
        out = xp.empty((steps + 1, batch, size), dtype=xw.dtype)
        out[:steps] = h_all
        out[steps] = cs[steps]
        return out

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
            dhs = xp.empty_like(gh)  # the gradient of each step's projected hidden state
        gh = _steps_in_order(gh, self.reverse)
        dh = xp.zeros_like(self.hs[0])
        # the local derivatives of every step at once, so that a step costs few array ops:
        # s(1 - s) for the sigmoid gates, 1 - g^2 for the cell gate, o(1 - tanh(c)^2)
        slope = gates * (1 - gates)
        cell = gates[:, :, 2 * size : 3 * size]
        slope[:, :, 2 * size : 3 * size] = 1 - cell * cell
        o_slope = gates[:, :, 3 * size :] * (1 - tanh_c * tanh_c)
        dgates = xp.empty_like(gates)
        for t in range(steps - 1, -1, -1):
            gt, dgt = gates[t], dgates[t]
            i, f, gg = (gt[:, k * size : (k + 1) * size] for k in range(3))
            di, df, dg, do = (dgt[:, k * size : (k + 1) * size] for k in range(4))
            dh_t = gh[t] + dh
            if w_hr is not None:
                dhs[t] = dh_t
                dh_t = dh_t @ w_hr
            xp.multiply(dh_t, tanh_c[t], out=do)
            dh_t *= o_slope[t]
            dc += dh_t
            xp.multiply(dc, gg, out=di)
            xp.multiply(dc, self.cs[t], out=df)
            xp.multiply(dc, i, out=dg)
            dgt *= slope[t]
            dc *= f
            dh = dgt @ w_hh
        grads = self._finish(dgates, dgates, dh, dc)
        if w_hr is None:
            return grads
        dw_hr = dhs.reshape(-1, dhs.shape[-1]).T @ self.ms.reshape(-1, size)
        return (*grads, dw_hr)


class GRULayerOp(_RecurrentOp):
    op = "gru"

    def forward(self, xw, w_hh, h0, b_hh=None, reverse=False):
        # b_hn sits inside r * (W_hn h + b_hn): the bias is added at each step
        xp, xw, hs = self._start(xw, w_hh, h0, b_hh, reverse, fold_bias=False)
        steps, size = hs.shape[0] - 1, hs.shape[2]
        hh = xp.empty(xw.shape, dtype=xw.dtype)  # W_hh h + b_hh of every step
        rz = xp.empty((steps, hs.shape[1], 2 * size), dtype=xw.dtype)
        ns = xp.empty_like(hs[1:])
        w_t = xp.ascontiguousarray(w_hh.T)  # row-major: BLAS runs this product faster
        for t in range(steps):
            ht = hh[t]
            xp.matmul(hs[t], w_t, out=ht)
            if b_hh is not None:
                ht += b_hh
            xp.add(xw[t, :, : 2 * size], ht[:, : 2 * size], out=rz[t])
            _sigmoid_(rz[t], xp)
            r, z = rz[t, :, :size], rz[t, :, size:]
            n = ns[t]
            xp.multiply(r, ht[:, 2 * size :], out=n)
            n += xw[t, :, 2 * size :]
            xp.tanh(n, out=n)
            h = hs[t + 1]
            xp.subtract(hs[t], n, out=h)
            h *= z
            h += n
        self.hs, self.hh, self.rz, self.ns = hs, hh, rz, ns
        return xp.ascontiguousarray(_steps_in_order(hs[1:], reverse))

    def backward(self, g):
        xp, w_hh, size = _xp(g), self.w_hh, self.hs.shape[2]
        g = _steps_in_order(g, self.reverse)
        dxw = xp.empty_like(self.hh)
        dhh = xp.empty_like(self.hh)
        dh = xp.zeros_like(self.hs[0])
        for t in range(g.shape[0] - 1, -1, -1):
            r, z, n = self.rz[t, :, :size], self.rz[t, :, size:], self.ns[t]
            dh_t = g[t] + dh
            dr, dz, dn = (dxw[t, :, k * size : (k + 1) * size] for k in range(3))
            xp.multiply(dh_t, 1 - z, out=dn)
            dn *= 1 - n * n
            xp.subtract(self.hs[t], n, out=dz)
            dz *= dh_t
            dz *= z * (1 - z)
            xp.multiply(dn, self.hh[t, :, 2 * size :], out=dr)
            dr *= r * (1 - r)
            dhh[t, :, : 2 * size] = dxw[t, :, : 2 * size]
            xp.multiply(dn, r, out=dhh[t, :, 2 * size :])
            dh = dh_t * z + dhh[t] @ w_hh
        return self._finish(dxw, dhh, dh)
