import Box from "@mui/material/Box";
import LinearProgress from "@mui/material/LinearProgress";
import Typography from "@mui/material/Typography";

export default function ProgressBar({ percent, label, status }: { percent: number; label: string; status?: string }) {
  const color = status === "failed" ? "error" : status === "partial" || status === "paused" ? "warning" : status === "completed" ? "success" : "primary";
  const value = Math.max(0, Math.min(100, percent));
  return (
    <Box sx={{ display: "flex", alignItems: "center", gap: 1, width: "100%" }}>
      <LinearProgress
        variant="determinate"
        value={value}
        color={color}
        sx={{ flex: 1, height: 8, borderRadius: 4 }}
        aria-label={label}
        data-percent={value.toFixed(1)}
      />
      <Typography variant="body2" sx={{ minWidth: 48, textAlign: "right", fontVariantNumeric: "tabular-nums" }}>
        {value.toFixed(value < 10 ? 1 : 0)}%
      </Typography>
    </Box>
  );
}
