"""Input of the crisis journal: one entry as a form or an API gives it.

What can be checked without the database is checked here (each kind's required
fields); what needs it — the entry referred to, the linked objects, the time
against the activation — in :mod:`sargs.activations.journal`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import BaseModel, Field, field_validator, model_validator

from sargs.activations.models import LINK_TYPES
from sargs.volunteers.schemas import riga_time
from sargs.web.forms import FieldError, blank_to_none

# A form writes links as "alert:12, shelter:3" (or "alert 12").
LINK_TOKEN = re.compile(r"^\s*([a-z]+)\s*[:#\s]\s*(\d+)\s*$")


class LinkIn(BaseModel):
    type: Literal["alert", "warning", "report", "shelter", "callout", "request"]
    id: int = Field(ge=1)


class JournalEntryIn(BaseModel):
    kind: Literal["information", "decision", "task", "task_update", "correction"]
    text: str = Field("", max_length=10_000)
    source: str = Field("", max_length=200)  # information: where it came from
    decided_by: str = Field("", max_length=200)  # decision: who decided
    assignee: str = Field("", max_length=200)  # task: who must do it
    due_at: datetime | None = None  # task: by when (a form gives Riga time)
    task_state: Literal["open", "in_progress", "done", "cancelled"] | None = None
    refers_to: int | None = None  # task_update, correction: the entry's id
    occurred_at: datetime | None = None  # when it happened; none is now
    links: list[LinkIn] = Field(default_factory=list, max_length=20)

    @field_validator("text", "source", "decided_by", "assignee", mode="before")
    @classmethod
    def _stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("due_at", "task_state", "refers_to", "occurred_at", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)

    @field_validator("due_at", "occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        return None if value is None else riga_time(value)

    @field_validator("links", mode="before")
    @classmethod
    def _parse_links(cls, value: object) -> object:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
            value = value[0]  # a form's single text field
        if not isinstance(value, str):
            return value
        links: list[dict[str, Any]] = []
        for token in filter(None, (part.strip() for part in value.split(","))):
            match = LINK_TOKEN.match(token.lower())
            if match is None or match.group(1) not in LINK_TYPES:
                raise ValueError(_("Write links as type:number, e.g. alert:12, shelter:3 "
                                   "(types: %(types)s).", types=", ".join(LINK_TYPES)))
            links.append({"type": match.group(1), "id": int(match.group(2))})
        return links

    @model_validator(mode="after")
    def _kind_fields(self) -> JournalEntryIn:
        required = {
            "information": ("text",),
            "decision": ("text", "decided_by"),
            "task": ("text", "assignee"),
            "task_update": ("refers_to", "task_state"),
            "correction": ("text", "refers_to"),
        }[self.kind]
        for name in required:
            if getattr(self, name) in (None, ""):
                raise FieldError(name, _("This field is required."))
        if self.kind == "task" and self.task_state not in (None, "open"):
            raise FieldError("task_state", _("A new task is open."))
        if self.kind == "task" and self.due_at and self.occurred_at \
                and self.due_at < self.occurred_at:
            raise FieldError("due_at", _("A task cannot be due before it was given."))
        return self
