"""Choropleth maps of the indicators (专题图): class breaks, colours and the server-side PNG.

Pure functions over numbers and shapely geometries (no Flask, no database):

- :func:`class_breaks` — class upper bounds by one of the schemes managers know, computed by
  mapclassify: 分位数 quantiles, 自然断点 natural breaks (Fisher–Jenks, deterministic), 等间距
  equal interval;
- :func:`classify` — the class of each value (``None`` for a missing value: no case was due);
- :func:`palette` — ``k`` colours, red for the bad end of the measure and green for the good end;
- :func:`render_png` — the map as a PNG (matplotlib, Agg): title, the period, a legend with the
  breaks and the count per class, a scale bar drawn in the map's metric CRS.

The service :mod:`gridroute.services.maps` joins indicator values to the grid's geometries and
calls these for the dashboard page, its exports and the bench.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

SCHEMES = ("quantiles", "natural_breaks", "equal_interval")
MIN_CLASSES, MAX_CLASSES = 2, 7
# Fisher–Jenks is O(n² k) (pure Python without numba: 0.2 s for 200 values, 1.5 s for 500):
# above this many distinct values it runs on an evenly spaced sample of the sorted distinct
# values (deterministic, unlike mapclassify's random sampling).
JENKS_SAMPLE = 200

# ColorBrewer RdYlGn, 7 classes: red (bad) → green (good)
_RdYlGn = ("#d73027", "#fc8d59", "#fee08b", "#ffffbf", "#d9ef8b", "#91cf60", "#1a9850")
NO_DATA_COLOUR = "#e4e7eb"


def class_breaks(values: Sequence[float | None], scheme: str = "quantiles",
                 k: int = 5) -> list[float]:
    """Upper bounds of the classes (the last is the maximum) of the values that are not None.

    Fewer distinct values than ``k`` give one class per distinct value; no value at all gives
    no class. Raises ValueError for an unknown scheme or a ``k`` outside 2–7."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}")
    if not MIN_CLASSES <= k <= MAX_CLASSES:
        raise ValueError(f"k must be between {MIN_CLASSES} and {MAX_CLASSES}")
    y = np.asarray([v for v in values if v is not None and not _isnan(v)], dtype="float64")
    if not len(y):
        return []
    distinct = np.unique(y)
    if len(distinct) <= k:
        return [float(v) for v in distinct]
    import mapclassify

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "not enough unique values": handled above
        if scheme == "quantiles":
            bins = mapclassify.Quantiles(y, k=k).bins
        elif scheme == "equal_interval":
            bins = mapclassify.EqualInterval(y, k=k).bins
        else:
            sample = distinct
            if len(sample) > JENKS_SAMPLE:
                sample = sample[np.linspace(0, len(sample) - 1, JENKS_SAMPLE).round().astype(int)]
            bins = mapclassify.FisherJenks(sample, k=k).bins
    out: list[float] = []
    for b in bins:
        b = float(b)
        if not out or b > out[-1]:
            out.append(b)
    out[-1] = max(out[-1], float(y.max()))
    return out


def classify(values: Sequence[float | None], breaks: Sequence[float]) -> list[int | None]:
    """Index of each value's class: the first break at or above it (None when missing)."""
    if not len(breaks):
        return [None] * len(values)
    bounds = np.asarray(breaks, dtype="float64")
    y = np.asarray([np.nan if v is None else v for v in values], dtype="float64")
    idx = np.minimum(np.searchsorted(bounds, y, side="left"), len(bounds) - 1)
    missing = np.isnan(y)
    return [None if m else int(i) for i, m in zip(idx.tolist(), missing.tolist())]


def palette(k: int, *, higher_is_better: bool = True) -> list[str]:
    """``k`` colours from the bad end to the good end of the measure, lowest class first."""
    if k <= 0:
        return []
    idx = np.linspace(0, len(_RdYlGn) - 1, k).round().astype(int) if k > 1 else np.array([6])
    colours = [_RdYlGn[i] for i in idx]
    return colours if higher_is_better else colours[::-1]


