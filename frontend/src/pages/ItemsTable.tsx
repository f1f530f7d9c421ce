// A job's items, a page at a time, filtered by status; each opens to its error and result.

import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import DialogActions from "@mui/material/DialogActions";
import Paper from "@mui/material/Paper";
import ToggleButton from "@mui/material/ToggleButton";
import ToggleButtonGroup from "@mui/material/ToggleButtonGroup";
import Typography from "@mui/material/Typography";
import { DataGrid, type GridColDef } from "@mui/x-data-grid";
import { useState } from "react";
import { useItems } from "../api/hooks";
import { ITEM_STATUSES, type Item } from "../api/types";
import StatusChip from "../components/StatusChip";
import { count, duration, json } from "../format";

function short(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

export default function ItemsTable({ jobId, status, onStatus }: { jobId: string; status: string; onStatus: (s: string) => void }) {
  const [pagination, setPagination] = useState({ page: 0, pageSize: 25 });
  const [open, setOpen] = useState<Item | null>(null);
  const items = useItems(jobId, status ? [status] : [], pagination.page, pagination.pageSize);
  const columns: GridColDef<Item>[] = [
    { field: "position", headerName: "#", width: 80, sortable: false },
    { field: "key", headerName: "Key", flex: 1, minWidth: 140, sortable: false },
    { field: "status", headerName: "Status", width: 120, sortable: false, renderCell: ({ row }) => <StatusChip status={row.status} /> },
    { field: "attempts", headerName: "Attempts", width: 90, sortable: false },
    { field: "duration_s", headerName: "Duration", width: 100, sortable: false, valueFormatter: (v: number | null) => duration(v) },
    { field: "rows_written", headerName: "Rows", width: 90, sortable: false, valueFormatter: (v: number) => count(v) },
    {
      field: "outcome",
      headerName: "Error or result",
      flex: 2,
      minWidth: 200,
      sortable: false,
      valueGetter: (_v, row) => row.error ?? short(row.result),
      renderCell: ({ row }) => (
        <Typography variant="body2" noWrap color={row.error ? "error" : "text.primary"} title={row.error ?? undefined}>
          {row.error ?? short(row.result)}
        </Typography>
      ),
    },
    {
      field: "open",
      headerName: "",
      width: 90,
      sortable: false,
      renderCell: ({ row }) => (
        <Button size="small" onClick={() => setOpen(row)} aria-label={`Details of item ${row.key}`}>
          Details
        </Button>
      ),
    },
  ];
  return (
    <Box>
      <ToggleButtonGroup
        size="small"
        exclusive
        value={status}
        onChange={(_e, v: string | null) => {
          onStatus(v ?? "");
          setPagination((p) => ({ ...p, page: 0 }));
        }}
        aria-label="Show items by status"
        sx={{ mb: 1, flexWrap: "wrap" }}
      >
        <ToggleButton value="">all</ToggleButton>
        {ITEM_STATUSES.map((s) => (
          <ToggleButton key={s} value={s}>
            {s}
          </ToggleButton>
        ))}
      </ToggleButtonGroup>
      <Paper variant="outlined">
        <DataGrid
          rows={items.data?.items ?? []}
          columns={columns}
          getRowId={(r) => r.position}
          rowCount={items.data?.total ?? 0}
          loading={items.isFetching && !items.data}
          paginationMode="server"
          paginationModel={pagination}
          onPaginationModelChange={setPagination}
          pageSizeOptions={[25, 50, 100]}
          disableColumnFilter
          disableColumnSorting
          disableRowSelectionOnClick
          density="compact"
          autoHeight
          localeText={{ noRowsLabel: status ? `No ${status} items.` : "No items." }}
          aria-label="Items"
        />
      </Paper>
      <Dialog open={!!open} onClose={() => setOpen(null)} maxWidth="md" fullWidth aria-labelledby="item-title">
        <DialogTitle id="item-title">Item {open?.key}</DialogTitle>
        <DialogContent dividers>
          {open && (
            <>
              <Box sx={{ mb: 1 }}>
                <StatusChip status={open.status} /> {open.attempts} attempt(s), {duration(open.duration_s)}
                {open.worker && <>, on {open.worker}</>}
              </Box>
              {open.error && (
                <>
                  <Typography variant="subtitle2" component="h3">
                    Error
                  </Typography>
                  <pre className="code">{open.traceback ?? open.error}</pre>
                </>
              )}
              <Typography variant="subtitle2" component="h3" sx={{ mt: 1 }}>
                Value
              </Typography>
              <pre className="code">{json(open.value)}</pre>
              <Typography variant="subtitle2" component="h3" sx={{ mt: 1 }}>
                Result
              </Typography>
              <pre className="code">{json(open.result)}</pre>
              {open.cursor !== null && open.cursor !== undefined && (
                <>
                  <Typography variant="subtitle2" component="h3" sx={{ mt: 1 }}>
                    Checkpoint
                  </Typography>
                  <pre className="code">{json(open.cursor)}</pre>
                </>
              )}
            </>
          )}
        </DialogContent>
        <DialogActions>
          <Button onClick={() => setOpen(null)}>Close</Button>
        </DialogActions>
      </Dialog>
    </Box>
  );
}
