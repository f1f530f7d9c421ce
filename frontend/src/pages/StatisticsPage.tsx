// How jobs are doing: success rate, durations and throughput, overall and per kind and env over time.

import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { BarChart } from "@mui/x-charts/BarChart";
import { LineChart } from "@mui/x-charts/LineChart";
import { useState } from "react";
import { useKinds, useStatistics, useTimeline } from "../api/hooks";
import type { TimelinePoint } from "../api/types";
import { count, duration, percent } from "../format";
import PageTitle from "./PageTitle";

const WINDOWS: [number, string][] = [
  [24, "24 hours"],
  [24 * 7, "7 days"],
  [24 * 30, "30 days"],
  [24 * 365, "a year"],
];

const METRICS = {
  success_rate: { label: "Success rate", value: (p: TimelinePoint) => (p.success_rate === null ? null : p.success_rate * 100), unit: "%" },
  duration_p50_s: { label: "p50 duration", value: (p: TimelinePoint) => p.duration_p50_s, unit: "s" },
  duration_p95_s: { label: "p95 duration", value: (p: TimelinePoint) => p.duration_p95_s, unit: "s" },
  items_per_s: { label: "Items/s", value: (p: TimelinePoint) => p.items_per_s, unit: "items/s" },
  jobs: { label: "Jobs finished", value: (p: TimelinePoint) => p.jobs, unit: "jobs" },
} as const;
type Metric = keyof typeof METRICS;

function Card({ label, value, note }: { label: string; value: string; note?: string }) {
  return (
    <Paper sx={{ p: 2, flex: "1 1 160px" }}>
      <Typography variant="overline" component="h2" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h5" component="p" sx={{ fontVariantNumeric: "tabular-nums" }}>
        {value}
      </Typography>
      {note && (
        <Typography variant="caption" color="text.secondary">
          {note}
        </Typography>
      )}
    </Paper>
  );
}

