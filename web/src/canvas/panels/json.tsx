import { useTranslation } from "react-i18next";
import { JsonField, Section, type PanelProps } from "./fields";

const BASE_KEYS = new Set(["type", "title", "desc", "selected", "error_strategy", "default_value", "retry_config"]);

/** The fallback for node types without their own panel: the node's fields as JSON. */
export function JsonPanel({ node, update }: PanelProps) {
  const { t } = useTranslation("canvas");
  const fields = Object.fromEntries(Object.entries(node.data).filter(([k]) => !BASE_KEYS.has(k)));
  return (
    <Section title={t("panel.fields")}>
      <p className="muted small">{t("panel.jsonHint")}</p>
      <JsonField
        key={node.id}
        value={fields}
        testId="json-fields"
        onChange={(value) => {
          if (!value || typeof value !== "object" || Array.isArray(value)) return;
          // A key taken out of the JSON is removed from the node (undefined deletes it).
          const patch: Record<string, unknown> = { ...(value as Record<string, unknown>) };
          for (const k of Object.keys(fields)) if (!(k in patch)) patch[k] = undefined;
          update(patch);
        }}
      />
    </Section>
  );
}
