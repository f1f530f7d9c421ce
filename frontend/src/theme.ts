import { createTheme } from "@mui/material/styles";

// System fonts only: the page works offline and loads nothing from elsewhere.
const fonts = [
  "system-ui",
  "-apple-system",
  "'Segoe UI'",
  "Roboto",
  "'Helvetica Neue'",
  "Arial",
  "'Noto Sans'",
  "'Liberation Sans'",
  "sans-serif",
].join(",");

export function makeTheme(mode: "light" | "dark") {
  return createTheme({
    palette: {
      mode,
      // Darker shades than MUI's defaults in light mode: text on chips and buttons keeps 4.5:1.
      primary: { main: mode === "light" ? "#1259a8" : "#90caf9" },
      success: { main: mode === "light" ? "#1b6e20" : "#81c784" },
      warning: { main: mode === "light" ? "#8a4b00" : "#ffb74d" },
      error: { main: mode === "light" ? "#b3261e" : "#f48fb1" },
      info: { main: mode === "light" ? "#0a5c83" : "#81d4fa" },
      background: mode === "light" ? { default: "#f6f7f9", paper: "#ffffff" } : { default: "#101418", paper: "#171c22" },
    },
    typography: { fontFamily: fonts, fontSize: 14 },
    shape: { borderRadius: 8 },
    components: {
      MuiButtonBase: { defaultProps: { disableRipple: false } },
      MuiLink: { defaultProps: { underline: "hover" } },
      // MUI's default (action.active) is just under 4.5:1 on paper; text.secondary keeps it.
      MuiToggleButton: { styleOverrides: { root: ({ theme }) => ({ color: theme.palette.text.secondary }) } },
    },
  });
}
