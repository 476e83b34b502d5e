import { useTranslation } from "react-i18next";

export const RANGES = ["1", "7", "28", "90", "all"] as const;

export function RangeSelect({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const { t } = useTranslation();
  return (
    <select aria-label={t("logs.range")} data-testid="range-select" value={value} style={{ width: 180 }} onChange={(e) => onChange(e.target.value)}>
      {RANGES.map((r) => (
        <option key={r} value={r}>
          {t(`logs.ranges.${r}`)}
        </option>
      ))}
    </select>
  );
}

/** A labelled select over fixed options whose labels live under `prefix`. */
export function OptionSelect({
  label,
  value,
  options,
  prefix,
  onChange,
  testId,
}: {
  label: string;
  value: string;
  options: readonly string[];
  prefix: string;
  onChange: (v: string) => void;
  testId?: string;
}) {
  const { t } = useTranslation();
  return (
    <select aria-label={label} title={label} data-testid={testId} value={value} style={{ width: 150 }} onChange={(e) => onChange(e.target.value)}>
      {options.map((o) => (
        <option key={o} value={o}>
          {t(`${prefix}.${o}`)}
        </option>
      ))}
    </select>
  );
}
