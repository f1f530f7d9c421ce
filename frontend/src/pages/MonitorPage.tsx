// One monitor: each series' history over a window as a chart, with its anomalies and thresholds.

import ArrowBackIcon from "@mui/icons-material/ArrowBack";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { Link as RouterLink, useParams, useSearchParams } from "react-router-dom";
import { useMetrics, useMonitor } from "../api/quality";
import type { Observation, Series } from "../api/types";
import MetricChart from "../components/MetricChart";
import StatusChip from "../components/StatusChip";
import { moment, seriesName, value } from "../format";
import PageTitle from "./PageTitle";

const WINDOWS: [string, string][] = [
  ["24h", "24 hours"],
  ["7d", "7 days"],
  ["30d", "30 days"],
];

const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

function SeriesPanel({ latest, points, windowLabel }: { latest: Series; points: Observation[]; windowLabel: string }) {
  const name = seriesName(latest.metric, latest.labels);
  const id = `series-${name.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
  const anomalies = points.filter((p) => p.anomaly).slice(-5).reverse();
  return (
    <Paper component="section" aria-labelledby={id} sx={{ p: 2, minWidth: 0 }}>
      <Stack direction="row" spacing={1} alignItems="center" useFlexGap flexWrap="wrap" sx={{ mb: 1 }}>
        <Typography id={id} variant="subtitle1" component="h2" sx={{ fontWeight: 600, fontFamily: "monospace", wordBreak: "break-all" }}>
          {name}
        </Typography>
        <StatusChip status={latest.status} />
        <Typography variant="body2" color="text.secondary">
          latest {value(latest.value)} at {moment(latest.observed_at)}
        </Typography>
      </Stack>
      {latest.thresholds.length > 0 && (
        <Stack direction="row" spacing={0.5} useFlexGap flexWrap="wrap" sx={{ mb: 1 }} aria-label="Thresholds">
          {latest.thresholds.map((t) => (
            <Chip key={t.text} size="small" variant="outlined" color={t.level === "fail" ? "error" : "warning"} label={t.text} />
          ))}
        </Stack>
      )}
      <MetricChart name={name} points={points} thresholds={latest.thresholds} windowLabel={windowLabel} />
      {anomalies.length > 0 && (
        <TableContainer tabIndex={0} aria-label={`Latest anomalies of ${name}, scrollable`}>
          <Table size="small" aria-label={`Latest anomalies of ${name}`}>
            <TableHead>
              <TableRow>
                <TableCell>Anomaly at</TableCell>
                <TableCell align="right">Value</TableCell>
                <TableCell align="right">Expected</TableCell>
                <TableCell align="right">Score</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {anomalies.map((p) => (
                <TableRow key={p.observed_at}>
                  <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(p.observed_at)}</TableCell>
                  <TableCell align="right">{value(p.value)}</TableCell>
                  <TableCell align="right">{value(p.expected)}</TableCell>
                  <TableCell align="right">{value(p.score)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Paper>
  );
}

/** Every series of one metric (a series per set of labels), from one request. */
function MetricPanels({ monitor, metric, series, span }: { monitor: string; metric: string; series: Series[]; span: string }) {
  const history = useMetrics(monitor, metric, span);
  const label = WINDOWS.find(([w]) => w === span)?.[1] ?? span;
  if (history.error) return <Alert severity="error">{history.error.message}</Alert>;
  const points = history.data?.observations ?? [];
  return (
    <>
      {series.map((s) => (
        <SeriesPanel key={key(s.labels)} latest={s} points={points.filter((p) => key(p.labels) === key(s.labels))} windowLabel={label} />
      ))}
    </>
  );
}

export default function MonitorPage() {
  const { name = "" } = useParams();
  const [params, setParams] = useSearchParams();
  const span = WINDOWS.some(([w]) => w === params.get("window")) ? params.get("window")! : "7d";
  const monitor = useMonitor(name);
  const m = monitor.data;
  const metrics = [...new Set((m?.latest ?? []).map((s) => s.metric))];
  return (
    <>
      <Button component={RouterLink} to="/monitors" startIcon={<ArrowBackIcon />} size="small" sx={{ mb: 1 }}>
        Monitors
      </Button>
      <PageTitle title={name} sub={m?.description || (m?.path ? `From ${m.path}` : undefined)}>
        {m?.status && <StatusChip status={m.status} size="medium" />}
        <ToggleButtonGroup
          size="small"
          exclusive
          value={span}
          onChange={(_e, v) => v && setParams({ window: v }, { replace: true })}
          aria-label="Window"
        >
          {WINDOWS.map(([w, label]) => (
            <ToggleButton key={w} value={w} title={`Last ${label}`}>
              {w}
            </ToggleButton>
          ))}
        </ToggleButtonGroup>
      </PageTitle>
      {monitor.error && <Alert severity="error">{monitor.error.message}</Alert>}
      {m && m.latest.length === 0 && (
        <Alert severity="info">
          Not checked yet: <code>batchyard monitor run {m.name}</code> records its first values.
        </Alert>
      )}
      <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "minmax(0, 1fr)", xl: "repeat(2, minmax(0, 1fr))" } }}>
        {metrics.map((metric) => (
          <MetricPanels key={metric} monitor={name} metric={metric} series={m!.latest.filter((s) => s.metric === metric)} span={span} />
        ))}
      </Box>
    </>
  );
}
