// Start jobs: saved pipelines (as one batch job) and kinds with their params, in one go.

import SendIcon from "@mui/icons-material/Send";
import Alert from "@mui/material/Alert";
import Autocomplete from "@mui/material/Autocomplete";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import FormControlLabel from "@mui/material/FormControlLabel";
import Paper from "@mui/material/Paper";
import Slider from "@mui/material/Slider";
import Stack from "@mui/material/Stack";
import Switch from "@mui/material/Switch";
import TextField from "@mui/material/TextField";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, ApiError } from "../api/client";
import { useKinds, usePipelines } from "../api/hooks";
import type { Job, Kind, Pipeline } from "../api/types";
import { useNotify } from "../components/Notify";
import SchemaForm, { paramsOf, type FormValues } from "../components/SchemaForm";
import PageTitle from "./PageTitle";

export default function RunPage() {
  const kinds = useKinds();
  const pipelines = usePipelines();
  const notify = useNotify();
  const client = useQueryClient();
  const [chosenPipelines, setChosenPipelines] = useState<Pipeline[]>([]);
  const [chosenKinds, setChosenKinds] = useState<Kind[]>([]);
  const [values, setValues] = useState<Record<string, FormValues>>({});
  const [errors, setErrors] = useState<Record<string, Record<string, string>>>({});
  const [name, setName] = useState("");
  const [env, setEnv] = useState("");
  const [mode, setMode] = useState<"parallel" | "sequential">("parallel");
  const [workers, setWorkers] = useState(4);
  const [stopOnError, setStopOnError] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    setProblem(null);
    const bad: Record<string, Record<string, string>> = {};
    const bodies: { kind: string; params: Record<string, unknown> }[] = [];
    for (const kind of chosenKinds) {
      try {
        bodies.push({ kind: kind.name, params: paramsOf(kind.params, values[kind.name] ?? {}) });
      } catch (e) {
        const { field, message } = e as { field: string; message: string };
        bad[kind.name] = { [field]: message };
      }
    }
    setErrors(bad);
    if (Object.keys(bad).length) return;
    setBusy(true);
    const made: Job[] = [];
    try {
      if (chosenPipelines.length)
        made.push(
          await api<Job>("/api/batch/pipelines/bulk-execute", {
            method: "POST",
            json: {
              pipelines: chosenPipelines.map((p) => p.name),
              mode,
              max_parallel: workers,
              stop_on_error: stopOnError,
              env: env.trim() || undefined,
            },
          }),
        );
      for (const body of bodies) {
        try {
          made.push(
            await api<Job>("/api/jobs", {
              method: "POST",
              json: { ...body, workers, stop_on_error: stopOnError, env: env.trim() || undefined, name: name.trim() || undefined },
            }),
          );
        } catch (e) {
          if (e instanceof ApiError && e.errors.length) {
            const fieldErrors: Record<string, string> = {};
            for (const fe of e.errors) fieldErrors[fe.field.replace(/^body\.params\.?/, "") || "_"] = fe.message;
            setErrors((old) => ({ ...old, [body.kind]: fieldErrors }));
          }
          throw e;
        }
      }
    } catch (e) {
      setProblem(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
      void client.invalidateQueries({ queryKey: ["jobs"] });
    }
    if (made.length)
      notify({
        severity: "success",
        text: made.length === 1 ? `Started ${made[0].id}` : `Started ${made.length} jobs`,
        links: made.slice(0, 3).map((j) => ({ to: `/jobs/${j.id}`, label: made.length === 1 ? "Open" : j.kind })),
      });
  };

  const nothing = !chosenPipelines.length && !chosenKinds.length;
  return (
    <>
      <PageTitle title="Run" sub="Saved pipelines run as one batch job; each kind runs as a job of its own." />
      <Paper sx={{ p: 2, mb: 2 }}>
        <Stack spacing={2}>
          <Autocomplete
            multiple
            options={pipelines.data ?? []}
            loading={pipelines.isLoading}
            getOptionLabel={(p) => p.name}
            isOptionEqualToValue={(a, b) => a.name === b.name}
            value={chosenPipelines}
            onChange={(_e, v) => setChosenPipelines(v)}
            renderOption={(props, p) => (
              <li {...props} key={p.name}>
                <Box>
                  <Typography>{p.name}</Typography>
                  <Typography variant="caption" color="text.secondary">
                    {p.kind}
                    {p.description ? ` · ${p.description}` : ""}
                  </Typography>
                </Box>
              </li>
            )}
            renderInput={(params) => <TextField {...params} label="Pipelines" placeholder={pipelines.data?.length ? "Pick saved pipelines" : "No pipelines/*.yaml in this project"} />}
          />
          <Autocomplete
            multiple
            options={(kinds.data ?? []).filter((k) => k.name !== "batch")}
            loading={kinds.isLoading}
            getOptionLabel={(k) => k.name}
            isOptionEqualToValue={(a, b) => a.name === b.name}
            value={chosenKinds}
            onChange={(_e, v) => setChosenKinds(v)}
            renderOption={(props, k) => (
              <li {...props} key={k.name}>
                <Box>
                  <Typography>{k.name}</Typography>
                  <Typography variant="caption" color="text.secondary">
                    {k.description.split("\n")[0]}
                  </Typography>
                </Box>
              </li>
            )}
            renderInput={(params) => <TextField {...params} label="Kinds" placeholder="Pick job kinds to run with params" />}
          />
        </Stack>
      </Paper>
      {chosenKinds.map((kind) => (
        <Paper key={kind.name} sx={{ p: 2, mb: 2 }} component="section" aria-labelledby={`kind-${kind.name}`}>
          <Typography id={`kind-${kind.name}`} variant="subtitle1" component="h2" sx={{ fontWeight: 600 }}>
            {kind.name} params
          </Typography>
          <Typography variant="body2" color="text.secondary" sx={{ mb: 1.5 }}>
            {kind.description.split("\n")[0]}
          </Typography>
          {errors[kind.name]?._ && <Alert severity="error" sx={{ mb: 1 }}>{errors[kind.name]._}</Alert>}
          <SchemaForm
            schema={kind.params}
            values={values[kind.name] ?? {}}
            onChange={(v) => setValues((old) => ({ ...old, [kind.name]: v }))}
            errors={errors[kind.name] ?? {}}
            idPrefix={`param-${kind.name}`}
          />
        </Paper>
      ))}
      <Paper sx={{ p: 2, mb: 2 }}>
        <Stack direction="row" spacing={2} useFlexGap flexWrap="wrap" alignItems="center">
          <TextField label="Job name" size="small" value={name} onChange={(e) => setName(e.target.value)} helperText="For the kinds' jobs" />
          <TextField label="Env" size="small" value={env} onChange={(e) => setEnv(e.target.value)} helperText="Default: the project's" />
          <Box>
            <Typography id="mode-label" variant="caption" color="text.secondary" component="div">
              Pipelines run
            </Typography>
            <ToggleButtonGroup size="small" exclusive value={mode} onChange={(_e, v) => v && setMode(v)} aria-labelledby="mode-label">
              <ToggleButton value="parallel">in parallel</ToggleButton>
              <ToggleButton value="sequential">one after another</ToggleButton>
            </ToggleButtonGroup>
          </Box>
          <Box sx={{ width: 200, px: 1 }}>
            <Typography id="workers-label" variant="caption" color="text.secondary" component="div">
              Max workers: {workers}
            </Typography>
            <Slider value={workers} min={1} max={10} step={1} marks onChange={(_e, v) => setWorkers(v as number)} aria-labelledby="workers-label" valueLabelDisplay="auto" />
          </Box>
          <FormControlLabel control={<Switch checked={stopOnError} onChange={(e) => setStopOnError(e.target.checked)} />} label="Stop on error" />
        </Stack>
      </Paper>
      {problem && (
        <Alert severity="error" sx={{ mb: 2 }}>
          {problem}
        </Alert>
      )}
      <Button variant="contained" size="large" startIcon={<SendIcon />} disabled={nothing || busy} onClick={() => void submit()}>
        {busy ? "Starting…" : "Start"}
      </Button>
    </>
  );
}
