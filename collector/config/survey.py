"""The satisfaction survey (the `survey:` section of collector.yaml): the departments served, their
contacts, and how the survey reaches them.

Each quarter, after it ends, every contact gets one e-mail with a signed link (no login) to answer for
that quarter; the answers are the 服务对象满意度 target's figure (docs/sla.md). Contacts are personal
data: they are read from this file only, and the API lists them only to a person with a token.
"""
from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from opsmon.collector.core.fields import FROZEN, Duration, PositiveDuration


class Contact(BaseModel):
    model_config = FROZEN
    name: str = Field(min_length=1, max_length=128, description="Shown to the operator, never on the answer page")
    email: str = Field(pattern=r"^[^@\s|]+@[^@\s|]+$", max_length=254, description="Where the survey is sent")


class Department(BaseModel):
    model_config = FROZEN
    name_zh: str = Field(min_length=1, max_length=128, description="The department's name, shown on the survey page")
    name_en: str = Field("", max_length=128, description="Its English name (the Chinese one when empty)")
    contacts: tuple[Contact, ...] = Field(min_length=1)


class SurveyConfig(BaseModel):
    """Off while `departments` is empty."""

    model_config = FROZEN
    channel: str | None = Field(None, description="An e-mail channel of notify.channels that sends the survey")
    departments: dict[str, Department] = Field(default_factory=dict, description="Departments served, by id")
    link_ttl: PositiveDuration = Field(30 * 86400.0, description="How long a survey link can be answered")
    delay: Duration = Field(0.0, description="Wait this long after the quarter's end before sending its survey")

    @model_validator(mode="after")
    def _one_contact_once(self) -> SurveyConfig:
        seen: dict[str, str] = {}
        for dept_id, dept in self.departments.items():
            for c in dept.contacts:
                email = c.email.lower()
                if email in seen:
                    where = f"twice under {dept_id!r}" if seen[email] == dept_id else \
                        f"under {seen[email]!r} and {dept_id!r}"
                    raise ValueError(f"contact {c.email} is listed {where}: one answer per contact and period "
                                     "needs each contact once")
                seen[email] = dept_id
        if self.departments and self.channel is None:
            raise ValueError("survey.channel is required when departments are listed")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.departments)

    def contacts(self) -> list[tuple[str, Contact]]:
        """(department id, contact), in the file's order."""
        return [(dept_id, c) for dept_id, d in self.departments.items() for c in d.contacts]
