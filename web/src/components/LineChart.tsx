import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

/** A daily time series drawn with uPlot (canvas); one line, filled below, resizing with its box. */
export function LineChart({ x, y, label, color = "#155eef", height = 180 }: { x: number[]; y: number[]; label: string; color?: string; height?: number }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const width = () => Math.max(element.clientWidth, 240);
    // A single day would draw nothing; show it as a point with a day either side.
    const xs = x.length === 1 ? [x[0]! - 86400, x[0]!, x[0]! + 86400] : x;
    const ys = x.length === 1 ? [null, y[0]!, null] : y;
    const chart = new uPlot(
      {
        width: width(),
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.15 : 1] } },
        axes: [{ stroke: "#667085", grid: { stroke: "#f2f4f7" } }, { stroke: "#667085", grid: { stroke: "#f2f4f7" }, size: 64, values: (_u, splits) => splits.map((v) => (v !== 0 && Math.abs(v) < 1 ? Number(v.toPrecision(2)).toString() : v.toLocaleString())) }],
        series: [{}, { label, stroke: color, width: 2, fill: `${color}22`, points: { show: true, size: 6 } }],
      },
      [xs, ys],
      element,
    );
    const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => chart.setSize({ width: width(), height }));
    observer?.observe(element);
    return () => {
      observer?.disconnect();
      chart.destroy();
    };
  }, [x, y, label, color, height]);
  return <div ref={box} className="chart" role="img" aria-label={label} data-testid="chart" />;
}
