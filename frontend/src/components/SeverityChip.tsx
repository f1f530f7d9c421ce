// How bad an alert is, at a glance: colour, icon and word.

import ErrorIcon from "@mui/icons-material/Error";
import InfoIcon from "@mui/icons-material/Info";
import ReportIcon from "@mui/icons-material/Report";
import WarningIcon from "@mui/icons-material/Warning";
import Chip from "@mui/material/Chip";
import type { ReactElement } from "react";
import type { Severity } from "../api/types";

const LOOKS: Record<Severity, { color: "error" | "warning" | "info" | "default"; icon: ReactElement; filled: boolean }> = {
  critical: { color: "error", icon: <ReportIcon />, filled: true },
  high: { color: "error", icon: <ErrorIcon />, filled: false },
  medium: { color: "warning", icon: <WarningIcon />, filled: false },
  low: { color: "info", icon: <InfoIcon />, filled: false },
  info: { color: "default", icon: <InfoIcon />, filled: false },
};

export default function SeverityChip({ severity }: { severity: Severity }) {
  const look = LOOKS[severity] ?? LOOKS.info;
  return (
    <Chip
      label={severity}
      color={look.color}
      icon={look.icon}
      size="small"
      variant={look.filled ? "filled" : "outlined"}
      data-severity={severity}
    />
  );
}
