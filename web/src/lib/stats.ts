/** Turning `/statistics/{kind}` rows into chart series, and the time ranges the log and chart pages use. */

export type StatRow = { date: string } & Record<string, unknown>;

/** The statistics the monitoring page charts: the API kind and the field of each row it plots. */
export const STAT_CHARTS = [
  { kind: "daily-conversations", field: "conversation_count", label: "conversations" },
  { kind: "daily-end-users", field: "terminal_count", label: "users" },
  { kind: "daily-messages", field: "message_count", label: "messages" },
  { kind: "token-costs", field: "token_count", label: "tokens" },
  { kind: "token-costs", field: "total_price", label: "cost" },
  { kind: "average-session-interactions", field: "interactions", label: "interactions" },
  { kind: "average-response-time", field: "latency", label: "latency" },
  { kind: "tokens-per-second", field: "tps", label: "tps" },
  { kind: "user-satisfaction-rate", field: "rate", label: "satisfaction" },
] as const;

/** Dates as seconds since the epoch (uPlot's x axis) and the numbers of `field`, one per row. */
export function toSeries(rows: readonly StatRow[], field: string): { x: number[]; y: number[] } {
  const x: number[] = [];
  const y: number[] = [];
  for (const row of rows) {
    const time = Date.parse(`${row.date.slice(0, 10)}T00:00:00Z`);
    if (Number.isNaN(time)) continue;
    const raw = row[field];
    const value = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
    x.push(time / 1000);
    y.push(Number.isFinite(value) ? value : 0);
  }
  return { x, y };
}

/** Sum for counters, mean for rates and averages. */
export function summarize(values: readonly number[], mode: "sum" | "mean"): number {
  if (values.length === 0) return 0;
  const total = values.reduce((a, b) => a + b, 0);
  return mode === "sum" ? total : total / values.length;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** `YYYY-MM-DD HH:mm` in local time, the format the log and statistics routes take for start/end. */
export function formatQueryTime(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The start of a range of `days` days ending now (today counts as one); `all` has no bound. There is
 * no end bound: the routes take minutes, and an end of "now" would drop this minute's messages.
 */
export function rangeBounds(days: string, now = new Date()): { start?: string } {
  if (days === "all") return {};
  const count = Number(days);
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate() - (count - 1), 0, 0);
  return { start: formatQueryTime(start) };
}
