// Jobs that have not finished, live over /api/events, and those that finished while watching.

import Paper from "@mui/material/Paper";
import Typography from "@mui/material/Typography";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import { DataGrid } from "@mui/x-data-grid";
import { useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { Job } from "../api/types";
import JobDialog from "../components/JobDialog";
import { jobColumns, PHONE_HIDDEN } from "../components/jobColumns";
import { useStream } from "../components/Live";
import PageTitle from "./PageTitle";

const KEEP_FINISHED = 20;

export default function ActivePage() {
  const [active, setActive] = useState<Job[] | null>(null);
  const [ended, setEnded] = useState<Job[]>([]);
  const [viewing, setViewing] = useState<string | null>(null);
  const client = useQueryClient();
  const theme = useTheme();
  const phone = useMediaQuery(theme.breakpoints.down("md"), { noSsr: true });
  const state = useStream("/api/events", (name, data) => {
    if (name === "active") {
      const jobs = (data as { jobs: Job[] }).jobs;
      setActive(jobs);
      const ids = new Set(jobs.map((j) => j.id));
      setEnded((old) => old.filter((j) => !ids.has(j.id)));
    } else if (name === "finished") {
      const job = data as Job;
      setEnded((old) => ((job.status as string) === "deleted" ? old.filter((j) => j.id !== job.id) : [job, ...old.filter((j) => j.id !== job.id)].slice(0, KEEP_FINISHED)));
      void client.invalidateQueries({ queryKey: ["jobs"] });
      void client.invalidateQueries({ queryKey: ["job", job.id] });
    }
  });
  const columns = useMemo(() => jobColumns((j) => setViewing(j.id), { sortable: false, phone }), [phone]);
  const rows = [...(active ?? []), ...ended];
  return (
    <>
      <PageTitle
        title="Active jobs"
        sub={
          state === "reconnecting"
            ? "The server does not answer; reconnecting…"
            : "Live: progress, rates and ETA as the runners record them. Jobs that finish while you watch stay below."
        }
      />
      <Paper sx={{ width: "100%" }}>
        <DataGrid
          rows={rows}
          columns={columns}
          getRowId={(r) => r.id}
          loading={active === null}
          rowHeight={64}
          disableRowSelectionOnClick
          hideFooter={rows.length <= 100}
          columnVisibilityModel={phone ? PHONE_HIDDEN : { created_at: false }}
          localeText={{ noRowsLabel: "No job is running or waiting. Start one from Run or Generate." }}
          autoHeight
          aria-label="Active jobs"
        />
      </Paper>
      {ended.length > 0 && (
        <Typography variant="caption" color="text.secondary" sx={{ mt: 1, display: "block" }}>
          {ended.length} finished while this page was open.
        </Typography>
      )}
      <JobDialog id={viewing} onClose={() => setViewing(null)} />
    </>
  );
}
