"""Domain errors with Dify's error codes.

Services raise these; the API layer turns each into Dify's error JSON
`{code, message, status}` (plus `params` for `invalid_param`). Nothing here knows HTTP
beyond the status number that the code implies.
"""

from __future__ import annotations


class LoomworksError(Exception):
    """Base of every error that reaches a client with a stable code.

    Attributes:
        code: Dify's snake_case error code, e.g. `not_found`, `invalid_param`.
        status: the HTTP status that the code implies.
        message: a human-readable text (Dify's wording where Dify has one).
        params: for `invalid_param`, the name of the offending field.
    """

    code = "internal_server_error"
    status = 500
    default_message = "Internal Server Error"

    def __init__(self, message: str | None = None, *, params: str | None = None) -> None:
        self.message = message or self.default_message
        self.params = params
        super().__init__(self.message)


class InvalidParamError(LoomworksError):
    code, status, default_message = "invalid_param", 400, "Invalid parameter."


class BadRequestError(LoomworksError):
    code, status, default_message = "bad_request", 400, "Bad request."


class UnauthorizedError(LoomworksError):
    code, status, default_message = "unauthorized", 401, "Unauthorized."


class ForbiddenError(LoomworksError):
    code, status, default_message = "forbidden", 403, "Forbidden."


class NotFoundError(LoomworksError):
    code, status, default_message = "not_found", 404, "Not Found."


class ConflictError(LoomworksError):
    code, status, default_message = "conflict", 409, "Conflict."


class TooManyRequestsError(LoomworksError):
    code, status, default_message = "too_many_requests", 429, "Too many requests."


def error_class(
    code: str, status: int, default_message: str, base: type[LoomworksError] = LoomworksError
) -> type[LoomworksError]:
    """Make a named error class for one of Dify's codes (keeps the catalogue short)."""
    name = "".join(part.capitalize() for part in code.split("_")) + "Error"
    return type(name, (base,), {"code": code, "status": status, "default_message": default_message})


NotSetupError = error_class("not_setup", 401, "Loomworks has not been set up yet. Visit /install first.")
AlreadySetupError = error_class("already_setup", 403, "Loomworks has been set up already.")
NotInitValidateError = error_class("not_init_validated", 401, "Init validation has not been completed yet.")
AccountNotFoundError = error_class("account_not_found", 400, "Account not found.")
PasswordMismatchError = error_class("email_or_password_mismatch", 400, "The email or password is mismatched.")
AccountBannedError = error_class("account_banned", 400, "Account is banned.")
LoginLockedError = error_class(
    "email_password_login_limit", 429, "Too many incorrect password attempts. Please try again later."
)
InvalidTokenError = error_class("unauthorized", 401, "Invalid token.")
NoPermissionError = error_class("forbidden", 403, "You do not have permission to do this.")
AppUnavailableError = error_class("app_unavailable", 400, "App unavailable, please check your app configurations.")
MaxKeysExceededError = error_class("max_keys_exceeded", 400, "Number of keys exceeds the maximum allowed.")
NoFileUploadedError = error_class("no_file_uploaded", 400, "Please upload your file.")
TooManyFilesError = error_class("too_many_files", 400, "Only one file is allowed.")
FileTooLargeError = error_class("file_too_large", 413, "File size exceeded.")
UnsupportedFileTypeError = error_class("unsupported_file_type", 415, "File type not allowed.")
FilenameNotExistsError = error_class("filename_not_exists_error", 400, "The specified filename does not exist.")
ProviderNotInitializeError = error_class(
    "provider_not_initialize",
    400,
    "No valid model provider credentials found. Please go to Settings -> Model Provider to complete your "
    "provider credentials.",
)
ProviderQuotaExceededError = error_class(
    "provider_quota_exceeded", 400, "Your quota for this model provider has been used up."
)
ModelNotSupportedError = error_class("model_currently_not_support", 400, "This model is currently not available.")
CompletionRequestError = error_class("completion_request_error", 400, "Completion request failed.")
RateLimitError = error_class("rate_limit_error", 429, "Rate limit exceeded.")
NotChatAppError = error_class("not_chat_app", 400, "Please check if your app mode matches the right API route.")
NotCompletionAppError = error_class(
    "not_completion_app", 400, "Please check if your Completion app mode matches the right API route."
)
NotWorkflowAppError = error_class("not_workflow_app", 400, "Please check if your app mode matches the right API route.")
ConversationCompletedError = error_class("conversation_completed", 400, "The conversation has ended.")
ConversationBusyError = error_class(
    "conversation_busy", 409, "Another answer in this conversation is still being generated. Try again when it ends."
)
NoAudioUploadedError = error_class("no_audio_uploaded", 400, "Please upload your audio.")
AudioTooLargeError = error_class("audio_too_large", 413, "Audio size exceeded.")
UnsupportedAudioTypeError = error_class("unsupported_audio_type", 415, "Audio type not allowed.")
ProviderNotSupportSpeechToTextError = error_class(
    "provider_not_support_speech_to_text", 400, "Provider not support speech to text."
)
ProviderNotSupportTextToSpeechError = error_class(
    "provider_not_support_text_to_speech", 400, "Provider not support text to speech."
)
InvalidActionError = error_class("invalid_action", 400, "Invalid action.")
