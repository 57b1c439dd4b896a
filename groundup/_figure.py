"""The matplotlib Figure every groundup plot returns: an ordinary
:class:`matplotlib.figure.Figure`, made without ``pyplot`` (no global backend, no figure
list), that Jupyter shows inline as a PNG when it is the last expression of a cell or passed
to ``display`` (its ``_repr_png_``) — with or without ``%matplotlib inline``.

Imported only by the plotting modules, so fitting never imports matplotlib.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.figure import Figure

__all__ = ["PlotFigure", "new_figure"]


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
