"""rules.toml: reading `[[rule]]` tables and extra roles, and writing them back (docs/bundle.md,
"rules.toml")."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path

from rota.bundle.common import (
    BOM,
)
from rota.csvcheck import (
    Problems,
)
from rota.errors import Problem
from rota.limits import text_reason
from rota.rules import DEFAULT_ROLES, Rule, RuleError, make_rule

_RULE_HEADER = re.compile(r"^\s*\[\[\s*rule\s*\]\]")


def read_rules_into(
    path: Path, known_roles: tuple[str, ...], problems: Problems
) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.add(Problem(name, None, None, f"no such file: {path}"))
        return (), known_roles
    except OSError as exc:
        problems.add(Problem(name, None, None, f"cannot read the file ({exc.strerror or exc})"))
        return (), known_roles
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        problems.add(Problem(name, None, None, "not a UTF-8 TOML file"))
        return (), known_roles
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m[1]) if m else None
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg) if m else msg
        if m:
            reason += f" (column {m[2]})"
        problems.add(Problem(name, line, None, f"not valid TOML: {reason}"))
        return (), known_roles
    except RecursionError:
        problems.add(
            Problem(
                name,
                None,
                None,
                "not valid rules: values are nested too deeply; rules.toml holds `roles = [...]` and "
                "[[rule]] tables of plain values",
            )
        )
        return (), known_roles

    roles = list(known_roles)
    for key in doc:
        if key not in ("rule", "roles"):
            problems.add(
                Problem(name, None, key, "unknown key; rules.toml holds `roles = [...]` and [[rule]] tables")
            )
    extra = doc.get("roles", [])
    if not isinstance(extra, list) or not all(isinstance(r, str) and r.strip() for r in extra):
        problems.add(
            Problem(name, None, "roles", 'roles must be a list of role names, like roles = ["nurse"]')
        )
    elif any(text_reason("role", r.strip(), "id") for r in extra):
        for r in extra:
            why = text_reason("role", r.strip(), "id")
            if why:
                problems.add(Problem(name, None, "roles", why))
    else:
        for r in extra:
            if r.strip() not in roles:
                roles.append(r.strip())
    role_tuple = tuple(roles)

    tables = doc.get("rule", [])
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list):
        problems.add(Problem(name, None, "rule", "rules must be [[rule]] tables"))
        return (), role_tuple
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    # The line of each [[rule]] header, for the messages (none when the rules are written inline).
    headers = [n for n, text_line in enumerate(text.splitlines(), start=1) if _RULE_HEADER.match(text_line)]
    for i, table in enumerate(tables, start=1):
        where = f"rule {i}"
        line = headers[i - 1] if len(headers) == len(tables) else None
        if not isinstance(table, dict):
            problems.add(Problem(name, line, where, "each rule must be a [[rule]] table"))
            continue
        try:
            rule = make_rule(table, role_tuple)
        except RuleError as exc:
            problems.add(Problem(name, line, where, str(exc)))
            continue
        if rule.id in seen:
            problems.add(
                Problem(name, line, where, f"duplicate rule id {rule.id!r} (also rule {seen[rule.id]})")
            )
            continue
        seen[rule.id] = i
        rules.append(rule)
    return tuple(rules), role_tuple


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rules_toml(rules: Sequence[Rule], roles: Sequence[str] = DEFAULT_ROLES) -> str | None:
    """rules.toml text for these rules and any roles beyond the defaults (None when there is nothing)."""
    extra = [r for r in roles if r not in DEFAULT_ROLES]
    if not rules and not extra:
        return None
    lines = ["# Coverage rules (see the product spec, section 2)."]
    if extra:
        lines.append(f"roles = {_toml_value(extra)}")
    for rule in rules:
        lines.append("")
        lines.append("[[rule]]")
        for key, value in rule.as_toml_table().items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
