import { describe, expect, it } from "vitest";
import { readEvents, SseParser } from "../lib/sse";

describe("SseParser", () => {
  it("parses data blocks split across chunks and drops pings", () => {
    const parser = new SseParser();
    const got = [
      ...parser.push('data: {"event": "message", "answer": "Hel'),
      ...parser.push('lo"}\n\nevent: ping\n\n'),
      ...parser.push('data: {"event": "message", "answer": " world"}\r\n\r\ndata: {"event": "message_end"}'),
    ];
    expect(got).toEqual([{ event: "message", answer: "Hello" }, { event: "message", answer: " world" }]);
    expect(parser.flush()).toEqual([{ event: "message_end" }]);
  });

  it("joins multi-line data and names events from the event field", () => {
    const parser = new SseParser();
    expect(parser.push('event: error\ndata: {"code":\ndata: "x"}\n\n')).toEqual([{ event: "error", code: "x" }]);
    expect(parser.push(": comment\n\n")).toEqual([]);
    expect(parser.push("data: not json\n\n")).toEqual([{ event: "text", data: "not json" }]);
  });

  it("reads a streaming response body to the end", async () => {
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode('data: {"event":"message","answer":"a"}\n'));
        controller.enqueue(encoder.encode('\ndata: {"event":"message","answer":"é"}\n\n'));
        controller.close();
      },
    });
    const events: unknown[] = [];
    await readEvents(new Response(body), (e) => events.push(e));
    expect(events).toEqual([{ event: "message", answer: "a" }, { event: "message", answer: "é" }]);
  });
});
