"""Checks of typed text shared by the forms (as Django validators) and the services (as domain errors).

Names, targets and memos are one line of plain text: they end up in messages, spreadsheets and
other systems' requests, where a control character breaks the file (an XLSX cell cannot hold one)
or hides what is really there.
"""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import InvalidText

# A mainland mobile number: the one rule for customers, logins and searches.
MOBILE_RE = re.compile(r"1[3-9]\d{9}")
mobile_validator = RegexValidator(
    f"^{MOBILE_RE.pattern}$", gettext_lazy("Enter a mainland mobile number: 11 digits starting with 13–19.")
)

# C0 and C1 control characters (tab and line breaks included: these are one-line fields), the
# Unicode line and paragraph separators, the bidirectional embeddings, overrides and isolates that
# make text read differently from what it holds, and lone surrogates (not text at all).
CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

LABELS = {
    "name": gettext_lazy("name"),
    "target": gettext_lazy("target"),
    "memo": gettext_lazy("memo"),
}


def text_plain_check(value: str, *, field: str) -> str:
    """Refuse text holding a control character (InvalidText naming the field); return it unchanged."""
    if value and CONTROL_RE.search(value):
        raise InvalidText(
            _("The %(field)s contains a control character (such as a tab, a line break or an invisible code); remove it.")
            % {"field": LABELS.get(field, field)},
            field=field,
        )
    return value


def plain_text_validator(value) -> None:
    """The same rule as a form field validator."""
    if isinstance(value, str) and CONTROL_RE.search(value):
        raise ValidationError(
            gettext_lazy("This text contains a control character (such as a tab, a line break or an invisible code); remove it."),
            code="control_character",
        )