@dataclass(frozen=True)
class LegendEntry:
    colour: str
    label: str
    count: int


def legend_entries(breaks: Sequence[float], classes: Sequence[int | None], colours: Sequence[str],
                   fmt, no_data_label: str) -> list[LegendEntry]:
    """One entry per class, "low – high" formatted by ``fmt``, with how many areas fall in it,
    and one for the areas with no value when there are any."""
    counts = [0] * len(breaks)
    missing = 0
    for c in classes:
        if c is None:
            missing += 1
        else:
            counts[c] += 1
    entries = []
    low = None
    for i, high in enumerate(breaks):
        label = fmt(high) if low is None else f"{fmt(low)} – {fmt(high)}"
        if low is None and len(breaks) > 1:
            label = f"≤ {fmt(high)}"
        entries.append(LegendEntry(colours[i], label, counts[i]))
        low = high
    if missing:
        entries.append(LegendEntry(NO_DATA_COLOUR, no_data_label, missing))
    return entries


def nice_scale_length(width_m: float) -> float:
    """A round length (1, 2 or 5 × 10ⁿ metres) near a fifth of the map's width."""
    target = max(width_m / 5.0, 1.0)
    power = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * power <= target:
            return float(step * power)
    return float(power)


def _scale_label(length_m: float) -> str:
    return f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m:g} m"


#: Above this many polygons the map body is rasterised with Pillow (one C call per polygon)
#: instead of matplotlib's PolyCollection (antialiased vector paths): 50,000 cells draw in
#: ~0.4 s instead of ~3 s. Cells that small are a few pixels wide, where antialiasing shows
#: nothing.
RASTER_FROM = 5_000
_AXES = (0.02, 0.04, 0.70, 0.84)  # the map's box in figure fractions (left, bottom, w, h)


def _ring_coordinates(geometries):
    """All exterior-ring vertices of every polygon part, the part each vertex belongs to, and
    the geometry each part belongs to (a multipolygon gives one part per polygon)."""
    import shapely

    geoms = np.asarray(geometries, dtype=object)
    if len(geoms) and (shapely.get_type_id(geoms) == 3).all():  # polygons only: no parts
        parts, owner = geoms, np.arange(len(geoms))
    else:
        parts, owner = shapely.get_parts(geoms, return_index=True)
    coords, part_of = shapely.get_coordinates(shapely.get_exterior_ring(parts),
                                              return_index=True)
    return coords, part_of, owner


def _extent(coords: np.ndarray, aspect: float) -> tuple[float, float, float, float]:
    """Bounds of the vertices with a 2 % margin, widened to the axes' width/height ratio (so
    one metre is as long across as up)."""
    xmin, ymin = coords.min(axis=0)
    xmax, ymax = coords.max(axis=0)
    pad = max(xmax - xmin, ymax - ymin) * 0.02 or 10.0
    xmin, xmax, ymin, ymax = xmin - pad, xmax + pad, ymin - pad, ymax + pad
    dx, dy = xmax - xmin, ymax - ymin
    if dx / dy > aspect:
        grow = dx / aspect - dy
        ymin, ymax = ymin - grow / 2, ymax + grow / 2
    else:
        grow = dy * aspect - dx
        xmin, xmax = xmin - grow / 2, xmax + grow / 2
    return xmin, xmax, ymin, ymax


