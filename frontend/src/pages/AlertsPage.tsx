// The alerts that failing checks opened, a page at a time, filtered by status, severity and
// monitor; acknowledge, silence or resolve them.

import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Link from "@mui/material/Link";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import { DataGrid, type GridColDef, type GridPaginationModel } from "@mui/x-data-grid";
import { useMemo } from "react";
import { Link as RouterLink, useSearchParams } from "react-router-dom";
import { useAlerts, useMonitors } from "../api/quality";
import { SEVERITIES, type Alert as AlertRow, type Severity } from "../api/types";
import AlertActions from "../components/AlertActions";
import SeverityChip from "../components/SeverityChip";
import StatusChip from "../components/StatusChip";
import { moment } from "../format";
import PageTitle from "./PageTitle";

const STATUSES: [string, string][] = [
  ["active", "Active (open or acknowledged)"],
  ["open", "Open"],
  ["acknowledged", "Acknowledged"],
  ["resolved", "Resolved"],
  ["all", "All"],
];

function silenced(alert: AlertRow): boolean {
  return !!alert.silenced_until && new Date(alert.silenced_until) > new Date() && alert.status !== "resolved";
}

function columns(phone: boolean): GridColDef<AlertRow>[] {
  const all: GridColDef<AlertRow>[] = [
    {
      field: "severity",
      headerName: "Severity",
      width: 120,
      renderCell: ({ row }) => <SeverityChip severity={row.severity} />,
    },
    {
      field: "title",
      headerName: "Alert",
      flex: 2,
      minWidth: 240,
      renderCell: ({ row }) => (
        <Box sx={{ lineHeight: 1.3, py: 0.5, minWidth: 0 }}>
          <Link component={RouterLink} to={`/alerts/${row.id}`} sx={{ fontWeight: 600, display: "block" }} noWrap>
            {row.title}
          </Link>
          <Typography variant="caption" color="text.secondary" noWrap component="div" title={row.message}>
            {row.message || row.cause}
          </Typography>
        </Box>
      ),
    },
    {
      field: "status",
      headerName: "Status",
      width: 170,
      renderCell: ({ row }) => (
        <Stack direction="row" spacing={0.5} alignItems="center">
          <StatusChip status={row.status} />
          {silenced(row) && <Chip size="small" variant="outlined" label="silenced" title={`until ${moment(row.silenced_until)}`} />}
        </Stack>
      ),
    },
    { field: "monitor", headerName: "Monitor", width: 130 },
    { field: "cause", headerName: "Cause", width: 90 },
    { field: "opened_at", headerName: "Opened", width: 170, valueFormatter: (v: string) => moment(v) },
    { field: "last_seen_at", headerName: "Last failing", width: 170, valueFormatter: (v: string) => moment(v) },
    { field: "failures", headerName: "Failures", width: 90, type: "number" },
    {
      field: "actions",
      headerName: "Actions",
      width: 130,
      sortable: false,
      renderCell: ({ row }) => <AlertActions alert={row} />,
    },
  ];
  if (!phone) return all;
  const by = (f: string) => all.find((c) => c.field === f)!;
  return [{ ...by("title"), minWidth: 170, flex: 0, width: 180 }, by("severity"), by("status"), by("actions"), ...all.filter((c) => !["title", "severity", "status", "actions"].includes(c.field))];
}

export default function AlertsPage() {
  const [params, setParams] = useSearchParams();
  const theme = useTheme();
  const phone = useMediaQuery(theme.breakpoints.down("md"), { noSsr: true });
  const monitors = useMonitors();
  const status = params.get("status") ?? "active";
  const severity = params.getAll("severity");
  const monitor = params.get("monitor") ?? "";
  const pageSize = Number(params.get("size") ?? 25);
  const page = Number(params.get("page") ?? 0);
  const alerts = useAlerts({ status: [status], severity, monitor: monitor || undefined, limit: pageSize, offset: page * pageSize });
  const cols = useMemo(() => columns(phone), [phone]);

  const set = (key: string, value: string | string[] | null) => {
    const next = new URLSearchParams(params);
    next.delete(key);
    if (Array.isArray(value)) value.forEach((v) => next.append(key, v));
    else if (value) next.set(key, value);
    next.delete("page");
    setParams(next, { replace: true });
  };
  const toggle = (s: Severity) => set("severity", severity.includes(s) ? severity.filter((x) => x !== s) : [...severity, s]);

  return (
    <>
      <PageTitle title="Alerts" sub={alerts.data ? `${alerts.data.total.toLocaleString()} alert(s) match` : " "} />
      <Paper sx={{ p: 2, mb: 2 }} role="search" aria-label="Filter alerts">
        <Stack direction="row" spacing={1.5} useFlexGap flexWrap="wrap" alignItems="center">
          <TextField select size="small" label="Status" value={status} onChange={(e) => set("status", e.target.value === "active" ? null : e.target.value)} sx={{ minWidth: 220 }}>
            {STATUSES.map(([v, label]) => (
              <MenuItem key={v} value={v}>
                {label}
              </MenuItem>
            ))}
          </TextField>
          <TextField select size="small" label="Monitor" value={monitor} onChange={(e) => set("monitor", e.target.value || null)} sx={{ minWidth: 150 }}>
            <MenuItem value="">
              <em>any</em>
            </MenuItem>
            {(monitors.data ?? []).map((m) => (
              <MenuItem key={m.name} value={m.name}>
                {m.name}
              </MenuItem>
            ))}
          </TextField>
          <Stack direction="row" spacing={0.5} useFlexGap flexWrap="wrap" role="group" aria-label="Severity">
            {SEVERITIES.map((s) => {
              const on = severity.includes(s);
              return (
                <Chip
                  key={s}
                  label={s}
                  clickable
                  onClick={() => toggle(s)}
                  color={on ? "primary" : "default"}
                  variant={on ? "filled" : "outlined"}
                  aria-pressed={on}
                  aria-label={`Severity ${s}`}
                />
              );
            })}
          </Stack>
        </Stack>
      </Paper>
      {alerts.error && <Alert severity="error" sx={{ mb: 1 }}>{alerts.error.message}</Alert>}
      <Paper sx={{ width: "100%" }}>
        <DataGrid
          rows={alerts.data?.alerts ?? []}
          columns={cols}
          getRowId={(r) => r.id}
          rowCount={alerts.data?.total ?? 0}
          loading={alerts.isFetching && !alerts.data}
          paginationMode="server"
          disableColumnFilter
          disableColumnSorting
          paginationModel={{ page, pageSize }}
          onPaginationModelChange={(m: GridPaginationModel) => {
            const next = new URLSearchParams(params);
            next.set("page", String(m.page));
            next.set("size", String(m.pageSize));
            setParams(next, { replace: true });
          }}
          pageSizeOptions={[10, 25, 50, 100]}
          disableRowSelectionOnClick
          rowHeight={60}
          columnVisibilityModel={phone ? { monitor: false, cause: false, last_seen_at: false, failures: false } : {}}
          localeText={{ noRowsLabel: status === "active" ? "No active alert: every check passes." : "No alert matches these filters." }}
          autoHeight
          aria-label="Alerts"
        />
      </Paper>
    </>
  );
}
