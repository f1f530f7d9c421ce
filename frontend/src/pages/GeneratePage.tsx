// Synthetic datasets, several at once, each a generate job running in parallel on the server.

import AddIcon from "@mui/icons-material/Add";
import DeleteIcon from "@mui/icons-material/Delete";
import SendIcon from "@mui/icons-material/Send";
import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import IconButton from "@mui/material/IconButton";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import Tooltip from "@mui/material/Tooltip";
import FormControlLabel from "@mui/material/FormControlLabel";
import Switch from "@mui/material/Switch";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError } from "../api/client";
import type { Job } from "../api/types";
import { useNotify } from "../components/Notify";
import PageTitle from "./PageTitle";

const DATASETS = ["sports", "retail", "finance", "healthcare"];

interface Row {
  schema: string;
  rows: string;
  defects: string;
  format: string;
  to: string;
  seed: string;
  replace: boolean;
}

const blank = (): Row => ({ schema: "sports", rows: "10000", defects: "0", format: "sqlite", to: "", seed: "", replace: false });

export default function GeneratePage() {
  const [rows, setRows] = useState<Row[]>([blank()]);
  const [env, setEnv] = useState("");
  const [problem, setProblem] = useState<{ text: string; fields: Record<string, string> } | null>(null);
  const [busy, setBusy] = useState(false);
  const notify = useNotify();
  const client = useQueryClient();
  const set = (n: number, patch: Partial<Row>) => setRows((old) => old.map((r, i) => (i === n ? { ...r, ...patch } : r)));

  const submit = async () => {
    setProblem(null);
    setBusy(true);
    try {
      const answer = await api<{ jobs: Job[] }>("/api/batch/data/bulk-generate", {
        method: "POST",
        json: {
          env: env.trim() || undefined,
          items: rows.map((r) => ({
            schema: r.schema,
            rows: Number(r.rows),
            inject_errors: Number(r.defects || 0) / 100,
            format: r.format,
            to: r.to.trim() || undefined,
            seed: r.seed ? Number(r.seed) : undefined,
            if_exists: r.replace ? "replace" : "fail",
          })),
        },
      });
      notify({
        severity: "success",
        text: `Started ${answer.jobs.length} generate job(s)`,
        links: answer.jobs.slice(0, 3).map((j) => ({ to: `/jobs/${j.id}`, label: String(j.params.dataset ?? j.id) })),
      });
      void client.invalidateQueries({ queryKey: ["jobs"] });
    } catch (e) {
      const fields: Record<string, string> = {};
      if (e instanceof ApiError) for (const fe of e.errors) fields[fe.field] = fe.message;
      setProblem({ text: e instanceof Error ? e.message : String(e), fields });
    } finally {
      setBusy(false);
    }
  };

  const err = (n: number, ...names: string[]) => names.map((name) => problem?.fields[`body.items.${n}.${name}`]).find(Boolean);
  return (
    <>
      <PageTitle title="Generate" sub="Synthetic datasets with planted defects, written into the project; all rows start at once, in parallel." />
      {rows.map((r, n) => (
        <Paper key={n} sx={{ p: 2, mb: 1.5 }} component="fieldset" aria-label={`Dataset ${n + 1}`}>
          <Stack direction="row" spacing={1.5} useFlexGap flexWrap="wrap" alignItems="flex-start">
            <TextField select label="Dataset" size="small" value={r.schema} onChange={(e) => set(n, { schema: e.target.value })} sx={{ width: 140 }} error={!!err(n, "schema")} helperText={err(n, "schema")}>
              {DATASETS.map((d) => (
                <MenuItem key={d} value={d}>
                  {d}
                </MenuItem>
              ))}
            </TextField>
            <TextField label="Rows" type="number" size="small" value={r.rows} onChange={(e) => set(n, { rows: e.target.value })} sx={{ width: 130 }} error={!!err(n, "rows")} helperText={err(n, "rows") ?? "About, all tables"} slotProps={{ htmlInput: { min: 1 } }} />
            <TextField label="Defects %" type="number" size="small" value={r.defects} onChange={(e) => set(n, { defects: e.target.value })} sx={{ width: 110 }} error={!!err(n, "inject_errors", "params.inject_errors")} helperText={err(n, "inject_errors", "params.inject_errors") ?? "0 to 50"} slotProps={{ htmlInput: { min: 0, max: 50, step: "any" } }} />
            <TextField select label="Format" size="small" value={r.format} onChange={(e) => set(n, { format: e.target.value })} sx={{ width: 110 }}>
              {["sqlite", "csv", "jsonl"].map((f) => (
                <MenuItem key={f} value={f}>
                  {f}
                </MenuItem>
              ))}
            </TextField>
            <TextField label="Target" size="small" value={r.to} onChange={(e) => set(n, { to: e.target.value })} sx={{ flex: "1 1 180px" }} placeholder={`${r.schema}.db`} error={!!err(n, "to", "params.to")} helperText={err(n, "to", "params.to") ?? "A file or connection in the project"} />
            <TextField label="Seed" type="number" size="small" value={r.seed} onChange={(e) => set(n, { seed: e.target.value })} sx={{ width: 100 }} />
            <FormControlLabel control={<Switch checked={r.replace} onChange={(e) => set(n, { replace: e.target.checked })} />} label="Replace" />
            <Tooltip title="Remove">
              <span>
                <IconButton aria-label={`Remove dataset ${n + 1}`} disabled={rows.length === 1} onClick={() => setRows((old) => old.filter((_r, i) => i !== n))}>
                  <DeleteIcon />
                </IconButton>
              </span>
            </Tooltip>
          </Stack>
        </Paper>
      ))}
      <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" alignItems="center" sx={{ mb: 2 }}>
        <Button startIcon={<AddIcon />} onClick={() => setRows((old) => [...old, blank()])} disabled={rows.length >= 50}>
          Add a dataset
        </Button>
        <TextField label="Env" size="small" value={env} onChange={(e) => setEnv(e.target.value)} />
      </Stack>
      {problem && (
        <Alert severity="error" sx={{ mb: 2 }}>
          {problem.text}
        </Alert>
      )}
      <Button variant="contained" size="large" startIcon={<SendIcon />} disabled={busy} onClick={() => void submit()}>
        {busy ? "Starting…" : `Generate ${rows.length} dataset${rows.length > 1 ? "s" : ""}`}
      </Button>
    </>
  );
}
