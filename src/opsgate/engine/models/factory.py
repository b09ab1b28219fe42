"""Choose the chat model from settings: `scripted:PATH`, a LiteLLM model name, or none.

Called by whoever assembles the engine (`opsgate.engine.factory`, the API's build step, the
CLI). None means no model is configured: the direct path still works.
"""

from __future__ import annotations

from pathlib import Path

from opsgate.engine.models.base import ChatModel
from opsgate.engine.models.litellm import LiteLLMModel
from opsgate.engine.models.scripted import ScriptedModel
from opsgate.errors import ConfigError
from opsgate.settings import Settings

SCRIPTED_PREFIX = "scripted:"


def model_from_settings(settings: Settings) -> ChatModel | None:
    """The configured model, or None when `settings.model` is unset or blank."""
    name = (settings.model or "").strip()
    if not name:
        return None
    if name.startswith(SCRIPTED_PREFIX):
        path = name[len(SCRIPTED_PREFIX) :].strip()
        if not path:
            raise ConfigError("OPSGATE_MODEL=scripted:PATH needs a path to a script file")
        return ScriptedModel.from_path(Path(path))
    if "/" not in name:
        raise ConfigError(
            f"model {name!r} needs a provider prefix, e.g. 'openai/gpt-4.1' or 'ollama/llama3'"
        )
    key = settings.model_api_key.get_secret_value() if settings.model_api_key else None
    return LiteLLMModel(model=name, api_base=settings.model_api_base, api_key=key)
