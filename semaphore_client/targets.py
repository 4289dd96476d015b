"""Pydantic models of deployment targets and their deployment history."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pydantic import Field

from semaphore_client.enums import DeploymentStateField, TargetState, TargetStateField
from semaphore_client.models import AUTO_PROMOTION_TRIGGERER, ApiModel, EnvVar, Text
from semaphore_client.timestamps import Timestamp


class Deployment(ApiModel):
    """One deployment-history entry of a target.

    ``state`` ``started`` means the promoted pipeline was scheduled (``pipeline_id``); it does
    not say how that pipeline ended. ``failed`` entries carry the reason in ``state_message``
    (e.g. ``cordoned_target``) and an empty ``pipeline_id``.
    """

    id: str
    target_id: Text = ""
    target_name: Text = ""
    switch_id: Text = ""
    prev_pipeline_id: Text = ""
    pipeline_id: Text = ""
    triggered_by: Text = ""
    triggered_at: Timestamp = None
    state: DeploymentStateField
    state_message: Text = ""
    env_vars: list[EnvVar] = Field(default_factory=list)
    can_requester_rerun: bool | None = None

    @property
    def is_auto(self) -> bool:
        return self.triggered_by == AUTO_PROMOTION_TRIGGERER


class SubjectRule(ApiModel):
    type: str
    subject_id: Text = ""
    git_login: Text = ""


class ObjectRule(ApiModel):
    type: str
    match_mode: Text = ""
    pattern: Text = ""


class DeploymentTarget(ApiModel):
    """A deployment target (environment). ``active`` is false while it is cordoned."""

    id: str
    name: str
    description: Text = ""
    url: Text = ""
    organization_id: Text = ""
    project_id: Text = ""
    created_by: Text = ""
    created_at: Timestamp = None
    updated_by: Text = ""
    updated_at: Timestamp = None
    state: TargetStateField
    state_message: Text = ""
    subject_rules: list[SubjectRule] = Field(default_factory=list)
    object_rules: list[ObjectRule] = Field(default_factory=list)
    last_deployment: Deployment | None = None
    active: bool = True
    bookmark_parameter1: Text = ""
    bookmark_parameter2: Text = ""
    bookmark_parameter3: Text = ""

    @property
    def cordoned(self) -> bool:
        return self.state is TargetState.CORDONED or not self.active


class DeploymentHistoryPage(ApiModel):
    """One page (at most 10 entries, newest first) of a target's history.

    ``cursor_before``/``cursor_after`` are Unix microseconds; ``0`` means no page that way.
    """

    deployments: list[Deployment] = Field(default_factory=list)
    cursor_before: int = 0
    cursor_after: int = 0


class TargetActivation(ApiModel):
    """The answer to activate/deactivate."""

    target_id: str
    cordoned: bool = False


@dataclass(frozen=True)
class HistoryFilter:
    """Filters of ``GET /deployment_targets/:id/history``; set ones are ANDed, blank ignored.

    ``parameter1..3`` match the promotion parameters named by the target's
    ``bookmark_parameter1..3`` (``*``/``%`` for LIKE, regex metacharacters for a regex).
    """

    git_ref_type: str | None = None
    git_ref_label: str | None = None
    triggered_by: str | None = None
    parameter1: str | None = None
    parameter2: str | None = None
    parameter3: str | None = None

    def params(self) -> dict[str, str]:
        return {key: value for key, value in asdict(self).items() if value}
