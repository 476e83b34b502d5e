import { act, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import i18n from "../i18n";
import { DocumentMetadata } from "../pages/knowledge/DocumentMetadata";
import { fromInput, fromInputTime, toInput, toInputTime, type MetadataType } from "../pages/knowledge/metadata";
import { MetadataPanel } from "../pages/knowledge/MetadataPanel";

/**
 * The console's metadata routes for one knowledge base `ds1` with one document `doc1`, answering as
 * the server does (Dify's error JSON on refusals), so the components are driven through `fetch`.
 */
class MetadataServer {
  fields: { id: string; name: string; type: MetadataType }[] = [];
  values: Record<string, string | number> = {};
  builtIn = false;
  refuse: { path: RegExp; status: number; code: string; message: string; params?: string } | null = null;
  calls: { method: string; path: string; body: unknown }[] = [];
  private next = 1;

  handle = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), "http://console.test");
    const method = (init?.method ?? "GET").toUpperCase();
    const body = init?.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : undefined;
    const path = url.pathname.replace("/console/api/datasets/ds1", "");
    this.calls.push({ method, path: url.pathname + url.search, body });
    if (this.refuse && this.refuse.path.test(`${method} ${path}`)) {
      const { status, code, message, params } = this.refuse;
      return this.json({ code, message, status, ...(params ? { params } : {}) }, status);
    }
    if (method === "GET" && path === "/metadata") {
      const count = (name: string) => (name in this.values ? 1 : 0);
      return this.json({ doc_metadata: this.fields.map((f) => ({ ...f, count: count(f.name) })), built_in_field_enabled: this.builtIn });
    }
    if (method === "POST" && path === "/metadata") {
      const name = String(body?.name);
      if (this.fields.some((f) => f.name === name)) {
        return this.json({ code: "invalid_param", message: "Metadata name already exists.", status: 400, params: "name" }, 400);
      }
      const field = { id: `f${this.next++}`, name, type: body?.type as MetadataType };
      this.fields.push(field);
      return this.json(field, 201);
    }
    const one = /^\/metadata\/(f\d+)$/.exec(path);
    if (one) {
      const field = this.fields.find((f) => f.id === one[1])!;
      if (method === "PATCH") {
        if (field.name in this.values) {
          this.values[String(body?.name)] = this.values[field.name]!;
          delete this.values[field.name];
        }
        field.name = String(body?.name);
        return this.json(field);
      }
      this.fields = this.fields.filter((f) => f !== field);
      delete this.values[field.name];
      return new Response(null, { status: 204 });
    }
    const toggle = /^\/metadata\/built-in\/(enable|disable)$/.exec(path);
    if (method === "POST" && toggle) {
      this.builtIn = toggle[1] === "enable";
      return this.json({ result: "success" });
    }
    if (method === "GET" && path === "/documents/doc1") {
      const stored = this.fields.filter((f) => f.name in this.values).map((f) => ({ ...f, value: this.values[f.name]! }));
      const builtIns = this.builtIn ? [{ id: "built-in", name: "document_name", type: "string", value: "rivers.pdf" }] : [];
      return this.json({ id: "doc1", doc_type: null, doc_metadata: [...stored, ...builtIns] });
    }
    if (method === "POST" && path === "/documents/metadata") {
      const [operation] = body?.operation_data as { metadata_list: { id: string; value: string | number }[] }[];
      this.values = {};
      for (const item of operation!.metadata_list) this.values[this.fields.find((f) => f.id === item.id)!.name] = item.value;
      return this.json({ result: "success" });
    }
    return this.json({ code: "not_found", message: "Not Found.", status: 404 }, 404);
  };

  private json(body: unknown, status = 200): Response {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }
}

let server: MetadataServer;
beforeEach(() => {
  server = new MetadataServer();
  vi.stubGlobal("fetch", vi.fn(server.handle));
});
afterEach(async () => {
  vi.unstubAllGlobals();
  await act(() => i18n.changeLanguage("en-US"));
});

