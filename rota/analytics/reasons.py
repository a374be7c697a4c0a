"""Why a Joint Agency Response was incomplete, as a category from a fixed list, and the check that keeps
identifying details out of the free text (docs/cases.md, "Reasons" and "Identifying text").

Commissioners see counts by category only; the free text (`reason_incomplete`) stays with the roles that
read case-level data. The category is worked out when cases are imported: an exact category code (or
label) in `reason_category` or `reason_incomplete`, else the first keyword rule that matches
`reason_incomplete`, else `other`; a blank reason is `not_recorded`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import polars as pl

# Code -> label, in the order they are listed (docs/cases.md keeps the same list and the keyword rules).
REASON_CATEGORIES: Mapping[str, str] = {
    "no_trained_responder": "No trained responder available (gap in the rota)",
    "responder_delayed": "Responder delayed or attending another call",
    "partners_unavailable": "Partners not available together (joint visit or meeting)",
    "not_recognised": "JAR not triggered: death not recognised as meeting the criteria",
    "notified_late": "Notified late (to the CDOP or the NCMD)",
    "family_declined": "Family declined",
    "coroner_police_decision": "Coroner or police decision",
    "in_progress": "Steps still in progress",
    "other": "Other",
    "not_recorded": "Not recorded",
}
OTHER = "other"
NOT_RECORDED = "not_recorded"

# (category, pattern) tried in order on the lower-cased reason; the first match wins. The order matters:
# "SIO not available (gap in the on-call rota)" is a rota gap before it is a partner not available, and
# "NCMD notification delayed" is a late notification before it is a delay.
KEYWORD_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (code, re.compile(pattern))
    for code, pattern in (
        ("in_progress", r"in progress|not yet (done|held|due)|pending"),
        ("family_declined", r"declin|refus|did not consent|no consent|family (did not|would not)"),
        ("coroner_police_decision", r"coroner|police decision|criminal investigation|post[- ]?mortem"),
        ("not_recognised", r"not triggered|not recogni[sz]ed|not aware|thought obvious|obvious cause"),
        ("notified_late", r"notified late|late notification|notification (was )?delayed|ncmd"),
        (
            "no_trained_responder",
            r"gap in the|rota gap|not briefed|no (jar[- ])?trained|not (jar[- ])?trained|untrained|"
            r"no one on call|nobody on call|\bno (?:[\w-]+ ){0,3}(?:on[- ]call|on duty|on the rota)",
        ),
        (
            "partners_unavailable",
            r"not both available|partners? not available|not available|weekends?|bank holiday|"
            r"out of hours service|designated doctor",
        ),
        ("responder_delayed", r"delay|late|another incident|another call|attending|busy|call-out|callout"),
    )
)

_CODE_OF: dict[str, str] = {
    **{code: code for code in REASON_CATEGORIES},
    **{label.lower(): code for code, label in REASON_CATEGORIES.items()},
}


def category_code(text: str | None) -> str | None:
    """The category code `text` names exactly (a code such as `family_declined`, or its label, any case,
    spaces or hyphens for underscores), else None."""
    if text is None:
        return None
    key = text.strip().lower()
    if key in _CODE_OF:
        return _CODE_OF[key]
    return _CODE_OF.get(re.sub(r"[\s\-]+", "_", key))


def reason_category(reason: str | None, given: str | None = None) -> str:
    """The category of one case: `given` when it is a category code or label, else an exact code in the
    reason, else the first keyword rule matching the reason, else `other`; `not_recorded` when blank."""
    code = category_code(given)
    if code is not None:
        return code
    text = (reason or "").strip()
    if not text:
        return NOT_RECORDED
    code = category_code(text)
    if code is not None:
        return code
    lowered = text.lower()
    for code, pattern in KEYWORD_RULES:
        if pattern.search(lowered):
            return code
    return OTHER


def category_label(code: str | None) -> str:
    return REASON_CATEGORIES.get(code or NOT_RECORDED, REASON_CATEGORIES[OTHER])


# ---------------------------------------------------------------------------------------------- identifying


_TITLE_NAME = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Master)\.?\s+[A-Z][a-z'\u2019\-]+")
# "Baby Jones" (how an unnamed infant is often recorded), but not "Baby Friendly" and the like
_BABY_NAME = re.compile(r"\bBaby\s+(?!(?:Friendly|Unit|Loss|Death|Deaths|Room|Clinic)\b)[A-Z][a-z'\u2019\-]+")
_DOB_WORDS = re.compile(r"\bd\.?o\.?b\b|date of birth|\bborn (?:on )?\d|\bbirthday\b", re.IGNORECASE)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(
    r"\b\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b"  # 12/03/2019, 12-03-19, 12.03.2019
    r"|\b\d{4}-\d{1,2}-\d{1,2}\b"  # 2019-03-12
    rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\.?,?\s+\d{{4}}\b"  # 3 March 2019
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b",  # March 3, 2019
    re.IGNORECASE,
)
# UK postcodes in capitals (as they are written): outward code, optional space, inward code.
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})\b")
_TEN_DIGITS = re.compile(r"(?<![\d])(\d{3})([ \-]?)(\d{3})\2(\d{4})(?![\d])")


def nhs_number_valid(digits: str) -> bool:
    """Whether 10 digits pass the NHS number's modulus 11 check."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def _nhs_number(text: str) -> bool:
    for m in _TEN_DIGITS.finditer(text):
        if m.group(2) or nhs_number_valid(m.group(1) + m.group(3) + m.group(4)):
            return True
    return False


def identifying_text(text: str | None) -> str | None:
    """What in `text` looks like it identifies a person ("a title and name", "a date (of birth)", "a
    postcode", "an NHS number"), or None. Never returns the text itself: messages must not repeat it."""
    if not text:
        return None
    if _TITLE_NAME.search(text) or _BABY_NAME.search(text):
        return "a title and name"
    if _nhs_number(text):
        return "an NHS number"
    if _DOB_WORDS.search(text) or _DATE.search(text):
        return "a date of birth or other date"
    if _POSTCODE.search(text):
        return "a postcode"
    return None


def with_reason_category(cases: pl.DataFrame) -> pl.DataFrame:
    """`cases` with `reason_category` filled for every row (see `reason_category`); a given category
    that is a code or label is kept (as its code), anything else is worked out from `reason_incomplete`."""
    given = (
        cases.get_column("reason_category")
        if "reason_category" in cases.columns
        else pl.Series([None] * cases.height, dtype=pl.String)
    )
    reasons = (
        cases.get_column("reason_incomplete")
        if "reason_incomplete" in cases.columns
        else pl.Series([None] * cases.height, dtype=pl.String)
    )
    codes = [reason_category(r, g) for r, g in zip(reasons.to_list(), given.to_list(), strict=True)]
    return cases.with_columns(pl.Series("reason_category", codes, dtype=pl.String))


__all__ = [
    "KEYWORD_RULES",
    "NOT_RECORDED",
    "OTHER",
    "REASON_CATEGORIES",
    "category_code",
    "category_label",
    "identifying_text",
    "nhs_number_valid",
    "reason_category",
    "with_reason_category",
]
