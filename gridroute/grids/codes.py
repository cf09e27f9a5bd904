"""The layout of unit grid cell codes (单元网格编码规则): how many digits the district, street,
community and cell parts have. One `CodeScheme` object per deployment (built from the
configuration) is what grids, rules, reference data and escalation read code lengths from.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: The code levels, coarse to fine; each code is a prefix of the finer ones.
LEVELS = ("district", "street", "community", "cell")

_PRESETS: dict[str, dict[str, int]] = {
    # Beijing DB11/T style 15-digit cell code (default).
    "15": dict(district_len=6, street_len=3, community_len=3, cell_len=3),
    # CJ/T 213-2005 14-digit code: 2-digit cell sequence inside a community.
    "CJT213": dict(district_len=6, street_len=3, community_len=3, cell_len=2),
}


@dataclass(frozen=True)
class CodeScheme:
    """Layout of a unit grid cell code (单元网格编码规则); lengths in digits."""

    district_len: int = 6
    street_len: int = 3
    community_len: int = 3
    cell_len: int = 3
    name: str = "15"

    def __post_init__(self) -> None:
        for f in ("district_len", "street_len", "community_len", "cell_len"):
            v = getattr(self, f)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"CodeScheme.{f} must be a positive integer, got {v!r}")

    @property
    def total_len(self) -> int:
        return self.district_len + self.street_len + self.community_len + self.cell_len

    def layout(self) -> str:
        return (f"{self.district_len} district + {self.street_len} street + "
                f"{self.community_len} community + {self.cell_len} cell")

    def matches(self, code: object) -> bool:
        """True for a string of ASCII digits of exactly the scheme's total length."""
        return (
            isinstance(code, str)
            and len(code) == self.total_len
            and code.isascii()
            and code.isdigit()
        )

    def matching(self, codes) -> list[bool]:
        """:meth:`matches` for many codes at once (one check of the whole list when every
        code matches, the usual case)."""
        codes = codes if isinstance(codes, list) else list(codes)
        if set(map(type, codes)) <= {str} and set(map(len, codes)) <= {self.total_len}:
            joined = "".join(codes)
            if joined.isascii() and joined.isdigit():
                return [True] * len(codes)
        return [self.matches(c) for c in codes]

    def parents_of(self, codes) -> dict[str, list[str | None]]:
        """For many cell codes at once: their district, street and community codes (None for
        a code that does not match the scheme); the same as :meth:`district` and friends one
        by one, without a method call per code."""
        codes = codes if isinstance(codes, list) else list(codes)
        ok = self.matching(codes)
        every = all(ok)
        out = {}
        for level in ("district", "street", "community"):
            k = self.digits(level)
            out[level] = [c[:k] for c in codes] if every else \
                [c[:k] if m else None for c, m in zip(codes, ok)]
        return out

    def district(self, code: str) -> str:
        return code[: self.district_len]

    def street(self, code: str) -> str:
        return code[: self.district_len + self.street_len]

    def community(self, code: str) -> str:
        return code[: self.district_len + self.street_len + self.community_len]

    def digits(self, level: str) -> int:
        """Length of a `level` code (district, street, community or cell): 6, 9, 12 and 15
        digits in the default scheme, 6, 9, 12 and 14 in CJ/T 213."""
        return dict(self.levels())[level]

    def levels(self) -> tuple[tuple[str, int], ...]:
        """(level, code length) from district to cell."""
        lengths, total = [], 0
        for level, part in zip(LEVELS, (self.district_len, self.street_len,
                                        self.community_len, self.cell_len)):
            total += part
            lengths.append((level, total))
        return tuple(lengths)

    @classmethod
    def preset(cls, name: str) -> "CodeScheme":
        key = str(name).strip().upper().replace("/", "").replace("-", "").replace(" ", "")
        if key not in _PRESETS:
            raise ValueError(f"unknown code scheme {name!r}; presets: {', '.join(_PRESETS)}")
        return cls(name=key, **_PRESETS[key])

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | Any) -> "CodeScheme":
        """Build from a mapping or settings object.

        Keys: ``code_scheme`` or ``name`` (a preset, default "15") and optional
        ``district_len``/``street_len``/``community_len``/``cell_len`` overriding the preset.
        """
        if not isinstance(config, Mapping):
            config = {k: getattr(config, k) for k in dir(config) if not k.startswith("_")}
        name = config.get("code_scheme", config.get("name", config.get("preset", "15")))
        name = str(name) if name is not None else "15"
        try:
            base = cls.preset(name)
            lengths = dict(_PRESETS[base.name])
            name = base.name
        except ValueError:
            lengths = dict(_PRESETS["15"])
        for key in lengths:
            if config.get(key) is not None:
                lengths[key] = int(config[key])
        return cls(name=name, **lengths)
