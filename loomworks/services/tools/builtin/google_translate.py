"""`google_translate`: translate text through Google Translate's web endpoint (`translate_a/single`).

This is the endpoint Dify's built-in calls (`client=gtx`, `sl=auto`, `dt=t`): no key, the answer a
nested array whose first item lists `[translated, original, …]` pairs, one per sentence.
"""

from __future__ import annotations

from typing import Any

from loomworks.services.tools.base import ToolCall, ToolOption, ToolOutput, ToolParameter, ToolProviderError, i18n
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

API_URL = "https://translate.googleapis.com/translate_a/single"
# Dify's `dest` options (language code → English label).
LANGUAGES = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "zh-cn": "Chinese (Simplified)",
    "zh-tw": "Chinese (Traditional)",
    "cs": "Czech",
    "da": "Danish",
    "nl": "Dutch",
    "en": "English",
    "et": "Estonian",
    "fi": "Finnish",
    "fr": "French",
    "de": "German",
    "el": "Greek",
    "iw": "Hebrew",
    "hi": "Hindi",
    "hu": "Hungarian",
    "id": "Indonesian",
    "it": "Italian",
    "ja": "Japanese",
    "kn": "Kannada",
    "ko": "Korean",
    "lv": "Latvian",
    "lt": "Lithuanian",
    "my": "Malay",
    "ml": "Malayalam",
    "mr": "Marathi",
    "no": "Norwegian",
    "pl": "Polish",
    "pt-br": "Portuguese (Brazil)",
    "pt-pt": "Portuguese (Portugal)",
    "pa": "Punjabi",
    "ro": "Romanian",
    "ru": "Russian",
    "sr": "Serbian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "es": "Spanish",
    "sv": "Swedish",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
}


class GoogleTranslateProvider(BuiltinToolProvider):
    name = "google_translate"
    label = i18n("Google Translate", "谷歌翻译")
    description = i18n("Translate text using Google", "使用 Google 进行翻译")
    tags = ["utilities"]
    credentials_schema = [
        {
            "variable": "api_url",
            "type": "text-input",
            "required": False,
            "label": i18n("Translate endpoint URL"),
            "placeholder": i18n(API_URL),
            "help": i18n("Another server speaking the same endpoint (a proxy or a mirror)."),
        }
    ]


def translated_text(call: ToolCall, data: Any) -> str:
    """The translation in an answer of the endpoint: the first item's sentence pairs, joined."""
    pairs = data[0] if isinstance(data, list) and data else None
    if not isinstance(pairs, list):
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: the translation answer has no sentences.", tool=call.descriptor.key
        )
    return "".join(str(pair[0]) for pair in pairs if isinstance(pair, list) and pair and pair[0])


class TranslateTool(BuiltinTool):
    provider, name = "google_translate", "translate"
    label = i18n("Translate", "翻译")
    llm_description = "A tool for Google Translate: give it the text; it answers the translation."
    parameters = [
        ToolParameter("content", "string", required=True, llm_description="the text to translate"),
        ToolParameter(
            "dest",
            "select",
            required=True,
            form="form",
            default="en",
            label=i18n("destination language", "目标语言"),
            llm_description="the language to translate to",
            options=[ToolOption(code, i18n(name)) for code, name in LANGUAGES.items()],
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        content = str(call.parameters["content"])
        if not content.strip():
            return ToolOutput(text="")
        url = str(call.credentials.get("api_url") or API_URL)
        params = {
            "client": "gtx",
            "sl": "auto",
            "tl": str(call.parameters.get("dest") or "en"),
            "dt": "t",
            "q": content,
        }
        data = await _remote.call_json(services, call, "GET", url, params=params)
        return ToolOutput(text=translated_text(call, data))
