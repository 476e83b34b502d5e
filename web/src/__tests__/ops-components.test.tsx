import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RetrievalModel } from "../api/models";
import { Citations } from "../components/Citations";
import { defaultRetrieval, RetrievalSettings } from "../components/RetrievalSettings";
import { BatchRun } from "../pages/BatchRun";
import { ChunkSettings, DEFAULT_CHUNKS, type ChunkForm } from "../pages/knowledge/ChunkSettings";

// The model lists behind the rerank select: one configured provider with one rerank model.
beforeEach(() => {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      new Response(JSON.stringify({ data: [{ provider: "cohere", label: { en_US: "Cohere" }, status: "active", models: [{ model: "rerank-v3", label: { en_US: "Rerank v3" } }] }] }), {
        status: 200,
        headers: { "Content-Type": "application/json" },
      }),
    ),
  );
});
afterEach(() => vi.unstubAllGlobals());

describe("Citations", () => {
  it("groups chunks by document and opens the quoted text", () => {
    render(
      <Citations
        citations={[
          { document_name: "rivers.pdf", content: "The Loire is long.", score: 0.91, segment_id: "s1" },
          { document_name: "rivers.pdf", content: "Rivers flow.", segment_id: "s2" },
          { document_name: "lakes.txt", content: "Lakes are still." },
        ]}
      />,
    );
    const chips = screen.getAllByTestId("citation");
    expect(chips.map((c) => c.textContent)).toEqual(["📄 rivers.pdf ×2", "📄 lakes.txt"]);
    expect(screen.queryByTestId("citation-body")).toBeNull();
    fireEvent.click(chips[0]!);
    expect(screen.getByTestId("citation-body").textContent).toContain("The Loire is long.");
    expect(screen.getByTestId("citation-body").textContent).toContain("0.91");
    fireEvent.click(chips[0]!);
    expect(screen.queryByTestId("citation-body")).toBeNull();
  });
});

function RetrievalHarness({ onValue }: { onValue: (v: RetrievalModel) => void }) {
  const [value, setValue] = useState(defaultRetrieval());
  return (
    <RetrievalSettings
      value={value}
      onChange={(v) => {
        setValue(v);
        onValue(v);
      }}
    />
  );
}

describe("RetrievalSettings", () => {
  it("switches method, enables the threshold and picks a rerank model", async () => {
    let last = defaultRetrieval();
    render(<RetrievalHarness onValue={(v) => (last = v)} />);
    fireEvent.click(screen.getByLabelText("Hybrid search"));
    expect(last.search_method).toBe("hybrid_search");
    fireEvent.click(screen.getByRole("checkbox", { name: "Score threshold" }));
    expect(last.score_threshold_enabled).toBe(true);
    fireEvent.change(document.getElementById("retrieval-top-k")!, { target: { value: "500" } });
    expect(last.top_k).toBe(100);
    await waitFor(() => expect(screen.getByRole("option", { name: "Rerank v3" })).toBeTruthy());
    fireEvent.change(screen.getByRole("combobox"), { target: { value: "cohere\u0000rerank-v3" } });
    expect(last.reranking_enable).toBe(true);
    expect(last.reranking_model).toEqual({ reranking_provider_name: "cohere", reranking_model_name: "rerank-v3" });
    fireEvent.click(screen.getByLabelText("Weights (semantic / keyword)"));
    expect(last.reranking_mode).toBe("weighted_score");
    expect(last.weights?.keyword_setting.keyword_weight).toBe(0.3);
  });
});

describe("ChunkSettings", () => {
  it("shows custom fields only in custom mode", () => {
    let value: ChunkForm = DEFAULT_CHUNKS;
    const { rerender } = render(<ChunkSettings value={value} onChange={(v) => (value = v)} onAddPreviewed={() => undefined} />);
    expect(screen.queryByTestId("chunk-separator")).toBeNull();
    fireEvent.click(screen.getByTestId("chunk-mode-custom"));
    expect(value.mode).toBe("custom");
    rerender(<ChunkSettings value={value} onChange={(v) => (value = v)} onAddPreviewed={() => undefined} />);
    fireEvent.change(screen.getByTestId("chunk-maxTokens"), { target: { value: "300" } });
    expect(value.maxTokens).toBe(300);
  });
});

describe("BatchRun", () => {
  it("loads rows from a CSV and refuses one without the required column", async () => {
    const form = [{ "text-input": { label: "Topic", variable: "topic", required: true } }];
    render(<BatchRun code="abc" form={form} />);
    const input = screen.getByTestId("batch-input") as HTMLInputElement;
    fireEvent.change(input, { target: { files: [new File(["subject\nx\n"], "bad.csv", { type: "text/csv" })] } });
    await waitFor(() => expect(screen.getByRole("alert").textContent).toContain("topic"));
    fireEvent.change(input, { target: { files: [new File(["topic\nrivers\nlakes\n"], "ok.csv", { type: "text/csv" })] } });
    await waitFor(() => expect(screen.getAllByTestId("batch-row")).toHaveLength(2));
    expect(screen.getByTestId("batch-progress").textContent).toBe("2 rows");
  });
});
