"""The YAML configuration as pydantic models: projects, their stages, freezes and roles.

Unknown keys are errors everywhere. Checks that span several entries (duplicate names, freeze
ids, the first stage's `hangs_off`) live in `bot.config.checks` and run on every validation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from bot.config.checks import cross_problems, default_freeze_id
from bot.config.fields import (
    Channel,
    DigestSpec,
    Duration,
    HolidayCalendar,
    OptionalChannel,
    PositiveDuration,
    SlackPrincipal,
    Slug,
    TimeZoneName,
    WindowSpec,
    not_empty,
)
from bot.core.calendar import Calendar, Freeze
from bot.core.delivery import HISTORY_RETENTION
from bot.core.model import (
    DEFAULT_START_TIMEOUT,
    REASON_LIMIT,
    AfterRollback,
    ApprovalPolicy,
    RollbackPolicy,
    StagePolicy,
)
from bot.core.wallclock import local_instant

DEFAULT_FREEZE_ANNOUNCE = (timedelta(days=1), timedelta(hours=1))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HangsOff(StrEnum):
    CI = "ci"
    PREVIOUS = "previous"


def _hangs_off_ref(value: str) -> str:
    if value in (HangsOff.CI, HangsOff.PREVIOUS):
        return value
    wave, _, target = value.partition("/")
    if not wave or not target or "/" in target:
        raise ValueError(
            f"{value!r} is not 'ci', 'previous' or a target of the previous stage "
            "('prod-wave-1/us-east-1')"
        )
    return value


def _named_target(hangs_off: str | None) -> str:
    """The wave target a `hangs_off` names ("" for `ci` and `previous`)."""
    return "" if hangs_off in (None, HangsOff.CI, HangsOff.PREVIOUS) else str(hangs_off)


class FreezeConfig(_Model):
    """A scheduled change freeze. Naive times are in the stage's (or project's) time zone."""

    id: Slug
    start: datetime
    end: datetime
    reason: str = Field(min_length=1, max_length=REASON_LIMIT)
    #: Offsets before the start to announce it at; None means the root's `freeze_announce`.
    announce: tuple[PositiveDuration, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and "id" not in data and "start" in data:
            return {**data, "id": default_freeze_id(data["start"])}
        return data

    @model_validator(mode="after")
    def _end_after_start(self) -> FreezeConfig:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise ValueError("give both start and end a UTC offset, or neither")
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end:%Y-%m-%d %H:%M} is not after start {self.start:%Y-%m-%d %H:%M}"
            )
        return self

    def freeze(self, timezone: str) -> Freeze:
        start, end = (
            moment.astimezone(UTC) if moment.tzinfo else local_instant(moment, timezone)
            for moment in (self.start, self.end)
        )
        announce = DEFAULT_FREEZE_ANNOUNCE if self.announce is None else self.announce
        return Freeze(id=self.id, start=start, end=end, reason=self.reason, announce=announce)


class RollbackScope(StrEnum):
    #: A failed target of a wave rolls back alone; its siblings keep what they run.
    TARGET = "target"
    #: A failed target of a wave rolls back every target of the wave that took the change.
    WAVE = "wave"


class RollbackConfig(_Model):
    policy: RollbackPolicy = RollbackPolicy.AUTO
    #: The promotion that rolls back; None means the stage's own promotion on the old workflow.
    promotion: str | None = Field(default=None, min_length=1)
    after_rollback: AfterRollback = AfterRollback.CONTINUE
    #: For a wave (a stage with `targets:`): what a failure on one target rolls back.
    scope: RollbackScope = RollbackScope.TARGET

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """`rollback: approve` means `rollback: {policy: approve}`; YAML reads `off` as false."""
        if isinstance(data, bool | str):
            return {"policy": data}
        return data

    @field_validator("policy", mode="before")
    @classmethod
    def _yaml_off(cls, value: Any) -> Any:
        return RollbackPolicy.OFF if value is False else value


class EmergencyConfig(_Model):
    #: A promotion of the stage's deploy pipeline declared in the CI pipeline, for emergency
    #: deployments of a commit that never reached the stage the stage's promotion hangs off.
    promotion: str = Field(min_length=1)


class ApprovalConfig(_Model):
    """`approval: {required: 2, allow_author: false, expires: 24h}` on a stage: roll-forwards
    wait there for `required` distinct approvers with the approve role (issue 16)."""

    required: int = Field(default=1, ge=1, le=10)
    #: May someone who wrote one of the changes shipped approve? (Matched through `authors`.)
    allow_author: bool = False
    expires: PositiveDuration = timedelta(hours=24)


#: What a stage's promotion hangs off: `ci`, `previous`, or one target of the previous stage
#: when that is a wave (`prod-wave-1/us-east-1`).
HangsOffRef = Annotated[str, AfterValidator(_hangs_off_ref)]


class TargetConfig(_Model):
    """One deployment target of a wave (a stage with `targets:`). Unset keys come from the
    wave; `freezes` are added to the wave's."""

    name: Slug
    #: The Semaphore deployment target; defaults to the target's name.
    target: str = Field(min_length=1)
    promotion: str = Field(min_length=1)
    hangs_off: HangsOffRef | None = None
    emergency: EmergencyConfig | None = None
    enforce: bool | None = None
    timezone: TimeZoneName | None = None
    windows: tuple[WindowSpec, ...] | None = None
    holidays: tuple[HolidayCalendar, ...] | None = None
    freezes: tuple[FreezeConfig, ...] = ()
    channel: OptionalChannel = None
    alarms: dict[str, str] | None = None
    start_timeout: PositiveDuration | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_target(cls, data: Any) -> Any:
        if isinstance(data, dict) and "target" not in data and isinstance(data.get("name"), str):
            return {**data, "target": data["name"]}
        return data


