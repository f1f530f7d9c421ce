// The columns the job tables share (active jobs and history).

import Box from "@mui/material/Box";
import Link from "@mui/material/Link";
import Typography from "@mui/material/Typography";
import type { GridColDef } from "@mui/x-data-grid";
import { Link as RouterLink } from "react-router-dom";
import type { Job } from "../api/types";
import { count, duration, moment, rate } from "../format";
import JobActions from "./JobActions";
import ProgressBar from "./ProgressBar";
import StatusChip from "./StatusChip";

export function liveDuration(job: Job): number | null {
  if (job.live && job.status === "running") return job.live.elapsed_s;
  return job.duration_s;
}

export function jobColumns(onView: (job: Job) => void, { sortable, phone }: { sortable: boolean; phone: boolean }): GridColDef<Job>[] {
  const columns: GridColDef<Job>[] = [
    {
      field: "name",
      headerName: "Job",
      flex: 1.6,
      minWidth: 220,
      sortable,
      renderCell: ({ row }) => (
        <Box sx={{ lineHeight: 1.3, py: 0.5, minWidth: 0 }}>
          <Link component={RouterLink} to={`/jobs/${row.id}`} sx={{ fontWeight: 600, display: "block" }} noWrap>
            {row.name || row.id}
          </Link>
          {row.name && row.name !== row.id && (
            <Typography variant="caption" color="text.secondary" noWrap component="div">
              {row.id}
            </Typography>
          )}
        </Box>
      ),
    },
    { field: "kind", headerName: "Kind", width: 100, sortable },
    { field: "env", headerName: "Env", width: 90, sortable },
    {
      field: "status",
      headerName: "Status",
      width: 130,
      sortable,
      renderCell: ({ row }) => <StatusChip status={row.status} />,
    },
    {
      field: "percent",
      headerName: "Progress",
      width: 190,
      sortable: false,
      renderCell: ({ row }) => (
        <Box sx={{ width: "100%" }}>
          <ProgressBar percent={row.live?.percent ?? row.percent} status={row.status} label={`Progress of ${row.name || row.id}`} />
          <Typography variant="caption" color="text.secondary" component="div">
            {count(row.live?.done ?? row.done)} / {count(row.total)} items{(row.live?.failed ?? row.failed) ? `, ${count(row.live?.failed ?? row.failed)} failed` : ""}
          </Typography>
        </Box>
      ),
    },
    {
      field: "items_per_s",
      headerName: "Rate",
      width: 120,
      sortable: false,
      valueGetter: (_v, row) => row.live?.items_per_s ?? row.progress?.items_per_s ?? null,
      renderCell: ({ row }) => {
        const p = row.live ?? row.progress;
        return (
          <Box sx={{ lineHeight: 1.3 }}>
            <div>{rate(p?.items_per_s, "items")}</div>
            <Typography variant="caption" color="text.secondary">
              {rate(p?.rows_per_s, "rows")}
            </Typography>
          </Box>
        );
      },
    },
    {
      field: "eta",
      headerName: "ETA",
      width: 90,
      sortable: false,
      valueGetter: (_v, row) => (row.status === "running" ? (row.live?.eta_s ?? row.progress?.eta_s ?? null) : null),
      valueFormatter: (v: number | null) => duration(v),
    },
    {
      field: "duration_s",
      headerName: "Duration",
      width: 100,
      sortable: false,
      valueGetter: (_v, row) => liveDuration(row),
      valueFormatter: (v: number | null) => duration(v),
    },
    {
      field: "created_at",
      headerName: "Created",
      width: 170,
      sortable,
      valueFormatter: (v: string | null) => moment(v),
    },
    {
      field: "actions",
      headerName: "Actions",
      width: 250,
      sortable: false,
      filterable: false,
      renderCell: ({ row }) => <JobActions job={row} onView={onView} />,
    },
  ];
  if (!phone) return columns;
  // On a phone: the job, its status, what can be done with it, then how far it got.
  const by = (f: string) => columns.find((c) => c.field === f)!;
  return [{ ...by("name"), minWidth: 160, flex: 0, width: 170 }, by("status"), by("actions"), by("percent"), ...columns.filter((c) => !["name", "status", "actions", "percent"].includes(c.field))];
}

/** On a phone the table keeps the essentials. */
export const PHONE_HIDDEN = { kind: false, env: false, items_per_s: false, eta: false, created_at: false, duration_s: false };
