"""Nothing silently non-finite at the edges of the floating-point range (issue 22).

Property: for random shapes, float32 / float64, column and target scales from 1e-300 to
1e300 (1e-36 to 1e36 in float32) and malformed inputs, on NumPy and torch, every fit either
gives finite coefficients equal to the exact answer, or raises a clear ``ValueError`` /
``TypeError``; never a non-finite coefficient without an error.

Oracle: the data are ``Z * 10**kx`` (per column) and ``yb * 10**ky``; the minimum-norm
least-squares solution of the data as stored, brought back to ``Z``'s scale in float64, its
coefficients scaled by ``10**(ky - kx_j)`` in exact decimal arithmetic (the answer may lie
far outside float64).
Where that answer is beyond the dtype's range the fit must raise.
"""

from __future__ import annotations

import math
import re
import warnings
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression as SkLinear

import groundup as gu
from groundup.exceptions import RankDeficientWarning

torch = pytest.importorskip("torch")

LIBS = ["numpy", "torch"]
DTYPES = ["float32", "float64"]
#: The largest power of ten drawn for the scales, per dtype.
EXPONENT = {"float32": 36, "float64": 300}
#: Malformed inputs, with the words the error must contain.
BAD = {
    "nan": "NaN",
    "inf": "inf",
    "object": "string|float|numeric",
    "3d": "dim",
    "mismatch": "samples",
    "negative_weight": "sample_weight|weight",
    "nan_weight": "sample_weight|weight",
}
#: Odd but valid inputs: fitted, and compared with the oracle.
ODD = ["none", "none", "constant", "duplicate", "bool", "int", "zero_y"]


def _inputs(X, y, sw, lib: str) -> tuple[tuple, dict]:
    """``fit``'s arguments in ``lib`` (NumPy with ``backend=lib`` for an object array,
    which torch cannot hold)."""
    if lib == "torch" and X.dtype != object:
        X, y = torch.from_numpy(X), torch.from_numpy(y)
        sw = None if sw is None else torch.from_numpy(sw)
    return (X, y), {"sample_weight": sw}


@st.composite
def problems(draw, dtype: str):
    """A (possibly malformed) least-squares problem at the edges of ``dtype``'s range."""
    d = draw(st.integers(1, 4))
    fit_intercept = draw(st.booleans())
    n = d + 1 + int(fit_intercept) + draw(st.integers(0, 8))  # tall: a unique answer
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    top = EXPONENT[dtype]
    # Columns near one scale (two decades apart at most), or at opposite ends of the range
    # (both far outside the band the sums can hold). Columns decades apart inside the band
    # are a matter of conditioning (QR's and SVD's rank cut-off, as LAPACK's), not of range.
    if draw(st.booleans()):
        k0 = draw(st.integers(-top + 2, top - 2))
        kx = np.array(draw(st.lists(st.integers(k0 - 1, k0 + 1), min_size=d, max_size=d)))
    else:
        ends = st.integers(top - 10, top).flatmap(lambda k: st.sampled_from([k, -k]))
        kx = np.array(draw(st.lists(ends, min_size=d, max_size=d)))
    ky = draw(st.integers(-top, top))
    flaw = draw(st.sampled_from([*ODD, *BAD]))
    Z = rng.normal(size=(n, d))
    yb = Z @ rng.normal(size=d) + rng.normal() + 0.3 * rng.normal(size=n)
    sw = rng.uniform(0.5, 2.0, size=n) if draw(st.booleans()) else None
    if flaw == "constant":
        Z[:, -1] = rng.normal()
    if flaw == "duplicate" and d > 1:
        Z[:, 1], kx[1] = Z[:, 0], kx[0]
    X = Z * 10.0**kx
    if flaw in ("bool", "int"):
        kx[:] = 0
        X = Z > 0 if flaw == "bool" else np.round(10 * Z).astype(np.int64)
    else:
        X = X.astype(dtype)
    y = (np.zeros(n) if flaw == "zero_y" else yb * 10.0**ky).astype(dtype)
    if flaw in ("nan", "inf"):
        target = X if draw(st.booleans()) else y
        target.flat[draw(st.integers(0, target.size - 1))] = np.nan if flaw == "nan" else np.inf
    elif flaw == "object":
        X = X.astype(object)
        X[0, 0] = "a"
    elif flaw == "3d":
        X = X[:, :, None]
    elif flaw == "mismatch":
        y = y[:-1]
    elif flaw in ("negative_weight", "nan_weight"):
        sw = np.ones(n) if sw is None else sw
        sw[draw(st.integers(0, n - 1))] = -1.0 if flaw == "negative_weight" else np.nan
    if sw is not None:
        sw = sw.astype(dtype)
    return X, y, sw, kx, ky, fit_intercept, flaw


