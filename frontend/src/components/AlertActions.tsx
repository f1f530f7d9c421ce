// The actions on one alert: acknowledge (with a note), silence (for a while) and resolve, each
// through a dialog that says what it does.

import CheckIcon from "@mui/icons-material/Check";
import DoneAllIcon from "@mui/icons-material/DoneAll";
import NotificationsOffIcon from "@mui/icons-material/NotificationsOff";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import IconButton from "@mui/material/IconButton";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import { useState, type ReactElement } from "react";
import { ApiError } from "../api/client";
import { useAlertAction } from "../api/quality";
import type { Alert } from "../api/types";
import { moment } from "../format";
import { useNotify } from "./Notify";

type Action = "acknowledge" | "silence" | "resolve";

const LABELS: Record<Action, string> = { acknowledge: "Acknowledge", silence: "Silence", resolve: "Resolve" };
const ICONS: Record<Action, ReactElement> = {
  acknowledge: <CheckIcon fontSize="small" />,
  silence: <NotificationsOffIcon fontSize="small" />,
  resolve: <DoneAllIcon fontSize="small" />,
};
const FOR = ["1h", "4h", "1d", "7d"];

export function can(alert: Pick<Alert, "status">, action: Action): boolean {
  if (alert.status === "resolved") return false;
  return action !== "acknowledge" || alert.status === "open";
}

function ActionDialog({ alert, action, onClose }: { alert: Alert; action: Action; onClose: () => void }) {
  const mutation = useAlertAction();
  const notify = useNotify();
  const [note, setNote] = useState("");
  const [span, setSpan] = useState("4h");
  const [error, setError] = useState<string | null>(null);
  const submit = () => {
    setError(null);
    const todo = action === "acknowledge" ? { action, note } : action === "silence" ? { action, for: span.trim() } : { action };
    mutation.mutate(
      { id: alert.id, ...todo },
      {
        onSuccess: (done) => {
          const text =
            action === "silence"
              ? `Silenced until ${moment(done.silenced_until)}: ${alert.title}`
              : `${action === "acknowledge" ? "Acknowledged" : "Resolved"}: ${alert.title}`;
          notify({ severity: "success", text });
          onClose();
        },
        onError: (e) => setError(e instanceof ApiError ? e.message : String(e)),
      },
    );
  };
  const id = `alert-${action}-title`;
  return (
    <Dialog open onClose={onClose} aria-labelledby={id} fullWidth maxWidth="xs">
      <DialogTitle id={id}>
        {LABELS[action]} alert {alert.id}
      </DialogTitle>
      <DialogContent>
        <DialogContentText sx={{ mb: 2 }}>
          {action === "acknowledge" && "Its channels get no more reminders; it still resolves, and says so, when its checks pass."}
          {action === "silence" && "No reminders until the time is up; it stays open and still resolves when its checks pass."}
          {action === "resolve" && "It is resolved now and its channels are told; a later failing check opens a new alert."}
        </DialogContentText>
        <DialogContentText component="p" sx={{ fontWeight: 600, mb: 2, wordBreak: "break-word" }}>
          {alert.title}
        </DialogContentText>
        {action === "acknowledge" && (
          <TextField
            label="Note"
            placeholder="Looking into the scraper"
            value={note}
            onChange={(e) => setNote(e.target.value)}
            multiline
            minRows={2}
            fullWidth
            autoFocus
            slotProps={{ htmlInput: { maxLength: 2000 } }}
            error={!!error}
            helperText={error ?? "Kept with the alert, for whoever looks next."}
          />
        )}
        {action === "silence" && (
          <Stack spacing={2}>
            <ToggleButtonGroup size="small" exclusive value={FOR.includes(span) ? span : null} onChange={(_e, v) => v && setSpan(v)} aria-label="Silence for">
              {FOR.map((f) => (
                <ToggleButton key={f} value={f}>
                  {f}
                </ToggleButton>
              ))}
            </ToggleButtonGroup>
            <TextField
              label="For"
              value={span}
              onChange={(e) => setSpan(e.target.value)}
              fullWidth
              error={!!error}
              helperText={error ?? "30m, 4h, 2d, 1w"}
            />
          </Stack>
        )}
        {action === "resolve" && error && (
          <DialogContentText role="alert" color="error">
            {error}
          </DialogContentText>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={submit} disabled={mutation.isPending || (action === "silence" && !span.trim())}>
          {LABELS[action]}
        </Button>
      </DialogActions>
    </Dialog>
  );
}

export default function AlertActions({ alert, wide }: { alert: Alert; wide?: boolean }) {
  const [doing, setDoing] = useState<Action | null>(null);
  const actions = (["acknowledge", "silence", "resolve"] as Action[]).filter((a) => can(alert, a));
  return (
    <Stack direction="row" spacing={wide ? 1 : 0} alignItems="center" flexWrap="wrap" useFlexGap>
      {actions.map((a) =>
        wide ? (
          <Button key={a} size="small" variant="outlined" startIcon={ICONS[a]} onClick={() => setDoing(a)}>
            {LABELS[a]}
          </Button>
        ) : (
          <IconButton key={a} size="small" aria-label={`${LABELS[a]} alert ${alert.id}`} title={LABELS[a]} onClick={() => setDoing(a)}>
            {ICONS[a]}
          </IconButton>
        ),
      )}
      {doing && <ActionDialog alert={alert} action={doing} onClose={() => setDoing(null)} />}
    </Stack>
  );
}
