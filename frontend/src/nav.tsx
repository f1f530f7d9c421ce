// Every page of the dashboard, grouped as the navigation shows them. A page that needs an API
// this server lacks (`requires`, a path of its OpenAPI document) is left out of the navigation
// and its route, so the dashboard still works against an older server.

import AddTaskIcon from "@mui/icons-material/AddTask";
import BarChartIcon from "@mui/icons-material/BarChart";
import DatasetIcon from "@mui/icons-material/Dataset";
import EventRepeatIcon from "@mui/icons-material/EventRepeat";
import HistoryIcon from "@mui/icons-material/History";
import MonitorHeartIcon from "@mui/icons-material/MonitorHeart";
import NotificationsIcon from "@mui/icons-material/Notifications";
import SyncIcon from "@mui/icons-material/Sync";
import { lazy, type ComponentType, type ReactElement } from "react";
import ActivePage from "./pages/ActivePage";
import HistoryPage from "./pages/HistoryPage";

// Pages load when first shown (charts with the pages that draw them); the job tables come first.
const RunPage = lazy(() => import("./pages/RunPage"));
const GeneratePage = lazy(() => import("./pages/GeneratePage"));
const StatisticsPage = lazy(() => import("./pages/StatisticsPage"));
const MonitorsPage = lazy(() => import("./pages/MonitorsPage"));
const MonitorPage = lazy(() => import("./pages/MonitorPage"));
const AlertsPage = lazy(() => import("./pages/AlertsPage"));
const AlertPage = lazy(() => import("./pages/AlertPage"));
const SchedulesPage = lazy(() => import("./pages/SchedulesPage"));

export interface Page {
  path: string;
  label: string;
  icon: ReactElement;
  element: ComponentType;
  /** An API path this page needs; without it the page is not offered. */
  requires?: string;
  /** The page of one of its entries, at `path/:id` (`path/:name` for monitors). */
  detail?: { param: string; element: ComponentType };
}

export interface Section {
  title: string;
  pages: Page[];
}

export const SECTIONS: Section[] = [
  {
    title: "Jobs",
    pages: [
      { path: "/run", label: "Run", icon: <AddTaskIcon />, element: RunPage },
      { path: "/generate", label: "Generate", icon: <DatasetIcon />, element: GeneratePage },
      { path: "/active", label: "Active jobs", icon: <SyncIcon />, element: ActivePage },
      { path: "/history", label: "History", icon: <HistoryIcon />, element: HistoryPage },
    ],
  },
  {
    title: "Insight",
    pages: [{ path: "/statistics", label: "Statistics", icon: <BarChartIcon />, element: StatisticsPage }],
  },
  {
    title: "Quality",
    pages: [
      {
        path: "/monitors",
        label: "Monitors",
        icon: <MonitorHeartIcon />,
        element: MonitorsPage,
        requires: "/api/monitors",
        detail: { param: "name", element: MonitorPage },
      },
      {
        path: "/alerts",
        label: "Alerts",
        icon: <NotificationsIcon />,
        element: AlertsPage,
        requires: "/api/alerts",
        detail: { param: "id", element: AlertPage },
      },
      { path: "/schedules", label: "Schedules", icon: <EventRepeatIcon />, element: SchedulesPage, requires: "/api/schedules" },
    ],
  },
];

export function available(paths: Set<string> | undefined): Section[] {
  return SECTIONS.map((s) => ({ ...s, pages: s.pages.filter((p) => !p.requires || paths?.has(p.requires)) })).filter(
    (s) => s.pages.length > 0,
  );
}
