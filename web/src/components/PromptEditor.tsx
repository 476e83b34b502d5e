import { useRef } from "react";
import { splitPrompt } from "../lib/prompt";

/**
 * A textarea over a mirror that paints `{{variable}}` references: known variables in blue, unknown
 * ones in amber. The textarea's text is transparent so the mirror shows through, caret included.
 */
export function PromptEditor({
  value,
  onChange,
  known,
  placeholder,
  id,
}: {
  value: string;
  onChange: (value: string) => void;
  known: string[];
  placeholder?: string;
  id?: string;
}) {
  const mirror = useRef<HTMLPreElement>(null);
  return (
    <div className="prompt-editor">
      <pre ref={mirror} aria-hidden="true" data-testid="prompt-mirror">
        {splitPrompt(value).map((part, i) =>
          part.variable !== undefined ? (
            <span
              key={i}
              className={known.includes(part.variable) ? "prompt-var" : "prompt-var prompt-var-unknown"}
              data-variable={part.variable}
            >
              {part.text}
            </span>
          ) : (
            <span key={i}>{part.text}</span>
          ),
        )}
        {/* a trailing newline needs a character after it to take up a line in the mirror */}
        {"\u200b"}
      </pre>
      <textarea
        id={id}
        value={value}
        placeholder={placeholder}
        spellCheck={false}
        data-testid="prompt-input"
        onChange={(e) => onChange(e.target.value)}
        onScroll={(e) => {
          if (mirror.current) mirror.current.scrollTop = e.currentTarget.scrollTop;
        }}
      />
    </div>
  );
}
