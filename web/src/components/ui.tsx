import { useEffect, useRef, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { CopyButton } from "./CopyButton";

/** An error shown where it happened: the server's message, with its code and status. */
export function ErrorBox({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (!error) return null;
  if (error instanceof ApiError) {
    return (
      <div className="alert" role="alert" data-testid="error-box">
        {error.message || t("errors.generic")}
        <span className="alert-code">
          {error.code} · {error.status}
        </span>
      </div>
    );
  }
  const message =
    error instanceof TypeError
      ? t("errors.network")
      : error instanceof Error && error.message
        ? error.message
        : t("errors.generic");
  return (
    <div className="alert" role="alert" data-testid="error-box">
      {message}
    </div>
  );
}

export function Modal({
  title,
  onClose,
  children,
  footer,
  wide,
}: {
  title: string;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  wide?: boolean;
}) {
  const backdrop = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      // Escape closes only the topmost modal (a modal opened from another one comes later in the page).
      const open = document.querySelectorAll(".modal-backdrop");
      if (event.key === "Escape" && open[open.length - 1] === backdrop.current) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [onClose]);
  return (
    <div ref={backdrop} className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={wide ? "modal modal-wide" : "modal"} role="dialog" aria-modal="true" aria-label={title}>
        <div className="row-between">
          <h2>{title}</h2>
          <button type="button" className="btn btn-ghost btn-small" onClick={onClose} aria-label="×">
            ✕
          </button>
        </div>
        {children}
        {footer ? <div className="modal-foot">{footer}</div> : null}
      </div>
    </div>
  );
}

export function Switch({
  checked,
  onChange,
  label,
  testId,
}: {
  checked: boolean;
  onChange: (value: boolean) => void;
  label: string;
  testId?: string;
}) {
  return (
    <label className="switch" title={label}>
      <input
        type="checkbox"
        checked={checked}
        aria-label={label}
        data-testid={testId}
        onChange={(e) => onChange(e.target.checked)}
      />
      <span />
    </label>
  );
}

export function CodeBlock({ code, testId }: { code: string; testId?: string }) {
  return (
    <pre className="code-block" data-testid={testId}>
      <CopyButton text={code} />
      {code}
    </pre>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return <div className="empty">{t("common.loading")}</div>;
}

export function formatTime(seconds: number | null | undefined, language: string): string {
  if (!seconds) return "—";
  return new Date(seconds * 1000).toLocaleString(language === "zh-Hans" ? "zh-CN" : "en-US", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** Save text as a file download. */
export function download(filename: string, text: string, type = "application/x-yaml"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  window.setTimeout(() => URL.revokeObjectURL(url), 1000);
}