def _oracle(X, y, sw, kx, ky, fit_intercept, flaw):
    """The exact answer in ``Z``'s units (float64: coefficients and intercept), its decimal
    exponents ``log10 |coef_j|`` in the data's units, and the condition number of the
    centred design. The minimum-norm least-squares solution, a constant column's
    coefficient 0 (scikit-learn fits the rounding noise of its centred copy instead)."""
    Zr = np.asarray(X, dtype=np.float64) * 10.0**-kx
    yr = np.zeros(len(y)) if flaw == "zero_y" else np.asarray(y, dtype=np.float64) * 10.0**-ky
    w = np.ones(len(yr)) if sw is None else np.asarray(sw, dtype=np.float64)
    mx = np.average(Zr, axis=0, weights=w) if fit_intercept else np.zeros(Zr.shape[1])
    my = np.average(yr, weights=w) if fit_intercept else 0.0
    root = np.sqrt(w)[:, None]
    A, b = (Zr - mx) * root, (yr - my) * root[:, 0]
    keep = np.linalg.norm(A, axis=0) > 1e-9 * np.linalg.norm(Zr * root, axis=0)
    coef = np.zeros(Zr.shape[1])
    cond = 1.0
    if np.any(keep):
        coef[keep] = np.linalg.lstsq(A[:, keep], b, rcond=1e-10)[0]
        s = np.linalg.svd(A[:, keep], compute_uv=False)
        cond = s[0] / s[s > s[0] * 1e-10][-1]
    with np.errstate(divide="ignore"):
        mag = np.log10(np.abs(coef)) + (0 if flaw == "zero_y" else ky) - kx
    return coef, my - mx @ coef, mag, cond


def _in_data_units(value: float, exponent: int) -> float:
    """``value * 10**exponent``, exactly, as a float64 (of ``Z``'s units)."""
    return float(Decimal(value).scaleb(exponent))


def _check_error(err: Exception, pattern: str) -> None:
    assert isinstance(err, (ValueError, TypeError)), repr(err)
    assert re.search(pattern, str(err)), str(err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lib", LIBS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_closed_forms_fit_exactly_or_raise(lib: str, dtype: str, data) -> None:
    X, y, sw, kx, ky, fit_intercept, flaw = data.draw(problems(dtype))
    method = data.draw(st.sampled_from(["normal", "beta"]))
    solver = data.draw(st.sampled_from(["auto", "qr", "svd"])) if method == "normal" else "auto"
    args, kw = _inputs(X, y, sw, lib)
    est = gu.LinearRegression(
        method=method, solver=solver, fit_intercept=fit_intercept, backend=lib
    )
    if flaw in BAD:
        with pytest.raises((ValueError, TypeError)) as err:
            est.fit(*args, **kw)
        _check_error(err.value, BAD[flaw])
        return
    ref_coef, ref_intercept, mag, cond = _oracle(X, y, sw, kx, ky, fit_intercept, flaw)
    fi = np.finfo(np.dtype(dtype) if flaw not in ("bool", "int") else np.float64)
    limit = math.log10(fi.max)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RankDeficientWarning)
            est.fit(*args, **kw)
    except ValueError as err:  # only an answer beyond the dtype's range may fail
        assert np.any(mag > limit - 0.5), f"representable answer, yet: {err}"  # noqa: PT017
        _check_error(err, "range")
        return
    coef = np.asarray(est.coef_, dtype=np.float64)
    intercept = float(est.intercept_)
    assert np.all(np.isfinite(coef))
    assert math.isfinite(intercept)
    assert not np.any(mag > limit + 0.5), "a coefficient beyond the dtype's range fitted"
    # In Z's units (exact decimal rescaling), against scikit-learn on Z.
    shift = 0 if flaw == "zero_y" else ky
    normal = mag > math.log10(fi.smallest_normal) + 1  # subnormal answers: finite is enough
    got = np.array([_in_data_units(c, int(k) - shift) for c, k in zip(coef, kx, strict=True)])
    tol = 50 * float(fi.eps) * cond**2 * (1.0 + np.max(np.abs(ref_coef)))
    if flaw == "duplicate":  # the minimum-norm split between equal columns: as the SVD's
        tol *= 1e3  # null direction rounds (seen: 5.8e-12 against 2.7e-13 on torch)
    np.testing.assert_allclose(got[normal], ref_coef[normal], rtol=0, atol=tol)
    b = _in_data_units(intercept, -shift)
    size = np.max(np.abs(np.asarray(X, dtype=np.float64) * 10.0**-kx))
    assert b == pytest.approx(ref_intercept, abs=tol * (1.0 + size) + 1e-12)