export default function StatisticsPage() {
  const [windowH, setWindowH] = useState(24 * 7);
  const [kind, setKind] = useState("");
  const [env, setEnv] = useState("");
  const [metric, setMetric] = useState<Metric>("success_rate");
  const kinds = useKinds();
  const filters = { kind: kind || undefined, env: env || undefined };
  const stats = useStatistics(filters, windowH);
  const timeline = useTimeline(filters, windowH, 24);
  const s = stats.data;
  const points = timeline.data?.points ?? [];
  const starts = [...new Set(points.map((p) => p.start))].sort();
  const groups = [...new Set(points.map((p) => `${p.kind} · ${p.env}`))].sort();
  const m = METRICS[metric];
  const series = groups.map((g) => ({
    label: g,
    connectNulls: true,
    showMark: true,
    data: starts.map((start) => {
      const p = points.find((x) => x.start === start && `${x.kind} · ${x.env}` === g);
      return p ? m.value(p) : null;
    }),
  }));
  const statuses = Object.entries(s?.by_status ?? {});

  return (
    <>
      <PageTitle title="Statistics" sub="Over the jobs in the store; throughput and the charts over the chosen window.">
        <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap">
          <TextField select size="small" label="Window" value={windowH} onChange={(e) => setWindowH(Number(e.target.value))} sx={{ width: 130 }}>
            {WINDOWS.map(([h, label]) => (
              <MenuItem key={h} value={h}>
                {label}
              </MenuItem>
            ))}
          </TextField>
          <TextField select size="small" label="Kind" value={kind} onChange={(e) => setKind(e.target.value)} sx={{ width: 130 }}>
            <MenuItem value="">
              <em>any</em>
            </MenuItem>
            {(kinds.data ?? []).map((k) => (
              <MenuItem key={k.name} value={k.name}>
                {k.name}
              </MenuItem>
            ))}
          </TextField>
          <TextField size="small" label="Env" value={env} onChange={(e) => setEnv(e.target.value)} sx={{ width: 110 }} />
        </Stack>
      </PageTitle>
      {stats.error && <Alert severity="error">{stats.error.message}</Alert>}
      <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" sx={{ mb: 2 }}>
        <Card label="Jobs" value={count(s?.total)} />
        <Card label="Success rate" value={percent(s?.success_rate, 1)} note="completed / (completed + partial + failed)" />
        <Card label="p50 duration" value={duration(s?.duration_p50_s)} />
        <Card label="p95 duration" value={duration(s?.duration_p95_s)} />
        <Card
          label="Throughput"
          value={s ? `${s.throughput.jobs_per_hour.toLocaleString()} jobs/h` : "—"}
          note={s ? `${count(s.throughput.items_done)} items, ${s.throughput.items_per_s.toLocaleString(undefined, { maximumSignificantDigits: 3 })} items/s over the window` : undefined}
        />
      </Stack>
      <Stack direction={{ xs: "column", lg: "row" }} spacing={2} sx={{ mb: 2 }}>
        <Paper sx={{ p: 2, flex: 2, minWidth: 0 }}>
          <Stack direction="row" alignItems="center" spacing={1} useFlexGap flexWrap="wrap" sx={{ mb: 1 }}>
            <Typography variant="subtitle1" component="h2" sx={{ fontWeight: 600, flex: "1 1 220px" }}>
              {m.label} per kind and env
            </Typography>
            <ToggleButtonGroup size="small" exclusive value={metric} onChange={(_e, v) => v && setMetric(v)} aria-label="Metric" sx={{ flexWrap: "wrap" }}>
              {(Object.keys(METRICS) as Metric[]).map((k) => (
                <ToggleButton key={k} value={k}>
                  {METRICS[k].label}
                </ToggleButton>
              ))}
            </ToggleButtonGroup>
          </Stack>
          {starts.length === 0 ? (
            <Typography color="text.secondary">No job finished in this window.</Typography>
          ) : (
            <Box role="img" aria-label={`${m.label} over time for ${groups.join(", ")}`}>
              <LineChart
                height={300}
                xAxis={[
                  {
                    data: starts.map((x) => new Date(x)),
                    scaleType: "time",
                    valueFormatter: (d: Date) => d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
                  },
                ]}
                yAxis={[{ label: m.unit, ...(metric === "success_rate" ? { min: 0, max: 100 } : {}) }]}
                series={series}
              />
            </Box>
          )}
        </Paper>
        <Paper sx={{ p: 2, flex: 1, minWidth: 0 }}>
          <Typography variant="subtitle1" component="h2" sx={{ fontWeight: 600 }}>
            Jobs by status
          </Typography>
          {statuses.length ? (
            <Box role="img" aria-label={statuses.map(([k, v]) => `${v} ${k}`).join(", ")}>
              <BarChart height={300} layout="horizontal" yAxis={[{ scaleType: "band", data: statuses.map(([k]) => k), width: 80 }]} series={[{ data: statuses.map(([, v]) => v), label: "jobs" }]} />
            </Box>
          ) : (
            <Typography color="text.secondary">No jobs.</Typography>
          )}
        </Paper>
      </Stack>
      <Paper sx={{ p: 2 }}>
        <Typography variant="subtitle1" component="h2" sx={{ fontWeight: 600, mb: 1 }}>
          By kind and env
        </Typography>
        <TableContainer tabIndex={0} aria-label="Statistics by kind and env, scrollable">
          <Table size="small" aria-label="Statistics by kind and env">
            <TableHead>
              <TableRow>
                <TableCell>Kind</TableCell>
                <TableCell>Env</TableCell>
                <TableCell align="right">Jobs</TableCell>
                <TableCell align="right">Success rate</TableCell>
                <TableCell align="right">p50</TableCell>
                <TableCell align="right">p95</TableCell>
                <TableCell align="right">Items done</TableCell>
                <TableCell align="right">Rows written</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {(s?.by_kind_env ?? []).map((g) => (
                <TableRow key={`${g.kind}-${g.env}`}>
                  <TableCell>{g.kind}</TableCell>
                  <TableCell>{g.env}</TableCell>
                  <TableCell align="right">{count(g.jobs)}</TableCell>
                  <TableCell align="right">{percent(g.success_rate, 1)}</TableCell>
                  <TableCell align="right">{duration(g.duration_p50_s)}</TableCell>
                  <TableCell align="right">{duration(g.duration_p95_s)}</TableCell>
                  <TableCell align="right">{count(g.items_done)}</TableCell>
                  <TableCell align="right">{count(g.rows_written)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      </Paper>
    </>
  );
}
