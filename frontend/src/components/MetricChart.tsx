// One series' history as a line over time: anomalies as red points, thresholds as dashed lines
// (red for fail, amber for warn), with a text summary for those who cannot see the chart.

import Box from "@mui/material/Box";
import Typography from "@mui/material/Typography";
import { useTheme } from "@mui/material/styles";
import { ChartsReferenceLine } from "@mui/x-charts/ChartsReferenceLine";
import { LineChart } from "@mui/x-charts/LineChart";
import type { Observation, Threshold } from "../api/types";
import { value } from "../format";

function bounds(t: Threshold): number[] {
  if (t.above !== null) return [t.above];
  if (t.below !== null) return [t.below];
  return t.outside ?? [];
}


export default function MetricChart({ name, points, thresholds, windowLabel }: { name: string; points: Observation[]; thresholds: Threshold[]; windowLabel: string }) {
  const theme = useTheme();
  if (!points.length)
    return (
      <Typography color="text.secondary" sx={{ py: 2 }}>
        No values in the last {windowLabel}.
      </Typography>
    );
  const times = points.map((p) => new Date(p.observed_at));
  const values = points.map((p) => p.value);
  const anomalies = points.map((p) => p.anomaly && p.value !== null);
  const lines = thresholds.flatMap((t) => bounds(t).map((b) => ({ at: b, t })));
  const known = [...values.filter((v): v is number => v !== null), ...lines.map((l) => l.at)];
  let lo = Math.min(...known);
  let hi = Math.max(...known);
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.abs(hi) * 0.1 || 1;
  lo -= pad;
  hi += pad;
  const count = anomalies.filter(Boolean).length;
  const summary =
    `${name}: ${points.length} values over the last ${windowLabel}, latest ${value(values[values.length - 1])}` +
    `, ${count} ${count === 1 ? "anomaly" : "anomalies"}` +
    (thresholds.length ? `; thresholds: ${thresholds.map((t) => t.text).join(", ")}` : "");
  return (
    <Box role="img" aria-label={summary} data-testid={`chart ${name}`} data-points={points.length} data-anomalies={count}>
      <LineChart
        height={260}
        hideLegend
        skipAnimation
        margin={{ right: 28 }}
        xAxis={[
          {
            data: times,
            scaleType: "time",
            valueFormatter: (d: Date, ctx) => (ctx.location === "tick" ? ctx.defaultTickLabel : d.toLocaleString()),
          },
        ]}
        yAxis={[{ min: lo, max: hi, width: 56, valueFormatter: (v: number) => value(v) }]}
        series={[
          {
            id: "value",
            label: name,
            data: values,
            color: theme.palette.primary.main,
            showMark: ({ index }) => anomalies[index],
            shape: "circle",
            curve: "linear",
            valueFormatter: (v, { dataIndex }) => (anomalies[dataIndex] ? `${value(v)} (anomaly, expected ${value(points[dataIndex].expected)})` : value(v)),
          },
        ]}
        slotProps={{ mark: { color: theme.palette.error.main } }}
        sx={{ "& .MuiMarkElement-root": { strokeWidth: 2, r: 5, fill: theme.palette.error.main } }}
      >
        {lines.map(({ at, t }, i) => (
          <ChartsReferenceLine
            key={i}
            y={at}
            label={t.text}
            labelAlign="end"
            lineStyle={{ stroke: t.level === "fail" ? theme.palette.error.main : theme.palette.warning.main, strokeDasharray: "6 4" }}
            labelStyle={{ fontSize: 11, fill: theme.palette.text.secondary }}
          />
        ))}
      </LineChart>
    </Box>
  );
}
