import { describe, expect, it } from "vitest";
import type { ModelConfig, ToolProvider } from "../api/models";
import i18n from "../i18n";
import opsEnUS from "../i18n/ops.en-US";
import opsZhHans from "../i18n/ops.zh-Hans";
import { parseCsv, rowsToInputs, toCsv } from "../lib/csv";
import { formatQueryTime, rangeBounds, summarize, toSeries } from "../lib/stats";
import { datasetConfigs, selectedDatasetIds, withDatasets } from "../pages/editor/ContextPanel";
import { agentTools, toolEntry } from "../pages/editor/ToolsPanel";
import { DEFAULT_CHUNKS, processRule } from "../pages/knowledge/ChunkSettings";
import { logQuery } from "../pages/ops/Logs";
import { promptMessages } from "../pages/ops/MessageTrace";
import { applyRunEvent, IDLE } from "../pages/WebWorkflow";

function keys(value: unknown, prefix = ""): string[] {
  if (typeof value !== "object" || value === null) return [prefix];
  return Object.entries(value).flatMap(([k, v]) => keys(v, prefix ? `${prefix}.${k}` : k));
}

describe("csv", () => {
  it("round-trips quotes, commas, newlines and CJK text", () => {
    const rows = [["question", "answer"], ['He said "hi", twice', "line one\nline two"], ["河流", "流向大海"]];
    const text = toCsv(rows);
    expect(text.startsWith("\ufeff")).toBe(true);
    expect(parseCsv(text)).toEqual(rows);
  });

  it("reads CRLF files and skips blank lines", () => {
    expect(parseCsv("a,b\r\n1,2\r\n\r\n3,\r\n")).toEqual([["a", "b"], ["1", "2"], ["3", ""]]);
  });

  it("maps batch rows to inputs by header and refuses a missing required column", () => {
    const rows = parseCsv("topic,extra,tone\nrivers,x,calm\nlakes,y,\n");
    expect(rowsToInputs(rows, ["topic", "tone"], ["topic"])).toEqual([
      { topic: "rivers", tone: "calm" },
      { topic: "lakes", tone: "" },
    ]);
    expect(rowsToInputs(rows, ["subject"], ["subject"])).toBeNull();
  });
});

describe("statistics", () => {
  it("turns rows into epoch seconds and numbers, string prices included", () => {
    const rows = [
      { date: "2024-05-01", total_price: "0.0000065", token_count: 25 },
      { date: "2024-05-02", total_price: "bad", token_count: 5 },
    ];
    expect(toSeries(rows, "token_count")).toEqual({ x: [1714521600, 1714608000], y: [25, 5] });
    expect(toSeries(rows, "total_price").y).toEqual([0.0000065, 0]);
    expect(summarize([1, 2, 3], "sum")).toBe(6);
    expect(summarize([1, 2, 3], "mean")).toBe(2);
    expect(summarize([], "mean")).toBe(0);
  });

  it("bounds a range of days in the route's time format", () => {
    const now = new Date(2024, 4, 10, 15, 7);
    expect(rangeBounds("1", now)).toEqual({ start: "2024-05-10 00:00" });
    expect(rangeBounds("7", now).start).toBe("2024-05-04 00:00");
    expect(rangeBounds("all", now)).toEqual({});
    expect(formatQueryTime(new Date(2024, 0, 2, 3, 4))).toBe("2024-01-02 03:04");
  });

  it("builds the log query, leaving out 'all' filters", () => {
    const now = new Date(2024, 4, 10, 12, 0);
    expect(logQuery({ range: "all", status: "all", feedback: "all", annotated: "all", keyword: "  " }, 1, now)).toEqual({ page: 1, limit: 20 });
    expect(logQuery({ range: "1", status: "error", feedback: "like", annotated: "annotated", keyword: "loire" }, 2, now)).toEqual({
      page: 2,
      limit: 20,
      start: "2024-05-10 00:00",
      status: "error",
      feedback: "like",
      annotation_status: "annotated",
      keyword: "loire",
    });
  });
});

describe("chunk settings", () => {
  it("sends automatic mode bare and clamps custom numbers like the server's checks", () => {
    expect(processRule(DEFAULT_CHUNKS)).toEqual({ mode: "automatic" });
    const rule = processRule({ ...DEFAULT_CHUNKS, mode: "custom", maxTokens: 10, overlap: 99, separator: "" });
    expect(rule.rules?.segmentation).toEqual({ separator: "\\n\\n", max_tokens: 50, chunk_overlap: 49 });
    expect(rule.rules?.pre_processing_rules).toEqual([
      { id: "remove_extra_spaces", enabled: true },
      { id: "remove_urls_emails", enabled: false },
    ]);
    const parentChild = processRule({ ...DEFAULT_CHUNKS, mode: "hierarchical", parentMode: "full-doc" });
    expect(parentChild.rules?.parent_mode).toBe("full-doc");
    expect(parentChild.rules?.subchunk_segmentation?.max_tokens).toBe(200);
  });
});

