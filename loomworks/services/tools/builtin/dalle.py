"""`dalle`: image generation through the OpenAI images API (`POST /v1/images/generations`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from loomworks.services.tools.base import (
    ToolCall,
    ToolOption,
    ToolOutput,
    ToolParameter,
    ToolProviderError,
    i18n,
)
from loomworks.services.tools.builtin import _remote
from loomworks.services.tools.registry import BuiltinTool, BuiltinToolProvider, ToolServices

OPENAI_URL = "https://api.openai.com"


class DalleProvider(BuiltinToolProvider):
    name = "dalle"
    label = i18n("DALL-E")
    description = i18n("DALL-E art", "DALL-E 绘画")
    tags = ["image", "productivity"]
    credentials_schema = [
        {"variable": "openai_api_key", "type": "secret-input", "required": True, "label": i18n("OpenAI API key")},
        {
            "variable": "openai_organization_id",
            "type": "text-input",
            "required": False,
            "label": i18n("OpenAI organization ID"),
        },
        {
            "variable": "openai_base_url",
            "type": "text-input",
            "required": False,
            "label": i18n("OpenAI base URL"),
            "placeholder": i18n(OPENAI_URL),
        },
    ]


async def _generate(services: ToolServices, call: ToolCall, body: dict[str, Any]) -> ToolOutput:
    creds = call.credentials
    base = str(creds.get("openai_base_url") or OPENAI_URL).rstrip("/")
    url = f"{base}/images/generations" if base.endswith("/v1") else f"{base}/v1/images/generations"
    headers = {"Authorization": f"Bearer {creds.get('openai_api_key', '')}"}
    if creds.get("openai_organization_id"):
        headers["OpenAI-Organization"] = str(creds["openai_organization_id"])
    data = await _remote.call_json(
        services, call, "POST", url, json={**body, "response_format": "b64_json"}, headers=headers, timeout=120.0
    )
    images = data.get("data") if isinstance(data, dict) else None
    if not isinstance(images, list) or not images:
        raise ToolProviderError(
            f"Tool {call.descriptor.key}: the images API answered no images.", tool=call.descriptor.key
        )
    files_port = services.need(call.descriptor.key, "files")
    files: list[dict[str, Any]] = []
    for index, image in enumerate(images):
        try:
            content = base64.b64decode(str(image.get("b64_json") or ""), validate=True)
        except (binascii.Error, ValueError):
            content = b""
        if not content:
            raise ToolProviderError(
                f"Tool {call.descriptor.key}: an image came back without data.", tool=call.descriptor.key
            )
        stored = await files_port.save(
            tenant_id=call.tenant_id, content=content, mime_type="image/png", filename=f"image-{index + 1}.png"
        )
        files.append(stored)
    revised = [str(image.get("revised_prompt")) for image in images if image.get("revised_prompt")]
    return ToolOutput(text="\n".join(revised) or "Image generated.", files=files)


_SIZES3 = ("1024x1024", "1792x1024", "1024x1792")


class Dalle3Tool(BuiltinTool):
    provider, name = "dalle", "dalle3"
    label = i18n("DALL-E 3")
    llm_description = "Draw an image from a prompt with DALL-E 3."
    parameters = [
        ToolParameter("prompt", "string", required=True, llm_description="what to draw"),
        ToolParameter(
            "size",
            "select",
            form="form",
            default="1024x1024",
            options=[ToolOption(s, i18n(s)) for s in _SIZES3]
            + [ToolOption(k, i18n(k)) for k in ("square", "vertical", "horizontal")],
        ),
        ToolParameter("n", "number", form="form", default=1),
        ToolParameter(
            "quality",
            "select",
            form="form",
            default="standard",
            options=[ToolOption("standard", i18n("standard")), ToolOption("hd", i18n("hd"))],
        ),
        ToolParameter(
            "style",
            "select",
            form="form",
            default="vivid",
            options=[ToolOption("vivid", i18n("vivid")), ToolOption("natural", i18n("natural"))],
        ),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        p = call.parameters
        size = {"square": "1024x1024", "vertical": "1024x1792", "horizontal": "1792x1024"}.get(
            p.get("size"), p.get("size")
        )
        body = {
            "model": "dall-e-3",
            "prompt": p["prompt"],
            "size": size or "1024x1024",
            "n": int(p.get("n") or 1),
            "quality": p.get("quality") or "standard",
            "style": p.get("style") or "vivid",
        }
        return await _generate(services, call, body)


class Dalle2Tool(BuiltinTool):
    provider, name = "dalle", "dalle2"
    label = i18n("DALL-E 2")
    llm_description = "Draw an image from a prompt with DALL-E 2."
    parameters = [
        ToolParameter("prompt", "string", required=True, llm_description="what to draw"),
        ToolParameter(
            "size",
            "select",
            form="form",
            default="1024x1024",
            options=[ToolOption(s, i18n(s)) for s in ("256x256", "512x512", "1024x1024")],
        ),
        ToolParameter("n", "number", form="form", default=1),
    ]

    async def run(self, call: ToolCall, services: ToolServices) -> ToolOutput:
        p = call.parameters
        body = {
            "model": "dall-e-2",
            "prompt": p["prompt"],
            "size": p.get("size") or "1024x1024",
            "n": int(p.get("n") or 1),
        }
        return await _generate(services, call, body)
