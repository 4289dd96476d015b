"""deploybot's YAML configuration: models, loading, and the `check-config` command."""

from bot.config.errors import ConfigError
from bot.config.loader import check_config_command, load_config, load_config_text
from bot.config.models import (
    DeploybotConfig,
    FreezeConfig,
    HangsOff,
    ProjectConfig,
    ProjectRolesConfig,
    RolesConfig,
    RollbackConfig,
    StageConfig,
)

__all__ = [
    "ConfigError",
    "DeploybotConfig",
    "FreezeConfig",
    "HangsOff",
    "ProjectConfig",
    "ProjectRolesConfig",
    "RolesConfig",
    "RollbackConfig",
    "StageConfig",
    "check_config_command",
    "load_config",
    "load_config_text",
]