describe("MetadataPanel", () => {
  it("adds, renames and deletes fields, showing a refused name under the name box", async () => {
    render(<MetadataPanel datasetId="ds1" />);
    await screen.findByText("No metadata fields are defined for this knowledge base.");

    fireEvent.change(screen.getByLabelText("Field name"), { target: { value: " author " } });
    fireEvent.click(screen.getByTestId("metadata-add"));
    await waitFor(() => expect(screen.getAllByTestId("metadata-field-name").map((n) => n.textContent)).toEqual(["author"]));
    expect(server.calls.find((c) => c.method === "POST")?.body).toEqual({ name: "author", type: "string" });

    fireEvent.change(screen.getByLabelText("Field name"), { target: { value: "year" } });
    fireEvent.change(screen.getByLabelText("Type"), { target: { value: "number" } });
    fireEvent.click(screen.getByTestId("metadata-add"));
    await waitFor(() => expect(screen.getAllByTestId("metadata-field")).toHaveLength(2));
    const year = screen.getAllByTestId("metadata-field")[1]!;
    expect(within(year).getByText("Number")).toBeTruthy();
    expect((screen.getByLabelText("Field name") as HTMLInputElement).value).toBe("");

    // The server refuses a duplicate: its message sits under the name box, the box keeps its text.
    fireEvent.change(screen.getByLabelText("Field name"), { target: { value: "author" } });
    fireEvent.click(screen.getByTestId("metadata-add"));
    const refused = await screen.findByText("Metadata name already exists.");
    expect(refused.id).toBe("metadata-new-name-error");
    expect((screen.getByLabelText("Field name") as HTMLInputElement).value).toBe("author");
    fireEvent.change(screen.getByLabelText("Field name"), { target: { value: "authors" } });
    expect(screen.queryByText("Metadata name already exists.")).toBeNull();

    const author = screen.getAllByTestId("metadata-field")[0]!;
    fireEvent.click(within(author).getByTestId("metadata-rename"));
    fireEvent.change(within(author).getByTestId("metadata-rename-input"), { target: { value: "writer" } });
    fireEvent.click(within(author).getByTestId("metadata-rename-save"));
    await waitFor(() => expect(screen.getAllByTestId("metadata-field-name").map((n) => n.textContent)).toEqual(["writer", "year"]));
    expect(server.calls.find((c) => c.method === "PATCH")).toMatchObject({ path: "/console/api/datasets/ds1/metadata/f1", body: { name: "writer" } });

    // Deleting asks first; cancelling keeps the field.
    fireEvent.click(within(screen.getAllByTestId("metadata-field")[1]!).getByTestId("metadata-delete"));
    expect(screen.getByTestId("metadata-delete-confirm").textContent).toContain("Delete “year”?");
    fireEvent.click(within(screen.getByTestId("metadata-delete-confirm")).getByText("Cancel"));
    expect(server.calls.some((c) => c.method === "DELETE")).toBe(false);
    fireEvent.click(within(screen.getAllByTestId("metadata-field")[1]!).getByTestId("metadata-delete"));
    fireEvent.click(screen.getByTestId("metadata-delete-yes"));
    await waitFor(() => expect(screen.getAllByTestId("metadata-field-name").map((n) => n.textContent)).toEqual(["writer"]));
    expect(server.fields.map((f) => f.name)).toEqual(["writer"]);
  });

  it("shows a refused rename beside its box, and toggles the built-in fields", async () => {
    server.fields = [{ id: "f1", name: "author", type: "string" }];
    render(<MetadataPanel datasetId="ds1" />);
    const row = await screen.findByTestId("metadata-field");
    fireEvent.click(within(row).getByTestId("metadata-rename"));
    fireEvent.change(within(row).getByTestId("metadata-rename-input"), { target: { value: "source" } });
    server.refuse = { path: /^PATCH /, status: 400, code: "invalid_param", message: "Metadata name already exists in Built-in fields.", params: "name" };
    fireEvent.click(within(row).getByTestId("metadata-rename-save"));
    const message = await within(row).findByText("Metadata name already exists in Built-in fields.");
    expect(message.id).toBe("metadata-rename-f1-error");
    expect(within(row).getByTestId("metadata-rename-input")).toBeTruthy();

    server.refuse = null;
    expect(screen.queryByTestId("metadata-built-in-fields")).toBeNull();
    fireEvent.click(screen.getByTestId("metadata-built-in"));
    await waitFor(() => expect(screen.getByTestId("metadata-built-in-fields").textContent).toContain("Upload date"));
    expect(server.builtIn).toBe(true);
    expect((screen.getByTestId("metadata-built-in") as HTMLInputElement).checked).toBe(true);

    // A member without edit rights is refused: the error shows under the switch, the switch stays on.
    server.refuse = { path: /built-in\/disable$/, status: 403, code: "forbidden", message: "You do not have permission to do this." };
    fireEvent.click(screen.getByTestId("metadata-built-in"));
    const alert = await screen.findByTestId("error-box");
    expect(alert.textContent).toContain("forbidden · 403");
    expect(server.builtIn).toBe(true);
    await waitFor(() => expect((screen.getByTestId("metadata-built-in") as HTMLInputElement).checked).toBe(true));
  });

  it("speaks Chinese", async () => {
    await act(() => i18n.changeLanguage("zh-Hans"));
    server.fields = [{ id: "f1", name: "year", type: "number" }];
    render(<MetadataPanel datasetId="ds1" />);
    const row = await screen.findByTestId("metadata-field");
    expect(within(row).getByText("数字")).toBeTruthy();
    expect(screen.getByLabelText("字段名")).toBeTruthy();
    expect(screen.getByTestId("metadata-add").textContent).toContain("添加字段");
  });
});

