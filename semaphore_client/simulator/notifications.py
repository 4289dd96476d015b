"""A notification rule's ``filter``, matched as Semaphore's notifications service matches it.

The webhook target of ``PUT /_sim/webhook`` stands for one rule of a Semaphore notification
(``notification-example.yml``); its filter decides which done pipelines are sent. As in
``notifications/`` (``util/rule_factory.ex``, ``workers/coordinator.ex``,
``coordinator/filter.ex``):

* A term written ``/…/`` is a regular expression, searched anywhere in the value (Postgres
  ``~``, not anchored); any other term must equal the value. A rule matches when every filter
  has a matching term.
* An empty ``branches``, ``tags``, ``pipelines`` or ``results`` list matches everything.
* A tag's pipelines are checked against ``tags`` only; a branch's or a pull request's against
  ``branches`` only, where a pull request's pipeline matches by its ``branch_name``
  (``pull-request-<n>``) or its head branch. So ``branches: [main]`` with no ``tags`` still
  sends every tag's pipelines.
* ``pipelines`` matches the pipeline's ``yaml_file_name`` (``semaphore.yml``, no directory);
  ``results`` its result. ``blocks`` is accepted and, as in Semaphore, never applied.

One departure: Semaphore needs at least one project in ``projects``; here an empty list means
every project.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from semaphore_client.simulator.records import SimPipeline

RESULTS = ("passed", "failed", "stopped", "canceled")


def is_regex(term: str) -> bool:
    return len(term) >= 2 and term.startswith("/") and term.endswith("/")


def term_matches(term: str, value: str) -> bool:
    if is_regex(term):
        return re.search(term[1:-1], value) is not None
    return term == value


def any_matches(terms: list[str], values: list[str]) -> bool:
    """An empty filter matches everything; else one term must match one of the values."""
    return not terms or any(term_matches(t, v) for t in terms for v in values)


class RuleFilter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    projects: list[str] = Field(default_factory=list)
    branches: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    pipelines: list[str] = Field(default_factory=list)
    results: list[str] = Field(default_factory=list)
    blocks: list[str] = Field(default_factory=list)

    @field_validator("projects", "branches", "tags", "pipelines", "results", "blocks")
    @classmethod
    def _regexes_compile(cls, terms: list[str]) -> list[str]:
        for term in terms:
            if is_regex(term):
                try:
                    re.compile(term[1:-1])
                except re.error:
                    raise ValueError(f"Pattern {term} is not a valid regex statement") from None
        return terms

    @field_validator("results")
    @classmethod
    def _known_results(cls, terms: list[str]) -> list[str]:
        for term in terms:
            if not is_regex(term) and term not in RESULTS:
                raise ValueError(
                    f"Value {term} is not a valid result entry. "
                    f"Valid values are: {', '.join(RESULTS)}."
                )
        return terms

    def matches(self, pipeline: SimPipeline) -> bool:
        workflow = pipeline.workflow
        if workflow.reference_type == "tag":
            reference = any_matches(self.tags, [workflow.tag])
        else:
            names = [workflow.branch_name]
            if workflow.pull_request and workflow.branch:
                names.append(workflow.branch)  # the pull request's head branch
            reference = any_matches(self.branches, names)
        return (
            reference
            and any_matches(self.projects, [workflow.project.name])
            and any_matches(self.pipelines, [pipeline.yaml_file_name])
            and any_matches(self.results, [pipeline.result or ""])
        )
