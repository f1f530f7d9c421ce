// The server asks for a token: ask the person once, keep it for this browser session.

import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import TextField from "@mui/material/TextField";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { authNeeded, getToken, setToken } from "../api/client";

export default function Login() {
  const [open, setOpen] = useState(false);
  const [value, setValue] = useState("");
  const [refused, setRefused] = useState(false);
  const client = useQueryClient();
  useEffect(() => {
    const needed = () => {
      setRefused(!!getToken());
      setOpen(true);
    };
    authNeeded.addEventListener("needed", needed);
    return () => authNeeded.removeEventListener("needed", needed);
  }, []);
  const submit = () => {
    setToken(value.trim());
    setOpen(false);
    setValue("");
    void client.invalidateQueries();
  };
  return (
    <Dialog open={open} aria-labelledby="login-title">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <DialogTitle id="login-title">Sign in to this batchyard server</DialogTitle>
        <DialogContent>
          <DialogContentText sx={{ mb: 2 }}>
            This server needs its token (BATCHYARD_TOKEN). It is kept for this browser tab's session only.
          </DialogContentText>
          {refused && (
            <Alert severity="error" sx={{ mb: 2 }}>
              The server refused that token.
            </Alert>
          )}
          <TextField
            autoFocus
            fullWidth
            type="password"
            label="Token"
            autoComplete="current-password"
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </DialogContent>
        <DialogActions>
          <Button type="submit" variant="contained" disabled={!value.trim()}>
            Sign in
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
