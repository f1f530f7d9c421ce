import BlockIcon from "@mui/icons-material/Block";
import CheckIcon from "@mui/icons-material/Check";
import CheckCircleIcon from "@mui/icons-material/CheckCircle";
import ErrorIcon from "@mui/icons-material/Error";
import NotificationsActiveIcon from "@mui/icons-material/NotificationsActive";
import HourglassEmptyIcon from "@mui/icons-material/HourglassEmpty";
import PauseCircleIcon from "@mui/icons-material/PauseCircle";
import PlayCircleIcon from "@mui/icons-material/PlayCircle";
import RemoveCircleIcon from "@mui/icons-material/RemoveCircle";
import WarningIcon from "@mui/icons-material/Warning";
import Chip from "@mui/material/Chip";
import type { ReactElement } from "react";

type Color = "default" | "primary" | "success" | "warning" | "error" | "info";

const LOOKS: Record<string, { color: Color; icon: ReactElement }> = {
  pending: { color: "default", icon: <HourglassEmptyIcon /> },
  running: { color: "primary", icon: <PlayCircleIcon /> },
  paused: { color: "warning", icon: <PauseCircleIcon /> },
  completed: { color: "success", icon: <CheckCircleIcon /> },
  done: { color: "success", icon: <CheckCircleIcon /> },
  partial: { color: "warning", icon: <WarningIcon /> },
  failed: { color: "error", icon: <ErrorIcon /> },
  cancelled: { color: "default", icon: <BlockIcon /> },
  skipped: { color: "default", icon: <RemoveCircleIcon /> },
  deleted: { color: "default", icon: <RemoveCircleIcon /> },
  pass: { color: "success", icon: <CheckCircleIcon /> },
  warn: { color: "warning", icon: <WarningIcon /> },
  fail: { color: "error", icon: <ErrorIcon /> },
  error: { color: "error", icon: <ErrorIcon /> },
  ok: { color: "success", icon: <CheckCircleIcon /> },
  open: { color: "error", icon: <NotificationsActiveIcon /> },
  acknowledged: { color: "info", icon: <CheckIcon /> },
  resolved: { color: "success", icon: <CheckCircleIcon /> },
  sent: { color: "success", icon: <CheckCircleIcon /> },
  superseded: { color: "default", icon: <RemoveCircleIcon /> },
  anomaly: { color: "error", icon: <WarningIcon /> },
};

export default function StatusChip({ status, size = "small" }: { status: string; size?: "small" | "medium" }) {
  const look = LOOKS[status] ?? { color: "default" as Color, icon: <HourglassEmptyIcon /> };
  return (
    <Chip
      label={status}
      color={look.color}
      icon={look.icon}
      size={size}
      variant={look.color === "default" ? "outlined" : "filled"}
      data-status={status}
    />
  );
}
