"""Input of the participants' and evaluators' pages: an answer, a decision and an
observation as the forms give them. The rules of the run (the exercise running, the
inject sent to this person, the text given and not too long, one of the four ratings)
are :mod:`sargs.exercises.conduct`'s."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator

from sargs.web.forms import blank_to_none


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)


class AnswerIn(_In):
    text: str = ""


class DecisionIn(_In):
    text: str = ""
    inject: int | None = None  # the inject the decision answers, if any

    @field_validator("inject", mode="before")
    @classmethod
    def _blank(cls, value: object) -> object:
        return blank_to_none(value)


class ObservationIn(_In):
    rating: str = ""
    text: str = ""
    strength: str = ""
    improvement: str = ""
