// One snackbar for the page: what an action did, with a link to what it made.

import Alert from "@mui/material/Alert";
import Link from "@mui/material/Link";
import Snackbar from "@mui/material/Snackbar";
import { createContext, useCallback, useContext, useState, type ReactNode } from "react";
import { Link as RouterLink } from "react-router-dom";

interface Note {
  text: string;
  severity: "success" | "error" | "info";
  links?: { to: string; label: string }[];
}

const NotifyContext = createContext<(note: Note) => void>(() => undefined);

export function useNotify() {
  return useContext(NotifyContext);
}

export function NotifyProvider({ children }: { children: ReactNode }) {
  const [note, setNote] = useState<Note | null>(null);
  const [open, setOpen] = useState(false);
  const notify = useCallback((n: Note) => {
    setNote(n);
    setOpen(true);
  }, []);
  return (
    <NotifyContext.Provider value={notify}>
      {children}
      <Snackbar
        open={open}
        autoHideDuration={note?.severity === "error" ? 12000 : 8000}
        onClose={(_e, reason) => reason !== "clickaway" && setOpen(false)}
        anchorOrigin={{ vertical: "bottom", horizontal: "center" }}
      >
        <Alert severity={note?.severity ?? "info"} variant="filled" onClose={() => setOpen(false)} role="status">
          {note?.text}
          {note?.links?.map((l) => (
            <Link key={l.to} component={RouterLink} to={l.to} color="inherit" sx={{ ml: 1, fontWeight: 600 }}>
              {l.label}
            </Link>
          ))}
        </Alert>
      </Snackbar>
    </NotifyContext.Provider>
  );
}
