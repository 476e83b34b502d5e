/**
 * Server-sent events as Dify writes them: `data: <json>` blocks separated by a blank line, and
 * `event: ping` keep-alives. The parser is fed raw text chunks (split anywhere, even mid-line).
 */
export type StreamEvent = { event?: string } & Record<string, unknown>;

export class SseParser {
  private buffer = "";

  /** Feed one chunk; returns the complete events it finished (pings are dropped). */
  push(chunk: string): StreamEvent[] {
    this.buffer += chunk.replace(/\r\n?/g, "\n");
    const events: StreamEvent[] = [];
    let end = this.buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const parsed = parseBlock(block);
      if (parsed) events.push(parsed);
      end = this.buffer.indexOf("\n\n");
    }
    return events;
  }

  /** The last block, when the stream ended without its blank line. */
  flush(): StreamEvent[] {
    const rest = this.buffer;
    this.buffer = "";
    const parsed = rest.trim() ? parseBlock(rest) : null;
    return parsed ? [parsed] : [];
  }
}

function parseBlock(block: string): StreamEvent | null {
  let name: string | null = null;
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") name = value;
    else if (field === "data") data.push(value);
  }
  if (name === "ping" || data.length === 0) return null;
  const text = data.join("\n");
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      const event = parsed as StreamEvent;
      if (name && !event.event) event.event = name;
      return event;
    }
  } catch {
    /* a non-JSON data line is passed on as text */
  }
  return { event: name ?? "text", data: text };
}

/** Read a streaming response body to the end, calling `onEvent` for each event. */
export async function readEvents(response: Response, onEvent: (event: StreamEvent) => void): Promise<void> {
  const body = response.body;
  if (!body) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (const event of parser.push(decoder.decode(value, { stream: true }))) onEvent(event);
  }
  for (const event of parser.push(decoder.decode())) onEvent(event);
  for (const event of parser.flush()) onEvent(event);
}