def _raster(coords, part_of, owner, colours, extent, size) -> "object":
    """The polygons filled with Pillow on a transparent image of ``size`` pixels."""
    from PIL import Image, ImageDraw

    width, height = size
    xmin, xmax, ymin, ymax = extent
    scale = width / (xmax - xmin)
    px = np.empty_like(coords)
    px[:, 0] = (coords[:, 0] - xmin) * scale
    px[:, 1] = (ymax - coords[:, 1]) * scale
    starts = np.flatnonzero(np.r_[True, part_of[1:] != part_of[:-1]])
    ends = np.r_[starts[1:], len(px)]
    flat = px.ravel().tolist()
    fills = [colours[i] for i in owner[part_of[starts]].tolist()]
    outline = "#ffffff" if width * height / max(len(starts), 1) >= 400 else None
    image = Image.new("RGBA", (width, height), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    for a, b, fill in zip(starts.tolist(), ends.tolist(), fills):
        draw.polygon(flat[2 * a:2 * b], fill=fill, outline=outline)
    return image


def render_png(geometries, colours: Sequence[str], *, title: str, subtitle: str,
               legend: Sequence[LegendEntry], legend_title: str, width_px: int = 1600,
               height_px: int = 1200, dpi: int = 160, font_family: Sequence[str] = ()) -> bytes:
    """The map as PNG bytes: each geometry (shapely, in a metric CRS) filled with its colour,
    with the title, the subtitle (the period), the legend, a north arrow and a scale bar
    measured in the geometries' own metres. ``width_px`` × ``height_px`` is the image size."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    rc = {"font.family": list(font_family) + ["DejaVu Sans"]} if font_family else {}
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
        ax = fig.add_axes(_AXES)
        ax.set_axis_off()
        ax.set_zorder(2)  # the scale bar over a rasterised map body
        box = (round(width_px * _AXES[2]), round(height_px * _AXES[3]))
        coords, part_of, owner = _ring_coordinates(geometries)
        if len(coords):
            extent = _extent(coords, box[0] / box[1])
            xmin, xmax, ymin, ymax = extent
            if len(owner) >= RASTER_FROM:
                # placed pixel for pixel on the axes' box: no resampling
                fig.figimage(_raster(coords, part_of, owner, colours, extent, box),
                             xo=round(width_px * _AXES[0]), yo=round(height_px * _AXES[1]),
                             origin="upper", zorder=1)
            else:
                cuts = np.flatnonzero(np.diff(part_of)) + 1
                faces = [colours[i] for i in owner[np.unique(part_of)].tolist()]
                ax.add_collection(PolyCollection(np.split(coords, cuts), facecolors=faces,
                                                 edgecolors="#ffffff", linewidths=0.5))
            ax.set_xlim(xmin, xmax)
            ax.set_ylim(ymin, ymax)
            ax.set_aspect("equal")
            # scale bar, lower left, in the CRS's metres: half black, half white
            span = xmax - xmin
            length = nice_scale_length(span * 0.8)
            x0, y0 = xmin + span * 0.02, ymin + (ymax - ymin) * 0.02
            height = (ymax - ymin) * 0.008
            ax.add_patch(Rectangle((x0, y0), length, height, facecolor="#1d2733",
                                   edgecolor="#1d2733", zorder=5))
            ax.add_patch(Rectangle((x0 + length / 2, y0), length / 2, height,
                                   facecolor="#ffffff", edgecolor="#1d2733", zorder=6))
            for x, label in ((x0, "0"), (x0 + length, _scale_label(length))):
                ax.text(x, y0 + height * 2, label, fontsize=8, ha="center", va="bottom",
                        zorder=7)
        fig.text(0.02, 0.965, title, fontsize=15, va="top")
        fig.text(0.02, 0.915, subtitle, fontsize=10, va="top", color="#44505c")
        handles = [Patch(facecolor=e.colour, edgecolor="#8a949e", label=f"{e.label}  ({e.count})")
                   for e in legend]
        if handles:
            fig.legend(handles=handles, title=legend_title, loc="upper left",
                       bbox_to_anchor=(0.74, 0.86), frameon=False, fontsize=9,
                       title_fontsize=10, alignment="left")
        fig.text(0.70, 0.86, "N ↑", fontsize=10, ha="right", va="top")
        out = io.BytesIO()
        fig.savefig(out, format="png", dpi=dpi)
    return out.getvalue()


def _isnan(v) -> bool:
    try:
        return math.isnan(v)
    except TypeError:
        return False
