"""Error bodies in each provider's own shape (docs/providers.md, Errors).

A handler raises `Rejected(message, kind)`; `error_response(provider, kind, message)` turns the
kind into that provider's status code and JSON body. Messages never contain the API key.
"""

from __future__ import annotations

import uuid
from typing import Any

STATUS = {
    "invalid": 400,
    "auth": 401,
    "billing": 402,
    "not_found": 404,
    "method": 405,
    "too_large": 413,
    "rate_limit": 429,
    "server": 500,
    "overloaded": 503,
}

DEFAULT_MESSAGES = {
    "invalid": "Invalid request.",
    "auth": "Invalid API key.",
    "billing": "Insufficient balance.",
    "not_found": "Not found.",
    "method": "Method not allowed.",
    "too_large": "Request body too large.",
    "rate_limit": "Rate limit reached for requests.",
    "server": "The server had an error while processing your request.",
    "overloaded": "The server is overloaded. Please try again later.",
}

# Where a provider documents its own wording, use it.
_PROVIDER_MESSAGES = {
    ("deepseek", "auth"): "Authentication Fails, Your api key is invalid",
    ("deepseek", "billing"): "Insufficient Balance",
    ("dashscope", "auth"): "Invalid API-key provided.",
    ("dashscope", "billing"): "Access denied, please make sure your account is in good standing.",
    ("anthropic", "auth"): "invalid x-api-key",
    ("anthropic", "overloaded"): "Overloaded",
    ("llamacpp", "auth"): "Invalid API Key",
}

_OPENAI: dict[str, tuple[str, str | None]] = {
    "invalid": ("invalid_request_error", None),
    "auth": ("invalid_request_error", "invalid_api_key"),
    "billing": ("insufficient_quota", "insufficient_quota"),
    "not_found": ("invalid_request_error", "unknown_url"),
    "method": ("invalid_request_error", "method_not_supported"),
    "too_large": ("invalid_request_error", "request_too_large"),
    "rate_limit": ("requests", "rate_limit_exceeded"),
    "server": ("server_error", None),
    "overloaded": ("server_error", "service_unavailable"),
}
_DEEPSEEK: dict[str, tuple[str, str | None]] = {
    **dict.fromkeys(_OPENAI, ("invalid_request_error", "invalid_request_error")),
    "auth": ("authentication_error", "invalid_request_error"),
    "billing": ("unknown_error", "invalid_request_error"),
    "rate_limit": ("rate_limit_error", "rate_limit_reached"),
    "server": ("server_error", "server_error"),
    "overloaded": ("server_error", "server_overloaded"),
}
_DASHSCOPE = {
    **dict.fromkeys(_OPENAI, ("invalid_request_error", "invalid_parameter_error")),
    "auth": ("invalid_request_error", "InvalidApiKey"),
    "billing": ("Arrearage", "Arrearage"),
    "not_found": ("invalid_request_error", "NotFound"),
    "rate_limit": ("limit_requests", "Throttling.RateQuota"),
    "server": ("internal_error", "InternalError"),
    "overloaded": ("internal_error", "ServiceUnavailable"),
}
_NAMED = {  # one error type per kind, no separate code
    "anthropic": {
        "invalid": "invalid_request_error",
        "auth": "authentication_error",
        "billing": "billing_error",
        "not_found": "not_found_error",
        "method": "invalid_request_error",
        "too_large": "request_too_large",
        "rate_limit": "rate_limit_error",
        "server": "api_error",
        "overloaded": "overloaded_error",
    },
    "moonshot": {
        "invalid": "invalid_request_error",
        "auth": "invalid_authentication_error",
        "billing": "exceeded_current_quota_error",
        "not_found": "resource_not_found_error",
        "method": "invalid_request_error",
        "too_large": "invalid_request_error",
        "rate_limit": "rate_limit_reached_error",
        "server": "server_error",
        "overloaded": "engine_overloaded_error",
    },
    "mistral": {
        "invalid": "invalid_request_error",
        "auth": "authentication_error",
        "billing": "billing_error",
        "not_found": "not_found_error",
        "method": "invalid_request_error",
        "too_large": "invalid_request_error",
        "rate_limit": "rate_limited",
        "server": "internal_server_error",
        "overloaded": "service_unavailable",
    },
    # vLLM and SGLang name errors after the HTTP exception class.
    "vllm": {
        "invalid": "BadRequestError",
        "auth": "AuthenticationError",
        "billing": "PaymentRequiredError",
        "not_found": "NotFoundError",
        "method": "MethodNotAllowedError",
        "too_large": "BadRequestError",
        "rate_limit": "RateLimitError",
        "server": "InternalServerError",
        "overloaded": "ServiceUnavailableError",
    },
    "llamacpp": {
        "invalid": "invalid_request_error",
        "auth": "authentication_error",
        "billing": "permission_error",
        "not_found": "not_found_error",
        "method": "invalid_request_error",
        "too_large": "invalid_request_error",
        "rate_limit": "unavailable_error",
        "server": "server_error",
        "overloaded": "unavailable_error",
    },
}


class Rejected(Exception):
    """A request the provider refuses; `kind` selects the status and error type."""

    def __init__(self, message: str = "", kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def status_for(provider: str, kind: str) -> int:
    """Return the HTTP status a provider uses for an error kind (Anthropic overload is 529)."""
    if provider == "anthropic" and kind == "overloaded":
        return 529
    return STATUS[kind]


def error_response(
    provider: str, kind: str, message: str | None = None
) -> tuple[int, dict[str, Any]]:
    """Return the status and JSON body `provider` sends for an error of `kind`."""
    status = status_for(provider, kind)
    text = message or _PROVIDER_MESSAGES.get((provider, kind)) or DEFAULT_MESSAGES[kind]
    return status, error_body(provider, kind, text, status)


def error_body(provider: str, kind: str, message: str, status: int) -> dict[str, Any]:
    """Return the JSON error object `provider` uses, e.g. inside a stream."""
    if provider == "ollama":
        return {"error": message}
    if provider == "openrouter":
        return {"error": {"code": status, "message": message}}
    if provider == "anthropic":
        return {"type": "error", "error": {"type": _NAMED[provider][kind], "message": message}}
    if provider == "moonshot":
        return {"error": {"message": message, "type": _NAMED[provider][kind]}}
    if provider == "mistral":
        error_type = _NAMED[provider][kind]
        return {
            "object": "error",
            "message": message,
            "type": error_type,
            "param": None,
            "code": None,
        }
    if provider in ("vllm", "sglang"):
        error_type = _NAMED["vllm"][kind]
        fields = {"message": message, "type": error_type, "param": None, "code": status}
        # SGLang still uses vLLM's older flat body.
        return {"object": "error", **fields} if provider == "sglang" else {"error": fields}
    if provider == "llamacpp":
        return {"error": {"code": status, "message": message, "type": _NAMED[provider][kind]}}
    if provider == "dashscope":
        error_type, code = _DASHSCOPE[kind]
        error = {"code": code, "param": None, "message": message, "type": error_type}
        return {"error": error, "request_id": str(uuid.uuid4())}
    error_type, maybe_code = (_DEEPSEEK if provider == "deepseek" else _OPENAI)[kind]
    return {"error": {"message": message, "type": error_type, "param": None, "code": maybe_code}}
