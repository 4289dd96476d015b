"""Git references as Semaphore names them: a branch, a tag or a pull request.

Plumber records a pipeline's ``branch_name`` as the branch itself, ``refs/tags/<tag>`` for a
tag and ``pull-request-<number>`` for a pull request; describe and list show it that way and
``GET /pipelines?branch_name=`` matches it exactly. The webhook instead says
``revision.reference_type`` (``branch|tag|pull_request``) with a ``branch``, ``tag`` or
``pull_request`` object, and ``revision.branch`` is ``null`` for tags and pull requests.
"""

from __future__ import annotations

from enum import StrEnum

TAG_PREFIX = "refs/tags/"
PULL_REQUEST_PREFIX = "pull-request-"


class ReferenceType(StrEnum):
    """``revision.reference_type`` of the webhook (Gofer's history says ``pr`` for a PR)."""

    BRANCH = "branch"
    TAG = "tag"
    PULL_REQUEST = "pull_request"


def parse_branch_name(branch_name: str) -> tuple[ReferenceType, str]:
    """A pipeline's ``branch_name`` as (type, name): the branch, tag, or pull request number."""
    if branch_name.startswith(TAG_PREFIX):
        return ReferenceType.TAG, branch_name.removeprefix(TAG_PREFIX)
    if branch_name.startswith(PULL_REQUEST_PREFIX):
        return ReferenceType.PULL_REQUEST, branch_name.removeprefix(PULL_REQUEST_PREFIX)
    return ReferenceType.BRANCH, branch_name


def branch_name_of(reference_type: ReferenceType | str, name: str) -> str:
    """What a pipeline's ``branch_name`` says for this reference (the inverse of the above)."""
    if reference_type == ReferenceType.TAG:
        return TAG_PREFIX + name
    if reference_type == ReferenceType.PULL_REQUEST:
        return PULL_REQUEST_PREFIX + name
    return name
