/** Published versions of the workflow; restoring one copies it into the draft. */
import { useCallback, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { ErrorBox, formatTime, Loading } from "../components/ui";
import { listVersions, restoreVersion, type Version } from "./api";

export function VersionsPanel({ appId, refreshKey, onRestored }: { appId: string; refreshKey: number; onRestored: () => void }) {
  const { t, i18n } = useTranslation("canvas");
  const [items, setItems] = useState<Version[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(async () => {
    try {
      setItems((await listVersions(appId)).items);
    } catch (e) {
      setError(e);
    }
  }, [appId]);
  useEffect(() => {
    void load();
  }, [load, refreshKey]);
  if (!items) return error ? <ErrorBox error={error} /> : <Loading />;
  return (
    <div className="stack-tight" data-testid="versions">
      <ErrorBox error={error} />
      {items.map((v) => (
        <div className="wf-card" key={v.id} data-testid="version-item">
          <div className="row-between">
            <strong>{v.version === "draft" ? t("versions.draft") : v.marked_name || t("versions.untitled")}</strong>
            {v.version !== "draft" ? (
              <button
                type="button"
                className="btn btn-small"
                data-testid="version-restore"
                onClick={() =>
                  void restoreVersion(appId, v.id)
                    .then(onRestored)
                    .catch((e: unknown) => setError(e))
                }
              >
                {t("versions.restore")}
              </button>
            ) : null}
          </div>
          {v.marked_comment ? <div className="small">{v.marked_comment}</div> : null}
          <div className="muted small">
            {formatTime(v.created_at, i18n.language)} · {v.created_by?.name ?? ""}
          </div>
        </div>
      ))}
    </div>
  );
}
