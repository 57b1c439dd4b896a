"""Exact one-sample SGD with scikit-learn's cumulative L1 truncation (squared loss), a window
of samples at a time: speculate, verify, fall back.

One update of ``SGDRegressor(penalty="l1" | "elasticnet")`` (``kernels/penalties.py``) is the
L2 decay and gradient step of :mod:`groundup.kernels.sgd_blocked`, then the truncation of
every weight: ``w > 0`` moves to ``max(0, w − (u + q))``, ``w < 0`` to ``min(0, w + (u − q))``,
zero stays zero, and ``q += w_new − w``. It is linear as long as no weight changes its sign or
leaves zero:

- a nonzero weight that stays on its side has ``q = −σu`` (``σ`` its sign), so the next
  truncation moves it by exactly ``λ = l1·eta`` towards zero: a known shift ``−λσ``;
- a zero weight stays zero while its gradient step ``w'`` is within what it may still
  receive (``|w'| <= u + sign(w')·q``); it adds nothing to the residuals, and ``q`` takes ``−w'``.

So a window is, *if* that holds, ``sgd_blocked``'s recursion on the nonzero weights with the
shifts folded into the residuals (``−P_{i−1} Λ_{i−1} x_i·σ``, ``Λ`` the running sum of ``λ_j /
P_j`` in the block) and into the end of each block. Then it is verified: a bound on each
weight's move (``Σ |e_j r_j x_j| / P_j + Σ λ_j / P_j``) clears most weights at once; the
others, and the zero weights' budgets, are checked at every sample. The updates before the
first that breaks the assumption are kept, that one is made exactly, and the next window
starts after it (shorter after a failure, longer after a success). The check reads one flag
per window on the host: the engine uses this only on host backends (NumPy).

The binary log-loss (``loss="log"``, ``y`` 0/1: ``SGDClassifier(loss="log_loss")``) is the
same with ``r = sigmoid(z) - y`` of the shifted margins: each block's margins by
:func:`~groundup.kernels.sgd_logistic_blocked.sigmoid_newton` from the shifted ``z0``; a block
that does not settle ends the window before it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from array_api_compat import device as _device

from groundup._typing import Array, Namespace
from groundup.kernels.penalties import truncate
from groundup.kernels.schedules import EpochRows
from groundup.kernels.sgd_blocked import BLOCK, TriangularSolver, block_rows, solve_unit_lower
from groundup.kernels.sgd_logistic_blocked import ROUNDING, _Context, sigmoid_newton

__all__ = ["l1_sgd_epoch"]

# The longest window (bench_optimizers.py::test_l1_sgd_epoch_vs_sklearn: 2.73-3.11, against
# 3.19-4.12 with sgd_blocked's 1,024).
MAX_ROWS = 4096
# Most exact updates between two windows after windows that failed in their first block
# (doubling per failure, one again after a window that got further; bench_logistic.py::
# test_l1_sgd_epoch_vs_sgd_classifier, half the weights zero: 2.18 s without, 0.58 s with).
MAX_SKIP = 64


def l1_sgd_epoch(
    rows: EpochRows,
    W: Array,
    b: Array,
    etas: Array,
    q: Array,
    u: float | Array,
    /,
    *,
    alpha: float | Array,
    l1: float | Array,
    fit_intercept: bool,
    loss: str = "squared",
    block: int = BLOCK,
    max_rows: int = MAX_ROWS,
    solve_triangular: TriangularSolver | None = None,
    xp: Namespace,
) -> tuple[Array, Array, Array, float]:
    """One epoch of exact one-sample SGD with the L2 decay and the cumulative L1 truncation:
    ``W, b, q, u`` after it. ``rows, W, b, etas`` as ``sgd_blocked_epoch``'s; ``q``
    (n_features, 1) the penalty each weight has received, ``u`` what it could have (a float,
    or (n_features, 1) with per-feature strengths); ``alpha`` the L2 decay ``max(0, 1 −
    eta·alpha)`` (``eta·alpha <= MAX_DECAY_STEP``) and ``l1`` (``u`` grows by ``l1·eta``), each
    a float or one per feature (a preconditioned fit's: ``P``, ``Λ`` and thresholds per
    feature); ``loss`` "squared" or "log" (``rows.y`` 0/1 in X's dtype); ``max_rows``: the
    longest window."""
    n, d = rows.X.shape
    dt, dev = rows.X.dtype, _device(rows.X)
    sw = rows.weights()
    ep = etas if sw is None else etas * sw
    decay = None  # (n,), or (n, n_features) with one strength per feature
    if getattr(alpha, "ndim", 0) > 0:
        decay = xp.clip(1.0 - xp.reshape(etas, (n, 1)) * xp.reshape(alpha, (1, d)), min=0.0)
    elif alpha:
        decay = xp.clip(1.0 - alpha * etas, min=0.0)
    U = _Budget(u, l1, etas, d, xp)
    data = replace(rows, sample_weight=None)
    ctx = _Epoch(data, ep, etas, U, decay, fit_intercept, solve_triangular, xp)
    if loss == "log":
        tol = ROUNDING * float(xp.finfo(dt).eps)
        ctx.newton = _Context(fit_intercept, alpha, solve_triangular, tol, xp)
    w, c, qv = W[:, 0], b, q[:, 0]
    p, rows, skip = 0, 4 * block, 1
    ones = xp.ones((1,), dtype=dt, device=dev)
    while p < n:
        for _ in range(min(skip, n - p)):
            w, c, qv = ctx.exact(p, w, c, qv)
            p += 1
        bs = min(block, n - p)
        m = min(rows, n - p) // bs * bs if bs else 0
        if m == 0:
            continue
        done, w, c, qv = ctx.window(p, m, bs, w, c, qv, ones)
        p += done
        rows = min(2 * rows, max_rows) if done == m else max(block, rows // 4)
        # windows that fail within their first block, again and again (weights crossing
        # zero): more exact updates before the next one (see MAX_SKIP)
        skip = 1 if done >= bs else min(2 * skip, MAX_SKIP)
    return xp.reshape(w, (d, 1)), c, xp.reshape(qv, (d, 1)), ctx.U.final()


class _Budget:
    """``u`` after each update: ``u + Σ l1·eta``. One strength: a float per update, summed as
    scikit-learn does (``unit = l1``, ``f = 1``). Per feature: ``u_j + l1_j·S``, ``S`` the
    rates' running sum (``unit = 1``, ``f = l1``, a row of ``d``): the window's shifts are
    ``Λ`` times ``f·σ`` (separable: one ``Λ`` for all weights)."""

    def __init__(self, u: float | Array, l1: float | Array, etas: Array, d: int, xp: Namespace):
        self.xp, self.d = xp, d
        self.per_feature = hasattr(l1, "shape") and l1.ndim > 0
        if self.per_feature:
            self.unit, self.f = 1.0, xp.reshape(l1, (-1,))
            self.u0 = xp.reshape(u, (-1,)) if hasattr(u, "shape") and u.ndim > 0 else u
            self.S = xp.cumulative_sum(etas)
        else:
            self.unit, self.f, self.u0 = l1, 1.0, u
            self.S = xp.cumulative_sum(l1 * etas)

    def at(self, i: int) -> float | Array:
        """``u`` after update ``i`` (a 0-d value, or a row of ``d``)."""
        return self.u0 + self.f * self.S[i]

    def rows(self, p: int, m: int) -> Array:
        """``u`` after updates ``p .. p + m - 1``, (m, 1) or (m, d)."""
        col = self.xp.reshape(self.S[p : p + m], (m, 1))
        return self.u0 + self.f * col if self.per_feature else self.u0 + col

    def final(self) -> float | Array:
        """``u`` after the epoch: a float, or (n_features, 1)."""
        end = self.at(self.S.shape[0] - 1)
        if self.per_feature:
            return self.xp.reshape(end * self.xp.ones((self.d,), dtype=self.S.dtype), (self.d, 1))
        return float(end)


@dataclass
class _Epoch:
    """The epoch's arrays and the two kinds of step (exact, window)."""

    data: EpochRows  # without the sample weights: they are folded into ``ep``
    ep: Array
    etas: Array
    U: _Budget
    decay: Array | None
    fi: bool
    fast: TriangularSolver | None
    xp: Namespace
    newton: _Context | None = None  # the log-loss's Newton steps (None: squared)

    def exact(self, i: int, w: Array, c: Array, q: Array) -> tuple[Array, Array, Array]:
        """Update ``i`` by the plain rule (scikit-learn's)."""
        xp = self.xp
        Xi, yi, _ = self.data.take(i, i + 1)
        x = Xi[0, :]
        z = xp.sum(x * w) + c[0]
        pred = z if self.newton is None else 1.0 / (1.0 + xp.exp(-z))  # log-loss: sigmoid
        step = self.ep[i] * (pred - yi[0])
        w = (w if self.decay is None else self.decay[i, ...] * w) - step * x
        if self.fi:
            c = c - step
        w, q = truncate(w, q, self.U.at(i), xp=xp)
        return w, c, q

    def window(
        self, p: int, m: int, bs: int, w: Array, c: Array, q: Array, ones: Array
    ) -> tuple[int, Array, Array, Array]:
        """Updates ``p .. p + m − 1`` on the module docstring's assumption: how many were
        exact and the state after them."""
        xp = self.xp
        Xg, yg, _ = self.data.take(p, p + m)
        dt, dev = Xg.dtype, _device(Xg)
        d, nb = Xg.shape[1], m // bs
        sigma = xp.sign(w)
        active = xp.abs(sigma)
        sigma_l = self.U.f * sigma  # each weight's shift per unit of Λ: l1_j σ_j (or σ)
        dense = bool(xp.all(active > 0))  # no weight at zero
        XA = Xg if dense else Xg * active
        es = self.ep[p : p + m]
        lam = self.U.unit * self.etas[p : p + m]
        # P (nb, bs, D), Λ the same: D = 1, or n_features with one decay per feature
        if self.decay is None:
            P = xp.ones((nb, bs, 1), dtype=dt, device=dev)
        else:
            P = xp.cumulative_prod(xp.reshape(self.decay[p : p + m, ...], (nb, bs, -1)), axis=1)
        D = P.shape[2]
        first = xp.ones((nb, 1, D), dtype=dt, device=dev)
        P_prev = xp.concat([first, P[:, :-1, :]], axis=1)
        Lam = xp.cumulative_sum(xp.reshape(lam, (nb, bs, 1)) / P, axis=1)
        Lam_prev = xp.concat([first * 0.0, Lam[:, :-1, :]], axis=1)
        PL = xp.reshape(P_prev * Lam_prev, (m, D))
        shift = PL[:, 0] * (Xg @ sigma_l) if D == 1 else (Xg * PL) @ sigma_l
        offset = -shift if self.newton is not None else -yg - shift  # margins or residuals
        extra = [xp.reshape(offset, (m, 1))]
        Pd = None if self.decay is None else P
        Hl, HrT, L, scale = block_rows(XA, es, None, bs, extra, 0.0, self.fi, P=Pd, xp=xp)
        tail = xp.zeros((nb, 2), dtype=dt, device=dev)
        kick = xp.concat([-(P[:, -1, :] * Lam[:, -1, :]) * sigma_l, tail], axis=1)  # -P_B Λ_B σ
        if self.newton is not None:  # h = z / 2 = Hl v / 2 - C - Lq t, r = (t + Y2) / 2
            Lq = 0.25 * xp.tril(L, k=-1)
            Y2 = xp.reshape(1.0 - 2.0 * yg, (nb, bs))
            C = (Lq @ Y2[..., None])[..., 0]
        v = xp.concat([w, c, ones])
        starts, res = [], []
        for k in range(nb):
            if self.newton is None:
                r = solve_unit_lower(L[k, ...], Hl[k, ...] @ v, fast=self.fast, xp=xp)
            else:
                t = sigmoid_newton(Lq[k, ...], 0.5 * (Hl[k, ...] @ v) - C[k, ...], self.newton)
                if t is None:  # not settled: the window ends before this block
                    break
                r = 0.5 * (t + Y2[k, ...])
            starts.append(v)
            res.append(r)
            v = v - HrT[k, ...] @ r
            if scale is not None:
                v = v * scale[k, :]
            v = v + kick[k, :]
        if len(res) < nb:
            if not res:
                return 0, w, c, q
            nb, m = len(res), len(res) * bs
            Xg, XA, es, P, Lam = Xg[:m, :], XA[:m, :], es[:m], P[:nb, ...], Lam[:nb, ...]
        er = es * xp.reshape(xp.stack(res), (m,))
        V0 = xp.stack(starts)

        def q_after(f: int) -> Array:
            """``q`` after the window's first ``f`` (exact) updates: ``−σu`` for the nonzero
            weights, ``q + Σ e_i r_i x_i`` for the zero ones."""
            taken = er[:f] @ Xg[:f, :]  # Σ e r x = −Σ w'
            return active * (-sigma * self.U.at(p + f - 1)) + (1.0 - active) * (q + taken)

        def first_break() -> int | None:
            """The first update of the window where the assumption fails (``None``: none)."""
            # nonzero weights: w_i has the sign of w - sum_j (e_j r_j x_j + λ_j σ) / Π_j (Π_j
            # the decays' product to update j, at least the window's): one whose bound stays
            # below Π·|w| cannot change sign.
            move = xp.abs(er) @ xp.abs(Xg) + self.U.f * (self.U.unit * xp.sum(self.etas[p : p + m]))
            low = xp.prod(P[:, -1, :], axis=0)  # (D,)
            at_risk = (active > 0) & (move >= low * xp.abs(w))
            risky = bool(xp.any(at_risk))
            if not risky and dense:
                return None
            ok = xp.ones((m,), dtype=xp.bool, device=dev)
            if risky:  # those weights, update by update
                cols = xp.nonzero(at_risk)[0]
                k = cols.shape[0]
                sig, sig_l = xp.take(sigma, cols), xp.take(sigma_l, cols)
                Pc, Lc = (
                    (P, Lam)
                    if P.shape[2] == 1
                    else (xp.take(P, cols, axis=2), xp.take(Lam, cols, axis=2))
                )
                G = xp.reshape(er, (m, 1)) / xp.reshape(Pc, (m, -1)) * xp.take(Xg, cols, axis=1)
                C = xp.cumulative_sum(xp.reshape(G, (nb, bs, k)), axis=1)
                start = xp.take(V0, cols, axis=1)
                Wall = xp.reshape(start, (nb, 1, k)) - C - Lc * sig_l  # sign of w_i
                ok = ok & xp.reshape(xp.all(sig * Wall > 0, axis=2), (m,))
            if not dense:
                zero = 1.0 - active
                M = -xp.reshape(er, (m, 1)) * Xg * zero  # the zero weights' gradient steps w'
                cum = xp.cumulative_sum(M, axis=0)
                Q = q - (cum - M)  # q before each update
                budget = self.U.rows(p, m) + xp.sign(M) * Q
                ok = ok & xp.all((xp.abs(M) <= budget) | (zero == 0), axis=1)
            if bool(xp.all(ok)):
                return None
            return int(xp.argmax(xp.astype(~ok, xp.int8)))

        bad = first_break()
        if bad is None:
            if dense:  # every weight was truncated normally: q = -σu
                return m, v[:d], v[d : d + 1], -sigma * self.U.at(p + m - 1)
            return m, v[:d], v[d : d + 1], q_after(m)
        if bad == 0:
            return 0, w, c, q
        # the updates before the first break were exact: the state after update bad - 1
        k, i = divmod(bad - 1, bs)
        lo, hi = k * bs, k * bs + i + 1
        G = xp.reshape(er[lo:hi], (i + 1, 1)) / P[k, : i + 1, :] * XA[lo:hi, :]
        wk = P[k, i, :] * (V0[k, :d] - xp.sum(G, axis=0) - Lam[k, i, :] * sigma_l)
        ck = V0[k, d : d + 1] - (xp.sum(er[lo:hi]) if self.fi else 0.0)
        return bad, wk, ck, q_after(bad)
