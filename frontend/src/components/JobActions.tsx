// The actions on one job: view, pause, resume, cancel, retry failed, delete, export JSON/CSV.

import CancelIcon from "@mui/icons-material/Cancel";
import DeleteIcon from "@mui/icons-material/Delete";
import DownloadIcon from "@mui/icons-material/Download";
import PauseIcon from "@mui/icons-material/Pause";
import PlayArrowIcon from "@mui/icons-material/PlayArrow";
import ReplayIcon from "@mui/icons-material/Replay";
import VisibilityIcon from "@mui/icons-material/Visibility";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import IconButton from "@mui/material/IconButton";
import Menu from "@mui/material/Menu";
import MenuItem from "@mui/material/MenuItem";
import Stack from "@mui/material/Stack";
import { useState, type ReactElement } from "react";
import { ApiError } from "../api/client";
import { exportJob, useJobAction, type Action } from "../api/hooks";
import type { Job } from "../api/types";
import { useNotify } from "./Notify";

export function can(job: Pick<Job, "status" | "failed" | "cancelled" | "total" | "done" | "skipped">, action: Action): boolean {
  const finished = ["completed", "partial", "failed", "cancelled"].includes(job.status);
  switch (action) {
    case "pause":
      return job.status === "running";
    case "resume":
      return job.status === "paused" || job.status === "pending";
    case "cancel":
      return !finished;
    case "retry":
      return finished && job.done + job.skipped < job.total;
    case "delete":
      return finished;
  }
}

const LABELS: Record<Action, string> = {
  pause: "Pause",
  resume: "Resume",
  cancel: "Cancel",
  retry: "Retry failed",
  delete: "Delete",
};

const ICONS: Record<Action, ReactElement> = {
  pause: <PauseIcon fontSize="small" />,
  resume: <PlayArrowIcon fontSize="small" />,
  cancel: <CancelIcon fontSize="small" />,
  retry: <ReplayIcon fontSize="small" />,
  delete: <DeleteIcon fontSize="small" />,
};

export function useRunAction() {
  const mutation = useJobAction();
  const notify = useNotify();
  return (job: Pick<Job, "id">, action: Action, after?: () => void) =>
    mutation.mutate(
      { id: job.id, action },
      {
        onSuccess: (result) => {
          if (action === "retry" && result)
            notify({ severity: "success", text: `Retrying as ${result.id}`, links: [{ to: `/jobs/${result.id}`, label: "Open" }] });
          else if (action === "delete") notify({ severity: "success", text: `Deleted ${job.id}` });
          else notify({ severity: "info", text: `${LABELS[action]}: ${job.id}` });
          after?.();
        },
        onError: (error) =>
          notify({ severity: "error", text: error instanceof ApiError ? error.message : String(error) }),
      },
    );
}

interface Props {
  job: Job;
  onView?: (job: Job) => void;
  /** Buttons with text (the details page) rather than icons (a table row). */
  wide?: boolean;
  onDeleted?: () => void;
}

export default function JobActions({ job, onView, wide, onDeleted }: Props) {
  const run = useRunAction();
  const notify = useNotify();
  const [confirm, setConfirm] = useState(false);
  const [menu, setMenu] = useState<HTMLElement | null>(null);
  const actions = (["pause", "resume", "cancel", "retry", "delete"] as Action[]).filter((a) => can(job, a));
  const act = (a: Action) => (a === "delete" ? setConfirm(true) : run(job, a));
  const save = (format: "json" | "csv") => {
    setMenu(null);
    exportJob(job.id, format).catch((e) => notify({ severity: "error", text: String(e.message ?? e) }));
  };
  const name = job.name || job.id;
  return (
    <Stack direction="row" spacing={wide ? 1 : 0} alignItems="center" flexWrap="wrap" useFlexGap>
      {onView && (
        <IconButton size="small" aria-label={`View ${name}`} title="View details" onClick={() => onView(job)}>
          <VisibilityIcon fontSize="small" />
        </IconButton>
      )}
      {actions.map((a) =>
        wide ? (
          <Button key={a} size="small" variant="outlined" startIcon={ICONS[a]} onClick={() => act(a)} color={a === "delete" || a === "cancel" ? "error" : "primary"}>
            {LABELS[a]}
          </Button>
        ) : (
          <IconButton key={a} size="small" aria-label={`${LABELS[a]} ${name}`} title={LABELS[a]} onClick={() => act(a)}>
            {ICONS[a]}
          </IconButton>
        ),
      )}
      {wide ? (
        <Button size="small" variant="outlined" startIcon={<DownloadIcon fontSize="small" />} onClick={(e) => setMenu(e.currentTarget)} aria-haspopup="menu">
          Export
        </Button>
      ) : (
        <IconButton size="small" aria-label={`Export ${name}`} title="Export" aria-haspopup="menu" onClick={(e) => setMenu(e.currentTarget)}>
          <DownloadIcon fontSize="small" />
        </IconButton>
      )}
      {menu && (
        <Menu anchorEl={menu} open onClose={() => setMenu(null)}>
          <MenuItem onClick={() => save("json")}>Export JSON</MenuItem>
          <MenuItem onClick={() => save("csv")}>Export CSV</MenuItem>
        </Menu>
      )}
      {confirm && (
      <Dialog open={confirm} onClose={() => setConfirm(false)} aria-labelledby="delete-title">
        <DialogTitle id="delete-title">Delete this job?</DialogTitle>
        <DialogContent>
          <DialogContentText>
            {job.id} will be deleted with its items and log. This cannot be undone.
          </DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirm(false)}>Keep it</Button>
          <Button
            color="error"
            variant="contained"
            onClick={() => {
              setConfirm(false);
              run(job, "delete", onDeleted);
            }}
          >
            Delete
          </Button>
        </DialogActions>
      </Dialog>
      )}
    </Stack>
  );
}
