// The what-if bars (old vs new per level), loaded by the administrators' page only when a
// what-if result arrives. A module of its own, so that the page imports it lazily while
// ECharts stays tree-shaken (a dynamic import of charts.ts would keep all of echarts/core).
import { echarts } from './charts';

export function drawBars(el: HTMLElement, categories: string[], series: { name: string; data: number[]; color: string }[]): { dispose(): void } {
  const c = echarts.init(el);
  c.setOption({
    animation: false, // drawn once; a screenshot or a glance sees the final bars
    tooltip: { trigger: 'axis' },
    legend: { data: series.map((s) => s.name) },
    grid: { left: 40, right: 16, top: 36, bottom: 28 },
    xAxis: { type: 'category', data: categories },
    yAxis: { type: 'value', minInterval: 1 },
    series: series.map((s) => ({ name: s.name, type: 'bar', data: s.data, itemStyle: { color: s.color } })),
  });
  return c;
}
