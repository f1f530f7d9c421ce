// One alert: what opened it, who did what about it, and what its channels were told.

import ArrowBackIcon from "@mui/icons-material/ArrowBack";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
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
import type { ReactNode } from "react";
import { Link as RouterLink, useParams } from "react-router-dom";
import { useAlert } from "../api/quality";
import type { AlertDetail } from "../api/types";
import AlertActions from "../components/AlertActions";
import SeverityChip from "../components/SeverityChip";
import StatusChip from "../components/StatusChip";
import { duration, moment, value } from "../format";
import PageTitle from "./PageTitle";

function Facts({ rows }: { rows: [string, ReactNode][] }) {
  return (
    <Box component="dl" sx={{ display: "grid", gridTemplateColumns: { xs: "1fr", sm: "max-content 1fr" }, columnGap: 3, rowGap: 0.75, m: 0 }}>
      {rows.map(([k, v]) => (
        <Box key={k} sx={{ display: "contents" }}>
          <Typography component="dt" variant="body2" color="text.secondary">
            {k}
          </Typography>
          <Typography component="dd" variant="body2" sx={{ m: 0, wordBreak: "break-word" }}>
            {v}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

function Section({ title, children }: { title: string; children: ReactNode }) {
  const id = `section-${title.toLowerCase().replace(/\W+/g, "-")}`;
  return (
    <Paper component="section" aria-labelledby={id} sx={{ p: 2, minWidth: 0 }}>
      <Typography id={id} variant="subtitle1" component="h2" sx={{ fontWeight: 600, mb: 1 }}>
        {title}
      </Typography>
      {children}
    </Paper>
  );
}

function facts(a: AlertDetail): [string, ReactNode][] {
  const labels = Object.entries(a.labels).map(([k, v]) => `${k}=${v}`).join(", ");
  const rows: [string, ReactNode][] = [
    [
      "Monitor",
      <Link component={RouterLink} to={`/monitors/${encodeURIComponent(a.monitor)}`}>
        {a.monitor}
      </Link>,
    ],
    ["Metric", <code>{a.metric}</code>],
  ];
  if (labels) rows.push(["Labels", labels]);
  rows.push(
    ["Cause", a.cause],
    ["Message", a.message || "—"],
    ["Value", value(a.value)],
    ["Opened", moment(a.opened_at)],
    ["Last failing check", moment(a.last_seen_at)],
    ["Failing checks", String(a.failures)],
    ["Passing checks in a row", String(a.passes)],
    ["Channels", a.channels.length ? a.channels.join(", ") : "none"],
    ["Last told", moment(a.notified_at)],
    ["Reminders", String(a.reminders)],
  );
  if (a.acknowledged_at) rows.push(["Acknowledged", `${moment(a.acknowledged_at)} by ${a.acknowledged_by ?? "?"}`]);
  if (a.note) rows.push(["Note", <span data-testid="note">{a.note}</span>]);
  if (a.silenced_until) rows.push(["Silenced until", <span data-testid="silenced-until">{moment(a.silenced_until)}</span>]);
  if (a.resolved_at) rows.push(["Resolved", `${moment(a.resolved_at)} by ${a.resolved_by ?? "?"}`]);
  return rows;
}

export default function AlertPage() {
  const { id = "" } = useParams();
  const alert = useAlert(Number(id));
  const a = alert.data;
  return (
    <>
      <Button component={RouterLink} to="/alerts" startIcon={<ArrowBackIcon />} size="small" sx={{ mb: 1 }}>
        Alerts
      </Button>
      <PageTitle title={a ? a.title : `Alert ${id}`} sub={a ? `Alert ${a.id} · ${a.fingerprint.slice(0, 12)}` : undefined}>
        {a && (
          <Stack direction="row" spacing={1} alignItems="center" useFlexGap flexWrap="wrap">
            <SeverityChip severity={a.severity} />
            <StatusChip status={a.status} />
            <AlertActions alert={a} wide />
          </Stack>
        )}
      </PageTitle>
      {alert.error && <Alert severity="error">{alert.error.message}</Alert>}
      {a && (
        <Box sx={{ display: "grid", gap: 2, gridTemplateColumns: { xs: "minmax(0, 1fr)", lg: "minmax(0, 2fr) minmax(0, 3fr)" }, alignItems: "start" }}>
          <Section title="Details">
            <Facts rows={facts(a)} />
          </Section>
          <Stack spacing={2} sx={{ minWidth: 0 }}>
            <Section title={`Notices (${a.notices.length})`}>
              {a.notices.length === 0 ? (
                <Typography color="text.secondary">No channel is to be told of this alert.</Typography>
              ) : (
                <TableContainer tabIndex={0} aria-label="Notices, scrollable">
                  <Table size="small" aria-label="Notices">
                    <TableHead>
                      <TableRow>
                        <TableCell>Event</TableCell>
                        <TableCell>Channel</TableCell>
                        <TableCell>Status</TableCell>
                        <TableCell align="right">Attempts</TableCell>
                        <TableCell>Sent</TableCell>
                        <TableCell>Last error</TableCell>
                      </TableRow>
                    </TableHead>
                    <TableBody>
                      {a.notices.map((n) => (
                        <TableRow key={n.id}>
                          <TableCell>{n.event}</TableCell>
                          <TableCell>{n.channel}</TableCell>
                          <TableCell>
                            <StatusChip status={n.status} />
                          </TableCell>
                          <TableCell align="right">{n.attempts}</TableCell>
                          <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(n.sent_at)}</TableCell>
                          <TableCell sx={{ minWidth: 160 }}>{n.last_error ?? ""}</TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                </TableContainer>
              )}
            </Section>
            <Section title={`Deliveries (${a.deliveries.length})`}>
              {a.deliveries.length === 0 ? (
                <Typography color="text.secondary">Nothing sent yet.</Typography>
              ) : (
                <TableContainer tabIndex={0} aria-label="Deliveries, scrollable">
                  <Table size="small" aria-label="Deliveries">
                    <TableHead>
                      <TableRow>
                        <TableCell>At</TableCell>
                        <TableCell>Channel</TableCell>
                        <TableCell>Event</TableCell>
                        <TableCell align="right">Attempt</TableCell>
                        <TableCell>Result</TableCell>
                        <TableCell align="right">Took</TableCell>
                        <TableCell>Error</TableCell>
                      </TableRow>
                    </TableHead>
                    <TableBody>
                      {a.deliveries.map((d) => (
                        <TableRow key={d.id}>
                          <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(d.at)}</TableCell>
                          <TableCell>{d.channel}</TableCell>
                          <TableCell>{d.event}</TableCell>
                          <TableCell align="right">{d.attempt}</TableCell>
                          <TableCell>
                            <StatusChip status={d.status} />
                          </TableCell>
                          <TableCell align="right">{duration(d.elapsed_s)}</TableCell>
                          <TableCell sx={{ minWidth: 160 }}>{d.error ?? ""}</TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                </TableContainer>
              )}
            </Section>
          </Stack>
        </Box>
      )}
    </>
  );
}
