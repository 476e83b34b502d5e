import { describe, expect, it } from "vitest";
import { chatMedia, messageFiles, recorderMime, recordingName } from "../lib/chatMedia";

describe("chatMedia", () => {
  it("turns everything off when the app enables nothing", () => {
    expect(chatMedia(null)).toEqual({ imageLimit: 0, speechToText: false, textToSpeech: false });
    expect(chatMedia({ file_upload: {}, speech_to_text: { enabled: false } }).imageLimit).toBe(0);
  });

  it("reads the older image block", () => {
    const media = chatMedia({ file_upload: { image: { enabled: true, number_limits: 2, transfer_methods: ["local_file", "remote_url"] } } });
    expect(media.imageLimit).toBe(2);
    expect(chatMedia({ file_upload: { image: { enabled: true, transfer_methods: ["remote_url"] } } }).imageLimit).toBe(0);
  });

  it("reads the newer file types and only offers images", () => {
    expect(chatMedia({ file_upload: { enabled: true, allowed_file_types: ["image"], number_limits: 5 } }).imageLimit).toBe(5);
    expect(chatMedia({ file_upload: { enabled: true, allowed_file_types: ["document"] } }).imageLimit).toBe(0);
    expect(chatMedia({ file_upload: { enabled: false, allowed_file_types: ["image"] } }).imageLimit).toBe(0);
  });

  it("reads the speech switches", () => {
    expect(chatMedia({ speech_to_text: { enabled: true }, text_to_speech: { enabled: true } })).toMatchObject({ speechToText: true, textToSpeech: true });
  });
});

describe("message files and recordings", () => {
  it("builds Dify's files field", () => {
    expect(messageFiles([{ id: "f1", name: "a.png" }])).toEqual([{ type: "image", transfer_method: "local_file", upload_file_id: "f1" }]);
  });

  it("picks a supported recording format and names it", () => {
    expect(recorderMime((m) => m === "audio/mp4")).toBe("audio/mp4");
    expect(recorderMime(() => false)).toBeUndefined();
    expect(recordingName("audio/webm;codecs=opus")).toBe("recording.webm");
    expect(recordingName("audio/mp4")).toBe("recording.m4a");
  });
});
