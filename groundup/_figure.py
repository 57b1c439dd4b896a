"""The matplotlib Figure every groundup plot returns: an ordinary
:class:`matplotlib.figure.Figure`, made without ``pyplot`` (no global backend, no figure
list), that Jupyter shows inline as a PNG when it is the last expression of a cell or passed
to ``display`` (its ``_repr_png_``) — with or without ``%matplotlib inline``.

Imported only by the plotting modules, so fitting never imports matplotlib.
"""

from __future__ import annotations

import io
import math
from typing import Any

from matplotlib.figure import Figure

__all__ = ["PlotFigure", "new_figure", "plain_log"]


class PlotFigure(Figure):
    """A :class:`matplotlib.figure.Figure` that notebooks display inline."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def new_figure(**kwargs: Any) -> PlotFigure:
    """A new figure (constrained layout unless ``layout`` says otherwise)."""
    kwargs.setdefault("layout", "constrained")
    return PlotFigure(**kwargs)


def plain_log(ax: Any, which: str = "y") -> None:
    """Log scale on ``which`` axis with ticks written as plain numbers (0.9, 1, 20, 1e+04);
    minor ticks are labelled only where the axis spans less than a decade (at 2, 3 and 5
    times a power of ten unless it spans less than a factor of 3)."""
    from matplotlib import ticker

    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    lo, hi = ax.get_ylim() if which == "y" else ax.get_xlim()
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:.3g}"))
    span = hi / lo if lo > 0 else math.inf

    def minor(v: float, _: Any) -> str:
        if span < 3:
            return f"{v:.3g}"
        mantissa = round(v / 10 ** math.floor(math.log10(v)), 6)
        return f"{v:.3g}" if mantissa in (2.0, 3.0, 5.0) else ""

    axis.set_minor_formatter(ticker.FuncFormatter(minor) if span < 10 else ticker.NullFormatter())
