// One job: what it is, how far it got (live), its items, its log, and a validate job's report.

import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import CircularProgress from "@mui/material/CircularProgress";
import Link from "@mui/material/Link";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import Tab from "@mui/material/Tab";
import Tabs from "@mui/material/Tabs";
import Typography from "@mui/material/Typography";
import { useQueryClient } from "@tanstack/react-query";
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import { Link as RouterLink } from "react-router-dom";
import { useJob } from "../api/hooks";
import type { Job, LogEvent, Progress } from "../api/types";
import JobActions from "../components/JobActions";
import { useStream } from "../components/Live";
import ProgressBar from "../components/ProgressBar";
import StatusChip from "../components/StatusChip";
import { count, duration, json, moment, rate } from "../format";
import ItemsTable from "./ItemsTable";

const ReportView = lazy(() => import("./ReportView"));

const LOG_KEEP = 2000;

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <Box sx={{ minWidth: 96 }}>
      <Typography variant="caption" color="text.secondary" component="div">
        {label}
      </Typography>
      <Typography variant="body1" sx={{ fontVariantNumeric: "tabular-nums", fontWeight: 500 }}>
        {value}
      </Typography>
    </Box>
  );
}

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <Typography component="dt" variant="body2" color="text.secondary">
        {label}
      </Typography>
      <Typography component="dd" variant="body2" sx={{ m: 0, wordBreak: "break-all" }}>
        {children}
      </Typography>
    </>
  );
}

