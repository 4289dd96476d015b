"""Only the configured CI pipeline file, run on the deploy branch, makes a change (DESIGN.md
section 4 rule 9): never a tag, a pull request, another branch or another pipeline file."""

from __future__ import annotations

import pytest

from bot.core.ci import Build, same_pipeline_file, why_not_a_change

CI = ".semaphore/semaphore.yml"


def build(**kw: str) -> Build:
    fields = {"reference_type": "branch", "reference": "main", "pipeline_file": CI}
    fields.update(kw)
    return Build(**fields)


def test_the_ci_pipeline_on_the_deploy_branch_makes_a_change() -> None:
    assert why_not_a_change(build(), branch="main", ci_pipeline=CI) is None


@pytest.mark.parametrize(
    ("changed", "why"),
    [
        ({"reference_type": "tag", "reference": "v1.2.3"}, "tag v1.2.3, not branch main"),
        ({"reference_type": "tag", "reference": "main"}, "tag main, not branch main"),
        (
            {"reference_type": "pull_request", "reference": "42"},
            "pull request #42, not branch main",
        ),
        ({"reference": "feature-x"}, "branch feature-x, not branch main"),
        ({"reference": ""}, "no branch, not branch main"),
        ({"reference_type": ""}, "reference type '', not branch main"),
        (
            {"pipeline_file": ".semaphore/nightly.yml"},
            "pipeline file .semaphore/nightly.yml, not .semaphore/semaphore.yml",
        ),
        (
            {"pipeline_file": "other/semaphore.yml"},
            "pipeline file other/semaphore.yml, not .semaphore/semaphore.yml",
        ),
        ({"pipeline_file": ""}, "pipeline file not reported, not .semaphore/semaphore.yml"),
    ],
)
def test_anything_else_is_ignored_and_says_why(changed: dict[str, str], why: str) -> None:
    assert why_not_a_change(build(**changed), branch="main", ci_pipeline=CI) == why


def test_the_deploy_branch_is_the_configured_one() -> None:
    assert why_not_a_change(build(reference="release"), branch="release", ci_pipeline=CI) is None
    assert why_not_a_change(build(), branch="release", ci_pipeline=CI) == (
        "branch main, not branch release"
    )


@pytest.mark.parametrize(
    ("reported", "configured", "same"),
    [
        (".semaphore/semaphore.yml", ".semaphore/semaphore.yml", True),
        (".semaphore/semaphore.yml", "/.semaphore/semaphore.yml", True),
        (".semaphore/semaphore.yml", "./.semaphore/semaphore.yml", True),
        ("/.semaphore/semaphore.yml", ".semaphore/semaphore.yml", True),
        (".semaphore/semaphore.yml", "semaphore.yml", True),  # a bare name: any directory
        ("ci/semaphore.yml", "semaphore.yml", True),
        (".semaphore/nightly.yml", "semaphore.yml", False),
        ("ci/semaphore.yml", ".semaphore/semaphore.yml", False),
        ("semaphore.yml", ".semaphore/semaphore.yml", False),
        ("", ".semaphore/semaphore.yml", False),
    ],
)
def test_pipeline_files_compare_as_paths_from_the_repository_root(
    reported: str, configured: str, same: bool
) -> None:
    assert same_pipeline_file(reported, configured) is same
