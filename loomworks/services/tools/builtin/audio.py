"""`audio`: text to speech and speech to text through the workspace's default speech models."""

from __future__ import annotations

from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOutput, ToolParameter, ToolParameterError, i18n
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices


class AudioProvider(BuiltinToolProvider):
    name = "audio"
    label = i18n("Audio", "音频")
    description = i18n("Text to speech and speech to text.", "文本转语音和语音转文本。")
    tags = ["utilities"]


class TtsTool(BuiltinTool):
    provider, name = "audio", "tts"
    label = i18n("Text To Speech", "文本转语音")
    llm_description = "Turn a text into spoken audio (a file)."
    parameters = [
        ToolParameter("text", "string", required=True, llm_description="the text to speak"),
        ToolParameter("voice", "string", form="form", llm_description="the voice"),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        speech = services.need(call.descriptor.key, "speech")
        files = services.need(call.descriptor.key, "files")
        audio, mime = await speech.synthesize(
            tenant_id=call.tenant_id, text=str(call.parameters["text"]), voice=call.parameters.get("voice") or None
        )
        extension = "wav" if "wav" in mime else "mp3"
        stored: dict[str, Any] = await files.save(
            tenant_id=call.tenant_id, content=audio, mime_type=mime, filename=f"speech.{extension}"
        )
        stored["type"] = "audio"
        return ToolOutput(text="", files=[stored])


class AsrTool(BuiltinTool):
    provider, name = "audio", "asr"
    label = i18n("Speech To Text", "语音转文本")
    llm_description = "Transcribe an audio file to text."
    parameters = [ToolParameter("audio_file", "file", required=True, llm_description="the audio file")]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        speech = services.need(call.descriptor.key, "speech")
        files = services.need(call.descriptor.key, "files")
        file = call.parameters["audio_file"]
        if isinstance(file, list):
            file = file[0] if file else None
        if not isinstance(file, dict):
            raise ToolParameterError(
                f"Tool {call.descriptor.key}: audio_file must be a file.", tool=call.descriptor.key
            )
        data = await files.read(file)
        name = str(file.get("filename") or file.get("name") or "audio.mp3")
        text = await speech.transcribe(tenant_id=call.tenant_id, audio=data, filename=name)
        return ToolOutput(text=text)
