"""The one Block Kit renderer: pure functions from domain values to Slack dicts.

Messages are `{"text": fallback, "blocks": [...]}` (a thread reply adds `reply_broadcast`);
views are `{"type": "home" | "modal", ...}`. Slack's limits are enforced in `blocks`, and
people's text is escaped (`bot.slack.escape`) everywhere it is shown.

    replies   help_message, parse_error_message, refusal_message        (ephemeral)
    status    project_status, overview, queue_message, history_message
    freezes   freeze_list_message
    thread    change_thread (the status-thread parent), notice_reply (a threaded reply)
    alerts    rollback_alert, blocker_message (and their acted forms), unblock_buttons;
              read_button, and a clicked message's acted or outdated form
    modals    confirm_modal (callback ids confirm_emergency / confirm_rollback), read_modal
    announce  freeze_announcement, window_opened
    home      home_view (the App Home board)
"""

from bot.slack.render.alerts import (
    BLOCKER_UNBLOCK,
    ROLLBACK_APPROVE,
    ROLLBACK_DISMISS,
    UNBLOCK_ACTION,
    Acted,
    Clicked,
    acted_line,
    blocker_message,
    outdated_line,
    read_button,
    rollback_alert,
    unblock_buttons,
    without_buttons,
)
from bot.slack.render.announce import freeze_announcement, window_opened
from bot.slack.render.blocks import decode_value, encode_value
from bot.slack.render.freezes import freeze_list_message, freeze_scheduled
from bot.slack.render.home import home_view
from bot.slack.render.modals import (
    CONFIRM_EMERGENCY,
    CONFIRM_RESET,
    CONFIRM_ROLLBACK,
    REASON_ACTION,
    REASON_BLOCK,
    Confirmed,
    confirm_modal,
    read_modal,
)
from bot.slack.render.replies import help_message, parse_error_message, refusal_message
from bot.slack.render.status import (
    history_message,
    overview,
    overview_room,
    project_status,
    queue_message,
)
from bot.slack.render.thread import change_thread, notice_reply

__all__ = [
    "BLOCKER_UNBLOCK",
    "CONFIRM_EMERGENCY",
    "CONFIRM_RESET",
    "CONFIRM_ROLLBACK",
    "REASON_ACTION",
    "REASON_BLOCK",
    "ROLLBACK_APPROVE",
    "ROLLBACK_DISMISS",
    "UNBLOCK_ACTION",
    "Acted",
    "Clicked",
    "Confirmed",
    "acted_line",
    "blocker_message",
    "change_thread",
    "confirm_modal",
    "decode_value",
    "encode_value",
    "freeze_announcement",
    "freeze_list_message",
    "freeze_scheduled",
    "help_message",
    "history_message",
    "home_view",
    "notice_reply",
    "outdated_line",
    "overview",
    "overview_room",
    "parse_error_message",
    "project_status",
    "queue_message",
    "read_button",
    "read_modal",
    "refusal_message",
    "rollback_alert",
    "unblock_buttons",
    "window_opened",
    "without_buttons",
]
