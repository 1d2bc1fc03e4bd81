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


class IncidentScope(BaseModel):
    """Which incidents a department is asked about once resolved: of these assets, sites or categories."""

    model_config = FROZEN
    assets: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> IncidentScope:
        if not (self.assets or self.sites or self.categories):
            raise ValueError("name assets, sites or categories (an empty scope would ask about every incident)")
        return self

    def covers(self, asset: str, site: str | None, category: str | None) -> bool:
        return asset in self.assets or (site is not None and site in self.sites) or (
            category is not None and category in self.categories)


class Department(BaseModel):
    model_config = FROZEN
    name_zh: str = Field(min_length=1, max_length=128, description="The department's name, shown on the survey page")
    name_en: str = Field("", max_length=128, description="Its English name (the Chinese one when empty)")
    contacts: tuple[Contact, ...] = Field(min_length=1)
    after_incidents: IncidentScope | None = Field(None, description=(
        "Also survey this department after each resolved incident of these assets, sites or categories"))


class SurveyConfig(BaseModel):
    """Off while `departments` is empty."""

    model_config = FROZEN
    channel: str | None = Field(None, description="An e-mail channel of notify.channels that sends the survey")
    departments: dict[str, Department] = Field({}, description="Departments served, by id (none: no survey)")
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

    def contacts(self, departments: set[str] | None = None) -> list[tuple[str, Contact]]:
        """(department id, contact), in the file's order; of `departments` only, when given."""
        return [(dept_id, c) for dept_id, d in self.departments.items() for c in d.contacts
                if departments is None or dept_id in departments]

    def served(self, asset: str, site: str | None, category: str | None) -> set[str]:
        """The departments to survey after a resolved incident of this asset."""
        return {dept_id for dept_id, d in self.departments.items()
                if d.after_incidents is not None and d.after_incidents.covers(asset, site, category)}
