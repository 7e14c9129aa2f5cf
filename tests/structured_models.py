"""Pydantic models with everything structured output must get right: lists of models inside
lists, Optional, Literal, an enum, a date, a pattern, exclusive bounds and a recursive model."""

from __future__ import annotations

import datetime
import enum
from typing import Literal

from pydantic import BaseModel, Field


class Grade(enum.Enum):
    A = "A"
    B = "B"


class Rate(BaseModel):
    name: str
    rate: float = Field(gt=0, lt=1)
    postcode: str = Field(pattern=r"^\d{5}$")


class Node(BaseModel):
    label: str
    children: list[Node]


class Report(BaseModel):
    city: str
    email: str
    kind: Literal["town", "city"]
    grade: Grade
    founded: datetime.date
    rates: list[list[Rate]]
    mayor: str | None
    best: Rate | None
    tree: Node
