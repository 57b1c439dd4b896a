"""The matplotlib Figure every groundup plot returns: made without ``pyplot`` (no global
backend, no figure list), shown inline by Jupyter as a PNG (``_repr_png_``). Imported only by
the plotting modules, so fitting never imports matplotlib.
"""

from __future__ import annotations

import io
import math
from typing import Any

from matplotlib.figure import Figure

__all__ = ["PlotFigure", "epoch_axis", "new_figure", "plain_log"]


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
    """Log scale on ``which`` axis with ticks as plain numbers (0.9, 1, 20, 1e+04; 1.005,
    1.01 on a narrow range), minor ticks labelled where under two powers of ten are in view."""
    from matplotlib import ticker

    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")

    def plain(v: float, _: Any = None) -> str:
        low, high = sorted(axis.get_view_interval())  # the limits when the ticks are drawn
        digits = 3 if not 0 < low < high else max(3, math.ceil(math.log10(high / (high - low))) + 2)
        return f"{v:.{digits}g}"

    axis.set_major_formatter(ticker.FuncFormatter(plain))

    def minor(v: float, _: Any) -> str:
        low, high = sorted(axis.get_view_interval())
        if not 0 < low < high or math.floor(math.log10(high)) - math.ceil(math.log10(low)) >= 1:
            return ""  # two powers of ten or more are labelled
        if high / low < 3:
            return plain(v)
        mantissa = round(v / 10 ** math.floor(math.log10(v)), 6)
        return plain(v) if mantissa in (2.0, 3.0, 5.0) else ""

    axis.set_minor_formatter(ticker.FuncFormatter(minor))


def epoch_axis(ax: Any) -> None:
    """Label ``ax``'s x axis "epoch", with whole-number ticks only (never 2.5)."""
    from matplotlib import ticker

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))