describe("DocumentMetadata", () => {
  it("edits values with inputs of each field's type and sends them typed", async () => {
    server.fields = [
      { id: "f1", name: "author", type: "string" },
      { id: "f2", name: "year", type: "number" },
      { id: "f3", name: "published", type: "time" },
      { id: "f4", name: "note", type: "string" },
    ];
    server.values = { author: "Ada", note: "old" };
    server.builtIn = true;
    render(<DocumentMetadata datasetId="ds1" documentId="doc1" />);
    const table = await screen.findByTestId("document-metadata-values");
    expect(within(table).getAllByTestId("document-metadata-value").map((c) => c.textContent)).toEqual(["Ada", "—", "—", "old"]);
    expect(screen.getByTestId("document-metadata-built-in").textContent).toContain("Document name");
    expect(screen.getByTestId("document-metadata-built-in").textContent).toContain("rivers.pdf");

    fireEvent.click(screen.getByTestId("document-metadata-edit"));
    const input = (name: string) => screen.getAllByTestId("document-metadata-input").find((i) => i.dataset.name === name) as HTMLInputElement;
    expect([input("author").type, input("year").type, input("published").type]).toEqual(["text", "number", "datetime-local"]);
    expect(input("author").value).toBe("Ada");
    fireEvent.change(input("author"), { target: { value: "Ada Lovelace" } });
    fireEvent.change(input("year"), { target: { value: "1843" } });
    fireEvent.change(input("published"), { target: { value: "1843-07-01T09:30" } });
    fireEvent.change(input("note"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("document-metadata-save"));

    await screen.findByText("Metadata saved.");
    const sent = server.calls.find((c) => c.path === "/console/api/datasets/ds1/documents/metadata")!.body;
    const published = Math.floor(new Date("1843-07-01T09:30").getTime() / 1000);
    expect(sent).toEqual({
      operation_data: [
        {
          document_id: "doc1",
          partial_update: false,
          metadata_list: [
            { id: "f1", name: "author", value: "Ada Lovelace" },
            { id: "f2", name: "year", value: 1843 },
            { id: "f3", name: "published", value: published },
          ],
        },
      ],
    });
    // Reloaded from the server: the emptied field holds no value any more.
    const values = within(await screen.findByTestId("document-metadata-values")).getAllByTestId("document-metadata-value");
    expect(values.map((c) => c.textContent).slice(0, 2)).toEqual(["Ada Lovelace", "1843"]);
    expect(values[2]!.textContent).toContain("1843");
    expect(values[3]!.textContent).toBe("—");
  });

  it("shows the server's refusal in the form and keeps what was typed", async () => {
    server.fields = [{ id: "f1", name: "year", type: "number" }];
    render(<DocumentMetadata datasetId="ds1" documentId="doc1" />);
    fireEvent.click(await screen.findByTestId("document-metadata-edit"));
    const year = screen.getByTestId("document-metadata-input") as HTMLInputElement;
    fireEvent.change(year, { target: { value: "12" } });
    server.refuse = { path: /^POST \/documents\/metadata$/, status: 400, code: "invalid_metadata", message: "Invalid metadata value for year: a number is expected." };
    fireEvent.click(screen.getByTestId("document-metadata-save"));
    const alert = await screen.findByTestId("form-error");
    expect(alert.textContent).toContain("Invalid metadata value for year");
    expect(alert.textContent).toContain("invalid_metadata · 400");
    expect((screen.getByTestId("document-metadata-input") as HTMLInputElement).value).toBe("12");
  });

  it("points to the settings when the knowledge base has no fields", async () => {
    render(<DocumentMetadata datasetId="ds1" documentId="doc1" />);
    await screen.findByText(/no metadata fields yet/);
    expect(screen.queryByTestId("document-metadata-edit")).toBeNull();
  });
});

describe("metadata values", () => {
  it("turns input text into typed values and back", () => {
    expect(fromInput("string", "  Ada ")).toBe("  Ada ");
    expect(fromInput("number", "3.5")).toBe(3.5);
    expect(fromInput("number", "x")).toBeNull();
    expect(fromInput("number", " ")).toBeUndefined();
    expect(fromInput("time", "not a time")).toBeNull();
    const seconds = fromInputTime("2024-02-29T23:59")!;
    expect(toInputTime(seconds)).toBe("2024-02-29T23:59");
    expect(fromInput("time", "2024-02-29T23:59")).toBe(seconds);
    expect(toInput("time", seconds)).toBe("2024-02-29T23:59");
    expect(toInput("number", 0)).toBe("0");
    expect(toInput("string", null)).toBe("");
  });
});
