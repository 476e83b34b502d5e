/**
 * What an end-user chat may do besides typing, read from the app's `/api/parameters`: attach images,
 * dictate (speech to text) and listen to answers (text to speech) — each only where the app enables it.
 */

export interface FileUploadConfig {
  enabled?: boolean;
  allowed_file_types?: string[];
  allowed_file_upload_methods?: string[];
  number_limits?: number;
  image?: { enabled?: boolean; number_limits?: number; transfer_methods?: string[] };
}

export interface MediaParameters {
  file_upload?: FileUploadConfig | null;
  speech_to_text?: { enabled?: boolean } | null;
  text_to_speech?: { enabled?: boolean } | null;
}

export interface ChatMedia {
  /** How many images one message may carry; 0 when image upload is off. */
  imageLimit: number;
  speechToText: boolean;
  textToSpeech: boolean;
}

/** An uploaded file, as the upload route answers. */
export interface UploadedFile {
  id: string;
  name: string;
}

/** The chat media features the app's parameters turn on. */
export function chatMedia(params: MediaParameters | null | undefined): ChatMedia {
  const upload = params?.file_upload ?? {};
  // Dify has two shapes: the older `image` block, and the newer `enabled` + `allowed_file_types`.
  const legacy = upload.image?.enabled === true;
  const current = upload.enabled === true && (upload.allowed_file_types ?? []).includes("image");
  const methods = legacy ? upload.image?.transfer_methods : upload.allowed_file_upload_methods;
  // Only local uploads are offered here; an app that allows remote URLs alone gets no attach button.
  const local = methods === undefined || methods.includes("local_file");
  const limit = legacy ? (upload.image?.number_limits ?? 3) : (upload.number_limits ?? 3);
  return {
    imageLimit: (legacy || current) && local ? Math.max(0, limit) : 0,
    speechToText: params?.speech_to_text?.enabled === true,
    textToSpeech: params?.text_to_speech?.enabled === true,
  };
}

/** The `files` field of a chat message for images uploaded through the web app. */
export function messageFiles(uploaded: UploadedFile[]): { type: "image"; transfer_method: "local_file"; upload_file_id: string }[] {
  return uploaded.map((file) => ({ type: "image", transfer_method: "local_file", upload_file_id: file.id }));
}

/** The first recording format this browser supports (`isSupported` is `MediaRecorder.isTypeSupported`). */
export function recorderMime(isSupported: (mime: string) => boolean): string | undefined {
  return ["audio/webm", "audio/mp4", "audio/ogg", "audio/wav"].find((mime) => isSupported(mime));
}

/** A file name whose extension the speech route accepts, for a recording of `mime`. */
export function recordingName(mime: string): string {
  const extensions: Record<string, string> = { "audio/webm": "webm", "audio/mp4": "m4a", "audio/ogg": "ogg", "audio/wav": "wav" };
  const ext = extensions[mime.split(";")[0] ?? ""] ?? "webm";
  return `recording.${ext}`;
}
