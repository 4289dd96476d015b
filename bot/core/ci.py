"""Which passed pipelines make a change (DESIGN.md section 4 rule 9).

Only the project's CI pipeline file, run for a push to its deploy branch, makes a change: never
a tag, a pull request, another branch or another pipeline file (a scheduled `nightly.yml` that
passes on `main` is not CI). A Semaphore notification rule with `branches: [main]` still sends
every tag's pipelines (its empty tag filter matches all), so the bot must check this itself.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass


@dataclass(frozen=True)
class Build:
    """What a pipeline was run for, as Semaphore reports it."""

    #: "branch", "tag" or "pull_request" (Semaphore's `reference_type`).
    reference_type: str
    #: The branch or tag name, or the pull request's number.
    reference: str
    #: The pipeline file: `working_directory/yaml_file_name`, e.g. `.semaphore/semaphore.yml`.
    pipeline_file: str

    def describe(self) -> str:
        if self.reference_type == "tag":
            return f"tag {self.reference}"
        if self.reference_type == "pull_request":
            return f"pull request #{self.reference}"
        if self.reference_type == "branch":
            return f"branch {self.reference}" if self.reference else "no branch"
        return f"reference type {self.reference_type!r}"


def why_not_a_change(build: Build, *, branch: str, ci_pipeline: str) -> str | None:
    """None if `build` is the project's CI on its deploy branch; else why not, in one line."""
    if build.reference_type != "branch" or build.reference != branch:
        return f"{build.describe()}, not branch {branch}"
    if not same_pipeline_file(build.pipeline_file, ci_pipeline):
        found = build.pipeline_file or "not reported"
        return f"pipeline file {found}, not {ci_pipeline}"
    return None


def same_pipeline_file(reported: str, configured: str) -> bool:
    """`reported` (Semaphore's path) is the `configured` file: the same path from the
    repository root (a leading `/` or `./` aside); a configured bare file name, such as
    `semaphore.yml`, matches that file name in any directory."""
    if not reported:
        return False
    found, wanted = _normal(reported), _normal(configured)
    if "/" not in wanted:
        return posixpath.basename(found) == wanted
    return found == wanted


def _normal(path: str) -> str:
    return posixpath.normpath(path.strip().lstrip("/"))
