"""A small Prometheus registry: counters, histograms and callback gauges, text exposition format 0.0.4.

Kept in-process and dependency-free; every update is a dict lookup and an addition under a lock.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(names: tuple[str, ...], values: tuple[str, ...]) -> str:
    if not names:
        return ""
    escaped = (v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") for v in values)
    return "{" + ",".join(f'{n}="{v}"' for n, v in zip(names, escaped, strict=True)) + "}"


class Counter:
    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name, self.help, self.label_names = name, help_text, labels
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(str(labels.get(n, "")) for n in self.label_names)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(str(labels.get(n, "")) for n in self.label_names), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(self.label_names, key)} {value}"


class Histogram:
    def __init__(
        self, name: str, help_text: str, labels: tuple[str, ...] = (), buckets: tuple[float, ...] = DEFAULT_BUCKETS
    ) -> None:
        self.name, self.help, self.label_names, self.buckets = name, help_text, labels, buckets
        self._data: dict[tuple[str, ...], list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(str(labels.get(n, "")) for n in self.label_names)
        index = bisect.bisect_left(self.buckets, value)
        with self._lock:
            row = self._data.setdefault(key, [0.0] * (len(self.buckets) + 2))
            if index < len(self.buckets):
                row[index] += 1
            row[-2] += value
            row[-1] += 1

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        for key, row in sorted(self._data.items()):
            running = 0.0
            for bound, count in zip(self.buckets, row, strict=False):
                running += count
                yield f"{self.name}_bucket{_labels((*self.label_names, 'le'), (*key, repr(bound)))} {running}"
            yield f"{self.name}_bucket{_labels((*self.label_names, 'le'), (*key, '+Inf'))} {row[-1]}"
            yield f"{self.name}_sum{_labels(self.label_names, key)} {row[-2]}"
            yield f"{self.name}_count{_labels(self.label_names, key)} {row[-1]}"


class Gauge:
    """A value read at scrape time from a callback (queue depth, open streams)."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        try:
            value = float(self.read())
        except Exception:  # noqa: BLE001 - a broken probe must not break the scrape
            return
        yield f"{self.name} {value}"


class CounterFunc:
    """A counter whose total is kept elsewhere (a component's own stats) and read at scrape time."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_text, read

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        try:
            value = float(self.read())
        except Exception:  # noqa: BLE001 - a broken probe must not break the scrape
            return
        yield f"{self.name} {value}"


M = TypeVar("M", Counter, Histogram, Gauge, CounterFunc)


class Registry:
    def __init__(self) -> None:
        self.metrics: list[Counter | Histogram | Gauge | CounterFunc] = []

    def names(self) -> set[str]:
        return {metric.name for metric in self.metrics}

    def add(self, metric: M) -> M:
        self.metrics.append(metric)
        return metric

    def render(self) -> str:
        return "\n".join(line for metric in self.metrics for line in metric.render()) + "\n"
