"""Batch locating of a CSV of points, column by column (批量网格定位).

Input: columns ``id,lon,lat`` and optionally ``crs`` (any order, case-insensitive header).
Output: ``id,cell_code,community_code,street_code,district_code,status,distance_m``.

The file is read with pyarrow as one string column of physical lines (row *i* is line *i + 1*),
split on commas and checked with array operations; numbers that are not plain decimals go
through Python's ``float`` so that what is accepted and the messages stay those of the
row-by-row reader this replaced. A file with quote characters (quoted fields may hold commas
and line breaks) is read with the ``csv`` module instead: same checks, same line numbers (the
line a record ends on). Rows that cannot be used are reported as ``(line, "field: reason")``.
"""
from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from gridroute.grids.coords import UnknownCRSError, normalize_crs, to_working

__all__ = ["BatchInputError", "LocateSummary", "OUTPUT_COLUMNS", "locate_csv"]

OUTPUT_COLUMNS = ["id", "cell_code", "community_code", "street_code", "district_code",
                  "status", "distance_m"]
_GEOGRAPHIC_NAMES = ("wgs84", "gcj02", "bd09")
_PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_SEPARATOR = "\x01"  # a byte no CSV of points holds: each physical line becomes one value


class BatchInputError(Exception):
    """The input as a whole cannot be used (not UTF-8, no header, missing columns)."""


@dataclass
class LocateSummary:
    counts: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def located(self) -> int:
        return sum(self.counts.values())


@dataclass
class _Columns:
    """The raw text of the fields, one entry per non-blank data row."""

    lines: np.ndarray
    ids: object  # pyarrow string array
    lon: list | object
    lat: list | object
    crs: list | object | None
    arrow: bool  # fast path: pyarrow arrays; else Python lists


def _decode(path: Path, encoding: str) -> bytes:
    raw = path.read_bytes()
    name = encoding.lower().replace("_", "-")
    try:
        if name in ("utf-8", "utf8", "utf-8-sig"):
            raw.decode("utf-8")
            return raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
        text = raw.decode(encoding)
    except UnicodeDecodeError:
        hint = " (try --encoding gbk)" if name in ("utf-8", "utf8", "utf-8-sig") else ""
        raise BatchInputError(f"{path}: not {'UTF-8' if hint else encoding}{hint}") from None
    except LookupError:
        raise BatchInputError(f"unknown encoding {encoding!r}") from None
    return text.lstrip("\ufeff").encode("utf-8")


def _header(path: Path, raw: bytes) -> dict[str, int]:
    first = raw.split(b"\n", 1)[0].split(b"\r", 1)[0].decode("utf-8")
    header = next(csv.reader([first]), None) if raw else None
    if header is None:
        raise BatchInputError(f"{path}: empty file (expected header id,lon,lat)")
    cols = {name.strip().lower(): i for i, name in enumerate(header)}
    missing = [c for c in ("id", "lon", "lat") if c not in cols]
    if missing:
        raise BatchInputError(
            f"{path}:1: missing column(s) {', '.join(missing)} (expected id,lon,lat[,crs])")
    return cols


def _skip_pandas_probe() -> None:
    """pyarrow looks for pandas on its first array conversion and imports it (half a second
    of CPU, most of a cached run's start-up); nothing here uses pandas objects. Let that first
    probe fail: pyarrow tries again when something needs pandas, and pandas imports normally."""
    import sys

    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    class _NoPandas:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "pandas" or name.startswith("pandas."):
                raise ImportError("pandas is not imported by gridroute locate")
            return None

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


