"""The limits the checks compare with: the defaults each check registers, then a TOML rules file
(`[limits]`, and `checks = [...]` to run only some), then `--limit NAME=VALUE` flags."""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass
from pathlib import Path
from typing import Any

from cltool.config import expect, expect_list, read_toml
from cltool.errors import UsageError
from cltool.validate.checks import CHECKS, default_limits

_LIMITS = default_limits()
_LISTS = {name for name, default in _LIMITS.items() if isinstance(default, list)} | {"checks"}  # NAME=a,b,c


class _RulesMethods:
    def set(self, name: str, value: Any) -> None:
        """Set one limit; a string value (from a flag) is parsed: a number, none/off, or a comma-separated list."""
        known = {f.name for f in fields(self)}
        if name not in known:
            raise UsageError(f"unknown limit {name!r}", hint=f"limits: {', '.join(sorted(known))}")
        current = getattr(self, name)
        if isinstance(value, str) and name not in _LISTS:
            value = None if value.lower() in ("none", "off") else (float(value) if "." in value or "e" in value
                                                                   else int(value))
        elif isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(current, int) and isinstance(value, float) and value.is_integer():
            value = int(value)
        setattr(self, name, value)

    def check(self) -> None:
        unknown = [c for c in self.checks or () if c not in CHECKS]
        if unknown:
            raise UsageError(f"unknown check {', '.join(unknown)}", hint=f"checks: {', '.join(CHECKS)}")


def _field(name: str, default: Any) -> tuple[str, Any, Any]:
    if isinstance(default, list):
        return name, list, field(default_factory=lambda: list(default))
    return name, Any, field(default=default)


Rules = make_dataclass("Rules", [*(_field(name, default) for name, default in _LIMITS.items()),
                                 ("checks", Any, field(default=None))], bases=(_RulesMethods,),
                       namespace={"__doc__": "validate's settings: a field per limit that the checks registered "
                                             "(with its default), then `checks` (run only these; None: all)."})
Rules.__module__ = __name__


def load_rules(path: str | None, overrides: list[str] = ()) -> Rules:
    rules = Rules()
    if path:
        data = read_toml(path, "rules file")
        unknown = set(data) - {"limits", "checks"}
        if unknown:
            raise UsageError(f"rules file {path}: unknown key {', '.join(sorted(unknown))}",
                             hint="a rules file has a [limits] table and a checks array")
        settings = dict(expect(data.get("limits", {}), (dict,), f"{path}: limits"))
        if "checks" in data:
            settings["checks"] = data["checks"]
        for name, value in settings.items():
            where = f"{path}: {'checks' if name == 'checks' else 'limits.' + name}"
            if name in _LISTS:
                value = expect_list(value, (str,), where)
            elif not (isinstance(value, str) and value.lower() in ("none", "off")):
                value = expect(value, (int, float), where, hint='a number, or "off" for no limit')
            rules.set(name, value)
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--limit takes NAME=VALUE, not {item!r}")
        try:
            rules.set(name.strip().replace("-", "_"), value.strip())
        except ValueError:
            raise UsageError(f"--limit {item!r}: {value!r} is not a number") from None
    return rules