export default function JobDetails({ id, onDeleted, headed }: { id: string; onDeleted?: () => void; headed?: boolean }) {
  const job = useJob(id);
  const client = useQueryClient();
  const [progress, setProgress] = useState<Progress | null>(null);
  const [log, setLog] = useState<LogEvent[]>([]);
  const [tab, setTab] = useState("items");
  const [itemStatus, setItemStatus] = useState("");
  const refreshed = useRef(0);
  const realId = job.data?.id;

  useEffect(() => {
    setLog([]);
    setProgress(null);
  }, [realId]);

  useStream(
    realId ? `/api/jobs/${encodeURIComponent(realId)}/events` : null,
    (name, data) => {
      if (name === "status") {
        client.setQueryData(["job", id], data as Job);
        void client.invalidateQueries({ queryKey: ["items", realId] });
        void client.invalidateQueries({ queryKey: ["report", realId] });
      } else if (name === "progress") {
        setProgress(data as Progress);
        const now = Date.now();
        if (now - refreshed.current > 2000) {
          refreshed.current = now;
          void client.invalidateQueries({ queryKey: ["items", realId] });
        }
      } else if (name === "log") {
        setLog((old) => {
          const next = [...old, data as LogEvent];
          return next.length > LOG_KEEP ? next.slice(-LOG_KEEP) : next;
        });
      } else if (name === "end") {
        void client.invalidateQueries({ queryKey: ["job", id] });
        void client.invalidateQueries({ queryKey: ["items", realId] });
      }
    },
    "end",
  );

  if (job.isLoading) return <CircularProgress aria-label="Loading the job" />;
  if (job.error) return <Alert severity="error">{job.error.message}</Alert>;
  const j = job.data!;
  const p: Partial<Progress> = progress ?? j.progress ?? {};
  const done = p.done ?? j.done;
  const failed = p.failed ?? j.failed;
  const skipped = p.skipped ?? j.skipped;
  const cancelled = p.cancelled ?? j.cancelled;
  const running = j.status === "running" ? (p.current?.length ?? 0) : 0;
  const pending = Math.max(0, j.total - done - failed - skipped - cancelled - running);
  const counts: [string, number][] = [
    ["done", done],
    ["failed", failed],
    ["running", running],
    ["pending", pending],
    ["skipped", skipped],
    ["cancelled", cancelled],
  ];
  const isValidate = j.kind === "validate";

  return (
    <Box data-job-id={j.id}>
      <Stack direction="row" alignItems="center" spacing={1} useFlexGap flexWrap="wrap" sx={{ mb: 2 }}>
        {headed && (
          <Typography variant="h6" component="h2" sx={{ wordBreak: "break-all", mr: 1 }}>
            {j.name && j.name !== j.id ? j.name : j.id}
          </Typography>
        )}
        <StatusChip status={j.status} size="medium" />
        <Box sx={{ flex: 1 }} />
        <JobActions job={j} wide onDeleted={onDeleted} />
      </Stack>
      {j.error && (
        <Alert severity={j.status === "failed" ? "error" : "warning"} sx={{ mb: 2 }}>
          {j.error}
        </Alert>
      )}
      <Paper variant="outlined" sx={{ p: 2, mb: 2 }}>
        <Typography variant="subtitle1" component="h3" sx={{ fontWeight: 600, mb: 1 }}>
          Progress
        </Typography>
        <ProgressBar percent={p.percent ?? j.percent} status={j.status} label="Job progress" />
        <Stack direction="row" spacing={3} useFlexGap flexWrap="wrap" sx={{ mt: 1.5 }}>
          <Figure label="Items" value={`${count(done)} / ${count(j.total)}`} />
          <Figure label="Items/s" value={rate(p.items_per_s, "items").replace(" items/s", "")} />
          <Figure label="Rows/s" value={rate(p.rows_per_s, "rows").replace(" rows/s", "")} />
          <Figure label="Rows written" value={count(p.rows_written ?? j.rows_written)} />
          <Figure label="ETA" value={j.status === "running" ? duration(p.eta_s) : "—"} />
          <Figure label={j.status === "running" ? "Elapsed" : "Duration"} value={duration(j.status === "running" ? p.elapsed_s : j.duration_s)} />
        </Stack>
        {p.parts && p.parts.length > 0 && (
          <Box sx={{ mt: 2 }} aria-label="Per table">
            {p.parts.map((part) => (
              <Box key={part.name} sx={{ display: "grid", gridTemplateColumns: { xs: "1fr", sm: "180px 1fr 160px" }, gap: 1, alignItems: "center", mb: 0.5 }}>
                <Typography variant="body2" noWrap title={part.name}>
                  {part.name}
                </Typography>
                <ProgressBar percent={part.percent} label={`Progress of ${part.name}`} status={part.percent >= 100 ? "completed" : j.status} />
                <Typography variant="caption" color="text.secondary">
                  {count(part.done)} / {count(part.total)} rows · {rate(part.rows_per_s, "rows")}
                </Typography>
              </Box>
            ))}
          </Box>
        )}
        {running > 0 && p.current && (
          <Typography variant="caption" color="text.secondary" sx={{ display: "block", mt: 1 }}>
            In flight: {p.current.slice(0, 10).join(", ")}
            {p.current.length > 10 ? ` and ${p.current.length - 10} more` : ""}
          </Typography>
        )}
        <Stack direction="row" spacing={1} useFlexGap flexWrap="wrap" sx={{ mt: 1.5 }} aria-label="Items by status">
          {counts.map(([status, n]) => (
            <Chip
              key={status}
              label={`${count(n)} ${status}`}
              variant={itemStatus === status ? "filled" : "outlined"}
              color={status === "failed" && n ? "error" : "default"}
              onClick={() => {
                setItemStatus(itemStatus === status ? "" : status);
                setTab("items");
              }}
              aria-pressed={itemStatus === status}
            />
          ))}
        </Stack>
      </Paper>
      <Tabs value={tab} onChange={(_e, v: string) => setTab(v)} variant="scrollable" scrollButtons="auto" aria-label="Job sections" sx={{ mb: 1 }}>
        <Tab value="items" label="Items" id="tab-items" aria-controls="panel-items" />
        <Tab value="log" label={`Log (${log.length})`} id="tab-log" aria-controls="panel-log" />
        <Tab value="about" label="Params" id="tab-about" aria-controls="panel-about" />
        {isValidate && <Tab value="report" label="Report" id="tab-report" aria-controls="panel-report" />}
      </Tabs>
      <Box role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`}>
        {tab === "items" && <ItemsTable jobId={j.id} status={itemStatus} onStatus={setItemStatus} />}
        {tab === "log" && (
          <Paper variant="outlined" sx={{ p: 1, maxHeight: 420, overflow: "auto" }} tabIndex={0} aria-label="Log">
            {log.length === 0 ? (
              <Typography color="text.secondary">No log lines yet.</Typography>
            ) : (
              <pre className="code" data-testid="log">
                {log.map((e) => `${moment(e.ts)}  ${e.level.toUpperCase().padEnd(7)} ${e.item_key ? `[${e.item_key}] ` : ""}${e.message}`).join("\n")}
              </pre>
            )}
          </Paper>
        )}
        {tab === "about" && (
          <Stack direction={{ xs: "column", md: "row" }} spacing={2}>
            <Paper variant="outlined" sx={{ p: 2, flex: 1 }}>
              <Box component="dl" sx={{ display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5, m: 0 }}>
                <Field label="Id">{j.id}</Field>
                <Field label="Kind">{j.kind}</Field>
                <Field label="Env">{j.env}</Field>
                <Field label="Project">{j.project || "—"}</Field>
                <Field label="Created">{moment(j.created_at)}</Field>
                <Field label="Started">{moment(j.started_at)}</Field>
                <Field label="Finished">{moment(j.finished_at)}</Field>
                <Field label="Runner">{j.runner ?? "—"}</Field>
                <Field label="Tags">{j.tags.length ? j.tags.join(", ") : "—"}</Field>
                {j.retry_of && (
                  <Field label="Retry of">
                    <Link component={RouterLink} to={`/jobs/${j.retry_of}`}>
                      {j.retry_of}
                    </Link>
                  </Field>
                )}
                {j.parent_id && (
                  <Field label="Part of">
                    <Link component={RouterLink} to={`/jobs/${j.parent_id}`}>
                      {j.parent_id}
                    </Link>
                  </Field>
                )}
              </Box>
            </Paper>
            <Paper variant="outlined" sx={{ p: 2, flex: 1, minWidth: 0 }}>
              <Typography variant="subtitle2" component="h3">
                Params (secrets masked)
              </Typography>
              <pre className="code" data-testid="params">
                {json(j.params)}
              </pre>
              <Typography variant="subtitle2" component="h3" sx={{ mt: 1 }}>
                Options and metadata
              </Typography>
              <pre className="code">{json({ ...j.options, ...j.metadata })}</pre>
            </Paper>
          </Stack>
        )}
        {tab === "report" && isValidate && (
          <Suspense fallback={<CircularProgress aria-label="Loading the report" />}>
            <ReportView jobId={j.id} />
          </Suspense>
        )}
      </Box>
    </Box>
  );
}