def _read_fields(raw: bytes, cols: dict[str, int]) -> _Columns | None:
    """The usual file, read by pyarrow's CSV parser into one string column per field: every
    line a row with exactly the header's number of fields (no blank line, none short or
    long), so that row *i* is line *i + 2*. None for any other file (read line by line)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    first = raw.split(b"\n", 1)[0].split(b"\r", 1)[0]
    width = first.count(b",") + 1
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char=False,
                                             escape_char=False, ignore_empty_lines=False,
                                             newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                column_types={f"f{i}": pa.string() for i in range(width)},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if table.num_columns != width or table.num_rows == 0 \
            or any(t != pa.string() for t in table.schema.types):
        return None
    fields = [table.column(i).combine_chunks() for i in range(width)]
    del table
    number = np.arange(2, len(fields[0]) + 2, dtype=np.int64)
    lon = fields[cols["lon"]]
    maybe_blank = pc.equal(pc.utf8_trim_whitespace(lon), "")
    if pc.any(maybe_blank).as_py():  # rows of commas and spaces only are skipped
        blank = maybe_blank
        for f in fields:
            blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(f), ""))
        keep = pc.invert(blank)
        fields = [pc.filter(f, keep) for f in fields]
        number = number[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]

    def column(name):
        i = cols.get(name)
        return None if i is None else fields[i]

    return _Columns(number, column("id"), column("lon"), column("lat"), column("crs"),
                    arrow=True)


def _read_arrow(raw: bytes, cols: dict[str, int]) -> _Columns:
    fields = _read_fields(raw, cols)
    if fields is not None:
        return fields
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(
        io.BytesIO(raw),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True),
        parse_options=pacsv.ParseOptions(delimiter=_SEPARATOR, quote_char=False,
                                         escape_char=False, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(column_types={"f0": pa.string()},
                                             strings_can_be_null=False))
    lines = table.column("f0").combine_chunks()[1:]  # row 0 is the header
    number = np.arange(2, len(lines) + 2, dtype=np.int64)
    blank = pc.equal(pc.utf8_trim_whitespace(pc.replace_substring(lines, ",", "")), "")
    keep = pc.invert(blank)
    lines = pc.filter(lines, keep)
    number = number[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    width = max(cols.values()) + 1
    padded = pc.binary_join_element_wise(lines, pa.scalar("," * width), "")
    parts = pc.split_pattern(padded, ",")

    def column(name):
        i = cols.get(name)
        return None if i is None else pc.list_element(parts, i)

    return _Columns(number, column("id"), column("lon"), column("lat"), column("crs"),
                    arrow=True)


def _read_python(raw: bytes, cols: dict[str, int]) -> _Columns:
    import pyarrow as pa

    reader = csv.reader(io.StringIO(raw.decode("utf-8"), newline=""))
    next(reader, None)
    lines, fields = [], {k: [] for k in ("id", "lon", "lat", "crs")}
    for row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        lines.append(reader.line_num)
        for name in fields:
            i = cols.get(name)
            fields[name].append(row[i] if i is not None and i < len(row) else "")
    return _Columns(np.asarray(lines, dtype=np.int64), pa.array(fields["id"], pa.string()),
                    fields["lon"], fields["lat"],
                    fields["crs"] if "crs" in cols else None, arrow=False)


def _numbers(values, arrow: bool, field_name: str, problems: list) -> tuple[np.ndarray, np.ndarray]:
    """Floats and a validity mask; problems get (row index, order, message)."""
    if arrow:
        import pyarrow.compute as pc

        trimmed = pc.utf8_trim_whitespace(values)
        plain = pc.match_substring_regex(trimmed, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
        plain = np.asarray(plain, dtype=bool)
        out = np.full(len(values), np.nan)
        if plain.any():
            out[plain] = pc.cast(pc.filter(trimmed, plain), "float64").to_numpy()
        odd = np.flatnonzero(~plain)
        texts = pc.take(values, odd).to_pylist() if len(odd) else []
    else:
        out = np.full(len(values), np.nan)
        odd = np.arange(len(values))
        texts = values
        plain = np.zeros(len(values), dtype=bool)
    ok = plain.copy()
    order = 0 if field_name == "lon" else 1
    for i, raw in zip(odd.tolist(), texts):
        if raw is None or raw.strip() == "":
            problems.append((i, order, f"{field_name}: missing"))
            continue
        try:
            value = float(raw)
        except ValueError:
            problems.append((i, order, f"{field_name}: not a number: {raw.strip()!r}"))
            continue
        if not math.isfinite(value):
            problems.append((i, order, f"{field_name}: not a finite number: {raw.strip()!r}"))
            continue
        out[i] = value
        ok[i] = True
    return out, ok


class _CrsNames:
    """Normalised CRS names and whether they are longitude/latitude, memoised."""

    def __init__(self) -> None:
        self._names: dict[str, str | None] = {}
        self._geo: dict[str, bool] = {}

    def normalize(self, text: str) -> str | None:
        if text not in self._names:
            try:
                self._names[text] = normalize_crs(text)
            except UnknownCRSError:
                self._names[text] = None
        return self._names[text]

    def geographic(self, name: str) -> bool:
        if name not in self._geo:
            if name in _GEOGRAPHIC_NAMES:
                self._geo[name] = True
            else:
                import pyproj

                self._geo[name] = bool(pyproj.CRS.from_user_input(name).is_geographic)
        return self._geo[name]


def _crs_codes(columns: _Columns, default_name: str, names: _CrsNames,
               problems: list) -> tuple[np.ndarray, list[str | None]]:
    """Per row an index into the returned list of CRS names (None: unknown)."""
    n = len(columns.lines)
    if columns.crs is None:
        return np.zeros(n, dtype=np.int64), [default_name]
    if columns.arrow:
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(pc.utf8_trim_whitespace(columns.crs)).combine_chunks() \
            if hasattr(columns.crs, "combine_chunks") else \
            pc.dictionary_encode(pc.utf8_trim_whitespace(columns.crs))
        texts = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        texts, lookup, codes = [], {}, np.empty(n, dtype=np.int64)
        for i, v in enumerate(columns.crs):
            v = v.strip()
            if v not in lookup:
                lookup[v] = len(texts)
                texts.append(v)
            codes[i] = lookup[v]
    resolved = [default_name if t == "" else names.normalize(t) for t in texts]
    for k, (text, name) in enumerate(zip(texts, resolved)):
        if name is None:
            for i in np.flatnonzero(codes == k).tolist():
                problems.append((i, 2, f"crs: unknown coordinate system {text!r}"))
    return codes, resolved


def _format_distances(status: np.ndarray, dist: np.ndarray):
    """The distance column as an Arrow string array: "" outside, "0.00" at distance 0, else
    the distance rounded to centimetres; only the few non-zero distances are formatted (an
    object array of a million strings took longer than locating the points)."""
    import pyarrow as pa

    odd = np.flatnonzero((status != 3) & (dist != 0.0))
    pick = np.zeros(len(status), dtype=np.int64)  # 0 → "0.00"
    pick[status == 3] = 1  # → ""
    pick[odd] = 2 + np.arange(len(odd))
    texts = ["0.00", ""] + [f"{round(float(d), 2):.2f}" for d in dist[odd].tolist()]
    return pa.array(texts, pa.string()).take(pa.array(pick))


def check_output_path(in_path: str | os.PathLike, out_path: str | os.PathLike,
                      option: str = "--out") -> None:
    """Refuse, before any work, an output that is the input or cannot be written."""
    src, dst = Path(in_path), Path(out_path)
    if dst.exists() and src.exists() and os.path.samefile(src, dst) \
            or dst.resolve() == src.resolve():
        raise BatchInputError(f"{dst}: {option} is the input file; choose another name")
    if dst.is_dir():
        raise BatchInputError(f"{dst}: {option} is a directory")
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise BatchInputError(f"{dst}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (dst.exists() and not os.access(dst, os.W_OK)):
        raise BatchInputError(f"{dst}: not writable")


def locate_csv(locator, in_path: str | os.PathLike, out_path: str | os.PathLike, *,
               default_crs: str = "wgs84", encoding: str = "utf-8",
               chunk_size: int = 1_000_000,
               progress: Callable[[int], None] | None = None) -> LocateSummary:
    """Locate every usable row of ``in_path``; write ``out_path`` through a temporary file
    in the same folder, renamed over it only when everything is written (an interrupted run
    leaves any earlier output as it was)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    src = Path(in_path)
    check_output_path(src, out_path)
    _skip_pandas_probe()
    names = _CrsNames()
    default_name = names.normalize(default_crs)
    if default_name is None:
        raise BatchInputError(f"--crs: unknown coordinate system {default_crs!r}")
    raw = _decode(src, encoding)
    cols = _header(src, raw)
    fast = b'"' not in raw and _SEPARATOR.encode() not in raw
    columns = _read_arrow(raw, cols) if fast else _read_python(raw, cols)
    del raw

    problems: list[tuple[int, int, str]] = []
    lon, lon_ok = _numbers(columns.lon, columns.arrow, "lon", problems)
    lat, lat_ok = _numbers(columns.lat, columns.arrow, "lat", problems)
    crs_code, crs_names = _crs_codes(columns, default_name, names, problems)
    crs_ok = np.array([c is not None for c in crs_names], dtype=bool)[crs_code]
    for k, name in enumerate(crs_names):
        if name is None or not names.geographic(name):
            continue
        rows = crs_code == k
        for i in np.flatnonzero(rows & lat_ok & ((lat < -90.0) | (lat > 90.0))).tolist():
            problems.append((i, 3, f"lat: out of range [-90, 90]: {_text(columns.lat, i)}"))
        for i in np.flatnonzero(rows & lon_ok & ((lon < -180.0) | (lon > 180.0))).tolist():
            problems.append((i, 4, f"lon: out of range [-180, 180]: {_text(columns.lon, i)}"))
    bad = np.zeros(len(columns.lines), dtype=bool)
    if problems:
        bad[[p[0] for p in problems]] = True
    bad |= ~(lon_ok & lat_ok & crs_ok)
    good = np.flatnonzero(~bad)

    n = len(good)
    cell = np.empty(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int8)
    dist = np.empty(n)
    good_crs = crs_code[good]
    for start in range(0, n, chunk_size):
        sl = slice(start, min(start + chunk_size, n))
        codes_here = good_crs[sl]
        for k in np.unique(codes_here).tolist():
            pick = np.flatnonzero(codes_here == k) + start
            rows = good[pick]
            x, y = to_working(lon[rows], lat[rows], crs_names[k], locator.working_crs)
            c, s, d = locator.locate_indices(np.atleast_1d(x), np.atleast_1d(y))
            cell[pick], status[pick], dist[pick] = c, s, d
        if progress is not None:
            progress(sl.stop - sl.start)

    from gridroute.grids.locator import STATUSES, LocateStatus

    summary = LocateSummary()
    counts = np.bincount(status.astype(np.int64), minlength=4) if n else np.zeros(4, int)
    summary.counts = {LocateStatus(s): int(counts[i]) for i, s in enumerate(STATUSES)}
    summary.rejected = int(bad.sum())
    summary.problems = [(int(columns.lines[i]), msg) for i, _, msg in sorted(problems)]

    take = pa.array(np.where(cell < 0, len(locator), cell))
    table = {"id": columns.ids.take(pa.array(good))}
    for name, values in locator.code_columns().items():
        table[name] = pa.array(values, pa.string()).take(take)
    table["status"] = pa.array(list(STATUSES), pa.string()).take(pa.array(status))
    table["distance_m"] = _format_distances(status, dist)
    table = pa.table(table)

    dst = Path(out_path)
    fd, tmp = tempfile.mkstemp(dir=dst.parent if str(dst.parent) else ".",
                               prefix=f".{dst.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if fast:  # fields were split on commas: none holds a quote, comma or line break
                fh.write((",".join(OUTPUT_COLUMNS) + "\n").encode())  # arrow quotes headers
                pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                              quoting_style="none"))
            else:
                text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
                writer = csv.writer(text, lineterminator="\n")
                writer.writerow(OUTPUT_COLUMNS)
                writer.writerows(zip(*(["" if v is None else v for v in table[c].to_pylist()]
                                       for c in OUTPUT_COLUMNS)))
                text.flush()
                text.detach()
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return summary


def _text(values, i: int) -> str:
    v = values[i]
    return (v.as_py() if hasattr(v, "as_py") else v).strip()
