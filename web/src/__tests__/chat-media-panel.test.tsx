import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ChatPanel } from "../components/ChatPanel";
import type { UploadedFile } from "../lib/chatMedia";

const stream = (events: object[]) =>
  new Response(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join(""), { headers: { "Content-Type": "text/event-stream" } });

describe("ChatPanel media", () => {
  it("shows no attach, mic or play buttons unless the app enables them", async () => {
    render(<ChatPanel conversationId={null} onConversation={() => undefined} send={async () => stream([{ event: "message_end", message_id: "m1" }])} />);
    expect(screen.queryByTestId("chat-attach")).toBeNull();
    expect(screen.queryByTestId("chat-mic")).toBeNull();
  });

  it("uploads images, sends them with the message and clears them", async () => {
    const uploaded: string[] = [];
    const sent: UploadedFile[][] = [];
    render(
      <ChatPanel
        conversationId={null}
        onConversation={() => undefined}
        imageLimit={1}
        uploadImage={async (file) => {
          uploaded.push(file.name);
          return { id: `id-${file.name}`, name: file.name };
        }}
        transcribe={async () => "hello"}
        speak={async () => new Blob(["x"], { type: "audio/mpeg" })}
        send={async (_q, _c, _s, files) => {
          sent.push(files);
          return stream([{ event: "message", answer: "Hi", message_id: "m1" }, { event: "message_end", message_id: "m1" }]);
        }}
      />,
    );
    expect(screen.getByTestId("chat-mic")).toBeTruthy();
    const picture = new File(["png"], "cat.png", { type: "image/png" });
    await act(async () => {
      fireEvent.change(screen.getByTestId("chat-file"), { target: { files: [picture, new File(["b"], "dog.png")] } });
    });
    // The limit is one image: the second is not uploaded, and the button is off.
    await waitFor(() => expect(screen.getByTestId("chat-attachments").textContent).toContain("cat.png"));
    expect(uploaded).toEqual(["cat.png"]);
    expect((screen.getByTestId("chat-attach") as HTMLButtonElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "What is this?" } });
    await act(async () => {
      fireEvent.click(screen.getByTestId("chat-send"));
    });
    await waitFor(() => expect(screen.getByTestId("answer").textContent).toContain("Hi"));
    expect(sent).toEqual([[{ id: "id-cat.png", name: "cat.png" }]]);
    expect(screen.queryByTestId("chat-attachments")).toBeNull();
    expect(screen.getByTestId("chat-play")).toBeTruthy();
  });

  it("shows an upload error where it happened", async () => {
    render(
      <ChatPanel
        conversationId={null}
        onConversation={() => undefined}
        imageLimit={3}
        uploadImage={async () => {
          throw new Error("File is too large.");
        }}
        send={async () => stream([])}
      />,
    );
    await act(async () => {
      fireEvent.change(screen.getByTestId("chat-file"), { target: { files: [new File(["x"], "big.png")] } });
    });
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("File is too large."));
  });
});