def _mean_curvature(X, sw, fit_intercept: bool) -> Decimal:
    """``T = sum_i w_i (|x_i|^2 + fit_intercept) / sum_i w_i``, exactly (the trace of the
    Gram matrix of ``[X, 1]`` over the weight): ``eta0="auto"`` lies in ``[1/(n T),
    (d + 1)/T]`` (``1/L`` for the Gram's largest eigenvalue L, or for the largest row)."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if sw is None else np.asarray(sw, dtype=np.float64)
    rows = [sum(Decimal(v) ** 2 for v in row) + int(fit_intercept) for row in X]
    return sum(Decimal(wi) * r for wi, r in zip(w, rows, strict=True)) / Decimal(w.sum())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lib", LIBS)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_gradient_methods_fit_finite_or_raise(lib: str, dtype: str, data) -> None:
    """``eta0="auto"`` at the edges: the step its rule gives, computed without overflow or
    underflow, and finite coefficients; or a clear error (the step, or the loss, beyond the
    dtype's range)."""
    X, y, sw, _, _, fit_intercept, flaw = data.draw(problems(dtype))
    method = data.draw(st.sampled_from(["batch", "sgd", "minibatch"]))
    pre = data.draw(st.booleans())  # the textbook rule's step checked; preconditioned: finite
    args, kw = _inputs(X, y, sw, lib)
    est = gu.LinearRegression(
        method=method,
        fit_intercept=fit_intercept,
        max_iter=3,
        tol=None,
        backend=lib,
        precondition=pre,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(*args, **kw)
    except (ValueError, TypeError) as err:
        _check_error(err, BAD.get(flaw, "range|overflow|diverged"))
        return
    assert flaw not in BAD
    fi = np.finfo(np.asarray(est.coef_).dtype)
    T = _mean_curvature(X, sw, fit_intercept)
    n, d = X.shape
    if T > 0 and not pre:
        assert Decimal(1) / (n * T) <= Decimal(float(fi.max)), "a step beyond the dtype fitted"
        assert Decimal(d + 1) / T >= Decimal(float(fi.tiny)) / 2, "a step beyond the dtype"
        assert Decimal(0.5) / n <= Decimal(est.eta0_) * T <= Decimal(2 * (d + 1))
    assert np.all(np.isfinite(np.asarray(est.coef_)))
    assert math.isfinite(float(est.intercept_))


@pytest.mark.parametrize("lib", LIBS)
def test_a_subnormal_gram_is_certified(lib: str) -> None:
    """Hypothesis's example (seen 2026-12-06): X ~ 1e-153 without an intercept, so the Gram
    matrix's entries are subnormal and the certificate's equilibration ``s_i s_j`` overflowed
    to inf; ``eigh`` then raised (NumPy, torch, array_api_strict alike) instead of a verdict."""
    X = np.array(
        [
            [1.25730221e-155, -1.32104863e-153, 6.40422650e-155],
            [1.04900117e-155, -5.35669373e-153, 3.61595055e-155],
            [1.30400005e-154, 9.47080963e-153, -7.03735236e-155],
            [-1.26542147e-154, -6.23274463e-153, 4.13259793e-156],
        ]
    )
    y = np.array([-1.95687783, -1.40436865, -2.97104041, 2.60750929])
    args, kw = _inputs(X, y, None, lib)
    est = gu.LinearRegression(
        method="batch", fit_intercept=False, max_iter=3, tol=None, backend=lib, precondition=False
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(*args, **kw)
    assert np.all(np.isfinite(np.asarray(est.coef_)))
    assert est.converged_ is False  # three epochs of a step of 1/L from zero: far from it
    assert est._excess > 0.01


def test_the_issues_36_small_cases():
    """n in {2, 3, 5}, X x {1e300, 1e-300}, y x {1, 1e200, 0}, normal and beta: 20 of 36 gave
    NaN / inf silently; now the 30 representable ones equal scikit-learn's and the 6 whose
    slope (about 1e500) is beyond float64 raise."""
    raised = 0
    for method in ("normal", "beta"):
        for n in (2, 3, 5):
            rng = np.random.default_rng(1)
            X, y = rng.standard_normal((n, 1)), rng.standard_normal(n)
            ref = SkLinear().fit(X, y)
            for xs in (1e300, 1e-300):
                for ys in (1.0, 1e200, 0.0):
                    if xs == 1e-300 and ys == 1e200:
                        with pytest.raises(ValueError, match="beyond float64's range"):
                            gu.fit(X * xs, y * ys, method=method)
                        raised += 1
                        continue
                    est = gu.fit(X * xs, y * ys, method=method)
                    np.testing.assert_allclose(est.coef_ * xs, ref.coef_ * ys, rtol=1e-9)
                    assert float(est.intercept_) == pytest.approx(ref.intercept_ * ys, rel=1e-9)
    assert raised == 6


def _flat(tree, prefix: str = "") -> dict:
    if isinstance(tree, dict):
        return {k: v for key, sub in tree.items() for k, v in _flat(sub, f"{prefix}/{key}").items()}
    if isinstance(tree, (list, tuple)):
        return {k: v for i, sub in enumerate(tree) for k, v in _flat(sub, f"{prefix}/{i}").items()}
    return {prefix: tree}


def _report(X: np.ndarray, y: np.ndarray) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _flat(gu.diagnose(gu.fit(X, y), X, y).to_dict())


@settings(max_examples=5, deadline=None)
@given(
    kx=st.lists(st.integers(-1000, 1000), min_size=2, max_size=2),
    ky=st.integers(-1000, 1000),
)
def test_diagnose_at_the_edges_of_float64(kx: list[int], ky: int) -> None:
    """``diagnose`` on ``X * 2**kx`` (per column) and ``y * 2**ky``: every statistic the same
    as on ``X``, ``y``; those in the data's units (coefficients, standard errors, intervals,
    sums of squares, fitted values, residuals) scaled exactly (``inf`` only where the value
    itself is beyond float64); the log-likelihood shifted by ``-n ky log 2``."""
    if max(abs(ky - k) for k in kx) > 1000:  # a slope beyond float64: fit raises (above)
        return
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = X @ [1.0, 2.0] + 0.5 + rng.standard_normal(40)
    base, got = _report(X, y), _report(np.ldexp(X, kx), np.ldexp(y, ky))
    with np.errstate(over="ignore", under="ignore"):  # inf where the value is beyond float64
        _compare_reports(base, got, kx, ky)


def _compare_reports(base: dict, got: dict, kx: list[int], ky: int) -> None:
    # The notes may add one (on the scaling); the condition number is the raw design's.
    skip = ("/notes/", "/fit/condition_number", "/fit/min_eigenvalue")
    base = {k: v for k, v in base.items() if not k.startswith(skip)}
    assert set(base) <= set(got)
    units = {"/const/": ky, "/x1/": ky - kx[0], "/x2/": ky - kx[1]}
    shift = 40 * ky * math.log(2.0)
    for key, value in base.items():
        if not isinstance(value, float):
            assert got[key] == value, key
            continue
        if key.endswith(("/coef", "/std_err", "/ci_low", "/ci_high")):
            want = np.ldexp(value, next(k for part, k in units.items() if part in key))
        elif key.endswith(("/ssr", "/ols_ssr", "/scale")):
            want = np.ldexp(value, 2 * ky)
        elif key.startswith(("/influence/fitted/", "/influence/residual/")):
            want = np.ldexp(value, ky)
        elif key.endswith(("/log_likelihood", "/aic", "/bic")):
            want = value - shift if key.endswith("likelihood") else value + 2 * shift
        else:
            want = value
        assert got[key] == pytest.approx(want, rel=1e-9, abs=1e-12, nan_ok=True), key


@pytest.mark.parametrize("kx", [-1000, -500, 500, 1000])
def test_diagnose_logistic_at_the_edges_of_float64(kx: int) -> None:
    """The logistic report of ``X * 2**kx`` with the model's slopes times ``2**-kx``: the
    same z, p-values and likelihoods, coefficients and standard errors scaled exactly."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 2))
    y = (X @ [1.0, 2.0] + rng.standard_normal(60) > 0).astype(int)
    model = gu.fit(X, y, model="logistic", method="newton")
    base = gu.diagnose(model, X, y)
    model.coef_ = np.ldexp(model.coef_, -kx)
    got = gu.diagnose(model, np.ldexp(X, kx), y)
    k = np.array([0, -kx, -kx])
    for key in ("coef", "std_err", "ci_low", "ci_high"):
        np.testing.assert_allclose(got.table[key], np.ldexp(base.table[key], k), rtol=1e-9)
    for key in ("statistic", "p_value"):
        np.testing.assert_allclose(got.table[key], base.table[key], rtol=1e-9)
    assert got.fit["log_likelihood"] == pytest.approx(base.fit["log_likelihood"], rel=1e-12)
