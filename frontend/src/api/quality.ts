// Monitors, alerts and schedules: their reads as TanStack queries, their actions as mutations.

import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, query } from "./client";
import type { Alert, AlertDetail, AlertPage, MetricsPage, Monitor, Schedule, ScheduleRun } from "./types";

// Monitors record values and alerts change when checks run, which the page is not told of: it
// looks again now and then, and whenever it acts.
const REFRESH = 15_000;

export function useMonitors() {
  return useQuery({
    queryKey: ["monitors"],
    queryFn: ({ signal }) => api<Monitor[]>("/api/monitors", { signal }),
    refetchInterval: REFRESH,
  });
}

export function useMonitor(name: string) {
  return useQuery({
    queryKey: ["monitor", name],
    queryFn: ({ signal }) => api<Monitor>(`/api/monitors/${encodeURIComponent(name)}`, { signal }),
    refetchInterval: REFRESH,
  });
}

export function useMetrics(monitor: string, metric: string, window: string) {
  return useQuery({
    queryKey: ["metrics", monitor, metric, window],
    queryFn: ({ signal }) =>
      api<MetricsPage>(`/api/metrics${query({ monitor, metric, window, limit: 10_000 })}`, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH,
  });
}

export interface AlertQuery {
  status?: string[];
  severity?: string[];
  monitor?: string;
  limit?: number;
  offset?: number;
}

export function useAlerts(filters: AlertQuery) {
  return useQuery({
    queryKey: ["alerts", filters],
    queryFn: ({ signal }) => api<AlertPage>(`/api/alerts${query({ ...filters })}`, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH,
  });
}

export function useAlert(id: number) {
  return useQuery({
    queryKey: ["alert", id],
    queryFn: ({ signal }) => api<AlertDetail>(`/api/alerts/${id}`, { signal }),
    refetchInterval: REFRESH,
  });
}

export type AlertAction =
  | { action: "acknowledge"; note?: string }
  | { action: "silence"; for: string }
  | { action: "resolve" };

export function useAlertAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, ...todo }: AlertAction & { id: number }) => {
      const body =
        todo.action === "acknowledge" ? { note: todo.note || undefined } : todo.action === "silence" ? { for: todo.for } : {};
      return api<Alert>(`/api/alerts/${id}/${todo.action}`, { method: "POST", json: body });
    },
    onSettled: (_data, _error, { id }) => {
      void client.invalidateQueries({ queryKey: ["alerts"] });
      void client.invalidateQueries({ queryKey: ["alert", id] });
    },
  });
}

export function useSchedules(count: number) {
  return useQuery({
    queryKey: ["schedules", count],
    queryFn: ({ signal }) => api<Schedule[]>(`/api/schedules${query({ count })}`, { signal }),
    refetchInterval: REFRESH,
  });
}

export function useScheduleRuns(id: string, limit: number) {
  return useQuery({
    queryKey: ["schedule-runs", id, limit],
    queryFn: ({ signal }) => api<ScheduleRun[]>(`/api/schedules/${encodeURIComponent(id)}/runs${query({ limit })}`, { signal }),
    refetchInterval: REFRESH,
  });
}

export function useScheduleAction() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, action }: { id: string; action: "pause" | "resume" }) =>
      api<Schedule>(`/api/schedules/${encodeURIComponent(id)}/${action}`, { method: "POST" }),
    onSettled: () => void client.invalidateQueries({ queryKey: ["schedules"] }),
  });
}