describe("app config helpers", () => {
  const base = { agent_mode: { enabled: true, strategy: "function_call", tools: [{ dataset: { id: "old", enabled: true } }] } } as unknown as ModelConfig;

  it("selects knowledge bases in Dify's dataset_configs shape, keeping the settings", () => {
    const config = withDatasets({ ...base, dataset_configs: { retrieval_model: "multiple", top_k: 6, datasets: { datasets: [] } } }, ["a", "b"]);
    expect(selectedDatasetIds(config)).toEqual(["a", "b"]);
    expect(datasetConfigs(config).top_k).toBe(6);
    expect(config.dataset_configs).toMatchObject({ datasets: { datasets: [{ dataset: { id: "a", enabled: true } }, { dataset: { id: "b", enabled: true } }] } });
    expect(selectedDatasetIds(base)).toEqual([]);
  });

  it("writes agent tools as Dify's agent_mode.tools items, form parameters at their defaults", () => {
    const provider = {
      id: "p1",
      name: "time",
      type: "builtin",
      label: { en_US: "Time" },
      tools: [],
    } as unknown as ToolProvider;
    const entry = toolEntry(
      provider,
      {
        name: "current_time",
        label: { en_US: "Current time", zh_Hans: "当前时间" },
        description: {},
        parameters: [
          { name: "timezone", label: {}, human_description: {}, type: "string", form: "form", required: false, default: "UTC" },
          { name: "query", label: {}, human_description: {}, type: "string", form: "llm", required: true },
        ],
      },
      "zh-Hans",
    );
    expect(entry).toEqual({
      provider_type: "builtin",
      provider_id: "time",
      provider_name: "time",
      tool_name: "current_time",
      tool_label: "当前时间",
      tool_parameters: { timezone: "UTC" },
      enabled: true,
    });
    expect(agentTools({ ...base, agent_mode: { ...base.agent_mode, tools: [...base.agent_mode.tools, entry] } })).toEqual([entry]);
  });
});

describe("traces and runs", () => {
  it("reads prompt messages in either text or content form", () => {
    expect(promptMessages([{ role: "system", text: "Be brief." }, { role: "user", content: [{ type: "text", data: "hi" }] }])).toEqual([
      { role: "system", text: "Be brief." },
      { role: "user", text: JSON.stringify([{ type: "text", data: "hi" }], null, 2) },
    ]);
    expect(promptMessages(null)).toEqual([]);
  });

  it("folds a workflow stream into progress and outputs", () => {
    const events = [
      { event: "workflow_started", task_id: "t1", data: {} },
      { event: "node_started", data: { node_id: "start", title: "Start", node_type: "start" } },
      { event: "node_finished", data: { node_id: "start", status: "succeeded", elapsed_time: 0.01 } },
      { event: "node_started", data: { node_id: "llm", title: "LLM", node_type: "llm" } },
      { event: "text_chunk", data: { text: "Hel" } },
      { event: "text_chunk", data: { text: "lo" } },
      { event: "node_finished", data: { node_id: "llm", status: "failed" } },
      { event: "workflow_finished", data: { status: "failed", outputs: null, error: "boom" } },
    ];
    const states = events.reduce<(typeof IDLE)[]>((all, e) => [...all, applyRunEvent(all[all.length - 1] ?? IDLE, e)], []);
    expect(states[0]).toMatchObject({ status: "running", taskId: "t1" });
    expect(states[3]!.nodes.map((n) => [n.id, n.status])).toEqual([["start", "succeeded"], ["llm", "running"]]);
    const last = states[states.length - 1]!;
    expect(last).toMatchObject({ status: "failed", error: "boom", text: "Hello", taskId: null });
    expect(last.nodes[1]).toMatchObject({ status: "failed" });
  });
});

describe("translations", () => {
  it("has every ops string in Chinese, and none left in English", () => {
    expect(keys(opsZhHans).sort()).toEqual(keys(opsEnUS).sort());
    const en = new Map(keys(opsEnUS).map((k) => [k, i18n.getFixedT("en-US")(k)]));
    const same = keys(opsZhHans).filter((k) => i18n.getFixedT("zh-Hans")(k) === en.get(k) && !/^[A-Z\s/().]+$|Top K|Token|API|MCP|ReAct|Rerank|Embedding|Header|Key|Swagger/.test(String(en.get(k))));
    expect(same).toEqual([]);
  });

  it("does not shadow the console's own top-level sections", async () => {
    const enUS = (await import("../i18n/en-US")).default;
    expect(Object.keys(opsEnUS).filter((k) => k in enUS)).toEqual([]);
  });
});
