// The project's schedules (pipelines with `schedule:`): when each runs next, how its recent runs
// went; pause and resume.

import PauseIcon from "@mui/icons-material/Pause";
import PlayArrowIcon from "@mui/icons-material/PlayArrow";
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
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
import { ApiError } from "../api/client";
import { useScheduleAction, useScheduleRuns, useSchedules } from "../api/quality";
import type { Schedule } from "../api/types";
import { useNotify } from "../components/Notify";
import StatusChip from "../components/StatusChip";
import { moment } from "../format";
import PageTitle from "./PageTitle";

const NEXT = 5;
const RUNS = 5;

/** A due time in the schedule's own zone, as its cron reads. */
function local(iso: string, timezone: string): string {
  try {
    return new Date(iso).toLocaleString(undefined, { timeZone: timezone, weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short" });
  } catch {
    return moment(iso);
  }
}

function target(s: Schedule): string {
  if (s.target.pipeline) return `pipeline ${s.target.pipeline}`;
  return `kind ${s.target.kind ?? "?"}`;
}

function Runs({ schedule }: { schedule: Schedule }) {
  const runs = useScheduleRuns(schedule.id, RUNS);
  if (runs.error) return <Alert severity="error">{runs.error.message}</Alert>;
  const list = runs.data ?? [];
  if (runs.data && list.length === 0)
    return <Typography color="text.secondary">No run yet: the scheduler (<code>batchyard scheduler</code>, or <code>serve --scheduler</code>) records each one.</Typography>;
  return (
    <TableContainer tabIndex={0} aria-label={`Recent runs of ${schedule.id}, scrollable`}>
      <Table size="small" aria-label={`Recent runs of ${schedule.id}`}>
        <TableHead>
          <TableRow>
            <TableCell>Due</TableCell>
            <TableCell>Status</TableCell>
            <TableCell>Job</TableCell>
            <TableCell>Finished</TableCell>
            <TableCell>Detail</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {list.map((r) => (
            <TableRow key={r.scheduled_at}>
              <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(r.scheduled_at)}</TableCell>
              <TableCell>
                <StatusChip status={r.status} />
              </TableCell>
              <TableCell sx={{ maxWidth: 260 }}>
                <Link component={RouterLink} to={`/jobs/${encodeURIComponent(r.job_id)}`} noWrap sx={{ display: "block" }}>
                  {r.job_id}
                </Link>
              </TableCell>
              <TableCell sx={{ whiteSpace: "nowrap" }}>{moment(r.finished_at)}</TableCell>
              <TableCell sx={{ minWidth: 160 }}>{r.detail ?? ""}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function ScheduleCard({ schedule }: { schedule: Schedule }) {
  const action = useScheduleAction();
  const notify = useNotify();
  const id = `schedule-${schedule.id}`;
  const steer = (what: "pause" | "resume") =>
    action.mutate(
      { id: schedule.id, action: what },
      {
        onSuccess: () => notify({ severity: "success", text: `${what === "pause" ? "Paused" : "Resumed"}: ${schedule.id}` }),
        onError: (e) => notify({ severity: "error", text: e instanceof ApiError ? e.message : String(e) }),
      },
    );
  return (
    <Paper component="section" aria-labelledby={id} sx={{ p: 2, minWidth: 0 }} data-schedule={schedule.id} data-paused={schedule.paused}>
      <Stack direction="row" spacing={1} alignItems="center" useFlexGap flexWrap="wrap">
        <Typography id={id} variant="subtitle1" component="h2" sx={{ fontWeight: 600 }}>
          {schedule.id}
        </Typography>
        {schedule.paused ? <StatusChip status="paused" /> : <Chip size="small" color="success" variant="outlined" label="active" />}
        <Box sx={{ flex: 1 }} />
        {schedule.paused ? (
          <Button size="small" variant="outlined" startIcon={<PlayArrowIcon />} onClick={() => steer("resume")} disabled={action.isPending} aria-label={`Resume ${schedule.id}`}>
            Resume
          </Button>
        ) : (
          <Button size="small" variant="outlined" startIcon={<PauseIcon />} onClick={() => steer("pause")} disabled={action.isPending} aria-label={`Pause ${schedule.id}`}>
            Pause
          </Button>
        )}
      </Stack>
      <Typography variant="body2" color="text.secondary" sx={{ mt: 0.5 }}>
        <code>{schedule.cron}</code> in {schedule.timezone} · runs {target(schedule)} · missed times: {schedule.missed} · {schedule.source}
      </Typography>
      <Box sx={{ display: "grid", gap: 2, mt: 1.5, gridTemplateColumns: { xs: "minmax(0, 1fr)", lg: "minmax(0, 1fr) minmax(0, 2fr)" } }}>
        <Box>
          <Typography variant="overline" component="h3" color="text.secondary">
            Next runs
          </Typography>
          {schedule.paused ? (
            <Typography color="text.secondary">Paused: its times pass unrun until it is resumed.</Typography>
          ) : (
            <Box component="ol" sx={{ m: 0, pl: 2.5 }} aria-label={`Next runs of ${schedule.id}`}>
              {schedule.next_at.map((t) => (
                <li key={t}>
                  <Typography variant="body2" component="span">
                    {local(t, schedule.timezone)}
                  </Typography>
                </li>
              ))}
            </Box>
          )}
        </Box>
        <Box sx={{ minWidth: 0 }}>
          <Typography variant="overline" component="h3" color="text.secondary">
            Recent runs
          </Typography>
          <Runs schedule={schedule} />
        </Box>
      </Box>
    </Paper>
  );
}

export default function SchedulesPage() {
  const schedules = useSchedules(NEXT);
  const list = schedules.data ?? [];
  return (
    <>
      <PageTitle title="Schedules" sub="Pipelines with a schedule: when they run next and how their latest runs went." />
      {schedules.error && <Alert severity="error">{schedules.error.message}</Alert>}
      {schedules.data && list.length === 0 && (
        <Alert severity="info">
          No pipeline has a <code>schedule:</code> yet.
        </Alert>
      )}
      <Box sx={{ display: "grid", gap: 2 }}>
        {list.map((s) => (
          <ScheduleCard key={s.id} schedule={s} />
        ))}
      </Box>
    </>
  );
}
