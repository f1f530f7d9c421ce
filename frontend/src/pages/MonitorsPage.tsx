// The project's monitors, each with the latest value and status of its series.

import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { Link as RouterLink } from "react-router-dom";
import { useMonitors } from "../api/quality";
import type { Monitor } from "../api/types";
import StatusChip from "../components/StatusChip";
import { moment, seriesName, value } from "../format";
import PageTitle from "./PageTitle";

function MonitorCard({ monitor }: { monitor: Monitor }) {
  const id = `monitor-${monitor.name}`;
  return (
    <Paper component="section" aria-labelledby={id} sx={{ p: 2 }}>
      <Stack direction="row" spacing={1} alignItems="center" useFlexGap flexWrap="wrap">
        <Typography id={id} variant="subtitle1" component="h2" sx={{ fontWeight: 600 }}>
          <Link component={RouterLink} to={`/monitors/${encodeURIComponent(monitor.name)}`}>
            {monitor.name}
          </Link>
        </Typography>
        {monitor.status ? <StatusChip status={monitor.status} /> : <StatusChip status="pending" />}
        {monitor.schedule && (
          <Typography variant="body2" color="text.secondary">
            runs {monitor.schedule}
          </Typography>
        )}
      </Stack>
      {monitor.description && (
        <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5 }}>
          {monitor.description}
        </Typography>
      )}
      {monitor.latest.length === 0 ? (
        <Typography color="text.secondary" sx={{ mt: 1 }}>
          Not checked yet: <code>batchyard monitor run {monitor.name}</code>
        </Typography>
      ) : (
        <TableContainer tabIndex={0} aria-label={`Series of ${monitor.name}, scrollable`} sx={{ mt: 1 }}>
          <Table size="small" aria-label={`Series of ${monitor.name}`}>
            <TableHead>
              <TableRow>
                <TableCell>Series</TableCell>
                <TableCell align="right">Latest</TableCell>
                <TableCell>Status</TableCell>
                <TableCell>Observed</TableCell>
                <TableCell>Message</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {monitor.latest.map((s) => (
                <TableRow key={seriesName(s.metric, s.labels)}>
                  <TableCell sx={{ fontFamily: "monospace", whiteSpace: "nowrap" }}>{seriesName(s.metric, s.labels)}</TableCell>
                  <TableCell align="right" sx={{ fontVariantNumeric: "tabular-nums" }}>
                    {value(s.value)}
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={0.5}>
                      <StatusChip status={s.status} />
                      {s.anomaly && <StatusChip status="anomaly" />}
                    </Stack>
                  </TableCell>
                  <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(s.observed_at)}</TableCell>
                  <TableCell sx={{ minWidth: 200 }}>{s.message ?? ""}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Paper>
  );
}

export default function MonitorsPage() {
  const monitors = useMonitors();
  const list = monitors.data ?? [];
  return (
    <>
      <PageTitle title="Monitors" sub="The project's monitors (monitors/*.yaml): the latest value and status of each series." />
      {monitors.error && <Alert severity="error">{monitors.error.message}</Alert>}
      {monitors.data && list.length === 0 && (
        <Alert severity="info">
          This project has no monitors: add a YAML file to its <code>monitors/</code> folder.
        </Alert>
      )}
      <Box sx={{ display: "grid", gap: 2 }}>
        {list.map((m) => (
          <MonitorCard key={m.name} monitor={m} />
        ))}
      </Box>
    </>
  );
}
