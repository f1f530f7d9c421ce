// Every job, a page at a time from the server: sort, filter, search, act, delete and export.

import DeleteIcon from "@mui/icons-material/Delete";
import DownloadIcon from "@mui/icons-material/Download";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import FormControl from "@mui/material/FormControl";
import InputLabel from "@mui/material/InputLabel";
import ListItemText from "@mui/material/ListItemText";
import Menu from "@mui/material/Menu";
import MenuItem from "@mui/material/MenuItem";
import Paper from "@mui/material/Paper";
import Select from "@mui/material/Select";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import { DataGrid, type GridPaginationModel, type GridRowSelectionModel, type GridSortModel } from "@mui/x-data-grid";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { api, ApiError } from "../api/client";
import { exportJobs, useJobs, useKinds, type JobQuery } from "../api/hooks";
import { JOB_STATUSES } from "../api/types";
import JobDialog from "../components/JobDialog";
import { jobColumns, PHONE_HIDDEN } from "../components/jobColumns";
import { useNotify } from "../components/Notify";
import PageTitle from "./PageTitle";

const TEXT_FILTERS = ["env", "project", "tag"] as const;

function useDebounced<T>(value: T, ms: number): T {
  const [out, setOut] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setOut(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return out;
}

export default function HistoryPage() {
  const [params, setParams] = useSearchParams();
  const theme = useTheme();
  const phone = useMediaQuery(theme.breakpoints.down("md"), { noSsr: true });
  const notify = useNotify();
  const client = useQueryClient();
  const kinds = useKinds();
  const [viewing, setViewing] = useState<string | null>(null);
  const [selection, setSelection] = useState<GridRowSelectionModel>({ type: "include", ids: new Set() });
  const [confirm, setConfirm] = useState(false);
  const [exportMenu, setExportMenu] = useState<HTMLElement | null>(null);
  const [text, setText] = useState(params.get("q") ?? "");
  const q = useDebounced(text, 300);

  const set = (key: string, value: string | string[] | null) => {
    const next = new URLSearchParams(params);
    next.delete(key);
    if (Array.isArray(value)) value.forEach((v) => next.append(key, v));
    else if (value) next.set(key, value);
    next.delete("page");
    setParams(next, { replace: true });
  };
  useEffect(() => {
    if ((params.get("q") ?? "") !== q) set("q", q || null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q]);

  const pageSize = Number(params.get("size") ?? 25);
  const page = Number(params.get("page") ?? 0);
  const sort = params.get("sort") ?? "created_at";
  const order = (params.get("order") ?? "desc") as "asc" | "desc";
  const filters: JobQuery = {
    status: params.getAll("status"),
    kind: params.get("kind") ?? undefined,
    env: params.get("env") ?? undefined,
    project: params.get("project") ?? undefined,
    tag: params.get("tag") ?? undefined,
    q: params.get("q") ?? undefined,
    created_after: params.get("from") ? `${params.get("from")}T00:00:00` : undefined,
    created_before: params.get("to") ? `${params.get("to")}T23:59:59` : undefined,
  };
  const jobs = useJobs({ ...filters, sort, order, limit: pageSize, offset: page * pageSize });
  const columns = useMemo(() => jobColumns((j) => setViewing(j.id), { sortable: true, phone }), [phone]);
  const selected = [...selection.ids].map(String);

  const deleteSelected = async () => {
    setConfirm(false);
    const results = await Promise.allSettled(selected.map((id) => api(`/api/jobs/${encodeURIComponent(id)}`, { method: "DELETE" })));
    const refused = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    setSelection({ type: "include", ids: new Set() });
    void client.invalidateQueries({ queryKey: ["jobs"] });
    if (refused.length)
      notify({
        severity: "error",
        text: `Deleted ${results.length - refused.length}; ${refused.length} refused: ${refused[0].reason instanceof ApiError ? refused[0].reason.message : refused[0].reason}`,
      });
    else notify({ severity: "success", text: `Deleted ${results.length} job(s)` });
  };
  const save = (format: "json" | "csv") => {
    setExportMenu(null);
    exportJobs(filters, format).catch((e) => notify({ severity: "error", text: String(e.message ?? e) }));
  };

  return (
    <>
      <PageTitle title="History" sub={jobs.data ? `${jobs.data.total.toLocaleString()} job(s) match` : " "}>
        <Button variant="outlined" startIcon={<DownloadIcon />} onClick={(e) => setExportMenu(e.currentTarget)} aria-haspopup="menu">
          Export
        </Button>
        <Menu anchorEl={exportMenu} open={!!exportMenu} onClose={() => setExportMenu(null)}>
          <MenuItem onClick={() => save("json")}>Export the matching jobs as JSON</MenuItem>
          <MenuItem onClick={() => save("csv")}>Export the matching jobs as CSV</MenuItem>
        </Menu>
        <Button variant="outlined" color="error" startIcon={<DeleteIcon />} disabled={!selected.length} onClick={() => setConfirm(true)}>
          Delete{selected.length ? ` ${selected.length}` : ""}
        </Button>
      </PageTitle>
      <Paper sx={{ p: 2, mb: 2 }} role="search" aria-label="Filter jobs">
        <Stack direction="row" spacing={1.5} useFlexGap flexWrap="wrap">
          <TextField label="Search id or name" value={text} onChange={(e) => setText(e.target.value)} size="small" sx={{ minWidth: 200, flex: 1 }} />
          <FormControl size="small" sx={{ minWidth: 160 }}>
            <InputLabel id="status-label">Status</InputLabel>
            <Select
              labelId="status-label"
              label="Status"
              multiple
              value={filters.status ?? []}
              onChange={(e) => set("status", typeof e.target.value === "string" ? e.target.value.split(",") : e.target.value)}
              renderValue={(v) => v.join(", ")}
            >
              {JOB_STATUSES.map((s) => (
                <MenuItem key={s} value={s}>
                  <Checkbox size="small" checked={(filters.status ?? []).includes(s)} />
                  <ListItemText primary={s} />
                </MenuItem>
              ))}
            </Select>
          </FormControl>
          <FormControl size="small" sx={{ minWidth: 130 }}>
            <InputLabel id="kind-label">Kind</InputLabel>
            <Select labelId="kind-label" label="Kind" value={filters.kind ?? ""} onChange={(e) => set("kind", e.target.value || null)}>
              <MenuItem value="">
                <em>any</em>
              </MenuItem>
              {(kinds.data ?? []).map((k) => (
                <MenuItem key={k.name} value={k.name}>
                  {k.name}
                </MenuItem>
              ))}
            </Select>
          </FormControl>
          {TEXT_FILTERS.map((key) => (
            <TextField
              key={key}
              label={key[0].toUpperCase() + key.slice(1)}
              size="small"
              sx={{ width: 130 }}
              defaultValue={params.get(key) ?? ""}
              onBlur={(e) => set(key, e.target.value.trim() || null)}
              onKeyDown={(e) => e.key === "Enter" && set(key, (e.target as HTMLInputElement).value.trim() || null)}
            />
          ))}
          <TextField
            label="Created from"
            type="date"
            size="small"
            value={params.get("from") ?? ""}
            onChange={(e) => set("from", e.target.value || null)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          <TextField
            label="Created to"
            type="date"
            size="small"
            value={params.get("to") ?? ""}
            onChange={(e) => set("to", e.target.value || null)}
            slotProps={{ inputLabel: { shrink: true } }}
          />
          {[...params.keys()].some((k) => !["sort", "order", "page", "size"].includes(k)) && (
            <Button
              onClick={() => {
                setText("");
                setParams(new URLSearchParams(), { replace: true });
              }}
            >
              Clear filters
            </Button>
          )}
        </Stack>
      </Paper>
      {jobs.error && (
        <Box role="alert" sx={{ color: "error.main", mb: 1 }}>
          {jobs.error.message}
        </Box>
      )}
      <Paper sx={{ width: "100%" }}>
        <DataGrid
          rows={jobs.data?.jobs ?? []}
          columns={columns}
          getRowId={(r) => r.id}
          rowCount={jobs.data?.total ?? 0}
          loading={jobs.isFetching}
          paginationMode="server"
          sortingMode="server"
          filterMode="server"
          disableColumnFilter
          paginationModel={{ page, pageSize }}
          onPaginationModelChange={(m: GridPaginationModel) => {
            const next = new URLSearchParams(params);
            next.set("page", String(m.page));
            next.set("size", String(m.pageSize));
            setParams(next, { replace: true });
          }}
          pageSizeOptions={[10, 25, 50, 100]}
          sortModel={[{ field: sort, sort: order }]}
          onSortModelChange={(m: GridSortModel) => {
            const next = new URLSearchParams(params);
            next.set("sort", m[0]?.field ?? "created_at");
            next.set("order", m[0]?.sort ?? "desc");
            next.delete("page");
            setParams(next, { replace: true });
          }}
          checkboxSelection
          rowSelectionModel={selection}
          onRowSelectionModelChange={setSelection}
          keepNonExistentRowsSelected
          disableRowSelectionOnClick
          rowHeight={64}
          columnVisibilityModel={phone ? PHONE_HIDDEN : { eta: false }}
          localeText={{ noRowsLabel: "No job matches these filters." }}
          autoHeight
          aria-label="Job history"
        />
      </Paper>
      <Dialog open={confirm} onClose={() => setConfirm(false)} aria-labelledby="bulk-delete-title">
        <DialogTitle id="bulk-delete-title">Delete {selected.length} job(s)?</DialogTitle>
        <DialogContent>
          <DialogContentText>Finished jobs are deleted with their items and logs; unfinished ones are refused.</DialogContentText>
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setConfirm(false)}>Keep them</Button>
          <Button color="error" variant="contained" onClick={() => void deleteSelected()}>
            Delete
          </Button>
        </DialogActions>
      </Dialog>
      <JobDialog id={viewing} onClose={() => setViewing(null)} />
    </>
  );
}