class StageConfig(_Model):
    """A stage as declared; once the project is loaded, a wave's targets are stages of their
    own named `WAVE/TARGET` (`ProjectConfig.stages`), and `targets` is None on every stage."""

    name: Slug
    #: The Semaphore deployment target; defaults to the stage name.
    target: str = ""
    #: Required for a stage of one target (checked in `bot.config.checks`).
    promotion: str = ""
    #: None until the project resolves it: `ci` for the first stage, `previous` for the rest
    #: (a stage after a wave names the wave's target it hangs off).
    hangs_off: HangsOffRef | None = None
    #: A wave: several deployment targets that deploy in parallel and bake together.
    targets: tuple[TargetConfig, ...] | None = None
    rollback: RollbackConfig = RollbackConfig()
    emergency: EmergencyConfig | None = None
    bake: Duration = timedelta(0)
    supersede: bool = True
    enforce: bool = False
    timezone: TimeZoneName | None = None
    windows: tuple[WindowSpec, ...] = ()
    #: None means the project's holiday calendars; an empty list means none.
    holidays: tuple[HolidayCalendar, ...] | None = None
    freezes: tuple[FreezeConfig, ...] = ()
    channel: OptionalChannel = None
    alarms: dict[str, str] = Field(default_factory=dict)
    #: How long a started deployment may wait for Semaphore to start its pipeline before the
    #: attempt counts as not started (and is tried again).
    start_timeout: PositiveDuration = DEFAULT_START_TIMEOUT
    approval: ApprovalConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_target(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return data
        if "targets" in data or "target" in data:
            return data  # a missing promotion is reported by bot.config.checks
        return {**data, "target": data["name"]}

    @model_validator(mode="after")
    def _one_or_several_targets(self) -> StageConfig:
        if self.targets is None:
            return self
        if not self.targets:
            raise ValueError("'targets' must not be empty")
        if self.promotion or self.target or self.hangs_off or self.emergency:
            raise ValueError(
                "a stage with 'targets' takes target, promotion, hangs_off and emergency per "
                "target, not for the whole stage"
            )
        if self.rollback.promotion is not None:
            raise ValueError(
                "a stage with 'targets' rolls back with each target's own promotion: "
                "'rollback.promotion' would name one promotion for every target"
            )
        return self

    @property
    def wave(self) -> str | None:
        """The wave this stage is a target of (`prod-wave-1` of `prod-wave-1/us-east-1`)."""
        return self.name.partition("/")[0] if "/" in self.name else None

    def expanded(self) -> list[StageConfig]:
        """The stages a declared stage stands for: itself, or a wave's targets."""
        if self.targets is None:
            return [self]
        return [
            self.model_copy(
                update={
                    "name": f"{self.name}/{t.name}",
                    "target": t.target,
                    "promotion": t.promotion,
                    "hangs_off": t.hangs_off,
                    "emergency": t.emergency,
                    "enforce": self.enforce if t.enforce is None else t.enforce,
                    "timezone": t.timezone or self.timezone,
                    "windows": self.windows if t.windows is None else t.windows,
                    "holidays": self.holidays if t.holidays is None else t.holidays,
                    "freezes": (*self.freezes, *t.freezes),
                    "channel": t.channel or self.channel,
                    "alarms": self.alarms if t.alarms is None else t.alarms,
                    "start_timeout": t.start_timeout or self.start_timeout,
                    "targets": None,
                }
            )
            for t in self.targets
        ]

    def calendar(self, project: ProjectConfig) -> Calendar:
        """Windows, holidays and freezes of this stage, with the project's freezes added."""
        timezone = self.timezone or project.timezone
        holidays = project.holidays if self.holidays is None else self.holidays
        freezes = [freeze.freeze(project.timezone) for freeze in project.freezes]
        freezes += [freeze.freeze(timezone) for freeze in self.freezes]
        return Calendar(timezone, self.windows, holidays, tuple(freezes))


class RolesConfig(_Model):
    """Who may block and unblock, approve rollbacks, and run emergency deployments."""

    block: tuple[SlackPrincipal, ...] = ()
    approve: tuple[SlackPrincipal, ...] = ()
    emergency: tuple[SlackPrincipal, ...] = ()


class ProjectRolesConfig(_Model):
    """Per-project overrides: a role given here replaces the global one for this project."""

    block: tuple[SlackPrincipal, ...] | None = None
    approve: tuple[SlackPrincipal, ...] | None = None
    emergency: tuple[SlackPrincipal, ...] | None = None


class ProjectConfig(_Model):
    name: Slug
    semaphore_project: str = Field(min_length=1)
    branch: str = Field(default="main", min_length=1)
    ci_pipeline: str = Field(default=".semaphore/semaphore.yml", min_length=1)
    channel: Channel
    timezone: TimeZoneName = "UTC"
    holidays: tuple[HolidayCalendar, ...] = ()
    freezes: tuple[FreezeConfig, ...] = ()
    roles: ProjectRolesConfig | None = None
    #: A weekly digest of the last stage's delivery metrics, posted to the channel at this
    #: day and time of the project's time zone (`mon 09:00`); None: no digest.
    digest: DigestSpec | None = None
    stages: Annotated[tuple[StageConfig, ...], not_empty("stage")]

    @model_validator(mode="before")
    @classmethod
    def _default_semaphore_project(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and "semaphore_project" not in data
            and isinstance(data.get("name"), str)
        ):
            return {**data, "semaphore_project": data["name"]}
        return data

    @model_validator(mode="after")
    def _expand_waves(self) -> ProjectConfig:
        """A wave's targets become stages of their own (`WAVE/TARGET`), in the declared order,
        and every `hangs_off` is resolved: `ci` for the first stage, `previous` for the rest
        (`bot.config.checks` made sure a stage after a wave names the target)."""
        stages = tuple(
            stage
            if stage.hangs_off is not None
            else stage.model_copy(update={"hangs_off": HangsOff.PREVIOUS if index else HangsOff.CI})
            for index, declared in enumerate(self.stages)
            for stage in declared.expanded()
        )
        return self.model_copy(update={"stages": stages})

    @property
    def stage_names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    @property
    def steps(self) -> list[list[StageConfig]]:
        """The stages in pipeline order, a wave's targets together: a change moves on from a
        step once every stage of it has deployed and baked it."""
        steps: list[list[StageConfig]] = []
        for stage in self.stages:
            if steps and stage.wave is not None and steps[-1][0].wave == stage.wave:
                steps[-1].append(stage)
            else:
                steps.append([stage])
        return steps

    def wave(self, name: str) -> list[StageConfig]:
        """The targets of wave `name` ([] when `name` is not a wave)."""
        return [stage for stage in self.stages if stage.wave == name]

    def source_stage(self, name: str) -> str | None:
        """The stage whose deploy pipeline declares `name`'s promotion (None: the CI pipeline)."""
        hangs_off = self.stage(name).hangs_off
        if hangs_off == HangsOff.CI:
            return None
        if hangs_off != HangsOff.PREVIOUS:
            return hangs_off
        steps = self.steps
        index = next(i for i, step in enumerate(steps) if any(s.name == name for s in step))
        return steps[index - 1][-1].name if index else None

    def stage(self, name: str) -> StageConfig:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(
            f"project {self.name!r} has no stage {name!r} ({', '.join(self.stage_names)})"
        )

    def channel_for(self, stage: str) -> str:
        return self.stage(stage).channel or self.channel

    def calendar(self, stage: str) -> Calendar:
        return self.stage(stage).calendar(self)

    def policies(self) -> list[StagePolicy]:
        """What the deployment rules need of each stage, in pipeline order."""
        last_step = self.steps[-1]
        return [
            StagePolicy(
                project=self.name,
                stage=stage.name,
                promotion=stage.promotion,
                rollback_promotion=stage.rollback.promotion,
                emergency_promotion=stage.emergency.promotion if stage.emergency else None,
                hangs_off_previous=stage.hangs_off != HangsOff.CI,
                source_target=_named_target(stage.hangs_off),
                wave=stage.wave or "",
                wave_rollback=stage.rollback.scope is RollbackScope.WAVE,
                rollback=stage.rollback.policy,
                after_rollback=stage.rollback.after_rollback,
                bake=stage.bake,
                supersede=stage.supersede,
                enforce=stage.enforce,
                target=stage.target,
                is_last=any(s.name == stage.name for s in last_step),
                start_timeout=stage.start_timeout,
                approval=(
                    ApprovalPolicy(
                        required=stage.approval.required,
                        allow_author=stage.approval.allow_author,
                        expires=stage.approval.expires,
                    )
                    if stage.approval is not None
                    else None
                ),
            )
            for stage in self.stages
        ]


class DeploybotConfig(_Model):
    """The whole file: projects, global roles and scheduling defaults."""

    projects: Annotated[tuple[ProjectConfig, ...], not_empty("project")]
    roles: RolesConfig
    #: Slack user id -> the names their commits carry as author (what Semaphore reports:
    #: the Git host's login), so that an approval gate can tell an author from a reviewer.
    authors: dict[SlackPrincipal, tuple[str, ...]] = Field(default_factory=dict)
    reconcile_interval: PositiveDuration = timedelta(seconds=60)
    #: How often Semaphore is asked about a project with nothing in flight, at most (at least
    #: every `reconcile_interval`): a lost webhook of an idle project is caught within it.
    reconcile_idle: PositiveDuration = timedelta(minutes=15)
    #: Semaphore API calls per minute deploybot may make, all replicas together; polling
    #: spends what webhooks and requests leave, projects with something in flight first.
    semaphore_api_budget: Annotated[int, Field(ge=1)] = 100
    #: How long the delivery figures' records and the changes are kept (a stage's whole
    #: deployments: the last 1,000).
    history_retention: PositiveDuration = HISTORY_RETENTION
    freeze_announce: tuple[PositiveDuration, ...] = DEFAULT_FREEZE_ANNOUNCE

    @model_validator(mode="wrap")
    @classmethod
    def _all_problems(cls, data: Any, handler: ModelWrapValidatorHandler[DeploybotConfig]) -> Any:
        """Field problems and cross-entry problems together, so one run lists them all."""
        problems: list[InitErrorDetails] = [
            {
                "type": PydanticCustomError("config", "{message}", {"message": message}),
                "loc": loc,
                "input": None,
            }
            for loc, message in cross_problems(data)
        ]
        try:
            config = handler(data)
        except ValidationError as exc:
            if not problems:
                raise
            raise ValidationError.from_exception_data(
                cls.__name__, [_details(error) for error in exc.errors()] + problems
            ) from None
        if problems:
            raise ValidationError.from_exception_data(cls.__name__, problems)
        return config._with_announce_defaults()

    def _with_announce_defaults(self) -> DeploybotConfig:
        def fill(freezes: tuple[FreezeConfig, ...]) -> tuple[FreezeConfig, ...]:
            return tuple(
                freeze.model_copy(update={"announce": self.freeze_announce})
                if freeze.announce is None
                else freeze
                for freeze in freezes
            )

        projects = tuple(
            project.model_copy(
                update={
                    "freezes": fill(project.freezes),
                    "stages": tuple(
                        stage.model_copy(update={"freezes": fill(stage.freezes)})
                        for stage in project.stages
                    ),
                }
            )
            for project in self.projects
        )
        return self.model_copy(update={"projects": projects})

    @property
    def project_names(self) -> list[str]:
        return [project.name for project in self.projects]

    def project(self, name: str) -> ProjectConfig:
        for project in self.projects:
            if project.name == name:
                return project
        raise KeyError(f"no project {name!r} ({', '.join(self.project_names)})")

    def roles_for(self, project: str | ProjectConfig) -> RolesConfig:
        """The global roles with the project's overrides applied, role by role."""
        found = self.project(project) if isinstance(project, str) else project
        if found.roles is None:
            return self.roles
        overrides = {
            role: members
            for role, members in found.roles.model_dump().items()
            if members is not None
        }
        return self.roles.model_copy(update=overrides)


def _details(error: Any) -> InitErrorDetails:
    details: InitErrorDetails = {
        "type": error["type"],
        "loc": error["loc"],
        "input": error["input"],
    }
    if "ctx" in error:
        details["ctx"] = error["ctx"]
    return details
