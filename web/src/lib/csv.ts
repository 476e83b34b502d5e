/** CSV as spreadsheets write it (RFC 4180): quoted fields, doubled quotes, CRLF or LF line ends. */

/** Parse CSV text into rows of fields; a UTF-8 byte-order mark and a trailing blank line are dropped. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  const source = text.startsWith("\ufeff") ? text.slice(1) : text;
  for (let i = 0; i < source.length; i += 1) {
    const ch = source[i];
    if (quoted) {
      if (ch === '"' && source[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === "") quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && source[i + 1] === "\n") i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

function quote(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Rows to CSV text (CRLF line ends, a BOM so spreadsheet apps read UTF-8). */
export function toCsv(rows: readonly (readonly string[])[]): string {
  return "\ufeff" + rows.map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
}

/**
 * Rows of a batch CSV as input objects: the header row names the variables; columns that are not
 * variables are ignored. Returns `null` when a required variable has no column.
 */
export function rowsToInputs(rows: string[][], variables: readonly string[], required: readonly string[]): Record<string, string>[] | null {
  const [header, ...body] = rows;
  if (!header) return null;
  const names = header.map((h) => h.trim());
  if (required.some((r) => !names.includes(r))) return null;
  return body.map((row) => {
    const inputs: Record<string, string> = {};
    names.forEach((name, i) => {
      if (variables.includes(name)) inputs[name] = row[i] ?? "";
    });
    return inputs;
  });
}
