"""`time`: current time, time-zone conversion, weekday, timestamps (Dify's provider and tool names)."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loomworks.core.clock import now
from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices


class TimeProvider(BuiltinToolProvider):
    name = "time"
    label = i18n("CurrentTime", "时间")
    description = i18n("A tool for getting the current time.", "一个用于获取当前时间的工具。")
    tags = ["utilities"]


def _zone(call: ToolCall, name: str) -> ZoneInfo:
    try:
        return ZoneInfo(str(name or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolParameterError(
            f"Tool {call.descriptor.key}: '{name}' is not a known time zone (use an IANA name like Asia/Shanghai).",
            tool=call.descriptor.key,
        ) from None


_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


class CurrentTimeTool(BuiltinTool):
    provider, name = "time", "current_time"
    label = i18n("Current Time", "获取当前时间")
    llm_description = "A tool for getting the current time."
    parameters = [
        ToolParameter(
            "format",
            "string",
            form="form",
            default=_FORMAT,
            label=i18n("Format", "格式"),
            llm_description="strftime format of the answer",
        ),
        ToolParameter(
            "timezone",
            "string",
            form="form",
            default="UTC",
            label=i18n("Timezone", "时区"),
            llm_description="IANA time zone",
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        zone = _zone(call, call.parameters.get("timezone", "UTC"))
        fmt = str(call.parameters.get("format") or _FORMAT)
        return ToolOutput(text=now().astimezone(zone).strftime(fmt))


_PARSE = "%Y-%m-%d %H:%M:%S"


def _parse(call: ToolCall, text: str) -> datetime:
    try:
        return datetime.strptime(str(text).strip(), _PARSE)  # noqa: DTZ007 - the zone is a separate parameter
    except ValueError:
        raise ToolParameterError(
            f"Tool {call.descriptor.key}: '{text}' is not a time in the form YYYY-MM-DD HH:MM:SS.",
            tool=call.descriptor.key,
        ) from None


class TimezoneConversionTool(BuiltinTool):
    provider, name = "time", "timezone_conversion"
    label = i18n("Timezone Conversion", "时区转换")
    llm_description = "Convert a time (YYYY-MM-DD HH:MM:SS) from one time zone to another."
    parameters = [
        ToolParameter("current_time", "string", required=True, llm_description="the time, YYYY-MM-DD HH:MM:SS"),
        ToolParameter("current_timezone", "string", required=True, default="UTC", llm_description="its zone"),
        ToolParameter("target_timezone", "string", required=True, llm_description="the zone to convert to"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        source = _zone(call, call.parameters["current_timezone"])
        target = _zone(call, call.parameters["target_timezone"])
        moment = _parse(call, call.parameters["current_time"]).replace(tzinfo=source)
        return ToolOutput(text=moment.astimezone(target).strftime(_PARSE))


class WeekdayTool(BuiltinTool):
    provider, name = "time", "weekday"
    label = i18n("Weekday Calculator", "星期几计算器")
    llm_description = "The weekday of a date."
    parameters = [
        ToolParameter("year", "number", required=True, llm_description="year"),
        ToolParameter("month", "number", required=True, llm_description="month (1-12)"),
        ToolParameter("day", "number", required=True, llm_description="day of the month"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        p = call.parameters
        try:
            day = datetime(int(p["year"]), int(p["month"]), int(p["day"]), tzinfo=UTC)
        except ValueError as exc:
            raise ToolParameterError(f"Tool {call.descriptor.key}: {exc}.", tool=call.descriptor.key) from None
        name = calendar.day_name[day.weekday()]
        return ToolOutput(text=f"{day:%B} {day.day}, {day.year} is {name}.")


class TimestampToLocaltimeTool(BuiltinTool):
    provider, name = "time", "timestamp_to_localtime"
    label = i18n("Timestamp to Localtime", "时间戳转换")
    llm_description = "Convert a Unix timestamp to a local time."
    parameters = [
        ToolParameter("timestamp", "number", required=True, llm_description="Unix timestamp (seconds)"),
        ToolParameter("timezone", "string", form="form", default="UTC", llm_description="IANA time zone"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        zone = _zone(call, call.parameters.get("timezone", "UTC"))
        moment = datetime.fromtimestamp(float(call.parameters["timestamp"]), tz=zone)
        return ToolOutput(text=moment.strftime(_PARSE))


class LocaltimeToTimestampTool(BuiltinTool):
    provider, name = "time", "localtime_to_timestamp"
    label = i18n("Localtime to Timestamp", "获取时间戳")
    llm_description = "Convert a local time (YYYY-MM-DD HH:MM:SS) to a Unix timestamp."
    parameters = [
        ToolParameter("localtime", "string", required=True, llm_description="the time, YYYY-MM-DD HH:MM:SS"),
        ToolParameter("timezone", "string", form="form", default="UTC", llm_description="IANA time zone"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        del services
        zone = _zone(call, call.parameters.get("timezone", "UTC"))
        moment = _parse(call, call.parameters["localtime"]).replace(tzinfo=zone)
        return ToolOutput(text=str(int(moment.timestamp())))
