// The frame of every page: the bar (title, live state, dark mode), the navigation (a side panel,
// or a drawer on a phone), and the page.

import DarkModeIcon from "@mui/icons-material/DarkMode";
import LightModeIcon from "@mui/icons-material/LightMode";
import MenuIcon from "@mui/icons-material/Menu";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Drawer from "@mui/material/Drawer";
import IconButton from "@mui/material/IconButton";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemButton from "@mui/material/ListItemButton";
import ListItemIcon from "@mui/material/ListItemIcon";
import ListItemText from "@mui/material/ListItemText";
import Toolbar from "@mui/material/Toolbar";
import Tooltip from "@mui/material/Tooltip";
import Typography from "@mui/material/Typography";
import useMediaQuery from "@mui/material/useMediaQuery";
import { useTheme } from "@mui/material/styles";
import { useState, type ReactNode } from "react";
import { Link as RouterLink, useLocation } from "react-router-dom";
import { useHealth } from "./api/hooks";
import { useLiveState } from "./components/Live";
import type { Section } from "./nav";

const WIDTH = 220;

function LiveChip() {
  const live = useLiveState();
  const health = useHealth();
  if (live === "reconnecting" || health.isError)
    return <Chip size="small" color="warning" label="Reconnecting…" data-live="reconnecting" role="status" />;
  if (live === "open") return <Chip size="small" color="success" label="Live" data-live="open" role="status" variant="outlined" />;
  return null;
}

export default function Shell({
  sections,
  mode,
  onToggleMode,
  children,
}: {
  sections: Section[];
  mode: "light" | "dark";
  onToggleMode: () => void;
  children: ReactNode;
}) {
  const theme = useTheme();
  const wide = useMediaQuery(theme.breakpoints.up("md"), { noSsr: true });
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const health = useHealth();

  const nav = (
    <Box component="nav" aria-label="Pages">
      {sections.map((section) => (
        <Box key={section.title} component="section" aria-labelledby={`nav-${section.title}`}>
          <Typography id={`nav-${section.title}`} component="h2" variant="overline" color="text.secondary" sx={{ display: "block", px: 2, pt: 1.5 }}>
            {section.title}
          </Typography>
          <List dense disablePadding>
            {section.pages.map((page) => {
              const here = location.pathname === page.path || location.pathname.startsWith(`${page.path}/`);
              return (
                <ListItem key={page.path} disablePadding>
                  <ListItemButton
                    component={RouterLink}
                    to={page.path}
                    selected={here}
                    aria-current={location.pathname === page.path ? "page" : here ? "true" : undefined}
                    onClick={() => setOpen(false)}
                  >
                    <ListItemIcon sx={{ minWidth: 36 }}>{page.icon}</ListItemIcon>
                    <ListItemText primary={page.label} />
                  </ListItemButton>
                </ListItem>
              );
            })}
          </List>
        </Box>
      ))}
    </Box>
  );

  return (
    <Box sx={{ display: "flex", minHeight: "100vh" }}>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <AppBar position="fixed" color="default" elevation={1} sx={{ zIndex: (t) => t.zIndex.drawer + 1, bgcolor: "background.paper" }}>
        <Toolbar sx={{ gap: 1 }}>
          {!wide && (
            <IconButton edge="start" aria-label="Open navigation" onClick={() => setOpen(true)}>
              <MenuIcon />
            </IconButton>
          )}
          <Typography component="p" variant="h6" sx={{ fontWeight: 700, flexShrink: 0 }}>
            batchyard
          </Typography>
          {health.data && wide && (
            <Typography variant="body2" color="text.secondary">
              v{health.data.version}
            </Typography>
          )}
          <Box sx={{ flex: 1 }} />
          <LiveChip />
          <Tooltip title={mode === "dark" ? "Light mode" : "Dark mode"}>
            <IconButton onClick={onToggleMode} aria-label={mode === "dark" ? "Switch to light mode" : "Switch to dark mode"} data-mode={mode}>
              {mode === "dark" ? <LightModeIcon /> : <DarkModeIcon />}
            </IconButton>
          </Tooltip>
        </Toolbar>
      </AppBar>
      {wide ? (
        <Drawer variant="permanent" sx={{ width: WIDTH, flexShrink: 0, "& .MuiDrawer-paper": { width: WIDTH, boxSizing: "border-box" } }}>
          <Toolbar />
          {nav}
        </Drawer>
      ) : (
        <Drawer
          open={open}
          onClose={() => setOpen(false)}
          sx={{ "& .MuiDrawer-paper": { width: WIDTH } }}
          slotProps={{ paper: { "aria-label": "Navigation" } as object }}
        >
          {nav}
        </Drawer>
      )}
      <Box component="main" id="main" tabIndex={-1} sx={{ flex: 1, minWidth: 0, p: { xs: 1.5, sm: 3 }, outline: "none" }}>
        <Toolbar />
        {children}
      </Box>
    </Box>
  );
}
